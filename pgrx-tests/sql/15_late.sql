\set VERBOSITY terse
SET TimeZone = 'UTC';
-- Lateness windows (docs/late.md): every refusal with its SQLSTATE, and a
-- refused statement leaves every table as it was.
CREATE FUNCTION late_snapshot() RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT st::text AS x FROM rrd.state st JOIN rrd.series s ON s.id = st.series_id WHERE name LIKE 'late.%'
    UNION ALL SELECT c::text FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id WHERE name LIKE 'late.%'
    UNION ALL SELECT j::text FROM rrd.journal j
    UNION ALL SELECT l::text FROM rrd.lane l) q
$$;
-- Bad windows: too long for the finest archive, fractional, negative; in
-- the definition, twice or without a value.
SELECT err($$SELECT rrd.create('late.x', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', lateness => '101 s')$$);
SELECT err($$SELECT rrd.create('late.x', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', lateness => '0.5 s')$$);
SELECT err($$SELECT rrd.create('late.x', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', lateness => '-1 s')$$);
SELECT err($$SELECT '--step 10 --lateness 5 --lateness 6 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10 --lateness'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 --lateness 2h DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
-- The finest archive is the one with the fewest steps per row.
SELECT '--step 10 --lateness=1m DS:x:GAUGE:20:U:U RRA:MAX:0.5:6:100 RRA:AVERAGE:0.5:1:6'::rrd.rrd;
SELECT err($$SELECT '--step 10 --lateness=61 DS:x:GAUGE:20:U:U RRA:MAX:0.5:6:100 RRA:AVERAGE:0.5:1:6'::rrd.rrd$$);
SELECT rrd.create('late.a', '--step 10 DS:x:COUNTER:20:U:U RRA:AVERAGE:0.5:1:10', to_timestamp(1000000000),
                  lateness => '40 s') > 0 AS created;
SELECT rrd.update('late.a', ARRAY[to_timestamp(1000000010), to_timestamp(1000000030), to_timestamp(1000000050)],
                  ARRAY[100, 300, 500]);
SELECT late_snapshot() AS before \gset
-- Older than the window, at a pending time, a value the kind refuses.
SELECT err($$SELECT rrd.update('late.a', to_timestamp(1000000009), 1)$$);
SELECT err($$SELECT rrd.update('late.a', to_timestamp(1000000030), 1)$$);
-- The refusal's hint names the series' window; rrd.info gives it too.
\set VERBOSITY default
SELECT rrd.update('late.a', to_timestamp(1000000009), 1);
\set VERBOSITY terse
SELECT rrd.info('late.a') -> 'lateness' AS lateness;
SELECT err($$SELECT rrd.update('late.a', to_timestamp(1000000020), 1.5)$$);
-- A batch with one bad point writes nothing; skip_bad leaves it out.
SELECT err($$SELECT rrd.update('late.a', ARRAY[to_timestamp(1000000020), to_timestamp(1000000005)], ARRAY[200, 1])$$);
SELECT late_snapshot() = :'before' AS unchanged;
SELECT rrd.update('late.a', ARRAY[to_timestamp(1000000020), to_timestamp(1000000005)], ARRAY[200, 1],
                  skip_bad => true) AS skipped;
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('late.a', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000050));
-- A fold holds the window back, and the lane counts what it held.
SELECT rrd.flush() AS folded, rrd.pending('late.a') AS pending;
SELECT pending, held FROM rrd.lane WHERE lane = (SELECT id >> 7 FROM rrd.series WHERE name = 'late.a');
SELECT err($$SELECT rrd.update('late.a', to_timestamp(1000000015), 150)$$);
-- A tune that makes the finest archive too short for the window is refused;
-- one that settles the window folds everything.
SELECT err($$SELECT rrd.resize('late.a', 0, 3)$$);
SELECT rrd.tune('late.a', lateness => '0');
SELECT rrd.pending('late.a') AS pending;
SELECT rrd.info('late.a') -> 'lateness' AS lateness;
-- Without a window, RRDtool's order again, and its hint.
\set VERBOSITY default
SELECT rrd.update('late.a', to_timestamp(1000000045), 1);
\set VERBOSITY terse
SELECT err($$SELECT rrd.update('late.a', to_timestamp(1000000045), 1)$$);
SELECT rrd.tune('late.a', lateness => '20 s');
SELECT rrd.update('late.a', to_timestamp(1000000070), 700);
SELECT rrd.update('late.a', to_timestamp(1000000060), 600);
SELECT * FROM rrd.verify('late.a');
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('late.a', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000070));
SELECT rrd.drop('late.a');
