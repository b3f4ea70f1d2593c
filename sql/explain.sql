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
