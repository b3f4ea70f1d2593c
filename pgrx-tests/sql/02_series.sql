\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SELECT rrd.create('web01.cpu.load',
  '--step 10 DS:load:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080 RRA:AVERAGE:0.5:1h:1y',
  '2001-09-09 01:46:40+00') > 0 AS created;
SELECT rows();
SELECT rrd.definition('web01.cpu.load');
SELECT rrd.last('web01.cpu.load');
SELECT rrd.first('web01.cpu.load'), rrd.first('web01.cpu.load', 1), rrd.first('web01.cpu.load', 2);
SELECT * FROM rrd.lastupdate('web01.cpu.load');
SELECT jsonb_pretty(rrd.info('web01.cpu.load') - 'id');
-- Names are free text, of any length.
SELECT rrd.create(repeat('long.name.', 500), '--step 60 DS:x:GAUGE:120:U:U RRA:LAST:0:1:5',
                  '2020-01-01 00:00:00+00') > 0 AS long_name_created;
SELECT rrd.drop(repeat('long.name.', 500));
-- Errors, each rolled back.
SELECT err($$SELECT rrd.create('web01.cpu.load', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')$$);
SELECT err($$SELECT rrd.create('', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')$$);
SELECT err($$SELECT rrd.create(NULL, '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')$$);
SELECT err($$SELECT rrd.create('x', NULL)$$);
SELECT err($$SELECT rrd.create('x', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', 'infinity')$$);
SELECT err($$SELECT rrd.create('x', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', '1960-01-01')$$);
SELECT err($$SELECT rrd.drop('nope')$$);
SELECT err($$SELECT rrd.info('nope')$$);
SELECT err($$SELECT rrd.last('nope')$$);
SELECT err($$SELECT rrd.first('web01.cpu.load', 3)$$);
SELECT err($$SELECT rrd.first('web01.cpu.load', -1)$$);
SELECT err($$SELECT * FROM rrd.lastupdate(NULL)$$);
SELECT rows();
-- The default start is one step before now.
SELECT rrd.create('default.start', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10') > 0 AS created;
SELECT rrd.last('default.start') = date_trunc('second', now() - interval '10 s') AS starts_one_step_back;
-- Drop removes every row of the series.
SELECT rrd.update('web01.cpu.load', '2001-09-09 01:46:50+00', 1);
SELECT rrd.update('web01.cpu.load', '2001-09-09 01:47:00+00', 2);
SELECT rows();
SELECT rrd.drop('web01.cpu.load');
SELECT rrd.drop('default.start');
SELECT rows();
-- Privileges: a role granted what docs/series.md lists can use every function.
CREATE ROLE regress_rrd_app;
GRANT USAGE ON SCHEMA rrd TO regress_rrd_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA rrd TO regress_rrd_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA rrd TO regress_rrd_app;
SET ROLE regress_rrd_app;
SELECT rrd.create('role.s', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', to_timestamp(1000000000)) > 0 AS created;
SELECT rrd.update('role.s', to_timestamp(1000000010), 1);
SELECT count(v) FROM rrd.fetch('role.s', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000010));
SELECT rrd.drop('role.s');
RESET ROLE;
-- Without them, a clear permission error and nothing written.
CREATE ROLE regress_rrd_nobody;
SET ROLE regress_rrd_nobody;
SELECT err($$SELECT rrd.create('role.t', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')$$);
RESET ROLE;
GRANT USAGE ON SCHEMA rrd TO regress_rrd_nobody;
SET ROLE regress_rrd_nobody;
SELECT err($$SELECT rrd.create('role.t', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')$$);
RESET ROLE;
SELECT rows();
DROP OWNED BY regress_rrd_app, regress_rrd_nobody;
DROP ROLE regress_rrd_app, regress_rrd_nobody;
