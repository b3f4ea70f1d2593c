"""The statements the finder runs against pg_rrd, and the connections that run them.

Nothing here imports graphite-web: the finder module turns these rows into
graphite-web's nodes and series.
"""

import logging
import threading

import psycopg

log = logging.getLogger("pg_rrd_graphite")

CFS = ("AVERAGE", "MIN", "MAX", "LAST")

# rrd.fetch refuses starts at or before 1980-01-01 (RRDtool's rule).
FIRST_START = 315_532_801

# The nodes a Graphite pattern names: the series it matches (leaves), and the
# paths that have children below them (branches), found as the parents of what
# rrd.children lists below the pattern. A path can be both.
FIND_NODES = """
SELECT name AS path, true AS leaf FROM rrd.find(%(pattern)s)
UNION ALL
SELECT DISTINCT left(c.path, length(c.path) - length(c.node) - 1), false
FROM rrd.children(%(pattern)s) AS c
"""

FIND_LEAVES = "SELECT name FROM rrd.find(%(pattern)s)"

# The series matching each of many patterns, in one statement.
FIND_MANY = """
SELECT p.pattern, f.name
FROM unnest(%(patterns)s::text[]) AS p(pattern)
CROSS JOIN LATERAL rrd.find(p.pattern) AS f(name)
"""

ALL_NAMES = "SELECT name FROM rrd.series ORDER BY name"

# One statement reads many series. Each is read with the consolidation
# function asked for when rrd.fetch can serve it (an archive of that function,
# or one of one step per row); otherwise with the first function the series
# has, in the order AVERAGE, LAST, MAX, MIN. rrd.fetch_array picks the archive
# (the finest that still holds the start) and gives its rows labelled by their
# end.
FETCH = """
WITH s AS (
  SELECT s.name,
         CASE WHEN EXISTS (SELECT 1 FROM rrd.archives(s.def) AS a
                           WHERE a.cf = %(cf)s OR a.steps = 1)
              THEN %(cf)s
              ELSE (SELECT a.cf FROM rrd.archives(s.def) AS a
                    ORDER BY array_position(ARRAY['AVERAGE', 'LAST', 'MAX', 'MIN'], a.cf),
                             a.archive
                    LIMIT 1)
         END AS cf
  FROM unnest(%(names)s::text[]) AS n(name)
  JOIN rrd.series AS s ON s.name = n.name
)
SELECT s.name, s.cf,
       extract(epoch FROM f.start)::bigint,
       extract(epoch FROM f.step)::bigint,
       f.v
FROM s CROSS JOIN LATERAL rrd.fetch_array(s.name, s.cf, to_timestamp(%(start)s),
                                          to_timestamp(%(stop)s)) AS f
"""

# The time a series holds data for, in Graphite's labels: from the start of
# the oldest row of any archive to the last update.
INTERVAL = """
SELECT min(extract(epoch FROM rrd.first(s.name, a.archive::int))
                      - extract(epoch FROM a.resolution))::float8,
       extract(epoch FROM rrd.last(s.name))::float8
FROM rrd.series AS s CROSS JOIN LATERAL rrd.archives(s.def) AS a
WHERE s.name = %(name)s
GROUP BY s.name
"""


class Database:
    """pg_rrd behind one conninfo string, a connection per thread.

    graphite-web serves requests on several threads (and its worker pool on
    more), and a psycopg connection runs one statement at a time, so each
    thread opens its own, on first use, in autocommit: every statement is a
    transaction of its own and sees one snapshot. A connection that broke is
    opened anew once before a statement fails.
    """

    def __init__(self, conninfo="", connect_timeout=None):
        self.conninfo = conninfo or ""
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    def _connect(self):
        kwargs = {"autocommit": True, "application_name": "pg_rrd_graphite"}
        if self.connect_timeout:
            kwargs["connect_timeout"] = self.connect_timeout
        return psycopg.connect(self.conninfo, **kwargs)

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = self._connect()
        return conn

    def rows(self, sql, params=None):
        """All rows of `sql` with `params` (none for a statement that returns none)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchall() if cur.description is not None else []
            except psycopg.OperationalError:
                if attempt == 2 or not conn.broken:
                    raise
                log.warning("pg_rrd_graphite: connection lost, connecting again")
        raise AssertionError("unreachable")

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def clamp_range(start, stop):
    """Whole seconds that rrd.fetch accepts, for Graphite's (start, stop)."""
    start = max(int(start), FIRST_START)
    stop = max(int(stop), start)
    return start, stop


def to_graphite(first_end, step, values):
    """Graphite's (start, end, step) and values for rrd.fetch_array's row.

    pg_rrd labels a row by the end of the interval it covers, (t - step, t];
    Graphite labels a point by the start, [t, t + step). So the row ending at
    `first_end` is Graphite's point at `first_end - step`.
    """
    start = first_end - step
    values = list(values)
    return (start, start + step * len(values), step), values
