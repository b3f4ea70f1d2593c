\set VERBOSITY terse
SET TimeZone = 'UTC';
-- rrd.verify: no problem on sound series (written directly, through the
-- journal, pending or folded), each kind of damage named.
SELECT rrd.create('v.' || i, '--step 10 DS:v:COUNTER:20:0:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:6:20',
                  start => '2026-01-01') > 0 AS created
FROM generate_series(1, 3) i;
SELECT rrd.update('v.1', '2026-01-01 00:00:10+00'::timestamptz, 5);
SELECT rrd.update(ARRAY['v.2', 'v.3'], ARRAY['2026-01-01 00:00:10+00', '2026-01-01 00:00:10+00']::timestamptz[],
                  ARRAY[1, 2]::float8[]);
SELECT rrd.update(ARRAY['v.2', 'v.3'], ARRAY['2026-01-01 00:00:20+00', '2026-01-01 00:00:20+00']::timestamptz[],
                  ARRAY[3, 4]::float8[]);
SELECT rrd.pending() AS pending;
SELECT * FROM rrd.verify();
SELECT * FROM rrd.verify('v.2');
SELECT * FROM rrd.verify('nope');
SELECT rrd.flush() AS folded;
SELECT * FROM rrd.verify();
-- Damage, each in a savepoint rolled back.
BEGIN;
SAVEPOINT s;
DELETE FROM rrd.chunk WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'v.1') AND archive = 1;
SELECT * FROM rrd.verify('v.1');
ROLLBACK TO s;
UPDATE rrd.chunk SET dp = dp[1:50] WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'v.1') AND archive = 0 AND chunk = 0;
SELECT * FROM rrd.verify('v.1');
ROLLBACK TO s;
UPDATE rrd.state SET pdp_unknown_sec = 99, cdp_unknown = ARRAY[0, 7] WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'v.1');
SELECT * FROM rrd.verify('v.1');
ROLLBACK TO s;
UPDATE rrd.state SET holes = ARRAY[0, 5, 4] WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'v.1');
SELECT * FROM rrd.verify('v.1');
ROLLBACK TO s;
UPDATE rrd.lane SET pending = pending + 3;
SELECT series, regexp_replace(problem, 'lane \d+', 'lane N') AS problem FROM rrd.verify();
ROLLBACK TO s;
-- A pending point the engine refuses (a fraction for a COUNTER), and a
-- tip that is not at the last pending point.
SELECT rrd.update(ARRAY['v.2', 'v.3'], ARRAY['2026-01-01 00:00:30+00', '2026-01-01 00:00:30+00']::timestamptz[],
                  ARRAY[5, 6]::float8[]) AS skipped;
UPDATE rrd.journal SET v = ARRAY[5.5, 6];
SELECT * FROM rrd.verify('v.2');
ROLLBACK TO s;
SELECT rrd.update(ARRAY['v.2', 'v.3'], ARRAY['2026-01-01 00:00:30+00', '2026-01-01 00:00:30+00']::timestamptz[],
                  ARRAY[5, 6]::float8[]) AS skipped;
UPDATE rrd.lane SET tips[(SELECT id FROM rrd.series WHERE name = 'v.3') % 128 + 1] = 0 + 4 * 1767225620000000 + 2;
SELECT * FROM rrd.verify('v.3');
ROLLBACK TO s;
DELETE FROM rrd.state WHERE series_id = (SELECT id FROM rrd.series WHERE name = 'v.3');
SELECT * FROM rrd.verify();
ROLLBACK;
SELECT * FROM rrd.verify();
