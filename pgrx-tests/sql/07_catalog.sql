\set VERBOSITY terse
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
-- Start from an empty catalog.
SELECT count(rrd.drop(name)) >= 0 AS emptied FROM rrd.series;
-- A small tree of names, with tags set at create.
SELECT count(rrd.create(n, '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0.5:1:10', to_timestamp(1000000000),
                        tags => jsonb_build_object('dc', split_part(n, '.', 1), 'host', split_part(n, '.', 3))))
FROM unnest(ARRAY['dc1.rack04.web017.nginx.requests', 'dc1.rack04.web017.nginx.errors',
                  'dc1.rack04.web018.nginx.requests', 'dc1.rack05.db001.pg.tps',
                  'dc2.rack01.web001.nginx.requests', 'dc1.rack04.web017.nginx',
                  'top', 'odd.na*me', 'odd.a,b', 'odd.ünï.cödé', 'odd.x-1']) AS n;
-- Globs: * and ? within one node, classes, alternatives, escapes.
SELECT * FROM rrd.find('dc1.rack04.*.nginx.*');
SELECT * FROM rrd.find('dc{1,2}.rack0[1-4].web0??.nginx.requests');
SELECT * FROM rrd.find('dc1.rack04.web017.nginx');
SELECT * FROM rrd.find('*');
SELECT * FROM rrd.find('*.*.*.*.{requests,tps}');
SELECT * FROM rrd.find('dc[!1].*.*.*.*');
SELECT * FROM rrd.find('odd.na\*me');
SELECT * FROM rrd.find('odd.na*');
SELECT * FROM rrd.find('odd.a\,b');
SELECT * FROM rrd.find('odd.ü??.c*');
SELECT * FROM rrd.find('odd.x-?');
SELECT * FROM rrd.find('web{,-canary}');
-- Patterns that match nothing, and bad ones.
SELECT count(*) FROM rrd.find('nothing.*');
SELECT count(*) FROM rrd.find('dc1.rack04');
SELECT * FROM rrd.find('a..b');
SELECT * FROM rrd.find('.a');
SELECT * FROM rrd.find('dc1.[ab');
SELECT * FROM rrd.find('dc1.{a,b');
SELECT * FROM rrd.find('');
SELECT * FROM rrd.find(NULL);
-- The next level of the tree: a node may be a leaf and a branch at once.
SELECT * FROM rrd.children();
SELECT * FROM rrd.children('dc1');
SELECT * FROM rrd.children('dc1.rack04.web017');
SELECT * FROM rrd.children('dc?.rack0?');
SELECT * FROM rrd.children('nothing');
-- Tags and metadata: set later, searched by containment.
SELECT name FROM rrd.series WHERE tags @> '{"host": "web017"}' ORDER BY name;
SELECT rrd.set_tags('top', '{"dc": "dc9", "role": "root"}');
SELECT rrd.set_meta('top', '{"unit": "requests/s", "owner": {"team": "web"}}');
SELECT tags, meta FROM rrd.series WHERE name = 'top';
SELECT rrd.set_tags('top', '{"a": 1}');
SELECT rrd.set_tags('top', '["a"]');
SELECT rrd.set_meta('top', '3');
SELECT rrd.set_tags('nope', '{"a": "1"}');
SELECT rrd.create('bad.tags', '--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0.5:1:10', tags => '{"a": null}');
SELECT count(*) FROM rrd.series WHERE name = 'bad.tags';
-- Only series with a known value in a range (rows ending after from, up to until).
SELECT rrd.update(ARRAY['dc1.rack04.web017.nginx.requests', 'dc1.rack04.web017.nginx.requests',
                        'dc1.rack04.web018.nginx.requests'],
                  ARRAY[to_timestamp(1000000010), to_timestamp(1000000020), to_timestamp(1000000010)],
                  ARRAY[1, 2, 3]);
SELECT * FROM rrd.find('dc1.rack04.*.nginx.requests', to_timestamp(1000000000));
SELECT * FROM rrd.find('dc1.rack04.*.nginx.requests', to_timestamp(1000000010));
SELECT * FROM rrd.find('dc1.rack04.*.nginx.requests', NULL, to_timestamp(1000000005));
SELECT * FROM rrd.find('dc1.rack04.*.nginx.requests', "from" => to_timestamp(1000000000),
                       until => to_timestamp(1000000010));
-- Many series at once, by pattern or by tags.
SELECT * FROM rrd.fetch_many('dc1.rack04.*.nginx.requests', 'AVERAGE',
                             to_timestamp(1000000000), to_timestamp(1000000020));
SELECT name, count(*) AS rows, count(v) AS known
FROM rrd.fetch_tagged('{"host": "web017"}', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000100))
GROUP BY name ORDER BY name;
SELECT count(*) FROM rrd.fetch_many('nothing.*', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000100));
SELECT * FROM rrd.fetch_many('dc1.*', 'MEDIAN', to_timestamp(1000000000), to_timestamp(1000000100));
SELECT * FROM rrd.fetch_tagged('{"host": 17}', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000100));
-- Series of different steps share row times at a common resolution, so
-- plain SQL aggregates across them; checked against rrd.fetch per series.
SELECT rrd.create('mix.fast', '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:1:100',
                  to_timestamp(1000000000), tags => '{"group": "mix"}') > 0 AS created,
       rrd.create('mix.slow', '--step 30 DS:x:GAUGE:60:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:1:100',
                  to_timestamp(1000000000), tags => '{"group": "mix"}') > 0 AS created;
SELECT rrd.update('mix.fast', array_agg(to_timestamp(1000000000 + 10 * i) ORDER BY i), array_agg(i::float8 ORDER BY i))
FROM generate_series(1, 36) AS i;
SELECT rrd.update('mix.slow', array_agg(to_timestamp(1000000000 + 30 * i) ORDER BY i), array_agg(100.0 * i ORDER BY i))
FROM generate_series(1, 12) AS i;
SELECT t, count(v) AS reporting, sum(v), max(v)
FROM rrd.fetch_tagged('{"group": "mix"}', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000360),
                      interval '60 s')
GROUP BY t ORDER BY t;
WITH per_series AS (
  SELECT 'fast' AS s, (extract(epoch FROM t)::bigint - 1) / 60 AS b, v
  FROM rrd.fetch('mix.fast', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000360))
  UNION ALL
  SELECT 'slow', (extract(epoch FROM t)::bigint - 1) / 60, v
  FROM rrd.fetch('mix.slow', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000360))
), buckets AS (SELECT s, b, avg(v) AS v FROM per_series GROUP BY s, b)
SELECT to_timestamp((b + 1) * 60) AS t, count(v) AS reporting, sum(v), max(v)
FROM buckets WHERE (b + 1) * 60 > 1000000000
GROUP BY b ORDER BY 1;
-- Grouping by a node of the name (Graphite's groupByNode).
SELECT split_part(name, '.', 1) AS node, count(DISTINCT name) AS series, max(v)
FROM rrd.fetch_many('*.*', 'MAX', to_timestamp(1000000000), to_timestamp(1000000360), interval '60 s')
GROUP BY 1 ORDER BY 1;
-- A step that does not divide the resolution: each row of the resolution
-- weighs the rows that share seconds with it (45 s rows into 60 s rows;
-- 30 s rows into 20 s rows, each 30 s row giving its value to both rows
-- it overlaps). Checked against the same weighting done in SQL.
SELECT rrd.create('mix.odd', '--step 45 DS:x:GAUGE:90:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:1:100',
                  to_timestamp(999999990), tags => '{"group": "odd"}') > 0 AS created;
SELECT rrd.update('mix.odd', array_agg(to_timestamp(999999990 + 45 * i) ORDER BY i),
                  array_agg(CASE WHEN i % 5 = 0 THEN NULL ELSE i END::float8 ORDER BY i))
FROM generate_series(1, 12) AS i;
SELECT * FROM rrd.fetch_many('mix.odd', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000300), '60 s');
CREATE FUNCTION weighed(s text, cf text, step int, res int, t0 bigint, t1 bigint)
RETURNS TABLE (t timestamptz, v float8) LANGUAGE sql AS $$
  WITH r AS (
    SELECT extract(epoch FROM f.t)::bigint AS e, f.v
    FROM rrd.fetch(s, cf, to_timestamp(t0), to_timestamp(t1), make_interval(secs => res)) f
  ), o AS (
    SELECT j, r.v, least(r.e, j * res) - greatest(r.e - step, (j - 1) * res) AS w
    FROM r, generate_series((r.e - step) / res + 1, (r.e - 1) / res + 1) AS j
  )
  SELECT to_timestamp(j * res),
         CASE cf WHEN 'AVERAGE' THEN sum(v * w) / nullif(sum(w) FILTER (WHERE v IS NOT NULL), 0)
                 ELSE max(v) END
  FROM o WHERE j * res > t0 AND (j - 1) * res <= t1 GROUP BY j
$$;
SELECT count(*) AS rows, count(*) FILTER (WHERE w.v IS DISTINCT FROM f.v
         AND NOT abs(w.v - f.v) <= 1e-12 * abs(w.v)) AS mismatches
FROM rrd.fetch_many('mix.odd', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000540), '60 s') f
FULL JOIN weighed('mix.odd', 'AVERAGE', 45, 60, 1000000000, 1000000540) w USING (t);
SELECT count(*) AS rows, count(*) FILTER (WHERE w.v IS DISTINCT FROM f.v) AS mismatches
FROM rrd.fetch_many('mix.slow', 'MAX', to_timestamp(1000000000), to_timestamp(1000000360), '20 s') f
FULL JOIN weighed('mix.slow', 'MAX', 30, 20, 1000000000, 1000000360) w USING (t);
SELECT t, v FROM rrd.fetch_many('mix.slow', 'MAX', to_timestamp(1000000000), to_timestamp(1000000090), '20 s');
DROP FUNCTION weighed(text, text, int, int, bigint, bigint);
SELECT rrd.drop('mix.fast'), rrd.drop('mix.slow'), rrd.drop('mix.odd');
-- Rename: data and tags go with the name.
SELECT rrd.rename('dc1.rack04.web018.nginx.requests', 'dc3.rack01.web018.nginx.requests');
SELECT * FROM rrd.find('*.*.web018.nginx.requests');
SELECT tags FROM rrd.series WHERE name = 'dc3.rack01.web018.nginx.requests';
SELECT t, v FROM rrd.fetch('dc3.rack01.web018.nginx.requests', 'AVERAGE', to_timestamp(1000000000), to_timestamp(1000000010));
SELECT rrd.rename('dc3.rack01.web018.nginx.requests', 'top');
SELECT rrd.rename('nope', 'x');
SELECT rrd.rename('top', '');
SELECT rrd.rename('top', NULL);
-- 100,000 more names (catalog rows only): a pattern with a literal prefix
-- reads the prefix index, not every name. rrd.find runs this statement.
INSERT INTO rrd.series (name, def, chunk_width)
SELECT format('dc%s.rack%s.web%s.nginx.%s', i % 3, lpad((i / 3 % 40)::text, 2, '0'),
              lpad((i / 120)::text, 4, '0'), CASE WHEN i % 2 = 0 THEN 'requests' ELSE 'errors' END),
       (SELECT def FROM rrd.series WHERE name = 'top'), 10
FROM generate_series(1, 100000) AS i;
ANALYZE rrd.series;
PREPARE find_prefixed(text, text) AS SELECT name FROM rrd.series WHERE name ^@ $1 AND name ~ $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE find_prefixed('dc1.rack04.', '^dc1\.rack04\.[^.]*\.nginx\.[^.]*$');
RESET plan_cache_mode;
SELECT count(*) FROM rrd.find('dc1.rack04.*.nginx.*');
SELECT count(*) FROM rrd.find('dc1.rack04.web0001.nginx.*');
EXPLAIN (COSTS OFF) SELECT name FROM rrd.series WHERE tags @> '{"host": "web017"}';
DELETE FROM rrd.series WHERE chunk_width = 10 AND id NOT IN (SELECT series_id FROM rrd.state);
SELECT count(rrd.drop(name)) AS dropped FROM rrd.series;
