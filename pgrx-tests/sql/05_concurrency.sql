\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- Two sessions: this one and "other", through dblink.
CREATE EXTENSION IF NOT EXISTS dblink;
-- waits_on_lock(): whether another backend is (or within 20 s comes to be)
-- waiting on a lock in a query that names series s.
CREATE FUNCTION waits_on_lock(s text DEFAULT 'conc.a') RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..400 LOOP
    -- activity is read once per transaction unless the snapshot is dropped
    PERFORM pg_stat_clear_snapshot();
    IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
               AND query LIKE '%' || s || '%' AND pid <> pg_backend_pid()) THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN false;
END $$;
SELECT dblink_connect('other', format('dbname=%s port=%s host=%s', current_database(),
  current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('other', 'SET statement_timeout = ''20s''');
SELECT rrd.create('conc.a', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0.5:1:100', to_timestamp(1000000000)) > 0,
       rrd.create('conc.b', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0.5:1:100', to_timestamp(1000000000)) > 0;

BEGIN;
SELECT rrd.update('conc.a', to_timestamp(1000000010), 1);
-- Another series is not blocked by this open transaction.
SELECT * FROM dblink('other', 'SELECT rrd.update(''conc.b'', to_timestamp(1000000010), 1)::text') AS r(x text);
-- The same series waits for it.
SELECT dblink_send_query('other', 'SELECT rrd.update(''conc.a'', to_timestamp(1000000020), 2)::text');
SELECT waits_on_lock() AS other_waits_on_the_series_lock;
SELECT dblink_is_busy('other') AS other_busy;
COMMIT;
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT * FROM dblink_get_result('other') AS r(x text);
-- Both updates are there: nothing lost.
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('conc.a', 'LAST', to_timestamp(1000000000), to_timestamp(1000000020), interval '10 s');

-- A waiting update that is out of order once the other commits fails cleanly.
BEGIN;
SELECT rrd.update('conc.a', to_timestamp(1000000040), 4);
SELECT dblink_send_query('other', 'SELECT rrd.update(''conc.a'', to_timestamp(1000000030), 3)::text');
SELECT waits_on_lock() AS other_waits_on_the_series_lock;
COMMIT;
SELECT * FROM dblink_get_result('other', false) AS r(x text);
SELECT dblink_error_message('other');
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT * FROM rrd.lastupdate('conc.a');

-- An update that waits for a change of the series' archives runs again
-- once the change commits, under the new definition: the added archive
-- gets the point, and the open row it was given (the PDP at 10 s) counts.
SELECT rrd.create('conc.c', '--step 10 DS:x:GAUGE:100:U:U RRA:LAST:0.5:1:100 RRA:LAST:0.5:2:50',
                  to_timestamp(1000000000)) > 0;
SELECT rrd.update('conc.c', to_timestamp(1000000010), 1);
BEGIN;
SELECT rrd.add_archive('conc.c', 'RRA:MAX:0.5:2:50');
SELECT dblink_send_query('other', 'SELECT rrd.update(''conc.c'', to_timestamp(1000000040), 0.5)::text');
SELECT waits_on_lock('conc.c') AS other_waits_on_the_series_lock;
COMMIT;
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('conc.c', 'MAX', to_timestamp(1000000000), to_timestamp(1000000040), interval '20 s');
-- The same with an archive dropped: the update's state has one archive.
BEGIN;
SELECT rrd.drop_archive('conc.c', 0);
SELECT dblink_send_query('other', 'SELECT rrd.update(''conc.c'', to_timestamp(1000000060), 2)::text');
SELECT waits_on_lock('conc.c') AS other_waits_on_the_series_lock;
COMMIT;
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT rrd.definition('conc.c'), jsonb_array_length(rrd.info('conc.c')->'rra') AS archives;
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('conc.c', 'MAX', to_timestamp(1000000020), to_timestamp(1000000060), interval '20 s');
-- A batch of two series waits for the change in the same way: it locks
-- both state rows first, then reads what was committed, the new archive too.
BEGIN;
SELECT rrd.add_archive('conc.c', 'RRA:MIN:0.5:2:50');
SELECT dblink_send_query('other', 'SELECT rrd.update(ARRAY[''conc.b'', ''conc.c''], ARRAY[to_timestamp(1000000070), to_timestamp(1000000080)], ARRAY[3, 4]::float8[])::text');
SELECT waits_on_lock('conc.c') AS other_waits_on_the_series_lock;
COMMIT;
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT * FROM dblink_get_result('other') AS r(x text);
SELECT rrd.definition('conc.c');
SELECT extract(epoch FROM t) - 1000000000 AS dt, v
FROM rrd.fetch('conc.c', 'MIN', to_timestamp(1000000040), to_timestamp(1000000080), interval '20 s');
SELECT rrd.drop('conc.c');
SELECT dblink_disconnect('other');
SELECT rrd.drop('conc.a'), rrd.drop('conc.b');
