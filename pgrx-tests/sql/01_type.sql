\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- Text in, canonical text out.
SELECT '--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080 RRA:AVERAGE:0.5:1h:1y'::rrd.rrd;
SELECT '-s 1m DS:bytes:COUNTER:2m:0:1e10 RRA:LAST:0:1:10'::rrd.rrd;
SELECT 'DS:x:DERIVE:600:0:U RRA:MIN:0.9:5:100'::rrd.rrd;  -- default step 300
-- Round trip: output(input(output(x))) = output(x).
SELECT d::text = (d::text)::rrd.rrd::text AS round_trips
FROM (VALUES ('--step 5 DS:a:DCOUNTER:7:-1.5:2.25 RRA:AVERAGE:0.25:3:33'::rrd.rrd),
             ('--step 1 DS:b:DDERIVE:1:U:U RRA:MAX:0:1:1 RRA:MIN:0.5:2:2'::rrd.rrd),
             ('--step 300 DS:c:ABSOLUTE:600:U:100 RRA:LAST:0.5:1d:1y'::rrd.rrd)) AS v(d);
-- Stored in a table and read back.
CREATE TEMP TABLE defs (d rrd.rrd);
INSERT INTO defs VALUES ('--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640');
SELECT d FROM defs;
-- Accessors.
SELECT rrd.step('--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080'::rrd.rrd);
SELECT * FROM rrd.archives('--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080 RRA:AVERAGE:0.5:1h:1y');
SELECT * FROM rrd.data_source('--step 10 DS:load:GAUGE:20:0:100 RRA:AVERAGE:0.5:1:10');
-- Bad text: 22P02, naming the bad token.
SELECT err($$SELECT 'DS:x:GAUGEX:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U DS:y:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:1:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:-0.1:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:0:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:0'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:15s:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10:9'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:HWPREDICT:10:0.1:0.0035:288'::rrd.rrd$$);
SELECT err($$SELECT '--step ten DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:5:1 RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 --start 0 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10'::rrd.rrd$$);
SELECT err($$SELECT ''::rrd.rrd$$);
-- Absurd sizes: 22023, before anything is allocated.
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100000001'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:60000000 RRA:MAX:0.5:1:60000000'::rrd.rrd$$);
SELECT err($$SELECT '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1000000000000:10'::rrd.rrd$$);
