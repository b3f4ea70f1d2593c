-- Two group roles (docs/privileges.md), made when the extension is created
-- if the cluster has none of those names, and kept when it is dropped
-- (roles belong to the cluster, not to a database):
--   rrd_reader  reads every series: fetch, find, info, dump, verify...
--   rrd_writer  rrd_reader, and writes points and creates series: update,
--               rrd.points, flush, import; sets meta and tags.
-- Neither may drop a series or change a definition (drop, rename, tune,
-- resize, add_archive, drop_archive): those stay with the tables' owner
-- and whom the owner grants DELETE or UPDATE on rrd.series. A role with
-- neither reads nothing: every function that reads a series is refused
-- with PostgreSQL's "permission denied" (42501). pg_rrd has no SECURITY
-- DEFINER function: each call runs with the caller's privileges.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'rrd_reader') THEN
        CREATE ROLE rrd_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'rrd_writer') THEN
        CREATE ROLE rrd_writer NOLOGIN;
    END IF;
END
$$;
GRANT rrd_reader TO rrd_writer;
GRANT USAGE ON SCHEMA rrd TO rrd_reader;
GRANT SELECT ON rrd.series, rrd.state, rrd.chunk, rrd.lane, rrd.journal, rrd.tip,
    rrd.graphite_schemas, rrd.listener_counters TO rrd_reader;
-- A writer creates series (their rows in every table, an id from the
-- sequence), rewrites state and chunk rows, appends to the journal and
-- folds it. Locking a series row for a write (FOR KEY SHARE) needs UPDATE
-- on one of its columns: meta and tags, which a writer may set anyway.
GRANT INSERT, UPDATE (meta, tags) ON rrd.series TO rrd_writer;
GRANT USAGE ON SEQUENCE rrd.series_id_seq TO rrd_writer;
GRANT INSERT, UPDATE ON rrd.state, rrd.chunk, rrd.lane TO rrd_writer;
GRANT INSERT, DELETE ON rrd.journal, rrd.tip TO rrd_writer;
GRANT INSERT ON rrd.points TO rrd_writer;
