\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- err(q): runs q and shows its SQLSTATE and message instead of failing;
-- the failed statement is rolled back (a subtransaction), as any error is.
CREATE FUNCTION public.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- rows(): how many rows each pg_rrd table holds.
CREATE FUNCTION public.rows() RETURNS text LANGUAGE sql AS $$
  SELECT format('series=%s state=%s chunk=%s',
    (SELECT count(*) FROM rrd.series), (SELECT count(*) FROM rrd.state),
    (SELECT count(*) FROM rrd.chunk))
$$;
SELECT extname, nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pg_rrd';
