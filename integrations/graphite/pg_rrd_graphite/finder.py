"""graphite-web 1.1's storage finder and reader for series stored in pg_rrd.

In graphite-web's local_settings.py:

    STORAGE_FINDERS = ('pg_rrd_graphite.PgRrdFinder',)
    PG_RRD_DSN = 'host=/run/postgresql dbname=metrics user=graphite'
    PG_RRD_CF = 'AVERAGE'

See docs/graphite.md.
"""

import psycopg
from django.conf import settings

from graphite.finders.utils import BaseFinder
from graphite.intervals import Interval, IntervalSet
from graphite.logger import log
from graphite.node import BranchNode, LeafNode
from graphite.readers.utils import BaseReader

from . import db

# What pg_rrd answers to a read it refuses (SQLSTATE classes 22 and 42, and 54000
# for too many rows), as opposed to a connection that failed.
REFUSALS = (psycopg.DataError, psycopg.ProgrammingError, psycopg.errors.ProgramLimitExceeded)


class PgRrdReader(BaseReader):
    """Reads one series for a LeafNode."""

    __slots__ = ("finder", "name")

    def __init__(self, finder, name):
        self.finder = finder
        self.name = name

    def fetch(self, startTime, endTime, now=None, requestContext=None):
        return self.finder.fetch_series([self.name], startTime, endTime).get(self.name)

    def get_intervals(self):
        return self.finder.intervals(self.name)

    def __repr__(self):
        return "<PgRrdReader[%x]: %s>" % (id(self), self.name)


class PgRrdFinder(BaseFinder):
    """Names, trees and data of the series in pg_rrd's rrd.series."""

    local = True
    disabled = False
    tags = False

    def __init__(self, conninfo=None, cf=None):
        BaseFinder.__init__(self)
        if conninfo is None:
            conninfo = getattr(settings, "PG_RRD_DSN", "")
        if cf is None:
            cf = getattr(settings, "PG_RRD_CF", "AVERAGE")
        cf = str(cf).upper()
        if cf not in db.CFS:
            raise ValueError("PG_RRD_CF must be one of %s, not %r" % (", ".join(db.CFS), cf))
        self.cf = cf
        self.db = db.Database(conninfo, getattr(settings, "PG_RRD_CONNECT_TIMEOUT", None))

    # Names.

    def find_nodes(self, query):
        """The branches and leaves a pattern names (/metrics/find, and /render's lookups)."""
        if query.leaves_only:
            rows = self._rows(db.FIND_LEAVES, query.pattern)
            for (name,) in rows:
                yield LeafNode(name, PgRrdReader(self, name))
            return
        for path, leaf in self._rows(db.FIND_NODES, query.pattern):
            if leaf:
                yield LeafNode(path, PgRrdReader(self, path))
            else:
                yield BranchNode(path)

    def _rows(self, sql, pattern):
        # Graphite's own finders answer a pattern they cannot read with no match;
        # pg_rrd refuses it (SQLSTATE class 22), and the finder answers no match too.
        try:
            return self.db.rows(sql, {"pattern": pattern})
        except psycopg.DataError as e:
            log.info("pg_rrd_graphite: pattern %r: %s", pattern, e)
            return []

    def get_index(self, requestContext=None):
        """Every series name (/metrics/index.json)."""
        return [name for (name,) in self.db.rows(db.ALL_NAMES)]

    # Data.

    def fetch(self, patterns, start_time, end_time, now=None, requestContext=None):
        """Every series matching `patterns` (/render): their names found with one
        statement, and their rows read with one more."""
        matches = self._find_many(list(patterns))
        names = sorted({name for _, name in matches})
        data = self.fetch_series(names, start_time, end_time)
        results = []
        for pattern, name in matches:
            if name not in data:
                continue
            time_info, values = data[name]
            results.append({
                "pathExpression": pattern,
                "path": name,
                "name": name,
                "time_info": time_info,
                "values": list(values),
            })
        return results

    def _find_many(self, patterns):
        """(pattern, name) for each series each pattern matches."""
        if not patterns:
            return []
        try:
            return self.db.rows(db.FIND_MANY, {"patterns": patterns})
        except psycopg.DataError:
            # One pattern pg_rrd cannot read: the others still match.
            return [(p, name) for p in patterns for (name,) in self._rows(db.FIND_LEAVES, p)]

    def fetch_series(self, names, start_time, end_time):
        """{name: ((start, end, step), values)} in Graphite's labels, for the series of
        `names` that exist."""
        if not names:
            return {}
        start, stop = db.clamp_range(start_time, end_time)
        try:
            rows = self._fetch(names, start, stop)
        except REFUSALS as e:
            if len(names) == 1:
                raise
            # One series pg_rrd will not read this way (a range of more rows than
            # pg_rrd.max_fetch_rows, a series dropped since it was found) must not
            # blank the graph of the others: read them one by one, leaving it out.
            log.warning("pg_rrd_graphite: fetch of %d series: %s; reading them one by one",
                        len(names), e)
            rows = []
            for name in names:
                try:
                    rows += self._fetch([name], start, stop)
                except REFUSALS as e:
                    log.warning("pg_rrd_graphite: fetch of %s: %s", name, e)
        return {name: db.to_graphite(first_end, step, values)
                for name, _cf, first_end, step, values in rows}

    def _fetch(self, names, start, stop):
        return self.db.rows(db.FETCH, {"names": list(names), "cf": self.cf,
                                       "start": start, "stop": stop})

    def intervals(self, name):
        """The time `name` holds data for, as graphite-web's IntervalSet."""
        rows = self.db.rows(db.INTERVAL, {"name": name})
        if not rows or rows[0][0] is None or rows[0][1] is None:
            return IntervalSet([])
        start, end = rows[0]
        return IntervalSet([Interval(min(start, end), end)])
