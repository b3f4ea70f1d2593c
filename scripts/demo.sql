-- A small demo for `make run`: one series with a day of 10-second samples.
DROP EXTENSION IF EXISTS pg_rrd CASCADE;
CREATE EXTENSION pg_rrd;

SELECT rrd.create('demo.web01.cpu.load',
  '--step 10 DS:load:GAUGE:20:0:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:1440 RRA:AVERAGE:0.5:1h:1y',
  start => now() - interval '1 day') AS id;

-- A day of a daily cycle with some noise, one sample every 10 seconds up to now.
SELECT count(*) AS samples_loaded
FROM (SELECT rrd.update('demo.web01.cpu.load', t,
               round((1 + sin(extract(epoch FROM t) / 86400 * 2 * pi()) + random() / 5)::numeric, 3)::float8)
      FROM generate_series(now() - interval '1 day' + interval '10 s', now(), interval '10 s') AS t) AS loaded;

\echo 'The last minute, 10-second averages:'
SELECT t, round(v::numeric, 3) AS load
FROM rrd.fetch('demo.web01.cpu.load', 'AVERAGE', now() - interval '1 minute', now());

\echo 'The last 6 hours at one-minute resolution, maxima (newest five rows):'
SELECT t, round(v::numeric, 3) AS max_load
FROM rrd.fetch('demo.web01.cpu.load', 'MAX', now() - interval '6 hours', now(),
               resolution => interval '1 minute')
ORDER BY t DESC LIMIT 5;
