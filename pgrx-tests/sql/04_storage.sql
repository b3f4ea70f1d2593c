\set VERBOSITY terse
-- Chunk rows are plain arrays, never compressed or TOASTed, within a page.
SELECT attname, attstorage FROM pg_attribute
WHERE attrelid = 'rrd.chunk'::regclass AND attname = 'dp';
SELECT rrd.create('store.a', '--step 1 DS:x:GAUGE:5:U:U RRA:AVERAGE:0.5:1:2000 RRA:MAX:0.5:10:50',
                  to_timestamp(1000000000)) > 0 AS created;
-- One update 1000 s later with a heartbeat-covered value... not possible with
-- heartbeat 5, so feed 600 regular points first.
SELECT count(*) FROM (SELECT rrd.update('store.a', to_timestamp(1000000000 + i), i)
                      FROM generate_series(1, 600) AS i) AS x;
SELECT archive, count(*) AS chunks, max(pg_column_size(dp)) AS max_dp_bytes,
       max(pg_column_size(c.*)) <= 8160 AS fits_a_page,
       bool_and(cardinality(dp) <= 240) AS width_ok
FROM rrd.chunk c GROUP BY archive ORDER BY archive;
SELECT pg_relation_size(reltoastrelid) AS toast_bytes
FROM pg_class WHERE oid = 'rrd.chunk'::regclass;
-- Unknown slots are NaN in the arrays and NULL in results.
SELECT rrd.update('store.a', to_timestamp(1000000601), NULL);
SELECT rrd.update('store.a', to_timestamp(1000000602), 5);
SELECT 'NaN'::float8 = ANY (dp) AS nan_in_array FROM rrd.chunk WHERE archive = 0 AND chunk = 2;
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('store.a', 'AVERAGE', to_timestamp(1000000598), to_timestamp(1000000601), interval '1 s');

-- A chunk row is written once per call, however many of its slots change:
-- heartbeat 100 on a 1 s step, one update 50 s later fills 50 slots.
SELECT rrd.create('store.b', '--step 1 DS:x:GAUGE:100:U:U RRA:AVERAGE:0.5:1:200',
                  to_timestamp(1000000000)) > 0 AS created;
BEGIN;
SELECT rrd.update('store.b', to_timestamp(1000000050), 7);
SELECT n_tup_ins + n_tup_upd AS chunk_row_writes FROM pg_stat_xact_user_tables
WHERE relid = 'rrd.chunk'::regclass;
SELECT cardinality(dp) AS width, hi FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id
WHERE s.name = 'store.b';
COMMIT;
SELECT count(v) AS known_slots FROM rrd.fetch('store.b', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000060), interval '1 s');

-- A long gap costs no chunk writes: ten years later, beyond the heartbeat.
BEGIN;
SELECT rrd.update('store.a', to_timestamp(1000000000) + interval '10 years', 1);
SELECT n_tup_ins + n_tup_upd AS chunk_row_writes FROM pg_stat_xact_user_tables
WHERE relid = 'rrd.chunk'::regclass;
COMMIT;
-- ... and the old laps read as NULL.
SELECT count(v) AS known, count(*) AS total FROM rrd.fetch('store.a', 'AVERAGE',
  to_timestamp(1000000000) + interval '10 years' - interval '1999 s',
  to_timestamp(1000000000) + interval '10 years', interval '1 s');
SELECT count(v) AS known, count(*) AS total FROM rrd.fetch('store.a', 'MAX',
  to_timestamp(1000000000) + interval '10 years' - interval '500 s',
  to_timestamp(1000000000) + interval '10 years', interval '10 s');
-- State rows stay small.
SELECT max(pg_column_size(st.*)) < 200 AS state_row_small FROM rrd.state st;
SELECT rrd.drop('store.a'), rrd.drop('store.b');
