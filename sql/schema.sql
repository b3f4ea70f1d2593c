-- pg_rrd tables. Ordinary WAL-logged tables, so transactions, crash
-- recovery, replication, pg_dump and backups cover them. Every table is
-- keyed by series id first.
--
-- rrd.state and rrd.chunk have no foreign key to rrd.series: pg_restore -j
-- loads the rows of the three tables at once, in parallel, and a key
-- checked while rrd.series is still loading would refuse them. Their rows
-- are written only by pg_rrd's functions, which write rrd.series first,
-- and a trigger removes them with their series.

CREATE SEQUENCE rrd.series_id_seq;

-- One row per series: its name and definition. Written at create/drop.
CREATE TABLE rrd.series (
    id          bigint PRIMARY KEY DEFAULT nextval('rrd.series_id_seq'),
    name        text NOT NULL CHECK (name <> ''),
    def         rrd.rrd NOT NULL,
    -- ring slots per chunk row; fixed for the life of the series
    chunk_width integer NOT NULL CHECK (chunk_width BETWEEN 1 AND 1000),
    created     timestamptz NOT NULL DEFAULT now(),
    -- free-form metadata, and string-valued dimensions searched by containment
    meta        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(meta) = 'object'),
    tags        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(tags) = 'object'),
    -- a hash index makes names of any length unique (a btree caps entries
    -- at a third of a page)
    CONSTRAINT series_name_key EXCLUDE USING hash (name WITH =)
);
ALTER SEQUENCE rrd.series_id_seq OWNED BY rrd.series.id;
-- rrd.find: a radix tree over the names answers "starts with" (^@) for
-- names of any length, so a pattern's literal prefix narrows the scan.
CREATE INDEX series_name_prefix ON rrd.series USING spgist (name);
-- tags @> '{"dc": "dc1"}'
CREATE INDEX series_tags ON rrd.series USING gin (tags jsonb_path_ops);

-- One row per series: the small state every update rewrites. No indexed
-- column changes on update and more than half of each page is kept free,
-- so that even when every series of a page is updated by one statement
-- each rewrite is a HOT update on the same page.
CREATE TABLE rrd.state (
    series_id       bigint PRIMARY KEY,
    last_up         bigint NOT NULL,            -- microseconds since 1970-01-01
    last_ds         text,                       -- raw last input; NULL = unknown
    pdp_val         double precision NOT NULL,  -- open PDP accumulator (NaN = none)
    pdp_unknown_sec bigint NOT NULL,            -- unknown seconds in the open PDP
    cdp_val         double precision[] NOT NULL,-- per archive: open CDP accumulator
    cdp_unknown     bigint[] NOT NULL,          -- per archive: unknown PDPs in it
    -- unknown runs of slots that were not written, as (archive, first slot,
    -- last slot) triples: a long gap costs one entry, not a chunk rewrite
    holes           bigint[] NOT NULL DEFAULT '{}'
) WITH (fillfactor = 45);

-- One row per series x archive x chunk: a run of ring slots and nothing
-- else, so that writing one slot changes eight bytes of the row. Slot
-- values are NaN when unknown, so the array has no null bitmap. STORAGE
-- PLAIN: a chunk row is never compressed or moved to TOAST; its width keeps
-- it inside one heap page. A series' rows are all written at create, next
-- to each other. Fillfactor 75 puts three rows of the default width (240
-- slots, 1994 bytes with the row's own bytes) on a page and leaves room
-- for one more version, so a statement that rewrites one row of a page
-- updates it in place (HOT).
CREATE TABLE rrd.chunk (
    series_id bigint   NOT NULL,
    archive   smallint NOT NULL,
    chunk     integer  NOT NULL,
    dp        double precision[] NOT NULL,
    PRIMARY KEY (series_id, archive, chunk)
) WITH (fillfactor = 75);
ALTER TABLE rrd.chunk ALTER COLUMN dp SET STORAGE PLAIN;

-- Deleting series (rrd.drop, or DELETE on rrd.series) removes their rows;
-- TRUNCATE of rrd.series empties the other tables too. Both tell every
-- backend's cache of names (rrd._names_changed).
CREATE FUNCTION rrd._series_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rrd.chunk c USING gone g WHERE c.series_id OPERATOR(pg_catalog.=) g.id;
    DELETE FROM rrd.state s USING gone g WHERE s.series_id OPERATOR(pg_catalog.=) g.id;
    DELETE FROM rrd.tip t USING gone g WHERE t.series_id OPERATOR(pg_catalog.=) g.id;
    -- Their journal points are dropped by the next fold of their lanes.
    PERFORM rrd._names_changed();
    RETURN NULL;
END
$$;
CREATE TRIGGER series_deleted AFTER DELETE ON rrd.series
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION rrd._series_deleted();

CREATE FUNCTION rrd._series_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    TRUNCATE rrd.state, rrd.chunk, rrd.lane, rrd.journal, rrd.tip;
    PERFORM rrd._names_changed();
    RETURN NULL;
END
$$;
CREATE TRIGGER series_truncated AFTER TRUNCATE ON rrd.series
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._series_truncated();

-- The stored bytes of a definition, read by the update path without
-- decoding them when they have not changed since the last call.
CREATE CAST (rrd.rrd AS bytea) WITHOUT FUNCTION;

-- pg_dump keeps the rows of extension tables only when told to.
SELECT pg_catalog.pg_extension_config_dump('rrd.series', '');
SELECT pg_catalog.pg_extension_config_dump('rrd.series_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('rrd.state', '');
SELECT pg_catalog.pg_extension_config_dump('rrd.chunk', '');
