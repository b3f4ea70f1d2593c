-- pg_rrd over several PostgreSQL nodes, sharded by series name with PL/Proxy.
--
-- Run on the proxy node, in the database clients connect to, after
--     CREATE EXTENSION plproxy;
-- It is not part of the pg_rrd extension: the proxy needs neither pg_rrd's library nor its
-- tables. Every shard runs CREATE EXTENSION pg_rrd in a database of its own. The shards are
-- the partitions of the PL/Proxy cluster named pg_rrd, which the DBA defines before the first
-- call (docs/scale-out.md):
--     CREATE SERVER pg_rrd FOREIGN DATA WRAPPER plproxy OPTIONS (modular_mapping '1',
--         p0 'host=... dbname=...', p1 '...', p2 '...');
--     CREATE USER MAPPING FOR PUBLIC SERVER pg_rrd OPTIONS (user '...');
--
-- A series lives on the shard that hashtext(name) picks (abs(hashtext(name) % N) of N partitions
-- with modular_mapping, any N; its low bits without it, N a power of 2). A NULL
-- name is sent to the shard of '' (coalesce), which refuses it as one node does. The
-- functions below keep the names, argument names, defaults and result columns of pg_rrd's
-- own, so a client calls the proxy as it would call one node:
--   - a function of one series runs on that series' shard;
--   - rrd.update(names[], t[], v[]) is split: each shard gets, in one statement, the points of
--     its own series, in the order they came (one transaction per shard, not one in all);
--   - rrd.find, rrd.children, rrd.fetch_many and rrd.fetch_tagged run on every shard at once
--     and their rows are merged and ordered here as one node orders them;
--   - INSERT and COPY into rrd.points are kept here until the statement ends, then sent as one
--     split rrd.update(names[], t[], v[]).
-- What a shard's definition type (rrd.rrd) holds comes back here as its text.
--
-- Not here, on purpose: rrd.rename to a name of another shard and rrd.import_rrdtool of a dump
-- of several data sources (refused, 0A000: the series would have to move, and such a dump makes
-- series NAME.DS, whose shards are not NAME's), the Graphite listener (each node's listener
-- writes only into its own node), and one snapshot or transaction across shards. The script
-- only creates or replaces its own objects, so it can be run again when it changes.

SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS rrd;

-- ---------------------------------------------------------------- one series: its shard

CREATE OR REPLACE FUNCTION rrd.create(name text, def text, start timestamptz DEFAULT NULL,
                                      chunk_width integer DEFAULT NULL, meta jsonb DEFAULT NULL,
                                      tags jsonb DEFAULT NULL)
RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    -- The definition travels as text; the shard reads it into its own type.
    SELECT rrd.create(name, def::rrd.rrd, start, chunk_width, meta, tags);
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.drop(name text) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(name text, t timestamptz, v double precision)
RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(name text, t timestamptz, v numeric) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(name text, spec text) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(name text, specs text[], skip_bad boolean DEFAULT false)
RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(name text, t timestamptz[], v double precision[],
                                      skip_bad boolean DEFAULT false)
RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.fetch(name text, cf text, start timestamptz, stop timestamptz,
                                     resolution interval DEFAULT NULL, points integer DEFAULT NULL)
RETURNS TABLE (t timestamptz, v double precision) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.fetch_array(name text, cf text, start timestamptz, stop timestamptz,
                                           resolution interval DEFAULT NULL)
RETURNS TABLE (start timestamptz, step interval, v double precision[]) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.fetch_stitched(name text, cf text, start timestamptz, stop timestamptz)
RETURNS TABLE (t timestamptz, v double precision, step interval) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.last(name text) RETURNS timestamptz AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.first(name text, archive integer DEFAULT 0) RETURNS timestamptz AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.lastupdate(name text) RETURNS TABLE (t timestamptz, value text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

-- "id" in it is the series' id on its shard: ids are unique per shard, not across shards.
CREATE OR REPLACE FUNCTION rrd.info(name text) RETURNS jsonb AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.definition(name text) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT rrd.definition(name)::text;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.dump(name text) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.pending(name text) RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.flush(name text) RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.set_meta(name text, meta jsonb) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.set_tags(name text, tags jsonb) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.tune(name text, heartbeat interval DEFAULT NULL,
                                    min double precision DEFAULT NULL,
                                    max double precision DEFAULT NULL, kind text DEFAULT NULL,
                                    ds_name text DEFAULT NULL, archive integer DEFAULT NULL,
                                    xff double precision DEFAULT NULL)
RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT rrd.tune(name, heartbeat, min, max, kind, ds_name, archive, xff)::text;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.resize(name text, archive integer, rows bigint) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT rrd.resize(name, archive, rows)::text;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.add_archive(name text, archive text) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT rrd.add_archive(name, archive)::text;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.drop_archive(name text, archive integer) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT rrd.drop_archive(name, archive)::text;
$$ LANGUAGE plproxy;

-- A Whisper file is one series, stored under NAME itself.
CREATE OR REPLACE FUNCTION rrd.import_whisper(name text, data bytea, heartbeat integer DEFAULT NULL,
                                              on_exists text DEFAULT 'error')
RETURNS TABLE (series text, action text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd._import_rrdtool(name text, xml text, skip_unsupported boolean,
                                               on_exists text)
RETURNS TABLE (series text, action text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    TARGET rrd.import_rrdtool;
$$ LANGUAGE plproxy;

-- A dump of one data source is stored under NAME; one of several would make NAME.DS for each,
-- on NAME's shard rather than on theirs, so it is refused here (import each data source's
-- series on its own shard instead). A text that does not read as XML goes on to the shard,
-- which refuses it as one node does.
CREATE OR REPLACE FUNCTION rrd.import_rrdtool(name text, xml text, skip_unsupported boolean DEFAULT false,
                                              on_exists text DEFAULT 'error')
RETURNS TABLE (series text, action text) LANGUAGE plpgsql AS $$
DECLARE
    sources integer := 0;
BEGIN
    BEGIN
        sources := (xpath('count(/rrd/ds)', $2::xml))[1]::text::numeric;
    EXCEPTION WHEN OTHERS THEN
        sources := 0;
    END;
    IF sources > 1 THEN
        RAISE EXCEPTION 'rrd.import_rrdtool through the proxy: the dump has % data sources, whose series "%.<ds>" belong to other shards than "%"', sources, $1, $1
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Import it on each data source''s shard, or one data source at a time.';
    END IF;
    RETURN QUERY SELECT i.series, i.action FROM rrd._import_rrdtool($1, $2, $3, $4) AS i;
END $$;

-- ---------------------------------------------------------------- definitions (any shard)

-- Pure functions of a definition, so that rrd.archives(rrd.definition(name)) works here too.
CREATE OR REPLACE FUNCTION rrd.archives(def text)
RETURNS TABLE (archive integer, cf text, xff double precision, steps bigint, rows bigint,
               resolution interval, span interval) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ANY;
    SELECT a.archive, a.cf, a.xff, a.steps, a.rows, a.resolution, a.span
    FROM rrd.archives(def::rrd.rrd) AS a;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.data_source(def text)
RETURNS TABLE (name text, kind text, heartbeat bigint, min double precision,
               max double precision) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ANY;
    SELECT d.name, d.kind, d.heartbeat, d.min, d.max FROM rrd.data_source(def::rrd.rrd) AS d;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.step(def text) RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON ANY;
    SELECT rrd.step(def::rrd.rrd);
$$ LANGUAGE plproxy;

-- ---------------------------------------------------------------- many series: split

-- Each shard's part of the arrays, in their order; one row (the points it skipped) per shard.
CREATE OR REPLACE FUNCTION rrd._update_split(names text[], t timestamptz[], v double precision[],
                                             skip_bad boolean)
RETURNS SETOF bigint AS $$
    CLUSTER 'pg_rrd';
    SPLIT names, t, v;
    RUN ON hashtext(coalesce(names, ''));
    TARGET rrd.update;
$$ LANGUAGE plproxy;

-- Arguments that one node refuses whole (a NULL array, arrays of different lengths, a NULL
-- name) go whole to one shard, which refuses them in the same words and writes nothing; split,
-- the other shards would write their parts.
CREATE OR REPLACE FUNCTION rrd._update_whole(names text[], t timestamptz[], v double precision[],
                                             skip_bad boolean)
RETURNS bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON ANY;
    TARGET rrd.update;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.update(names text[], t timestamptz[], v double precision[],
                                      skip_bad boolean DEFAULT false)
RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE
        WHEN $1 IS NULL OR $2 IS NULL OR $3 IS NULL
             OR cardinality($1) <> cardinality($2) OR cardinality($1) <> cardinality($3)
             OR array_position($1, NULL) IS NOT NULL
        THEN rrd._update_whole($1, $2, $3, $4)
        ELSE (SELECT coalesce(sum(n), 0)::bigint FROM rrd._update_split($1, $2, $3, $4) AS n)
    END;
$$;

-- rrd.points: rows kept in a temporary table of the session until the statement ends, then
-- sent as one split update; a statement that fails before its end sends nothing. The rows of
-- a statement are held here, so a COPY of many millions of rows is better cut in parts.
CREATE OR REPLACE VIEW rrd.points AS
    SELECT NULL::text AS name, NULL::timestamptz AS t, NULL::double precision AS v
    WHERE false;
COMMENT ON VIEW rrd.points IS
    'INSERT or COPY (name, t, v) rows here to update series; sent to the shards when the statement ends';

CREATE OR REPLACE FUNCTION rrd._points_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp._rrd_points_batch') IS NULL THEN
        CREATE TEMP TABLE _rrd_points_batch (
            seq  bigint GENERATED ALWAYS AS IDENTITY,
            name text, t timestamptz, v double precision);
    END IF;
    -- Left over by a statement that failed after its rows were kept.
    TRUNCATE pg_temp._rrd_points_batch;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION rrd._points_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp._rrd_points_batch (name, t, v) VALUES (NEW.name, NEW.t, NEW.v);
    RETURN NEW;
END $$;

-- pg_rrd.skip_bad_points, set in the proxy's session, skips refused points as on one node.
CREATE OR REPLACE FUNCTION rrd._points_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    skip boolean := coalesce(nullif(current_setting('pg_rrd.skip_bad_points', true), ''), 'off')::boolean;
    total bigint;
    skipped bigint;
BEGIN
    SELECT count(*) INTO total FROM pg_temp._rrd_points_batch;
    IF total > 0 THEN
        SELECT rrd.update(array_agg(b.name ORDER BY b.seq), array_agg(b.t ORDER BY b.seq),
                          array_agg(b.v ORDER BY b.seq), skip)
        INTO skipped
        FROM pg_temp._rrd_points_batch AS b;
        IF skipped > 0 THEN
            RAISE NOTICE 'pg_rrd: skipped % of % points (pg_rrd.skip_bad_points is on)', skipped, total;
        END IF;
    END IF;
    TRUNCATE pg_temp._rrd_points_batch;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS points_statement_start ON rrd.points;
DROP TRIGGER IF EXISTS points_row ON rrd.points;
DROP TRIGGER IF EXISTS points_statement_end ON rrd.points;
CREATE TRIGGER points_statement_start BEFORE INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._points_start();
CREATE TRIGGER points_row INSTEAD OF INSERT ON rrd.points
    FOR EACH ROW EXECUTE FUNCTION rrd._points_row();
CREATE TRIGGER points_statement_end AFTER INSERT ON rrd.points
    FOR EACH STATEMENT EXECUTE FUNCTION rrd._points_end();

-- ---------------------------------------------------------------- every shard: merged here

CREATE OR REPLACE FUNCTION rrd._find_all(pattern text, "from" timestamptz, until timestamptz)
RETURNS TABLE (name text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.find;
$$ LANGUAGE plproxy;

-- Names in byte order, as one node sorts them (not the database's collation).
CREATE OR REPLACE FUNCTION rrd.find(pattern text, "from" timestamptz DEFAULT NULL,
                                    until timestamptz DEFAULT NULL)
RETURNS TABLE (name text) LANGUAGE sql STABLE AS $$
    SELECT f.name FROM rrd._find_all($1, $2, $3) AS f ORDER BY f.name COLLATE "C";
$$;

CREATE OR REPLACE FUNCTION rrd._children_all(prefix text)
RETURNS TABLE (path text, node text, leaf boolean, branch boolean) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.children;
$$ LANGUAGE plproxy;

-- A node may end a series on one shard and go on below on another: each node once, with
-- what any shard says of it.
CREATE OR REPLACE FUNCTION rrd.children(prefix text DEFAULT NULL)
RETURNS TABLE (path text, node text, leaf boolean, branch boolean) LANGUAGE sql STABLE AS $$
    SELECT c.path, min(c.node), bool_or(c.leaf), bool_or(c.branch)
    FROM rrd._children_all($1) AS c
    GROUP BY c.path
    ORDER BY c.path COLLATE "C";
$$;

CREATE OR REPLACE FUNCTION rrd._fetch_many_all(pattern text, cf text, start timestamptz,
                                               stop timestamptz, resolution interval)
RETURNS TABLE (name text, t timestamptz, v double precision) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.fetch_many;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.fetch_many(pattern text, cf text, start timestamptz, stop timestamptz,
                                          resolution interval DEFAULT NULL)
RETURNS TABLE (name text, t timestamptz, v double precision) LANGUAGE sql STABLE AS $$
    SELECT f.name, f.t, f.v FROM rrd._fetch_many_all($1, $2, $3, $4, $5) AS f
    ORDER BY f.name COLLATE "C", f.t;
$$;

CREATE OR REPLACE FUNCTION rrd._fetch_tagged_all(tags jsonb, cf text, start timestamptz,
                                                 stop timestamptz, resolution interval)
RETURNS TABLE (name text, t timestamptz, v double precision) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.fetch_tagged;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.fetch_tagged(tags jsonb, cf text, start timestamptz, stop timestamptz,
                                            resolution interval DEFAULT NULL)
RETURNS TABLE (name text, t timestamptz, v double precision) LANGUAGE sql STABLE AS $$
    SELECT f.name, f.t, f.v FROM rrd._fetch_tagged_all($1, $2, $3, $4, $5) AS f
    ORDER BY f.name COLLATE "C", f.t;
$$;

CREATE OR REPLACE FUNCTION rrd._flush_all() RETURNS SETOF bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.flush;
$$ LANGUAGE plproxy;

-- Each shard folds its own journal in its own transaction; the sum of the points folded.
CREATE OR REPLACE FUNCTION rrd.flush() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(n), 0)::bigint FROM rrd._flush_all() AS n;
$$;

CREATE OR REPLACE FUNCTION rrd._pending_all() RETURNS SETOF bigint AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.pending;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd.pending() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(n), 0)::bigint FROM rrd._pending_all() AS n;
$$;

CREATE OR REPLACE FUNCTION rrd._verify_one(name text) RETURNS TABLE (series text, problem text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    TARGET rrd.verify;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd._verify_all() RETURNS TABLE (series text, problem text) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    TARGET rrd.verify;
$$ LANGUAGE plproxy;

-- One series on its shard; without a name, every shard checks all of its own.
CREATE OR REPLACE FUNCTION rrd.verify(name text DEFAULT NULL)
RETURNS TABLE (series text, problem text) LANGUAGE sql STABLE AS $$
    SELECT v.series, v.problem FROM rrd._verify_one($1) AS v WHERE $1 IS NOT NULL
    UNION ALL
    SELECT v.series, v.problem FROM rrd._verify_all() AS v WHERE $1 IS NULL;
$$;

-- The catalog of every shard, for reading (tags, meta): each use reads all of it, from every
-- shard. id is each shard's own, so two series may show the same id.
CREATE OR REPLACE FUNCTION rrd._series_all()
RETURNS TABLE (id bigint, name text, def text, chunk_width integer, created timestamptz,
               meta jsonb, tags jsonb) AS $$
    CLUSTER 'pg_rrd';
    RUN ON ALL;
    SELECT s.id, s.name, s.def::text AS def, s.chunk_width, s.created, s.meta, s.tags
    FROM rrd.series AS s;
$$ LANGUAGE plproxy;

CREATE OR REPLACE VIEW rrd.series AS SELECT * FROM rrd._series_all();

-- ---------------------------------------------------------------- rename: within one shard

-- Which node and database a name belongs to.
CREATE OR REPLACE FUNCTION rrd._home(name text) RETURNS text AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(name, ''));
    SELECT s.system_identifier || '/' || current_database() FROM pg_control_system() AS s;
$$ LANGUAGE plproxy;

CREATE OR REPLACE FUNCTION rrd._rename(old text, new text) RETURNS void AS $$
    CLUSTER 'pg_rrd';
    RUN ON hashtext(coalesce(old, ''));
    TARGET rrd.rename;
$$ LANGUAGE plproxy;

-- A rename keeps a series where it is, so the new name must belong to the same shard.
CREATE OR REPLACE FUNCTION rrd.rename(old text, new text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF old IS NOT NULL AND new IS NOT NULL AND rrd._home(old) <> rrd._home(new) THEN
        RAISE EXCEPTION 'rrd.rename through the proxy: "%" belongs to another shard than "%"', new, old
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Copy it: rrd.import_rrdtool(new, rrd.dump(old)), then rrd.drop(old).';
    END IF;
    PERFORM rrd._rename(old, new);
END $$;
