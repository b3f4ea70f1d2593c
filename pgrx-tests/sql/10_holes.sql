\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

-- 1. A role that may create objects in a schema on a superuser's path plants
-- functions and operators there that would make it a superuser. None of them
-- runs, whatever pg_rrd function the superuser calls, even with public ahead
-- of pg_catalog.
CREATE ROLE rrd_attacker NOLOGIN;
CREATE TABLE public.hijacks (what text);
GRANT CREATE ON SCHEMA public TO rrd_attacker;
SET ROLE rrd_attacker;
CREATE FUNCTION public.planted(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.hijacks VALUES (what);
  ALTER ROLE rrd_attacker SUPERUSER;
END $$;
CREATE FUNCTION public.unnest(a text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('unnest(text[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.unnest(a bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('unnest(bigint[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.unnest(a integer[]) RETURNS SETOF integer LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('unnest(integer[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.unnest(a smallint[]) RETURNS SETOF smallint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('unnest(smallint[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.unnest(a double precision[]) RETURNS SETOF double precision LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('unnest(float8[])'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.array_fill(v double precision, n integer[]) RETURNS double precision[]
LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('array_fill'); RETURN pg_catalog.array_fill(v, n); END $$;
CREATE FUNCTION public.generate_series(a integer, b bigint) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('generate_series'); RETURN QUERY SELECT pg_catalog.generate_series(a::bigint, b); END $$;
CREATE FUNCTION public.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('text ='); RETURN pg_catalog.texteq(a, b); END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
CREATE FUNCTION public.text_re(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('text ~'); RETURN pg_catalog.textregexeq(a, b); END $$;
CREATE OPERATOR public.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_re);
CREATE FUNCTION public.text_starts(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('text ^@'); RETURN pg_catalog.starts_with(a, b); END $$;
CREATE OPERATOR public.^@ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_starts);
CREATE FUNCTION public.jsonb_has(a jsonb, b jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('jsonb @>'); RETURN pg_catalog.jsonb_contains(a, b); END $$;
CREATE OPERATOR public.@> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.jsonb_has);
CREATE FUNCTION public.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('bigint ='); RETURN pg_catalog.int8eq(a, b); END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.int8_eq);
CREATE FUNCTION public.int4_add(a integer, b integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN PERFORM public.planted('integer +'); RETURN pg_catalog.int4pl(a, b); END $$;
CREATE OPERATOR public.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.int4_add);
RESET ROLE;
-- The planted objects work: called directly, they log and escalate.
SET search_path = public, pg_catalog;
SELECT count(*) AS planted_unnest_runs FROM unnest(ARRAY['a']::text[]);
RESET search_path;
SELECT what FROM public.hijacks;
SELECT rolsuper FROM pg_roles WHERE rolname = 'rrd_attacker';
ALTER ROLE rrd_attacker NOSUPERUSER;
TRUNCATE public.hijacks;

-- Every pg_rrd call, as the superuser, with the attacker's schema first.
SET search_path = public, pg_catalog;
SELECT rrd.create('h.a', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:50 RRA:MAX:0.5:2:20',
                  '2020-01-01 00:00:00+00', meta => '{"k": 1}', tags => '{"dc": "one"}') IS NOT NULL AS created;
SELECT rrd.create('h.b', '--step 10 DS:x:COUNTER:20:U:U RRA:AVERAGE:0.5:1:50',
                  '2020-01-01 00:00:00+00') IS NOT NULL AS created;
SELECT rrd.update('h.a', '2020-01-01 00:00:10+00', 1.0::float8);
SELECT rrd.update('h.b', '2020-01-01 00:00:10+00', 10::numeric);
SELECT rrd.update('h.a', ARRAY['2020-01-01 00:00:20+00', '2020-01-01 00:00:30+00']::timestamptz[],
                  ARRAY[2, 3]::float8[]);
SELECT rrd.update(ARRAY['h.a', 'h.b']::text[], ARRAY['2020-01-01 00:00:40+00', '2020-01-01 00:00:40+00']::timestamptz[],
                  ARRAY[4, 40]::float8[]);
INSERT INTO rrd.points (name, t, v) VALUES ('h.a', '2020-01-01 00:00:50+00', 5), ('h.b', '2020-01-01 00:00:50+00', 90);
SELECT v FROM rrd.fetch('h.a', 'AVERAGE', '2020-01-01 00:00:00+00', '2020-01-01 00:00:50+00');
SELECT v FROM rrd.fetch('h.a', 'MAX', '2020-01-01 00:00:00+00', '2020-01-01 00:01:00+00', points => 2);
SELECT v FROM rrd.fetch_array('h.a', 'AVERAGE', '2020-01-01 00:00:00+00', '2020-01-01 00:00:50+00');
SELECT name, v FROM rrd.fetch_many('h.*', 'AVERAGE', '2020-01-01 00:00:30+00', '2020-01-01 00:00:50+00',
                                   resolution => '15 s');
SELECT name, v FROM rrd.fetch_tagged('{"dc": "one"}', 'AVERAGE', '2020-01-01 00:00:30+00', '2020-01-01 00:00:50+00');
SELECT v, step FROM rrd.fetch_stitched('h.a', 'AVERAGE', '2020-01-01 00:00:30+00', '2020-01-01 00:00:50+00');
SELECT name FROM rrd.find('h.{a,b}');
SELECT name FROM rrd.find('h.*', '2020-01-01 00:00:00+00', '2020-01-01 00:01:00+00');
SELECT path, leaf FROM rrd.children('h');
SELECT rrd.info('h.a') #>> '{ds,type}' AS info_type;
SELECT rrd.definition('h.a');
SELECT rrd.last('h.a'), rrd.first('h.a'), rrd.first('h.a', 1);
SELECT * FROM rrd.lastupdate('h.a');
SELECT rrd.step(rrd.definition('h.a'));
SELECT * FROM rrd.data_source(rrd.definition('h.a'));
SELECT archive, cf FROM rrd.archives(rrd.definition('h.a'));
SELECT rrd.set_meta('h.a', '{"k": 2}');
SELECT rrd.set_tags('h.a', '{"dc": "two"}');
SELECT rrd.rename('h.b', 'h.c');
SELECT rrd.tune('h.a', heartbeat => '30 s');
SELECT rrd.resize('h.a', 1, 30);
SELECT rrd.add_archive('h.a', 'RRA:MIN:0.5:5:10');
SELECT rrd.drop_archive('h.a', 2);
SELECT rrd.drop('h.c');
DELETE FROM rrd.series WHERE name OPERATOR(pg_catalog.=) 'h.a';
RESET search_path;
SELECT count(*) AS hijacked_calls FROM public.hijacks;
SELECT rolsuper FROM pg_roles WHERE rolname = 'rrd_attacker';
SELECT rows();
DROP FUNCTION public.unnest(text[]), public.unnest(bigint[]), public.unnest(integer[]),
  public.unnest(smallint[]), public.unnest(double precision[]), public.array_fill(double precision, integer[]),
  public.generate_series(integer, bigint) ;
DROP OPERATOR public.= (text, text), public.~ (text, text), public.^@ (text, text), public.@> (jsonb, jsonb),
  public.= (bigint, bigint), public.+ (integer, integer);
DROP FUNCTION public.text_eq(text, text), public.text_re(text, text), public.text_starts(text, text),
  public.jsonb_has(jsonb, jsonb), public.int8_eq(bigint, bigint), public.int4_add(integer, integer),
  public.planted(text);
DROP TABLE public.hijacks;
REVOKE CREATE ON SCHEMA public FROM rrd_attacker;
DROP ROLE rrd_attacker;

-- 2 and 3. A read over a thousand years of 10 s rows is refused at once
-- with the rows it would give; with points => n its work follows the ring.
SELECT rrd.create('f.g', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640',
                  '2020-01-01 00:00:00+00') IS NOT NULL AS created;
SELECT rrd.update('f.g', '2020-01-01 00:00:10+00', 1);
SELECT rrd.update('f.g', '2020-01-01 00:00:20+00', 3);
SELECT err($$SELECT count(*) FROM rrd.fetch_many('f.*', 'AVERAGE', '1981-01-01+00', '2981-01-01+00')$$);
SELECT err($$SELECT count(*) FROM rrd.fetch_tagged('{}', 'AVERAGE', '1981-01-01+00', '2981-01-01+00')$$);
SELECT err($$SELECT count(*) FROM rrd.fetch('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00')$$);
SELECT err($$SELECT count(*) FROM rrd.fetch('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00', points => 2147483647)$$);
SELECT err($$SELECT count(*) FROM rrd.fetch_stitched('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00')$$);
SELECT err($$SELECT count(*) FROM rrd.fetch_array('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00')$$);
SET statement_timeout = '10s';
SELECT * FROM rrd.fetch('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00', points => 1);
SELECT count(*), count(v), max(v) FROM rrd.fetch('f.g', 'AVERAGE', '1981-01-01+00', '2031-01-01+00', points => 10);
SELECT count(*), count(v), avg(v) FROM rrd.fetch('f.g', 'AVERAGE', '1981-01-01+00', '2981-01-01+00', points => 100000);
RESET statement_timeout;
-- The limit is a setting: a smaller one refuses a smaller read.
SET pg_rrd.max_fetch_rows = 5;
SELECT err($$SELECT count(*) FROM rrd.fetch('f.g', 'AVERAGE', '2020-01-01+00', '2020-01-01 00:01:00+00')$$);
SELECT count(*) FROM rrd.fetch('f.g', 'AVERAGE', '2020-01-01+00', '2020-01-01 00:00:40+00');
RESET pg_rrd.max_fetch_rows;

-- 7. Times past the year 9999 are refused, never clamped.
SELECT err($$SELECT rrd.update('f.g', '294276-12-31 23:59:59+00', 1)$$);
SELECT err($$SELECT rrd.update('f.g', '10000-01-01 00:00:00+00', 1)$$);
SELECT err($$SELECT rrd.update('f.g', ARRAY['2020-01-01 00:00:30+00', '294276-12-31 23:59:59+00']::timestamptz[], ARRAY[1, 2]::float8[])$$);
SELECT err($$INSERT INTO rrd.points VALUES ('f.g', '12000-01-01 00:00:00+00', 1)$$);
SELECT rrd.last('f.g');
SELECT err($$SELECT rrd.create('f.h', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', '294276-12-31 23:59:59+00')$$);
SELECT err($$SELECT rrd.create('f.h', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', '10000-01-01 00:00:00+00')$$);
SELECT rrd.update('f.g', '9999-12-31 23:59:59.999999+00', 1);
SELECT rrd.last('f.g');
SELECT t, v FROM rrd.fetch('f.g', 'AVERAGE', '9999-12-31 23:59:40+00', '9999-12-31 23:59:59+00');

-- 8. User input that used to raise XX000 gets its own SQLSTATE.
SELECT err($$SELECT count(*) FROM rrd.fetch_many('f.*', 'AVERAGE', '2020-01-01+00', '2020-01-02+00', resolution => '178000000 years')$$);
SELECT err($$SELECT count(*) FROM rrd.fetch('f.g', 'AVERAGE', '2020-01-01+00', '2020-01-02+00', resolution => '178000000 years')$$);
SELECT err($$SELECT rrd.first('f.g', NULL)$$);
SELECT err($$SELECT rrd.create('f.many', ('--step 10 DS:x:GAUGE:20:U:U' || repeat(' RRA:LAST:0:1:1', 40000))::rrd.rrd)$$);
SELECT err($$SELECT rrd.add_archive('f.g', 'RRA:LAST:0:1:99999999')$$);
SELECT err($$SELECT rrd.resize('f.g', 0, 100000001)$$);
-- Names: a 10 MB name is refused before any index sees it, and messages
-- quote a bounded prefix of it.
SELECT left(err($$SELECT rrd.create(repeat('n', 10000000), '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0:1:1')$$), 60) AS err,
       length(err($$SELECT rrd.create(repeat('n', 10000000), '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0:1:1')$$)) AS message_length;
SELECT length(err($$SELECT rrd.update(repeat('n', 10000000), now(), 1)$$)) AS message_length;
SELECT length(err($$SELECT rrd.rename('f.g', repeat('n', 10000000))$$)) AS message_length;
SELECT length(err($$SELECT rrd.create('f.h', repeat('x', 10000000))$$)) AS message_length;
SELECT length(err($$SELECT * FROM rrd.find(repeat('[', 10000000))$$)) AS message_length;
SELECT rrd.create(repeat('n', 8192), '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0:1:1', '2020-01-01+00') IS NOT NULL AS longest_name;
SELECT rrd.drop(repeat('n', 8192));
-- Stored rows with NULLs (written by hand) are reported as corrupt, and
-- such a series can still be dropped.
UPDATE rrd.state SET cdp_val = '{NULL}' WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'f.g');
SELECT err($$SELECT rrd.update('f.g', now(), 1)$$);
SELECT err($$SELECT rrd.info('f.g')$$);
SELECT rrd.drop('f.g');
SELECT rrd.create('f.g', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', '2020-01-01+00') IS NOT NULL AS created;
UPDATE rrd.state SET holes = '{NULL,1,2}', last_ds = NULL WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'f.g');
SELECT err($$SELECT * FROM rrd.fetch('f.g', 'AVERAGE', '2020-01-01+00', '2020-01-01 00:01:00+00')$$);
DELETE FROM rrd.state WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'f.g');
SELECT err($$SELECT rrd.last('f.g')$$);
SELECT rrd.drop('f.g');
SELECT rows();
-- TRUNCATE of rrd.series takes the other rows with it.
SELECT rrd.create('f.t', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10') IS NOT NULL AS created;
TRUNCATE rrd.series;
SELECT rows();
