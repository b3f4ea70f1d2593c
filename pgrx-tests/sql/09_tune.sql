\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- A series with a minute of 10 s rows and a MAX archive of 30 s rows,
-- fed 1, 2, ..., 30 every 10 s.
SELECT rrd.create('tune.a', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:12 RRA:MAX:0.5:3:10',
                  to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('tune.a', array(SELECT to_timestamp(1000000000 + 10 * i) FROM generate_series(1, 30) i),
                  array(SELECT i::float8 FROM generate_series(1, 30) i));
-- Rows of the archive that rrd.fetch picks for cf and res, over the n rows
-- of res seconds that end at `stop` (default: the last update).
CREATE FUNCTION rows_of(cf text, res int, n int DEFAULT 12, stop int DEFAULT NULL)
RETURNS TABLE (dt numeric, v float8) LANGUAGE sql AS $$
  SELECT extract(epoch FROM t) - 1000000000, v
  FROM rrd.fetch('tune.a', cf,
                 coalesce(to_timestamp(1000000000 + stop), rrd.last('tune.a')) - make_interval(secs => res * n),
                 coalesce(to_timestamp(1000000000 + stop), rrd.last('tune.a')), make_interval(secs => res))
$$;
CREATE FUNCTION snapshot() RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT s::text AS x FROM rrd.series s WHERE name LIKE 'tune.%'
    UNION ALL SELECT st::text FROM rrd.state st JOIN rrd.series s ON s.id = st.series_id WHERE name LIKE 'tune.%'
    UNION ALL SELECT c::text FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id WHERE name LIKE 'tune.%') q
$$;

-- tune: data source settings; rows stay as they were.
SELECT rrd.tune('tune.a', heartbeat => '1 min', min => 0, max => 25);
SELECT (rrd.info('tune.a')->'ds') - 'value'::text AS ds;
SELECT rrd.update('tune.a', to_timestamp(1000000310), 40);   -- above the new max: unknown
SELECT * FROM rows_of('AVERAGE', 10, 3);
SELECT rrd.tune('tune.a', max => 'Infinity', min => '-Infinity');  -- bounds removed
SELECT rrd.tune('tune.a', min => 'NaN');
-- A new kind forgets the last input; the same kind keeps it.
SELECT rrd.update('tune.a', to_timestamp(1000000320), 100);
SELECT rrd.tune('tune.a', kind => 'GAUGE'), (rrd.lastupdate('tune.a')).value;
SELECT rrd.tune('tune.a', kind => 'COUNTER'), (rrd.lastupdate('tune.a')).value;
SELECT rrd.update('tune.a', to_timestamp(1000000330), 150);  -- no rate: no previous input
SELECT rrd.update('tune.a', to_timestamp(1000000340), 170);  -- 20 in 10 s
SELECT * FROM rows_of('AVERAGE', 10, 3);
SELECT rrd.tune('tune.a', kind => 'GAUGE', ds_name => 'load');
-- The xff of an archive, which rrdtool cannot change.
SELECT rrd.tune('tune.a', archive => 1, xff => 0.9);

-- add_archive: each row from the finest archive that holds it. The
-- 10 s archive holds 230..340: LAST of 30 s rows is the last 10 s row of
-- each, known when at most one of its three is unknown (xff 0.5).
SELECT * FROM rows_of('AVERAGE', 10);
SELECT rrd.add_archive('tune.a', 'RRA:LAST:0.5:3:6');
SELECT * FROM rows_of('LAST', 30, 6, 330);
-- MAX of 60 s rows: from the 10 s archive where it holds all six PDPs,
-- further back from the 30 s MAX archive; xff 0 makes a row with an
-- unknown PDP unknown.
SELECT * FROM rows_of('MAX', 30, 10, 330);
SELECT rrd.add_archive('tune.a', 'RRA:MAX:0:6:5');
SELECT * FROM rows_of('MAX', 60, 5, 320);
SELECT rrd.add_archive('tune.a', 'RRA:AVERAGE:0.5:1m:1h');  -- durations, as in a definition
-- Each new open row holds the PDPs since its last full row (330 unknown, 340 = 2).
SELECT jsonb_path_query_array(rrd.info('tune.a'), '$.rra[*].cdp_prep') AS open_rows;
-- The next updates consolidate into the new archives as into the old.
SELECT rrd.update('tune.a', to_timestamp(1000000360), 7);
SELECT * FROM rows_of('LAST', 30, 2);

-- drop_archive: the others move down, with their rows and open rows.
SELECT rrd.drop_archive('tune.a', 1);
SELECT archive, count(*) AS chunk_rows FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id
WHERE s.name = 'tune.a' GROUP BY archive ORDER BY archive;
SELECT * FROM rows_of('MAX', 60, 5, 320);
SELECT rrd.update('tune.a', to_timestamp(1000000370), 5);

-- resize: the newest rows keep their times; grown rows are unknown.
SELECT rrd.resize('tune.a', 0, 4);
SELECT * FROM rows_of('AVERAGE', 10, 3);
SELECT rrd.resize('tune.a', 0, 300);
SELECT * FROM rows_of('AVERAGE', 10, 8);
SELECT count(*) AS chunk_rows, sum(cardinality(dp)) AS slots
FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id WHERE s.name = 'tune.a' AND c.archive = 0;

-- Errors name what is wrong, and leave every table as it was.
SELECT snapshot() AS before \gset
SELECT rrd.tune('tune.a', min => 5, max => 5);
SELECT rrd.tune('tune.a', min => 'Infinity');
SELECT rrd.tune('tune.a', heartbeat => '1.5 s');
SELECT rrd.tune('tune.a', heartbeat => '0');
SELECT rrd.tune('tune.a', kind => 'gauge2');
SELECT rrd.tune('tune.a', ds_name => 'a b');
SELECT rrd.tune('tune.a', xff => 0.5);
SELECT rrd.tune('tune.a', archive => 0);
SELECT rrd.tune('tune.a', archive => 9, xff => 0.5);
SELECT rrd.tune('tune.a', archive => 0, xff => 1);
SELECT rrd.tune('tune.none', heartbeat => '1 min');
SELECT rrd.resize('tune.a', 0, 0);
SELECT rrd.resize('tune.a', -1, 10);
SELECT rrd.resize('tune.a', 0, 3000000000);
SELECT rrd.resize('tune.a', NULL, 10);
SELECT rrd.add_archive('tune.a', 'RRA:FOO:0.5:1:10');
SELECT rrd.add_archive('tune.a', 'AVERAGE:0.5:1:10');
SELECT rrd.add_archive('tune.a', 'RRA:AVERAGE:1.5:1:10');
SELECT rrd.add_archive('tune.a', 'RRA:AVERAGE:0.5:1:100000000');
SELECT rrd.drop_archive('tune.a', 5);
SELECT snapshot() = :'before' AS unchanged;
SELECT rrd.create('tune.one', '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0:1:5', to_timestamp(1000000000)) > 0;
SELECT snapshot() AS before \gset
SELECT rrd.drop_archive('tune.one', 0);
SELECT snapshot() = :'before' AS unchanged;
-- A change rolled back leaves nothing behind.
BEGIN;
SELECT rrd.add_archive('tune.one', 'RRA:MAX:0:2:5') IS NOT NULL;
SELECT rrd.resize('tune.one', 0, 50) IS NOT NULL;
ROLLBACK;
SELECT snapshot() = :'before' AS unchanged, rrd.definition('tune.one');

SELECT rrd.drop('tune.a'), rrd.drop('tune.one');
DROP FUNCTION rows_of(text, int, int, int);
DROP FUNCTION snapshot();
