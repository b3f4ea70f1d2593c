\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- rrd.fetch(..., points => n): at most n rows, from the archive that best
-- fits the range cut into n, consecutive rows merged with the CF.
SELECT rrd.create('ds', '--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:1:1000 RRA:AVERAGE:0.5:6:500',
                  to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('ds', array_agg(to_timestamp(1000000000 + 10 * i) ORDER BY i),
                  array_agg(CASE WHEN i % 17 = 0 THEN NULL ELSE (i % 23)::float8 END ORDER BY i))
FROM generate_series(1, 900) AS i;
-- Never more rows than asked for, over short and long ranges.
SELECT bool_and(n <= p) AS within, min(n), max(n)
FROM generate_series(1, 60) AS p,
     LATERAL (SELECT count(*) AS n FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000),
                                                   to_timestamp(1000000000 + 40 * p * p), points => p)) AS f;
-- AVERAGE over 1,000 s in 4 points: the 60 s archive, rows merged 5 by 5
-- into the spans (n * 300 s, (n + 1) * 300 s], each labelled by its end.
SELECT * FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000), points => 4);
WITH f AS (SELECT extract(epoch FROM t)::bigint / 60 AS g, v
           FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000), interval '60 s'))
SELECT to_timestamp(((g - 1) / 5 + 1) * 5 * 60) AS t, avg(v) AS v FROM f GROUP BY (g - 1) / 5 ORDER BY 1;
-- MAX has only the 10 s archive: rows merged 30 by 30, the largest known value.
SELECT * FROM rrd.fetch('ds', 'MAX', to_timestamp(1000000000), to_timestamp(1000001000), points => 4);
WITH f AS (SELECT extract(epoch FROM t)::bigint / 10 AS g, v
           FROM rrd.fetch('ds', 'MAX', to_timestamp(1000000000), to_timestamp(1000001000), interval '10 s'))
SELECT to_timestamp(((g - 1) / 30 + 1) * 30 * 10) AS t, max(v) AS v FROM f GROUP BY (g - 1) / 30 ORDER BY 1;
-- Enough points: the rows rrd.fetch gives.
SELECT (SELECT array_agg(v ORDER BY t) FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000300), points => 1000))
       IS NOT DISTINCT FROM
       (SELECT array_agg(v ORDER BY t) FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000300)))
       AS same_rows;
SELECT * FROM rrd.fetch('ds', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000), points => 0);
SELECT * FROM rrd.fetch('ds', 'MEDIAN', to_timestamp(1000000000), to_timestamp(1000001000), points => 4);
SELECT rrd.drop('ds');
-- Stitched reads: each part of the range from the finest archive that still
-- holds it, with each row's length; checked against rrd.fetch per archive.
SELECT rrd.create('st', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:6 RRA:AVERAGE:0.5:3:4 RRA:MAX:0.5:2:50 RRA:AVERAGE:0.5:6:10',
                  to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('st', array_agg(to_timestamp(1000000000 + 10 * i) ORDER BY i), array_agg(i::float8 ORDER BY i))
FROM generate_series(1, 100) AS i;
SELECT extract(epoch FROM t) - 1000000000 AS dt, v, step FROM rrd.fetch_stitched('st', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000));
WITH s AS (SELECT t, v, step FROM rrd.fetch_stitched('st', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000)))
SELECT step, count(*) AS rows,
       bool_and(v IS NOT DISTINCT FROM (SELECT f.v FROM rrd.fetch('st', 'AVERAGE', s.t - s.step, s.t, s.step) AS f
                                        WHERE f.t = s.t)) AS same_as_fetch
FROM s GROUP BY step ORDER BY step;
SELECT extract(epoch FROM t) - 1000000000 AS dt, v, step FROM rrd.fetch_stitched('st', 'MAX', to_timestamp(1000000900), to_timestamp(1000001000));
SELECT * FROM rrd.fetch_stitched('st', 'AVERAGE', to_timestamp(1000001000), to_timestamp(1000000000));
SELECT * FROM rrd.fetch_stitched('nope', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000));
SELECT rrd.drop('st');
