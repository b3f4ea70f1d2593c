\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- Batches: rrd.update over arrays of one series or of many, and rrd.points
-- through INSERT and COPY. snap(): every row of every pg_rrd table, as one
-- hash (equal before and after a failed statement: nothing was written).
CREATE FUNCTION snap() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.series x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.state x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.chunk x)))
$$;
-- same_as(a, b): how many rows series a and b hold in every archive of their
-- common definition, and how many of them differ (by time or value).
CREATE FUNCTION same_as(a text, b text, lo timestamptz, hi timestamptz,
                        OUT cf text, OUT rows bigint, OUT known bigint, OUT differ bigint)
RETURNS SETOF record LANGUAGE sql AS $$
  SELECT ar.cf, count(*), count(x.v),
         (SELECT count(*) FROM (
            (SELECT t, v FROM rrd.fetch(a, ar.cf, lo, hi, ar.resolution)
             EXCEPT ALL SELECT t, v FROM rrd.fetch(b, ar.cf, lo, hi, ar.resolution))
            UNION ALL
            (SELECT t, v FROM rrd.fetch(b, ar.cf, lo, hi, ar.resolution)
             EXCEPT ALL SELECT t, v FROM rrd.fetch(a, ar.cf, lo, hi, ar.resolution))) AS d)
  FROM rrd.archives(rrd.definition(a)) AS ar, rrd.fetch(a, ar.cf, lo, hi, ar.resolution) AS x
  GROUP BY ar.archive, ar.cf, ar.resolution ORDER BY ar.archive
$$;

-- The same points five ways: point by point, one array call, one many-series
-- call, one INSERT INTO rrd.points, one COPY. A gauge with unknowns (NULL
-- and NaN), sub-second times and a gap beyond the heartbeat, and a counter
-- that wraps at 2^32.
SELECT s, rrd.create(s, '--step 10 DS:g:GAUGE:25:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:6:20 RRA:LAST:0.5:3:40',
                     timestamptz '2026-01-01 00:00:00+00') > 0 AS created
FROM unnest(ARRAY['batch.point', 'batch.array', 'batch.many', 'batch.insert', 'batch.copy']) AS s;
SELECT s, rrd.create(s, '--step 10 DS:c:COUNTER:30:U:U RRA:AVERAGE:0.5:1:50 RRA:MAX:0.5:3:20',
                     timestamptz '2026-01-01 00:00:00+00') > 0 AS created
FROM unnest(ARRAY['batch.point.c', 'batch.many.c', 'batch.copy.c']) AS s;
CREATE TABLE pts AS
  SELECT i, timestamptz '2026-01-01 00:00:00+00'
            + make_interval(secs => i * 7 + (i % 4) * 0.25 + CASE WHEN i > 40 THEN 100 ELSE 0 END) AS t,
         CASE WHEN i % 11 = 0 THEN NULL WHEN i % 17 = 0 THEN 'NaN'
              ELSE round((sin(i / 5.0) * 100)::numeric, 2)::float8 END AS v
  FROM generate_series(1, 60) AS i;
CREATE TABLE cpts AS
  SELECT i, timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i * 10) AS t,
         ((4294967000 + 3 * i * i) % 4294967296)::float8 AS v
  FROM generate_series(1, 30) AS i;
SELECT count(*) AS updates FROM (SELECT rrd.update('batch.point', t, v) FROM pts ORDER BY i) AS x;
SELECT count(*) AS updates FROM (SELECT rrd.update('batch.point.c', t, v) FROM cpts ORDER BY i) AS x;
-- One series, one call: returns the number of points skipped.
SELECT rrd.update('batch.array', array_agg(t ORDER BY i), array_agg(v ORDER BY i)) AS skipped FROM pts;
-- Many series, one call, their points interleaved in time order.
SELECT rrd.update(array_agg(s ORDER BY t, s), array_agg(t ORDER BY t, s), array_agg(v ORDER BY t, s)) AS skipped
FROM (SELECT 'batch.many' AS s, t, v FROM pts UNION ALL SELECT 'batch.many.c', t, v FROM cpts) AS u;
-- rrd.points: INSERT applies its rows in order when the statement ends.
INSERT INTO rrd.points (name, t, v) SELECT 'batch.insert', t, v FROM pts ORDER BY i;
-- ... and COPY, two series interleaved.
COPY rrd.points (name, t, v) FROM STDIN;
batch.copy	2026-01-01 00:00:07.25+00	19.87
batch.copy.c	2026-01-01 00:00:10+00	4294967003
batch.copy	2026-01-01 00:00:14.5+00	38.94
batch.copy.c	2026-01-01 00:00:20+00	4294967012
batch.copy	2026-01-01 00:00:21.75+00	56.46
batch.copy	2026-01-01 00:00:28+00	71.74
batch.copy.c	2026-01-01 00:00:30+00	4294967027
batch.copy	2026-01-01 00:00:35.25+00	84.15
batch.copy.c	2026-01-01 00:00:40+00	4294967048
batch.copy	2026-01-01 00:00:42.5+00	93.2
batch.copy	2026-01-01 00:00:49.75+00	98.54
batch.copy.c	2026-01-01 00:00:50+00	4294967075
batch.copy	2026-01-01 00:00:56+00	99.96
batch.copy.c	2026-01-01 00:01:00+00	4294967108
batch.copy	2026-01-01 00:01:03.25+00	97.38
batch.copy.c	2026-01-01 00:01:10+00	4294967147
batch.copy	2026-01-01 00:01:10.5+00	90.93
batch.copy	2026-01-01 00:01:17.75+00	\N
batch.copy.c	2026-01-01 00:01:20+00	4294967192
batch.copy	2026-01-01 00:01:24+00	67.55
batch.copy.c	2026-01-01 00:01:30+00	4294967243
batch.copy	2026-01-01 00:01:31.25+00	51.55
batch.copy	2026-01-01 00:01:38.5+00	33.5
batch.copy.c	2026-01-01 00:01:40+00	4
batch.copy	2026-01-01 00:01:45.75+00	14.11
batch.copy.c	2026-01-01 00:01:50+00	67
batch.copy	2026-01-01 00:01:52+00	-5.84
batch.copy	2026-01-01 00:01:59.25+00	NaN
batch.copy.c	2026-01-01 00:02:00+00	136
batch.copy	2026-01-01 00:02:06.5+00	-44.25
batch.copy.c	2026-01-01 00:02:10+00	211
batch.copy	2026-01-01 00:02:13.75+00	-61.19
batch.copy	2026-01-01 00:02:20+00	-75.68
batch.copy.c	2026-01-01 00:02:20+00	292
batch.copy	2026-01-01 00:02:27.25+00	-87.16
batch.copy.c	2026-01-01 00:02:30+00	379
batch.copy	2026-01-01 00:02:34.5+00	\N
batch.copy.c	2026-01-01 00:02:40+00	472
batch.copy	2026-01-01 00:02:41.75+00	-99.37
batch.copy	2026-01-01 00:02:48+00	-99.62
batch.copy.c	2026-01-01 00:02:50+00	571
batch.copy	2026-01-01 00:02:55.25+00	-95.89
batch.copy.c	2026-01-01 00:03:00+00	676
batch.copy	2026-01-01 00:03:02.5+00	-88.35
batch.copy	2026-01-01 00:03:09.75+00	-77.28
batch.copy.c	2026-01-01 00:03:10+00	787
batch.copy	2026-01-01 00:03:16+00	-63.13
batch.copy.c	2026-01-01 00:03:20+00	904
batch.copy	2026-01-01 00:03:23.25+00	-46.46
batch.copy.c	2026-01-01 00:03:30+00	1027
batch.copy	2026-01-01 00:03:30.5+00	-27.94
batch.copy	2026-01-01 00:03:37.75+00	-8.31
batch.copy.c	2026-01-01 00:03:40+00	1156
batch.copy	2026-01-01 00:03:44+00	11.65
batch.copy.c	2026-01-01 00:03:50+00	1291
batch.copy	2026-01-01 00:03:51.25+00	\N
batch.copy	2026-01-01 00:03:58.5+00	NaN
batch.copy.c	2026-01-01 00:04:00+00	1432
batch.copy	2026-01-01 00:04:05.75+00	65.7
batch.copy.c	2026-01-01 00:04:10+00	1579
batch.copy	2026-01-01 00:04:12+00	79.37
batch.copy	2026-01-01 00:04:19.25+00	89.87
batch.copy.c	2026-01-01 00:04:20+00	1732
batch.copy	2026-01-01 00:04:26.5+00	96.79
batch.copy.c	2026-01-01 00:04:30+00	1891
batch.copy	2026-01-01 00:04:33.75+00	99.85
batch.copy	2026-01-01 00:04:40+00	98.94
batch.copy.c	2026-01-01 00:04:40+00	2056
batch.copy.c	2026-01-01 00:04:50+00	2227
batch.copy.c	2026-01-01 00:05:00+00	2404
batch.copy	2026-01-01 00:06:27.25+00	94.07
batch.copy	2026-01-01 00:06:34.5+00	85.46
batch.copy	2026-01-01 00:06:41.75+00	73.44
batch.copy	2026-01-01 00:06:48+00	\N
batch.copy	2026-01-01 00:06:55.25+00	41.21
batch.copy	2026-01-01 00:07:02.5+00	22.29
batch.copy	2026-01-01 00:07:09.75+00	2.48
batch.copy	2026-01-01 00:07:16+00	-17.43
batch.copy	2026-01-01 00:07:23.25+00	-36.65
batch.copy	2026-01-01 00:07:30.5+00	-54.4
batch.copy	2026-01-01 00:07:37.75+00	NaN
batch.copy	2026-01-01 00:07:44+00	-82.78
batch.copy	2026-01-01 00:07:51.25+00	-92.28
batch.copy	2026-01-01 00:07:58.5+00	-98.09
batch.copy	2026-01-01 00:08:05.75+00	\N
batch.copy	2026-01-01 00:08:12+00	-97.92
batch.copy	2026-01-01 00:08:19.25+00	-91.93
batch.copy	2026-01-01 00:08:26.5+00	-82.28
batch.copy	2026-01-01 00:08:33.75+00	-69.35
batch.copy	2026-01-01 00:08:40+00	-53.66
\.
-- Nothing is stored in rrd.points.
SELECT count(*) AS points_rows FROM rrd.points;
-- Every archive of every series holds what the point-by-point series holds.
SELECT s AS series, (same_as(s, 'batch.point', '2026-01-01', '2026-01-01 00:10')).*
FROM unnest(ARRAY['batch.array', 'batch.many', 'batch.insert', 'batch.copy']) AS s;
SELECT s AS series, (same_as(s, 'batch.point.c', '2026-01-01', '2026-01-01 00:10')).*
FROM unnest(ARRAY['batch.many.c', 'batch.copy.c']) AS s;
-- ... and the same state: last update, last input, open PDP and consolidations.
SELECT s AS series, rrd.info(s) - 'id' = rrd.info('batch.point') - 'id' AS same_info
FROM unnest(ARRAY['batch.array', 'batch.many', 'batch.insert', 'batch.copy']) AS s;
SELECT s AS series, rrd.info(s) - 'id' = rrd.info('batch.point.c') - 'id' AS same_info
FROM unnest(ARRAY['batch.many.c', 'batch.copy.c']) AS s;
SELECT * FROM rrd.lastupdate('batch.many.c');
-- Empty arrays, empty INSERT: nothing to do.
SELECT rrd.update('batch.array', '{}'::timestamptz[], '{}'::float8[]) AS skipped;
SELECT rrd.update('{}'::text[], '{}'::timestamptz[], '{}'::float8[]) AS skipped;
INSERT INTO rrd.points SELECT 'batch.nope', now(), 1 WHERE false;

-- Errors. A refused point fails the whole statement, naming its position in
-- the batch, its series and its time; nothing of the statement is written.
SELECT s, rrd.create(s, '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0.5:1:20', timestamptz '2026-01-01 00:00:00+00') > 0 AS created
FROM unnest(ARRAY['batch.a', 'batch.b']) AS s;
SELECT rrd.create('batch.cnt', '--step 10 DS:x:COUNTER:100:U:U RRA:LAST:0.5:1:20', timestamptz '2026-01-01 00:00:00+00') > 0 AS created;
SELECT rrd.update(ARRAY['batch.a', 'batch.b', 'batch.cnt'],
                  ARRAY['2026-01-01 00:00:10+00', '2026-01-01 00:00:30+00', '2026-01-01 00:00:10+00']::timestamptz[],
                  ARRAY[1, 1, 100]) AS skipped;
SELECT snap() AS before, rows() AS rows_before \gset
-- Time not after the series' previous point (in the batch, or stored): 22008.
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:20+00', '2026-01-01 00:00:40+00',
  '2026-01-01 00:00:40+00']::timestamptz[], ARRAY[2, 3, 4])$$);
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:05+00']::timestamptz[], ARRAY[2])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.b', 'batch.b'],
  ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:40+00', '2026-01-01 00:00:35+00']::timestamptz[], ARRAY[1, 2, 3])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.b', 'batch.b'],
  ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:20+00', '2026-01-01 00:00:50+00']::timestamptz[], ARRAY[1, 2, 3])$$);
-- A value the data source kind cannot read: 22P02.
SELECT err($$SELECT rrd.update('batch.cnt', ARRAY['2026-01-01 00:00:20+00', '2026-01-01 00:00:30+00']::timestamptz[],
  ARRAY[200, 1.5])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.cnt'],
  ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:20+00']::timestamptz[], ARRAY[1, -5])$$);
-- Unknown series: 42704, also when other series of the call exist.
SELECT err($$SELECT rrd.update('batch.nope', ARRAY['2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.nope'],
  ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1, 1])$$);
-- NULL where a value is needed: 22004, naming the element.
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:40+00', NULL]::timestamptz[], ARRAY[1, 2])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.b'], ARRAY[NULL, '2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1, 2])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a', NULL], ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:50+00']::timestamptz[],
  ARRAY[1, 2])$$);
SELECT err($$SELECT rrd.update(NULL::text, ARRAY['2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1])$$);
SELECT err($$SELECT rrd.update('batch.a', NULL, ARRAY[1])$$);
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:40+00']::timestamptz[], NULL)$$);
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1], NULL)$$);
-- A time that is not finite.
SELECT err($$SELECT rrd.update('batch.a', ARRAY['infinity']::timestamptz[], ARRAY[1])$$);
-- Arrays of different lengths: 22023.
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:40+00']::timestamptz[], ARRAY[1, 2])$$);
SELECT err($$SELECT rrd.update(ARRAY['batch.a'], ARRAY['2026-01-01 00:00:40+00', '2026-01-01 00:00:50+00']::timestamptz[],
  ARRAY[1, 2])$$);
-- rrd.points: the same errors, the position being the row's.
SELECT err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:00:40+00', 1),
  ('batch.b', '2026-01-01 00:00:40+00', 2), ('batch.b', '2026-01-01 00:00:20+00', 3)$$);
SELECT err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:00:40+00', 1), ('batch.cnt', '2026-01-01 00:00:20+00', 2.5)$$);
SELECT err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:00:40+00', 1), ('batch.nope', '2026-01-01 00:00:40+00', 2)$$);
SELECT err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:00:40+00', 1), (NULL, '2026-01-01 00:00:40+00', 2)$$);
SELECT err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:00:40+00', 1), ('batch.b', NULL, 2)$$);
COPY rrd.points (name, t, v) FROM STDIN;
batch.a	2026-01-01 00:00:40+00	1
batch.b	2026-01-01 00:00:40+00	2
batch.a	2026-01-01 00:00:30+00	3
\.
-- Every table is as it was.
SELECT snap() = :'before' AS unchanged, rows() = :'rows_before' AS same_rows;
-- The single-point form keeps its own messages, without a position.
SELECT err($$SELECT rrd.update('batch.a', timestamptz '2026-01-01 00:00:05+00', 1)$$);
SELECT err($$SELECT rrd.update('batch.cnt', timestamptz '2026-01-01 00:00:20+00', 1.5)$$);
-- The failed statements left nothing behind: the next ones are accepted.
SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:40+00']::timestamptz[], ARRAY[4]) AS skipped;
INSERT INTO rrd.points VALUES ('batch.b', '2026-01-01 00:00:40+00', 4);
SELECT s, l.* FROM unnest(ARRAY['batch.a', 'batch.b', 'batch.cnt']) AS s, rrd.lastupdate(s) AS l;

-- skip_bad: refused points are left out and counted; the others are written.
SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:00:50+00', '2026-01-01 00:00:45+00', '2026-01-01 00:01:00+00',
  '2026-01-01 00:01:00+00']::timestamptz[], ARRAY[5, 6, 7, 8], skip_bad => true) AS skipped;
SELECT * FROM rrd.lastupdate('batch.a');
SELECT rrd.update(ARRAY['batch.b', 'batch.cnt', 'batch.cnt', 'batch.cnt'],
  ARRAY['2026-01-01 00:00:30+00', '2026-01-01 00:00:20+00', '2026-01-01 00:00:30+00', '2026-01-01 00:00:40+00']::timestamptz[],
  ARRAY[1, 1.5, 300, -1], true) AS skipped;
SELECT s, l.* FROM unnest(ARRAY['batch.b', 'batch.cnt']) AS s, rrd.lastupdate(s) AS l;
-- An unknown series is still an error.
SELECT err($$SELECT rrd.update(ARRAY['batch.a', 'batch.nope'],
  ARRAY['2026-01-01 00:01:10+00', '2026-01-01 00:01:10+00']::timestamptz[], ARRAY[1, 1], true)$$);
-- For rrd.points, the setting pg_rrd.skip_bad_points, with a NOTICE.
SHOW pg_rrd.skip_bad_points;
SET pg_rrd.skip_bad_points = on;
INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:01:10+00', 9), ('batch.a', '2026-01-01 00:01:05+00', 10),
  ('batch.cnt', '2026-01-01 00:00:50+00', 2.5), ('batch.cnt', '2026-01-01 00:01:00+00', 400);
COPY rrd.points (name, t, v) FROM STDIN;
batch.b	2026-01-01 00:00:50+00	5
batch.b	2026-01-01 00:00:50+00	6
\.
-- No NOTICE when nothing is skipped.
INSERT INTO rrd.points VALUES ('batch.b', '2026-01-01 00:01:00+00', 7);
SELECT err($$INSERT INTO rrd.points VALUES ('batch.nope', '2026-01-01 00:01:00+00', 1)$$);
-- The setting is for rrd.points only: rrd.update has its own argument.
SELECT err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:01:00+00']::timestamptz[], ARRAY[1])$$);
RESET pg_rrd.skip_bad_points;
SELECT s, l.* FROM unnest(ARRAY['batch.a', 'batch.b', 'batch.cnt']) AS s, rrd.lastupdate(s) AS l;
SELECT count(*) AS points_rows FROM rrd.points;

-- Transactions: a savepoint rolled back discards the points of the INSERTs
-- after it, and rrd.points stays empty all along.
SELECT rrd.create('batch.sp', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0.5:1:20',
                  timestamptz '2026-01-01 00:00:00+00') > 0 AS created;
BEGIN;
INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:00:10+00', 1);
SAVEPOINT a;
INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:00:20+00', 2), ('batch.sp', '2026-01-01 00:00:30+00', 3);
SELECT * FROM rrd.lastupdate('batch.sp');
SELECT count(*) AS points_rows FROM rrd.points;
ROLLBACK TO SAVEPOINT a;
SELECT * FROM rrd.lastupdate('batch.sp');
-- 25 s is after 10 s: the points at 20 and 30 s are gone.
INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:00:25+00', 4);
-- A statement that fails half-way (its third row divides by zero), rolled
-- back to a savepoint: its first rows do not reach the next statement.
SAVEPOINT b;
INSERT INTO rrd.points SELECT 'batch.sp', timestamptz '2026-01-01 00:00:00+00' + i * interval '10 s', 100 / (i - 6)
FROM generate_series(4, 6) AS i;
ROLLBACK TO SAVEPOINT b;
INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:00:45+00', 5);
COMMIT;
SELECT * FROM rrd.lastupdate('batch.sp');
SELECT t, v FROM rrd.fetch('batch.sp', 'LAST', '2026-01-01 00:00:00+00', '2026-01-01 00:00:50+00');
-- The same in a plpgsql EXCEPTION block: a row that fails in the SELECT, a
-- row the trigger refuses (NULL time), a batch refused when it ends.
DO $$
BEGIN
  BEGIN
    INSERT INTO rrd.points SELECT 'batch.sp', timestamptz '2026-01-01 00:00:00+00' + i * interval '10 s', 100 / (i - 7)
    FROM generate_series(5, 7) AS i;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
  BEGIN
    INSERT INTO rrd.points SELECT 'batch.sp',
      CASE WHEN i < 8 THEN timestamptz '2026-01-01 00:00:00+00' + i * interval '10 s' END, i
    FROM generate_series(6, 8) AS i;
  EXCEPTION WHEN null_value_not_allowed THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
  BEGIN
    INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:01:00+00', 60), ('batch.sp', '2026-01-01 00:00:50+00', 61);
  EXCEPTION WHEN datetime_field_overflow THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
  INSERT INTO rrd.points VALUES ('batch.sp', '2026-01-01 00:00:55+00', 6);
END $$;
SELECT * FROM rrd.lastupdate('batch.sp');
SELECT t, v FROM rrd.fetch('batch.sp', 'LAST', '2026-01-01 00:00:30+00', '2026-01-01 00:01:10+00');
SELECT count(*) AS points_rows FROM rrd.points;

-- rrd.points written from other statements: a trigger that forwards rows of
-- a table, and a function that writes points while a SELECT feeds another
-- INSERT INTO rrd.points (each statement applies its own points).
CREATE TABLE readings (name text, t timestamptz, v float8);
CREATE FUNCTION forward_reading() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rrd.points VALUES (NEW.name, NEW.t, NEW.v);
  RETURN NULL;
END $$;
CREATE TRIGGER forward AFTER INSERT ON readings FOR EACH ROW EXECUTE FUNCTION forward_reading();
INSERT INTO readings VALUES ('batch.a', '2026-01-01 00:01:20+00', 10), ('batch.b', '2026-01-01 00:01:20+00', 11);
CREATE FUNCTION also_to_b(t timestamptz, v float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rrd.points VALUES ('batch.b', t, v * 10);
  RETURN v;
END $$;
INSERT INTO rrd.points SELECT 'batch.a', t, also_to_b(t, v)
FROM (VALUES (timestamptz '2026-01-01 00:01:30+00', 12::float8), ('2026-01-01 00:01:40+00', 13)) AS r(t, v);
SELECT s, t, v FROM unnest(ARRAY['batch.a', 'batch.b']) AS s,
  rrd.fetch(s, 'LAST', '2026-01-01 00:01:10+00', '2026-01-01 00:01:40+00') ORDER BY s, t;

-- Privileges: the grants docs/series.md lists cover the batch forms and
-- rrd.points; a read-only role is refused (42501) and writes nothing.
CREATE ROLE regress_rrd_batch_app;
CREATE ROLE regress_rrd_batch_ro;
GRANT USAGE ON SCHEMA rrd TO regress_rrd_batch_app, regress_rrd_batch_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rrd TO regress_rrd_batch_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA rrd TO regress_rrd_batch_app;
GRANT SELECT ON ALL TABLES IN SCHEMA rrd TO regress_rrd_batch_ro;
SET ROLE regress_rrd_batch_app;
SELECT rrd.update(ARRAY['batch.a', 'batch.b'], ARRAY['2026-01-01 00:01:50+00', '2026-01-01 00:01:50+00']::timestamptz[],
                  ARRAY[14, 15]) AS skipped;
INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:02:00+00', 16);
RESET ROLE;
SELECT snap() AS before \gset
SET ROLE regress_rrd_batch_ro;
SELECT split_part(err($$SELECT rrd.update('batch.a', ARRAY['2026-01-01 00:02:10+00']::timestamptz[], ARRAY[17])$$),
                  ':', 1) AS sqlstate;
SELECT split_part(err($$INSERT INTO rrd.points VALUES ('batch.a', '2026-01-01 00:02:10+00', 17)$$), ':', 1) AS sqlstate;
RESET ROLE;
SELECT snap() = :'before' AS unchanged;
SELECT s, l.* FROM unnest(ARRAY['batch.a', 'batch.b']) AS s, rrd.lastupdate(s) AS l;
DROP OWNED BY regress_rrd_batch_app, regress_rrd_batch_ro;
DROP ROLE regress_rrd_batch_app, regress_rrd_batch_ro;
