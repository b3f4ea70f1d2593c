\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- Imports, dumps and rrdtool update strings: what each refuses, with its
-- SQLSTATE, and that a refused import writes nothing.
CREATE FUNCTION snap() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat_ws('|',
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.series x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.state x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.chunk x),
    (SELECT string_agg(x::text, ',' ORDER BY x::text) FROM rrd.lane x)))
$$;
CREATE FUNCTION sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END
$$;
-- A dump of two data sources, as rrdtool writes one (comments, DTD).
CREATE TABLE dumps (name text PRIMARY KEY, xml text);
INSERT INTO dumps VALUES ('two', $x$<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rrd SYSTEM "https://oss.oetiker.ch/rrdtool/rrdtool.dtd">
<!-- Round Robin Database Dump -->
<rrd>
	<version>0003</version>
	<step>10</step> <!-- Seconds -->
	<lastupdate>1700000033</lastupdate>
	<ds>
		<name> a </name>
		<type> COUNTER </type>
		<minimal_heartbeat>20</minimal_heartbeat>
		<min>0.0000000000e+00</min>
		<max>NaN</max>
		<last_ds>100</last_ds>
		<value>NaN</value>
		<unknown_sec> 3 </unknown_sec>
	</ds>
	<ds>
		<name> b </name>
		<type> GAUGE </type>
		<minimal_heartbeat>20</minimal_heartbeat>
		<min>NaN</min>
		<max>1.0000000000e+02</max>
		<last_ds>2.5</last_ds>
		<value>7.5000000000e+00</value>
		<unknown_sec> 0 </unknown_sec>
	</ds>
	<rra>
		<cf>AVERAGE</cf>
		<pdp_per_row>1</pdp_per_row>
		<params><xff>5.0000000000e-01</xff></params>
		<cdp_prep>
			<ds><primary_value>NaN</primary_value><secondary_value>0</secondary_value>
			<value>NaN</value><unknown_datapoints>0</unknown_datapoints></ds>
			<ds><primary_value>2.5</primary_value><secondary_value>0</secondary_value>
			<value>NaN</value><unknown_datapoints>0</unknown_datapoints></ds>
		</cdp_prep>
		<database>
			<!-- 1699999990 --> <row><v>NaN</v><v>NaN</v></row>
			<!-- 1700000000 --> <row><v>NaN</v><v>NaN</v></row>
			<!-- 1700000010 --> <row><v>NaN</v><v>3.0000000000e+00</v></row>
			<!-- 1700000020 --> <row><v>NaN</v><v>3.5000000000e+00</v></row>
			<!-- 1700000030 --> <row><v>NaN</v><v>2.5000000000e+00</v></row>
		</database>
	</rra>
</rrd>
$x$);
SELECT * FROM rrd.import_rrdtool('imp', (SELECT xml FROM dumps WHERE name = 'two'));
SELECT rrd.definition('imp.b'), rrd.last('imp.b');
SELECT * FROM rrd.fetch('imp.b', 'AVERAGE', to_timestamp(1700000000), to_timestamp(1700000030));
-- Again: refused, skipped or replaced as asked.
SELECT * FROM rrd.import_rrdtool('imp', (SELECT xml FROM dumps WHERE name = 'two'));
SELECT * FROM rrd.import_rrdtool('imp', (SELECT xml FROM dumps WHERE name = 'two'), on_exists => 'skip');
SELECT rrd.update('imp.b', '1700000040:4');
SELECT * FROM rrd.import_rrdtool('imp', (SELECT xml FROM dumps WHERE name = 'two'), on_exists => 'replace');
SELECT rrd.last('imp.b');
SELECT * FROM rrd.import_rrdtool('imp', (SELECT xml FROM dumps WHERE name = 'two'), on_exists => 'merge');
-- The dump of a series reads back as the same series.
SELECT * FROM rrd.import_rrdtool('again', rrd.dump('imp.b'));
SELECT (SELECT string_agg(concat_ws(':', t, v), ',') FROM rrd.fetch('imp.b', 'AVERAGE', to_timestamp(1699999990), to_timestamp(1700000030)))
     = (SELECT string_agg(concat_ws(':', t, v), ',') FROM rrd.fetch('again', 'AVERAGE', to_timestamp(1699999990), to_timestamp(1700000030))) AS same_rows,
       rrd.dump('again') = rrd.dump('imp.b') AS same_dump;
-- Refused dumps: each SQLSTATE, and nothing written.
SELECT snap() AS before \gset
SELECT sqlstate_of(format('SELECT rrd.import_rrdtool(%L, %L)', 'x', d)) AS state, left(d, 30) AS dump
FROM unnest(ARRAY[
  '',
  '<rrd>',
  '<rrd><step>10</step></rrd>',
  replace((SELECT xml FROM dumps WHERE name = 'two'), '<step>10</step>', '<step>-1</step>'),
  replace((SELECT xml FROM dumps WHERE name = 'two'), '<cf>AVERAGE</cf>', '<cf>HWPREDICT</cf>'),
  replace((SELECT xml FROM dumps WHERE name = 'two'), '<type> GAUGE </type>', '<type> COMPUTE </type>'),
  replace((SELECT xml FROM dumps WHERE name = 'two'), '<minimal_heartbeat>20</minimal_heartbeat>', '<minimal_heartbeat>0</minimal_heartbeat>'),
  replace((SELECT xml FROM dumps WHERE name = 'two'), '<lastupdate>1700000033</lastupdate>', '<lastupdate>999999999999</lastupdate>'),
  left((SELECT xml FROM dumps WHERE name = 'two'), 1200)
]) AS d;
SELECT rrd.import_rrdtool('x', replace((SELECT xml FROM dumps WHERE name = 'two'), '<step>10</step>', '<step>ten</step>'));
SELECT rrd.import_rrdtool('x', replace((SELECT xml FROM dumps WHERE name = 'two'), '<type> GAUGE </type>', '<type> COMPUTE </type>'));
SELECT rrd.import_rrdtool('x', NULL);
-- A name too long once the data source's name is added: nothing stored.
SELECT rrd.import_rrdtool(repeat('n', 8191), (SELECT xml FROM dumps WHERE name = 'two'));
SELECT snap() = :'before' AS unchanged;
-- Skipping what pg_rrd does not have, with a NOTICE.
SELECT * FROM rrd.import_rrdtool('hw', replace((SELECT xml FROM dumps WHERE name = 'two'), '<type> GAUGE </type>', '<type> COMPUTE </type>'), skip_unsupported => true);
SELECT snap() AS before \gset
-- Whisper files: refused bytes.
SELECT sqlstate_of(format('SELECT rrd.import_whisper(%L, %L::bytea)', 'w', b)) AS state, b
FROM unnest(ARRAY['\x'::bytea, '\x00000001'::bytea, '\x000000010000003c3f000000ffffffff'::bytea,
                  '\x000000020000003c3f00000000000001000000100000000a00000006'::bytea]) AS b;
SELECT rrd.import_whisper('w', '\x000000020000003c3f00000000000001000000100000000a00000006'::bytea);
SELECT rrd.import_whisper('w', '\x'::bytea, heartbeat => 0);
SELECT snap() = :'before' AS unchanged;
-- rrdtool update strings.
SELECT rrd.create('s', '--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:10', start => to_timestamp(1700000000)) > 0 AS created;
SELECT rrd.update('s', '1700000010:1');
SELECT rrd.update('s', ARRAY['1700000012.5:2', '1700000020:U', '1700000030:3e0']);
SELECT * FROM rrd.lastupdate('s');
SELECT rrd.update('s', '1700000030:4');
SELECT rrd.update('s', '1700000040:4:5');
SELECT rrd.update('s', '@now:4');
SELECT rrd.update('s', 'soon:4');
SELECT rrd.update('s', '1700000040:four');
SELECT rrd.update('s', ARRAY['1700000040:1', 'x:2']);
SELECT rrd.update('s', ARRAY['1700000040:1', NULL]);
SELECT rrd.update('s', ARRAY['1700000040:1', '1700000035:2', '1700000050:3'], skip_bad => true);
SELECT * FROM rrd.fetch('s', 'LAST', to_timestamp(1700000010), to_timestamp(1700000050));
-- N is the clock when the statement reads it.
BEGIN;
SELECT rrd.update('s', 'N:7');
SELECT (SELECT t FROM rrd.lastupdate('s')) BETWEEN now() AND clock_timestamp() AS at_the_clock;
COMMIT;
