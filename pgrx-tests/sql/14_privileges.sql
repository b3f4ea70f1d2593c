\set VERBOSITY terse
SET TimeZone = 'UTC';
-- rrd_reader reads, rrd_writer writes points and creates series, neither
-- drops a series or changes a definition, a role with neither reads
-- nothing; each refusal is PostgreSQL's own (42501).
CREATE ROLE regress_rrd_nobody;
CREATE ROLE regress_rrd_reader IN ROLE rrd_reader;
CREATE ROLE regress_rrd_writer IN ROLE rrd_writer;
SELECT rrd.create('priv.' || x, '--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100', start => '2026-01-01') > 0 AS created
FROM unnest(ARRAY['a', 'b']) x;
SELECT rrd.update('priv.a', '2026-01-01 00:00:10+00', 1);
-- No pg_rrd function is SECURITY DEFINER.
SELECT count(*) AS definers FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'rrd' AND p.prosecdef;
CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;
CREATE TABLE calls (i serial, sql text);
INSERT INTO calls (sql) VALUES
  ($$SELECT count(*) FROM rrd.fetch('priv.a', 'AVERAGE', '2026-01-01', '2026-01-01 00:01')$$),
  ($$SELECT rrd.find('priv.*')$$),
  ($$SELECT rrd.info('priv.a')$$),
  ($$SELECT rrd.last('priv.a')$$),
  ($$SELECT rrd.dump('priv.a')$$),
  ($$SELECT count(*) FROM rrd.verify()$$),
  ($$SELECT count(*) FROM rrd.series$$),
  ($$SELECT rrd.update('priv.a', '2026-01-01 00:00:20+00', 2)$$),
  ($$SELECT rrd.update(ARRAY['priv.a', 'priv.b'], ARRAY['2026-01-01 00:00:30+00', '2026-01-01 00:00:30+00']::timestamptz[], ARRAY[3, 3]::float8[])$$),
  ($$INSERT INTO rrd.points VALUES ('priv.a', '2026-01-01 00:00:40+00', 4), ('priv.b', '2026-01-01 00:00:40+00', 4)$$),
  ($$SELECT rrd.flush()$$),
  ($$SELECT rrd.set_tags('priv.a', '{"dc": "x"}')$$),
  ($$SELECT rrd.create('priv.c', '--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100', start => '2026-01-01')$$),
  ($$SELECT rrd.import_rrdtool('priv.d', rrd.dump('priv.a'))$$),
  ($$SELECT rrd.drop('priv.b')$$),
  ($$SELECT rrd.rename('priv.b', 'priv.e')$$),
  ($$SELECT rrd.tune('priv.b', heartbeat => '30 s')$$),
  ($$SELECT rrd.resize('priv.b', 0, 200)$$),
  ($$DELETE FROM rrd.series WHERE name = 'priv.b'$$),
  ($$UPDATE rrd.series SET def = def WHERE name = 'priv.b'$$),
  ($$UPDATE rrd.series SET name = 'priv.f' WHERE name = 'priv.b'$$);
GRANT SELECT ON calls TO PUBLIC;
GRANT EXECUTE ON FUNCTION try(text) TO PUBLIC;
SET ROLE regress_rrd_nobody;
SELECT i, try(sql) AS nobody FROM calls ORDER BY i;
RESET ROLE;
SET ROLE regress_rrd_reader;
SELECT i, try(sql) AS reader FROM calls ORDER BY i;
RESET ROLE;
SET ROLE regress_rrd_writer;
SELECT i, try(sql) AS writer FROM calls ORDER BY i;
RESET ROLE;
SELECT * FROM rrd.verify();
SELECT rrd.drop(name) FROM rrd.series WHERE name LIKE 'priv.%' ORDER BY name;
DROP ROLE regress_rrd_nobody, regress_rrd_reader, regress_rrd_writer;
