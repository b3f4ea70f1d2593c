\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- The journal: statements of many series append their points to
-- rrd.journal, a fold applies them. jsnap(): every row of the journal's
-- tables; snap(): every row of every pg_rrd table.
CREATE FUNCTION jsnap() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.journal x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.lane x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.tip x)))
$$;
CREATE FUNCTION snap() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|', jsnap(),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.series x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.state x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.chunk x)))
$$;
-- reads(): what every read function gives for the j.* series.
CREATE FUNCTION reads() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(concat_ws(':', n, f.t, f.v), ',' ORDER BY n, f.t)
       FROM unnest(ARRAY['j.a', 'j.b', 'j.c']) AS n,
            rrd.fetch(n, 'AVERAGE', '2026-01-01', '2026-01-01 01:00') AS f),
    (SELECT string_agg(concat_ws(':', n, f.t, f.v), ',' ORDER BY n, f.t)
       FROM unnest(ARRAY['j.a', 'j.b', 'j.c']) AS n,
            rrd.fetch(n, 'MAX', '2026-01-01', '2026-01-01 01:00', resolution => '30 s') AS f),
    (SELECT string_agg(concat_ws(':', n, f.t, f.v), ',' ORDER BY n, f.t)
       FROM unnest(ARRAY['j.a', 'j.b', 'j.c']) AS n,
            rrd.fetch(n, 'AVERAGE', '2026-01-01', '2026-01-01 01:00', points => 7) AS f),
    (SELECT string_agg(x::text, ',' ORDER BY x::text)
       FROM rrd.fetch_many('j.*', 'AVERAGE', '2026-01-01', '2026-01-01 01:00') AS x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text)
       FROM rrd.fetch_tagged('{}', 'MAX', '2026-01-01', '2026-01-01 01:00', '1 min') AS x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text)
       FROM rrd.fetch_stitched('j.a', 'AVERAGE', '2026-01-01', '2026-01-01 01:00') AS x),
    (SELECT string_agg(concat_ws(':', n, l.t, l.value), ',' ORDER BY n)
       FROM unnest(ARRAY['j.a', 'j.b', 'j.c']) AS n, rrd.lastupdate(n) AS l),
    (SELECT string_agg(concat_ws(':', n, rrd.last(n), rrd.first(n, 1), rrd.info(n)), ',' ORDER BY n)
       FROM unnest(ARRAY['j.a', 'j.b', 'j.c']) AS n),
    (SELECT string_agg(x, ',' ORDER BY x)
       FROM rrd.find('j.*', '2026-01-01 00:05', '2026-01-01 00:10') AS x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text)
       FROM rrd.fetch_array('j.b', 'AVERAGE', '2026-01-01', '2026-01-01 01:00') AS x)))
$$;

SELECT rrd.create('j.' || s, '--step 10 DS:v:GAUGE:25:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:3:40',
                  '2026-01-01') > 0 AS created
FROM unnest(ARRAY['a', 'b', 'c']) AS s;
SELECT rrd.create('j.cnt', '--step 10 DS:c:COUNTER:25:U:U RRA:AVERAGE:0.5:1:100', '2026-01-01') > 0 AS created;

-- A statement of several series writes the journal, not the rings.
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 00:00:10', '2026-01-01 00:00:10']::timestamptz[],
                  ARRAY[1, 10]);
SELECT rrd.pending() AS pending, rrd.pending('j.a') AS a, rrd.pending('j.c') AS c,
       (SELECT count(*) FROM rrd.journal) AS journal_rows;
SELECT t, v FROM rrd.fetch('j.a', 'AVERAGE', '2026-01-01', '2026-01-01 00:00:20');

-- A refused point fails the statement and leaves the journal as it was:
-- out of order, a value the kind cannot read, an unknown series.
SELECT jsnap() AS before \gset
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 00:00:20', '2026-01-01 00:00:05']::timestamptz[],
                  ARRAY[2, 20]);
SELECT rrd.update(ARRAY['j.a', 'j.cnt'], ARRAY['2026-01-01 00:00:20', '2026-01-01 00:00:20']::timestamptz[],
                  ARRAY[2, 1.5]);
SELECT rrd.update(ARRAY['j.a', 'j.nope'], ARRAY['2026-01-01 00:00:20', '2026-01-01 00:00:20']::timestamptz[],
                  ARRAY[2, 3]);
INSERT INTO rrd.points VALUES ('j.a', '2026-01-01 00:00:20', 2), ('j.b', '2026-01-01 00:00:10', 3);
SELECT jsnap() = :'before' AS journal_unchanged;
-- skip_bad leaves the refused points out and counts them.
SELECT rrd.update(ARRAY['j.a', 'j.b', 'j.a'], ARRAY['2026-01-01 00:00:20', '2026-01-01 00:00:05',
                  '2026-01-01 00:00:15']::timestamptz[], ARRAY[2, 20, 3], skip_bad => true) AS skipped;

-- Savepoints: a journal write rolled back to a savepoint is gone, and so
-- are its tips: the same times are accepted again.
BEGIN;
SAVEPOINT s;
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 00:00:30', '2026-01-01 00:00:30']::timestamptz[],
                  ARRAY[100, 100]);
SELECT rrd.pending('j.a') AS in_savepoint;
ROLLBACK TO s;
SELECT rrd.pending('j.a') AS after_rollback;
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 00:00:30', '2026-01-01 00:00:30']::timestamptz[],
                  ARRAY[3, 30]);
COMMIT;

-- One-series writes beside the journal: they fold the series' lane first,
-- then write directly; the next journaling statement checks against them.
SELECT rrd.update('j.c', '2026-01-01 00:00:30', 5);
SELECT rrd.update(ARRAY['j.c', 'j.a'], ARRAY['2026-01-01 00:00:25', '2026-01-01 00:00:40']::timestamptz[],
                  ARRAY[6, 4]);
SELECT rrd.update(ARRAY['j.c', 'j.a'], ARRAY['2026-01-01 00:00:40', '2026-01-01 00:00:40']::timestamptz[],
                  ARRAY[6, 4]);
SELECT rrd.update('j.a', '2026-01-01 00:00:40', 7);
SELECT rrd.update('j.a', '2026-01-01 00:00:50', 7);
-- Counters journaled with exact numeric text and read back exactly.
SELECT rrd.update(ARRAY['j.cnt', 'j.b'], ARRAY['2026-01-01 00:00:10', '2026-01-01 00:00:40']::timestamptz[],
                  ARRAY[100, 40]);
INSERT INTO rrd.points VALUES ('j.cnt', '2026-01-01 00:00:20', 200), ('j.b', '2026-01-01 00:00:50', 50);
SELECT t, v FROM rrd.fetch('j.cnt', 'AVERAGE', '2026-01-01', '2026-01-01 00:00:20');

-- Many steps in the journal, then every read before and after a fold.
SELECT sum(rrd.update(ARRAY['j.a', 'j.b', 'j.c'], ARRAY[ts, ts, ts], ARRAY[k, k * 2, k * 3])) AS skipped
FROM generate_series(6, 300) AS k, LATERAL (SELECT '2026-01-01'::timestamptz + k * interval '10 s' AS ts) AS x;
SELECT rrd.pending() > 0 AS pending;
SELECT reads() AS before_fold \gset
SELECT rrd.flush('j.a') > 0 AS folded_one;
SELECT rrd.pending() AS pending_after_one;
SELECT reads() = :'before_fold' AS same_after_one;
SELECT rrd.flush() AS folded_rest;
SELECT rrd.pending() AS pending, (SELECT count(*) FROM rrd.journal) AS journal_rows;
SELECT reads() = :'before_fold' AS same_after_all;
SELECT rrd.flush() AS nothing_left;

-- A fold that fails or is rolled back leaves the journal as it was.
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 01:00', '2026-01-01 01:00']::timestamptz[], ARRAY[1, 2]);
SELECT snap() AS before \gset
BEGIN;
SELECT rrd.flush() AS folded;
ROLLBACK;
SELECT snap() = :'before' AS unchanged;

-- Changes of a series fold it first: tune, resize, rename, drop.
SELECT rrd.tune('j.a', heartbeat => '40 s') IS NOT NULL AS tuned;
SELECT rrd.pending('j.a') AS a_after_tune;
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 01:00:30', '2026-01-01 01:00:30']::timestamptz[], ARRAY[1, 2]);
SELECT rrd.rename('j.b', 'j.b2');
SELECT rrd.pending('j.b2') AS b_after_rename;
SELECT rrd.update(ARRAY['j.a', 'j.b2'], ARRAY['2026-01-01 01:00:40', '2026-01-01 01:00:40']::timestamptz[], ARRAY[1, 2]);
SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY['2026-01-01 01:00:50', '2026-01-01 01:00:50']::timestamptz[], ARRAY[1, 2]);
SELECT rrd.rename('j.b2', 'j.b');
SELECT rrd.drop('j.c');
SELECT rrd.update(ARRAY['j.a', 'j.c'], ARRAY['2026-01-01 01:01', '2026-01-01 01:01']::timestamptz[], ARRAY[1, 2]);
SELECT rrd.flush() >= 0 AS folded;

-- Bounded without the background worker: a lane's journal never holds
-- much more than a fold's worth (writers fold it themselves).
SELECT max(p) <= 32768 + 2 AS bounded, min(p) < max(p) AS folded_inline
FROM (SELECT rrd.update(ARRAY['j.a', 'j.b'], ARRAY[ts, ts], ARRAY[k, k]), rrd.pending() AS p
      FROM generate_series(1, 20000) AS k,
           LATERAL (SELECT '2026-01-02'::timestamptz + k * interval '10 s' AS ts) AS x) AS s;

-- Row-by-row writes in one statement and one transaction: the later
-- points of a series are kept in memory and written once; reads in the
-- same transaction see them, savepoints take theirs back.
BEGIN;
SELECT count(rrd.update('j.a', '2026-01-05'::timestamptz + k * interval '10 s', k)) AS written
FROM generate_series(1, 500) AS k;
SELECT * FROM rrd.lastupdate('j.a');
SAVEPOINT s;
SELECT rrd.update('j.a', '2026-01-05 02:00', 1);
SELECT * FROM rrd.lastupdate('j.a');
ROLLBACK TO s;
SELECT rrd.update('j.a', '2026-01-05 01:30', 2);
-- A refused point fails its own statement, not the commit.
SAVEPOINT d;
SELECT rrd.update('j.a', '2026-01-05 01:30', 2);
ROLLBACK TO d;
COMMIT;
SELECT * FROM rrd.lastupdate('j.a');
SELECT count(v), sum(v) FROM rrd.fetch('j.a', 'AVERAGE', '2026-01-03', '2026-01-05 01:30');

-- A savepoint rolled back after a statement that gave up the kept points
-- (a journal write, a rename) takes only its own points with it.
BEGIN;
SELECT rrd.create('r.a', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0:1:10', to_timestamp(1000000000)) > 0 AS a,
       rrd.create('r.b', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0:1:10', to_timestamp(1000000000)) > 0 AS b;
SELECT rrd.update('r.a', to_timestamp(1000000010), 1);
SELECT rrd.update('r.a', to_timestamp(1000000020), 2);
SAVEPOINT s;
SELECT rrd.update('{r.a,r.b}'::text[], ARRAY[to_timestamp(1000000030), to_timestamp(1000000030)], '{3,3}'::float8[]);
ROLLBACK TO SAVEPOINT s;
SAVEPOINT s;
SELECT rrd.rename('r.b', 'r.c');
ROLLBACK TO SAVEPOINT s;
SELECT extract(epoch FROM t) AS t, v
FROM rrd.fetch('r.a', 'LAST', to_timestamp(1000000000), to_timestamp(1000000020));
ROLLBACK;
-- Names resolved from a series created in a transaction that rolled back
-- are not kept.
SELECT rrd.create('r.a', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0:1:10', to_timestamp(1000000000)) > 0 AS a,
       rrd.create('r.b', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0:1:10', to_timestamp(1000000000)) > 0 AS b;
SELECT rrd.update('{r.a,r.b}'::text[], ARRAY[to_timestamp(1000000010), to_timestamp(1000000010)], '{1,1}'::float8[]);
SELECT extract(epoch FROM t) AS t, v
FROM rrd.fetch('r.b', 'LAST', to_timestamp(1000000000), to_timestamp(1000000010));
