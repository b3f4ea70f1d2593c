\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- docs/semantics.md, vector A: GAUGE, step 10, heartbeat 20, start T0 = 1e9.
SELECT rrd.create('vec.a',
  '--step 10 DS:g:GAUGE:20:U:U RRA:AVERAGE:0.5:1:20 RRA:AVERAGE:0.5:3:10 RRA:MIN:0.5:3:10 RRA:MAX:0.5:3:10 RRA:LAST:0.5:3:10',
  to_timestamp(1000000000)) > 0 AS created;
SELECT count(*) AS updates FROM (
  SELECT rrd.update('vec.a', to_timestamp(1000000000 + dt), v)
  FROM (VALUES (5, 10), (12, 20), (30, 30), (34, NULL), (40, 40), (75, 50), (80, 60), (95, 70))
       AS u(dt, v) ORDER BY dt) AS x;
-- 10 s rows: 15, 28, 30, 40, NULL x3, 60, 70, then NULL past the last update.
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('vec.a', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000100), interval '10 s');
-- 30 s rows with each consolidation function.
SELECT cf, extract(epoch FROM t) - 1000000000 AS dt, round(v::numeric, 4) AS v
FROM unnest(ARRAY['AVERAGE', 'MIN', 'MAX', 'LAST']) AS cf,
     rrd.fetch('vec.a', cf, to_timestamp(999999990), to_timestamp(1000000080), interval '30 s')
ORDER BY cf, t;
-- Without a resolution, the finest archive that covers the range answers:
-- for MIN that is the 1-step AVERAGE archive (10 s rows), as in rrdtool.
SELECT count(*) FROM rrd.fetch('vec.a', 'MIN', to_timestamp(1000000000), to_timestamp(1000000090));
SELECT * FROM rrd.lastupdate('vec.a');

-- Out of order: 22008 naming the series and both times; nothing written.
SELECT rows();
SELECT err($$SELECT rrd.update('vec.a', to_timestamp(1000000095), 1)$$);
SELECT err($$SELECT rrd.update('vec.a', to_timestamp(1000000090), 1)$$);
SELECT rrd.last('vec.a');

-- Same second, later microsecond: accepted, as rrdtool does.
SELECT rrd.update('vec.a', to_timestamp(1000000095) + interval '1 microsecond', 70);
SELECT rrd.last('vec.a');

-- Counters: exact integer input near 2^64 through numeric. Both inputs below
-- round to the same double, so through float8 their difference would be 0;
-- as numeric it is 610 (61/s). The wrap that follows (5 after ...610) is
-- computed in doubles, as rrdtool does, and gives 0.
SELECT rrd.create('vec.counter',
  '--step 10 DS:c:COUNTER:30:U:U RRA:AVERAGE:0.5:1:10', to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('vec.counter', to_timestamp(1000000010), 18446744073709551000::numeric);
SELECT rrd.update('vec.counter', to_timestamp(1000000020), 18446744073709551610::numeric);
SELECT rrd.update('vec.counter', to_timestamp(1000000030), 5::numeric);
SELECT rrd.update('vec.counter', to_timestamp(1000000040), 105::numeric);
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('vec.counter', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000030), interval '10 s');
SELECT err($$SELECT rrd.update('vec.counter', to_timestamp(1000000050), 1.5)$$);
SELECT err($$SELECT rrd.update('vec.counter', to_timestamp(1000000050), -1::numeric)$$);
SELECT * FROM rrd.lastupdate('vec.counter');

-- Fetch errors.
SELECT err($$SELECT * FROM rrd.fetch('nope', 'AVERAGE', now(), now())$$);
SELECT err($$SELECT * FROM rrd.fetch('vec.a', 'MEDIAN', now(), now())$$);
SELECT err($$SELECT * FROM rrd.fetch('vec.a', 'AVERAGE', '1975-01-01', now())$$);
SELECT err($$SELECT * FROM rrd.fetch('vec.a', 'AVERAGE', to_timestamp(1000000100), to_timestamp(1000000000))$$);
SELECT err($$SELECT * FROM rrd.fetch('vec.a', 'AVERAGE', now() - interval '1 day', now(), interval '0')$$);
SELECT err($$SELECT * FROM rrd.fetch('vec.a', 'AVERAGE', '-infinity', now())$$);
-- Any 1-step archive answers AVERAGE, MIN, MAX and LAST ...
SELECT count(*) FROM rrd.fetch('vec.counter', 'MAX', to_timestamp(1000000000), to_timestamp(1000000030), interval '1 hour');
-- ... but a series with only coarser archives of another function cannot.
SELECT rrd.create('vec.coarse', '--step 10 DS:c:GAUGE:30:U:U RRA:MAX:0.5:6:10', to_timestamp(1000000000)) > 0 AS created;
SELECT err($$SELECT * FROM rrd.fetch('vec.coarse', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000030))$$);
SELECT rrd.drop('vec.coarse');
SELECT err($$SELECT rrd.update('nope', now(), 1)$$);
SELECT err($$SELECT rrd.update('vec.a', NULL, 1)$$);
SELECT rrd.drop('vec.a'), rrd.drop('vec.counter');
SELECT rows();
