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
