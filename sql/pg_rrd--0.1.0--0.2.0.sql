-- pg_rrd 0.1.0 to 0.2.0: what 0.2.0 adds, nothing changed or removed.
-- Run by ALTER EXTENSION pg_rrd UPDATE; never edited once released.
--   - importers and dumps: rrd.import_rrdtool, rrd.import_whisper, rrd.dump
--   - rrdtool update strings: rrd.update(text, text), rrd.update(text, text[], boolean)
--   - rrd.verify
--   - the Graphite listener's tables and rrd.listener_stats()
--   - the roles rrd_reader and rrd_writer
--   - aggregates inside the store: rrd.aggregate, rrd.aggregate_many, rrd.aggregate_tagged
--   - graphs: rrd.graph, rrd.sparkline
--   - why values are unknown: rrd.unknown_spans, rrd.explain
--   - late points: rrd.lane.held, lateness => on rrd.create and rrd.tune
\echo Use "ALTER EXTENSION pg_rrd UPDATE TO '0.2.0'" to load this file. \quit

-- src/import.rs:181
-- pg_rrd::import::dump
CREATE  FUNCTION "dump"(
	"name" TEXT /* Option < & str > */
) RETURNS TEXT /* String */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'dump_wrapper';

-- src/import.rs:104
-- pg_rrd::import::import_rrdtool
CREATE  FUNCTION "import_rrdtool"(
	"name" TEXT, /* Option < & str > */
	"xml" TEXT, /* Option < & str > */
	"skip_unsupported" bool DEFAULT false, /* Option < bool > */
	"on_exists" TEXT DEFAULT 'error' /* Option < & str > */
) RETURNS TABLE (
	"series" TEXT,  /* String */
	"action" TEXT  /* String */
)

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'import_rrdtool_wrapper';

-- src/import.rs:136
-- pg_rrd::import::import_whisper
CREATE  FUNCTION "import_whisper"(
	"name" TEXT, /* Option < & str > */
	"data" bytea, /* Option < & [u8] > */
	"heartbeat" INT DEFAULT NULL, /* Option < i32 > */
	"on_exists" TEXT DEFAULT 'error' /* Option < & str > */
) RETURNS TABLE (
	"series" TEXT,  /* String */
	"action" TEXT  /* String */
)

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'import_whisper_wrapper';

-- src/verify.rs:24
-- pg_rrd::verify::verify
CREATE  FUNCTION "verify"(
	"name" TEXT DEFAULT NULL /* Option < & str > */
) RETURNS TABLE (
	"series" TEXT,  /* Option < String > */
	"problem" TEXT  /* String */
)
STABLE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'verify_wrapper';

-- src/update.rs:206
-- pg_rrd::update::update
CREATE  FUNCTION "update"(
	"name" TEXT, /* Option < & str > */
	"spec" TEXT /* Option < & str > */
) RETURNS void

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'update_spec_wrapper';

-- src/ingest.rs:177
-- pg_rrd::ingest::update
CREATE  FUNCTION "update"(
	"name" TEXT, /* Option < & str > */
	"specs" TEXT[], /* :: std :: option :: Option < Array < & str > > */
	"skip_bad" bool DEFAULT false /* Option < bool > */
) RETURNS bigint /* i64 */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'update_specs_wrapper';

-- sql/listener.sql of 0.2.0
-- The Graphite listener (docs/graphite-listener.md): what it does with a
-- path that names no series, and what it has counted.

-- Definitions for new series, as carbon's storage-schemas: a line whose
-- path names no series creates one from the rule of highest priority
-- whose pattern (a POSIX regular expression, as PostgreSQL's ~) matches
-- the path; ties go to the pattern that sorts first. A path that matches
-- no rule is counted (dropped_no_rule) and dropped.
CREATE TABLE rrd.graphite_schemas (
    pattern    text PRIMARY KEY,
    definition rrd.rrd NOT NULL,
    priority   integer NOT NULL DEFAULT 0,
    -- A pattern that is not a valid regular expression fails here, not
    -- in the listener.
    CHECK (('' OPERATOR(pg_catalog.~) pattern) IS NOT NULL)
);

-- Counters the listener adds to as it commits, each once per name.
CREATE TABLE rrd.listener_counters (
    counter text PRIMARY KEY,
    value   bigint NOT NULL DEFAULT 0,
    updated timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- What the listener has counted since the counters were last reset
-- (TRUNCATE rrd.listener_counters), every counter listed even at zero.
CREATE FUNCTION rrd.listener_stats(OUT counter text, OUT value bigint, OUT updated timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT k.counter, coalesce(c.value, 0), c.updated
    FROM unnest(ARRAY['lines_accepted', 'refused_malformed', 'refused_bad_path',
                      'refused_bad_value', 'refused_bad_time', 'refused_too_long',
                      'refused_by_series', 'dropped_no_rule', 'series_created',
                      'lines_failed', 'batches', 'connections_accepted',
                      'connections_refused']) WITH ORDINALITY AS k(counter, i)
    LEFT JOIN rrd.listener_counters c ON c.counter OPERATOR(pg_catalog.=) k.counter
    ORDER BY k.i
$$;

SELECT pg_catalog.pg_extension_config_dump('rrd.graphite_schemas', '');

-- sql/roles.sql of 0.2.0
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

-- src/aggregate.rs:85
-- pg_rrd::aggregate::aggregate
CREATE  FUNCTION "aggregate"(
	"name" TEXT, /* Option < & str > */
	"cf" TEXT, /* Option < & str > */
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"resolution" interval DEFAULT NULL, /* Option < Interval > */
	"percentile" double precision DEFAULT NULL /* Option < f64 > */
) RETURNS TABLE (
	"count" bigint,  /* i64 */
	"sum" double precision,  /* Option < f64 > */
	"avg" double precision,  /* Option < f64 > */
	"min" double precision,  /* Option < f64 > */
	"max" double precision,  /* Option < f64 > */
	"first" double precision,  /* Option < f64 > */
	"last" double precision,  /* Option < f64 > */
	"stddev" double precision,  /* Option < f64 > */
	"percentile" double precision,  /* Option < f64 > */
	"first_t" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_t" timestamp with time zone  /* Option < TimestampWithTimeZone > */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'aggregate_wrapper';
-- src/aggregate.rs:184
-- pg_rrd::aggregate::aggregate_many
CREATE  FUNCTION "aggregate_many"(
	"pattern" TEXT, /* Option < & str > */
	"cf" TEXT, /* Option < & str > */
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"resolution" interval DEFAULT NULL, /* Option < Interval > */
	"percentile" double precision DEFAULT NULL /* Option < f64 > */
) RETURNS TABLE (
	"name" TEXT,  /* String */
	"count" bigint,  /* i64 */
	"sum" double precision,  /* Option < f64 > */
	"avg" double precision,  /* Option < f64 > */
	"min" double precision,  /* Option < f64 > */
	"max" double precision,  /* Option < f64 > */
	"first" double precision,  /* Option < f64 > */
	"last" double precision,  /* Option < f64 > */
	"stddev" double precision,  /* Option < f64 > */
	"percentile" double precision,  /* Option < f64 > */
	"first_t" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_t" timestamp with time zone  /* Option < TimestampWithTimeZone > */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'aggregate_many_wrapper';
-- src/aggregate.rs:219
-- pg_rrd::aggregate::aggregate_tagged
CREATE  FUNCTION "aggregate_tagged"(
	"tags" jsonb, /* Option < Json > */
	"cf" TEXT, /* Option < & str > */
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"resolution" interval DEFAULT NULL, /* Option < Interval > */
	"percentile" double precision DEFAULT NULL /* Option < f64 > */
) RETURNS TABLE (
	"name" TEXT,  /* String */
	"count" bigint,  /* i64 */
	"sum" double precision,  /* Option < f64 > */
	"avg" double precision,  /* Option < f64 > */
	"min" double precision,  /* Option < f64 > */
	"max" double precision,  /* Option < f64 > */
	"first" double precision,  /* Option < f64 > */
	"last" double precision,  /* Option < f64 > */
	"stddev" double precision,  /* Option < f64 > */
	"percentile" double precision,  /* Option < f64 > */
	"first_t" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"last_t" timestamp with time zone  /* Option < TimestampWithTimeZone > */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'aggregate_tagged_wrapper';

-- src/graph.rs:69
-- pg_rrd::graph::graph
CREATE  FUNCTION "graph"(
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"series" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"pattern" TEXT DEFAULT NULL, /* Option < & str > */
	"tags" jsonb DEFAULT NULL, /* Option < Json > */
	"cf" TEXT DEFAULT 'AVERAGE', /* Option < & str > */
	"style" TEXT DEFAULT 'line', /* Option < & str > */
	"width" INT DEFAULT 600, /* Option < i32 > */
	"height" INT DEFAULT 200, /* Option < i32 > */
	"title" TEXT DEFAULT NULL, /* Option < & str > */
	"vertical_label" TEXT DEFAULT NULL, /* Option < & str > */
	"lower" double precision DEFAULT NULL, /* Option < f64 > */
	"upper" double precision DEFAULT NULL, /* Option < f64 > */
	"colors" TEXT[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < String > > > */
) RETURNS TEXT /* String */
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'graph_wrapper';
-- src/graph.rs:197
-- pg_rrd::graph::sparkline
CREATE  FUNCTION "sparkline"(
	"name" TEXT, /* Option < & str > */
	"cf" TEXT, /* Option < & str > */
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"width" INT DEFAULT 60 /* Option < i32 > */
) RETURNS TEXT /* String */
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sparkline_wrapper';

-- Why values are unknown (rrd.explain, docs/explain.md): per series, the
-- stretches of time whose input counted as unknown, with their causes, as
-- the engine reported them. A row is written only by updates that had
-- unknown input (or closed unknown PDPs); it holds what the rings still
-- cover, at most 8,192 spans.
CREATE TABLE rrd.unknown_spans (
    series_id bigint PRIMARY KEY,
    -- the series' start (microseconds); NULL when not known (an import)
    start_us  bigint,
    -- every span ending after this time is kept
    since_us  bigint NOT NULL,
    span_from bigint[] NOT NULL,           -- each span's first update, microseconds
    span_to   bigint[] NOT NULL,           -- its last update
    cause     smallint[] NOT NULL,         -- rrd_core::explain's cause codes
    detail    double precision[] NOT NULL  -- the heartbeat of a gap, the rate out of range, ...
);

-- Dropped with their series (rrd.drop, DELETE or TRUNCATE of rrd.series).
CREATE FUNCTION rrd._spans_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rrd.unknown_spans u USING gone g WHERE u.series_id OPERATOR(pg_catalog.=) g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER spans_deleted AFTER DELETE ON rrd.series
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION rrd._spans_deleted();

CREATE FUNCTION rrd._spans_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    TRUNCATE rrd.unknown_spans;
    RETURN NULL;
END
$$;
CREATE TRIGGER spans_truncated AFTER TRUNCATE ON rrd.series
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._spans_truncated();

SELECT pg_catalog.pg_extension_config_dump('rrd.unknown_spans', '');

-- Readers read it; writers write it as they write state rows.
GRANT SELECT ON rrd.unknown_spans TO rrd_reader;
GRANT INSERT, UPDATE ON rrd.unknown_spans TO rrd_writer;

-- src/explain.rs:44
-- pg_rrd::explain::explain
CREATE  FUNCTION "explain"(
	"name" TEXT, /* Option < & str > */
	"cf" TEXT, /* Option < & str > */
	"start" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"stop" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"resolution" interval DEFAULT NULL /* Option < Interval > */
) RETURNS TABLE (
	"t" timestamp with time zone,  /* TimestampWithTimeZone */
	"v" double precision,  /* Option < f64 > */
	"kind" TEXT,  /* String */
	"cause" TEXT,  /* Option < String > */
	"cause_from" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"cause_to" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"reason" TEXT  /* Option < String > */
)
STABLE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_wrapper';

-- sql/journal.sql of 0.2.0: the points a fold held back in lateness windows.
ALTER TABLE rrd.lane ADD COLUMN held bigint NOT NULL DEFAULT 0;

-- rrd.create and rrd.tune take a lateness window (docs/late.md).
DROP FUNCTION rrd."create"(text, rrd.rrd, timestamp with time zone, integer, jsonb, jsonb);
-- src/series.rs
-- pg_rrd::series::create
CREATE  FUNCTION rrd."create"(
	"name" TEXT, /* Option < & str > */
	"def" rrd.Rrd, /* Option < Rrd > */
	"start" timestamp with time zone DEFAULT NULL, /* Option < TimestampWithTimeZone > */
	"chunk_width" INT DEFAULT NULL, /* Option < i32 > */
	"meta" jsonb DEFAULT NULL, /* Option < Json > */
	"tags" jsonb DEFAULT NULL, /* Option < Json > */
	"lateness" interval DEFAULT NULL /* Option < Interval > */
) RETURNS bigint /* i64 */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'create_with_window_wrapper';

DROP FUNCTION rrd.tune(text, interval, double precision, double precision, text, text, integer, double precision);
-- src/tune.rs
-- pg_rrd::tune::tune
CREATE  FUNCTION rrd."tune"(
	"name" TEXT, /* Option < & str > */
	"heartbeat" interval DEFAULT NULL, /* Option < Interval > */
	"min" double precision DEFAULT NULL, /* Option < f64 > */
	"max" double precision DEFAULT NULL, /* Option < f64 > */
	"kind" TEXT DEFAULT NULL, /* Option < & str > */
	"ds_name" TEXT DEFAULT NULL, /* Option < & str > */
	"archive" INT DEFAULT NULL, /* Option < i32 > */
	"xff" double precision DEFAULT NULL, /* Option < f64 > */
	"lateness" interval DEFAULT NULL /* Option < Interval > */
) RETURNS rrd.Rrd /* rrd_core::... */

LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'tune_with_window_wrapper';
