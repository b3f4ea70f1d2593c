\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- Chunk rows are plain arrays, never compressed or TOASTed, within a page.
SELECT attname, attstorage FROM pg_attribute
WHERE attrelid = 'rrd.chunk'::regclass AND attname = 'dp';
SELECT rrd.create('store.a', '--step 1 DS:x:GAUGE:5:U:U RRA:AVERAGE:0.5:1:2000 RRA:MAX:0.5:10:50',
                  to_timestamp(1000000000)) > 0 AS created;
-- Count every chunk row written (inserted or updated). A trigger on rrd.*
-- runs under pg_rrd's own search_path (pg_catalog, pg_temp): it names its tables.
CREATE TABLE chunk_writes (n bigint);
INSERT INTO chunk_writes VALUES (0);
CREATE FUNCTION count_chunk_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE public.chunk_writes SET n = n + 1; RETURN NULL; END $$;
CREATE TRIGGER count_writes AFTER INSERT OR UPDATE ON rrd.chunk
  FOR EACH ROW EXECUTE FUNCTION count_chunk_write();
-- 600 regular points, one a second.
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
UPDATE chunk_writes SET n = 0;
SELECT rrd.update('store.b', to_timestamp(1000000050), 7);
SELECT n AS chunk_row_writes FROM chunk_writes;
SELECT chunk, cardinality(dp) AS width FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id
WHERE s.name = 'store.b';
-- 500 slots over three chunk rows of 240: three writes.
SELECT rrd.create('store.c', '--step 1 DS:x:GAUGE:1000:U:U RRA:AVERAGE:0.5:1:1000',
                  to_timestamp(1000000000)) > 0 AS created;
UPDATE chunk_writes SET n = 0;
SELECT rrd.update('store.c', to_timestamp(1000000500), 3);
SELECT n AS chunk_row_writes FROM chunk_writes;
SELECT chunk, cardinality(dp) AS width, count(*) FILTER (WHERE x <> 'NaN') AS written
FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id, unnest(dp) AS x
WHERE s.name = 'store.c' GROUP BY chunk, dp ORDER BY chunk;
SELECT count(v) AS known_slots, min(v), max(v) FROM rrd.fetch('store.c', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000600), interval '1 s');
SELECT count(v) AS known_slots FROM rrd.fetch('store.b', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000060), interval '1 s');

-- Batches too: 300 points in one array call, or in one INSERT into rrd.points,
-- rewrite each chunk row they touch once (two rows of 240 slots here).
SELECT rrd.create('store.d', '--step 1 DS:x:GAUGE:5:U:U RRA:AVERAGE:0.5:1:1000',
                  to_timestamp(1000000000)) > 0 AS created;
UPDATE chunk_writes SET n = 0;
SELECT rrd.update('store.d', array_agg(to_timestamp(1000000000 + i) ORDER BY i),
                  array_agg(i::float8 ORDER BY i))
FROM generate_series(1, 300) AS i;
SELECT n AS chunk_row_writes FROM chunk_writes;
UPDATE chunk_writes SET n = 0;
INSERT INTO rrd.points SELECT 'store.d', to_timestamp(1000000300 + i), i FROM generate_series(1, 300) AS i;
SELECT n AS chunk_row_writes FROM chunk_writes;
SELECT count(v) AS known_slots FROM rrd.fetch('store.d', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000600), interval '1 s');

-- A failure half-way through a write leaves nothing behind: make the second
-- chunk row write of one call fail, and every table is as it was.
CREATE FUNCTION fail_second_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE public.chunk_writes SET n = n + 1;
  IF (SELECT n FROM public.chunk_writes) >= 2 THEN RAISE EXCEPTION 'injected failure'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fail_writes BEFORE INSERT OR UPDATE ON rrd.chunk
  FOR EACH ROW EXECUTE FUNCTION fail_second_write();
CREATE TEMP TABLE before AS
  SELECT (SELECT md5(string_agg(c::text, ',' ORDER BY c.archive, c.chunk)) FROM rrd.chunk c) AS chunks,
         (SELECT md5(string_agg(st::text, ',')) FROM rrd.state st) AS state;
UPDATE chunk_writes SET n = 0;
SELECT err($$SELECT rrd.update('store.c', to_timestamp(1000000990), 4)$$);
SELECT (SELECT md5(string_agg(c::text, ',' ORDER BY c.archive, c.chunk)) FROM rrd.chunk c) = chunks AS chunks_unchanged,
       (SELECT md5(string_agg(st::text, ',')) FROM rrd.state st) = state AS state_unchanged
FROM before;
DROP TRIGGER fail_writes ON rrd.chunk;
SELECT rrd.update('store.c', to_timestamp(1000000990), 4);
SELECT count(v) AS known_slots FROM rrd.fetch('store.c', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000001000), interval '1 s');

-- A long gap costs no chunk writes: ten years later, beyond the heartbeat.
UPDATE chunk_writes SET n = 0;
SELECT rrd.update('store.a', to_timestamp(1000000000) + interval '10 years', 1);
SELECT n AS chunk_row_writes FROM chunk_writes;
-- The gap is one hole per archive in the state row: (archive, first slot, last slot).
SELECT cardinality(holes) / 3 AS holes FROM rrd.state st JOIN rrd.series s ON s.id = st.series_id
WHERE s.name = 'store.a';
-- ... and the old laps read as NULL.
SELECT count(v) AS known, count(*) AS total FROM rrd.fetch('store.a', 'AVERAGE',
  to_timestamp(1000000000) + interval '10 years' - interval '1999 s',
  to_timestamp(1000000000) + interval '10 years', interval '1 s');
SELECT count(v) AS known, count(*) AS total FROM rrd.fetch('store.a', 'MAX',
  to_timestamp(1000000000) + interval '10 years' - interval '500 s',
  to_timestamp(1000000000) + interval '10 years', interval '10 s');
-- State rows stay small.
SELECT max(pg_column_size(st.*)) < 256 AS state_row_small FROM rrd.state st;
SELECT rrd.drop('store.a'), rrd.drop('store.b'), rrd.drop('store.c'), rrd.drop('store.d');
DROP TRIGGER count_writes ON rrd.chunk;

-- Updates are HOT: the current version of a rewritten row is a heap-only
-- tuple, made by an update on the same page without a new index entry.
CREATE EXTENSION pageinspect;
CREATE FUNCTION heap_only(rel regclass, t tid) RETURNS boolean LANGUAGE sql AS $$
  SELECT (t_infomask2 & 32768) <> 0
  FROM heap_page_items(get_raw_page(rel::text, (t::text::point)[0]::int))
  WHERE lp = (t::text::point)[1]::int $$;
SELECT rrd.create('store.h', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:6:100',
                  to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('store.h', ARRAY[to_timestamp(1000000010), to_timestamp(1000000020)], ARRAY[1, 2]);
SELECT rrd.update('store.h', to_timestamp(1000000030), 3);
SELECT heap_only('rrd.state', st.ctid) AS state_hot
FROM rrd.state st JOIN rrd.series s ON s.id = st.series_id WHERE s.name = 'store.h';
SELECT archive, chunk, heap_only('rrd.chunk', c.ctid) AS chunk_hot
FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id
WHERE s.name = 'store.h' AND chunk = 0 AND archive = 0;
-- Every row of a series is allocated at create, its rows next to each other.
-- Six rows, three to a page: two pages, or three when the first is shared.
SELECT count(*) AS chunk_rows, count(DISTINCT (c.ctid::text::point)[0]) <= 3 AS on_few_pages
FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id WHERE s.name = 'store.h';
SELECT rrd.drop('store.h');
DROP EXTENSION pageinspect;
