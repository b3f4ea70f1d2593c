#!/usr/bin/python3
"""The queries of docs/grafana.md, run as Grafana's PostgreSQL data source runs them.

    /usr/bin/python3 pgrx-tests/grafana.py [--dir .pgdata/grafana] [--port 55442] [--page docs/grafana.md]

Starts a private cluster (scripts/cluster.sh) in DIR, makes a database with
pg_rrd, runs the page's ```sql blocks (the example data), then its
```grafana blocks: a `setup` block as it is, as postgres; every other block
expanded as the data source expands it and run as the role the setup made:

- for time ranges from 15 minutes to 30 days, panel widths of 150, 500 and
  1500 pixels, with and without a Min interval of 1m, Grafana's interval is
  the range over the width rounded to a round interval, never below the Min
  interval; `$__interval_ms` and `$__interval` are that interval,
  `$__timeFrom()` and `$__timeTo()` quoted RFC 3339 UTC times,
  `$__timeFilter(col)` a BETWEEN of them, `$__unixEpochFrom()` and
  `$__unixEpochTo()` seconds since 1970;
- variables take the values the page's variable query returns: a
  single-value variable is written as it is, one per value, a multi-value
  one (named by `multi=` in the block's comment) as quoted literals joined
  by commas, for one, two and all of the values.

A time_series response must have a column `time` of a time type (or epoch
number), ascending, never NULL; `metric`, if present, text and never NULL;
every other column numeric; no two rows of one time (and metric); every time
within a step of the range. A query that uses the interval must return, per
line, at most range / interval + 2 rows and at least 40% of as many as the
panel can show (or the finest archive holds), and no more rows for a wider
interval. Lines read by `rrd.fetch` are compared with a direct `rrd.fetch` of
the same series (merged in runs, as `points =>` merges, when the query
passes it); a table's last, min and max columns with the rows of a direct
fetch; the variable query with the hosts the data has. A ```sql block after
a grafana-expanded comment must be the block before it expanded with the
comment's settings. Prints one line per block and "N passed, N failed";
stops the cluster at the end (--keep: leaves it running, with the database).
"""

import argparse
import datetime
import math
import os
import re
import subprocess
import sys

import psycopg

PGBIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
DB = "grafana_doc"
UTC = datetime.timezone.utc

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*grafana:\s*(\w+)((?:\s+\w+=[\w,]+)*)\s*-->\s*$")
EXPANDED = re.compile(r"^<!--\s*grafana-expanded:((?:\s+\w+=\S+)*)\s*-->\s*$")
KINDS = ("setup", "time_series", "table", "variable")

TIME_TYPES = {1184, 1114, 1082}  # timestamptz, timestamp, date
NUMERIC_TYPES = {20, 21, 23, 700, 701, 1700}  # int8, int2, int4, float4, float8, numeric
TEXT_TYPES = {25, 1043, 1042, 19}  # text, varchar, bpchar, name

# The series' finest step: no query needs to return finer rows than it.
FINEST_STEP_MS = 60_000

# Where the example data ends: the test's ranges end here, or near it.
DATA_END = datetime.datetime(2026, 11, 30, 12, tzinfo=UTC)
RANGES = [
    (DATA_END - datetime.timedelta(minutes=15), DATA_END),
    (DATA_END - datetime.timedelta(hours=6), DATA_END),
    # Across web02's missing hour.
    (datetime.datetime(2026, 11, 29, 16, tzinfo=UTC), datetime.datetime(2026, 11, 29, 20, tzinfo=UTC)),
    (DATA_END - datetime.timedelta(days=2), DATA_END),
    (DATA_END - datetime.timedelta(days=7), DATA_END),
    # Starts before the data: every archive but the hourly one has forgotten it.
    (DATA_END - datetime.timedelta(days=30), DATA_END),
]
WIDTHS = [1500, 500, 150]
MIN_INTERVALS = [None, 60_000]


# ---------------------------------------------------------------- Grafana's side

# Round intervals in milliseconds; an interval is rounded to the nearest one,
# a tie going up (the boundaries are the midpoints between neighbours).
ROUND_MS = [
    1, 10, 20, 50, 100, 200, 500,
    1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000,
    60_000, 120_000, 300_000, 600_000, 900_000, 1_200_000, 1_800_000,
    3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000, 604_800_000, 2_592_000_000, 31_536_000_000,
]


def round_interval(ms):
    for lo, hi in zip(ROUND_MS, ROUND_MS[1:]):
        if 2 * ms < lo + hi:
            return lo
    return ROUND_MS[-1]


def interval_ms(frm, to, width, min_ms):
    """The interval Grafana gives a panel `width` points wide."""
    range_ms = (to - frm) // datetime.timedelta(milliseconds=1)
    return max(round_interval(range_ms / width), min_ms or 1)


def interval_text(ms):
    """`$__interval`: the interval in its largest whole unit."""
    for unit, size in (("y", 31_536_000_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def rfc3339(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote(value):
    return "'" + value.replace("'", "''") + "'"


def epoch(t):
    return int(t.timestamp())


class Settings:
    """One query's time range, width, Min interval and variable values.
    `variables` maps a name to (values, multi)."""

    def __init__(self, frm, to, width, min_ms=None, variables=None):
        self.frm, self.to, self.width, self.min_ms = frm, to, width, min_ms
        self.variables = variables or {}
        self.interval = interval_ms(frm, to, width, min_ms)

    def range_ms(self):
        return (self.to - self.frm) // datetime.timedelta(milliseconds=1)

    def __str__(self):
        vs = " ".join(f"{k}={','.join(v)}" for k, (v, _) in sorted(self.variables.items()))
        return (f"{rfc3339(self.frm)}..{rfc3339(self.to)} width={self.width} "
                f"min={self.min_ms} interval={self.interval}ms {vs}").strip()


VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
MACRO = re.compile(r"\$(__\w+)\(([^()]*)\)")


class ExpandError(Exception):
    pass


def expand(sql, s):
    """`sql` as the data source sends it: variables (and the interval) first,
    as the dashboard writes them, then the data source's macros."""
    known = {
        "__interval_ms": str(s.interval),
        "__interval": interval_text(s.interval),
        "__from": str(epoch(s.frm) * 1000),
        "__to": str(epoch(s.to) * 1000),
    }

    def variable(m):
        name = m.group(1) or m.group(2)
        if name in known:
            return known[name]
        if name in s.variables:
            values, multi = s.variables[name]
            if multi:
                return ",".join(quote(v) for v in values)
            if len(values) != 1:
                raise ExpandError(f"single-value variable ${name} given {values}")
            return values[0]
        return m.group(0)

    def macro(m):
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()]
        frm, to = quote(rfc3339(s.frm)), quote(rfc3339(s.to))
        simple = {
            "__timeFrom": frm,
            "__timeTo": to,
            "__unixEpochFrom": str(epoch(s.frm)),
            "__unixEpochTo": str(epoch(s.to)),
        }
        if name in simple:
            if args:
                raise ExpandError(f"${name}() takes no argument, got {m.group(0)}")
            return simple[name]
        if name in ("__timeFilter", "__unixEpochFilter"):
            if len(args) != 1:
                raise ExpandError(f"${name}() takes one column, got {m.group(0)}")
            if name == "__timeFilter":
                return f"{args[0]} BETWEEN {frm} AND {to}"
            return f"{args[0]} >= {epoch(s.frm)} AND {args[0]} <= {epoch(s.to)}"
        raise ExpandError(f"undefined macro {m.group(0)}")

    out = MACRO.sub(macro, VARIABLE.sub(variable, sql))
    left = re.search(r"\$\{?\w+", out)
    if left:
        raise ExpandError(f"{left.group(0)} is left unexpanded")
    return out


# ---------------------------------------------------------------- the page

class Block:
    def __init__(self, lang, body, line, comment):
        self.lang, self.body, self.line, self.comment = lang, body, line, comment
        self.kind, self.multi, self.expanded_from, self.settings_text = None, set(), None, None


def parse_page(path):
    """The page's fenced blocks, each with the comment line before it."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            comment = lines[i - 1].strip() if i > 0 else ""
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append(Block(m.group(1), "\n".join(body), start, comment))
        elif MARK.match(lines[i].strip()) or EXPANDED.match(lines[i].strip()):
            if i + 1 >= len(lines) or not FENCE.match(lines[i + 1]):
                raise SystemExit(f"{path}:{i + 1}: a grafana comment must come right before a fenced block")
        i += 1
    last_grafana = None
    for b in blocks:
        mark, exp = MARK.match(b.comment), EXPANDED.match(b.comment)
        if b.lang == "grafana":
            if not mark or mark.group(1) not in KINDS:
                raise SystemExit(f"{path}:{b.line}: a ```grafana block needs a comment "
                                 f"<!-- grafana: {'|'.join(KINDS)} [multi=var,...] --> before it")
            b.kind = mark.group(1)
            for kv in mark.group(2).split():
                key, value = kv.split("=", 1)
                if key != "multi":
                    raise SystemExit(f"{path}:{b.line}: unknown setting {key}")
                b.multi |= set(value.split(","))
            last_grafana = b
        elif mark:
            raise SystemExit(f"{path}:{b.line}: a grafana comment before a ```{b.lang} block")
        elif exp:
            if b.lang != "sql" or last_grafana is None:
                raise SystemExit(f"{path}:{b.line}: grafana-expanded must precede a ```sql block "
                                 "and follow a ```grafana block")
            b.expanded_from, b.settings_text = last_grafana, exp.group(1).split()
    return blocks


def settings_of(pairs, variables_multi):
    """Settings from a grafana-expanded comment's key=value pairs."""
    kv = dict(p.split("=", 1) for p in pairs)
    parse = lambda text: datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    frm = parse(kv.pop("from", rfc3339(RANGES[1][0])))
    to = parse(kv.pop("to", rfc3339(RANGES[1][1])))
    width = int(kv.pop("width", 1000))
    min_ms = kv.pop("min_ms", None)
    variables = {k: (v.split(","), k in variables_multi) for k, v in kv.items()}
    return Settings(frm, to, width, int(min_ms) if min_ms else None, variables)


# ---------------------------------------------------------------- checks

class Response:
    """Columns as (name, type oid) and rows, as psycopg gives them."""

    def __init__(self, cols, rows):
        self.cols, self.rows = cols, rows

    def names(self):
        return [c[0] for c in self.cols]


def as_ms(value):
    """A time column's value in milliseconds since 1970."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, datetime.date):
        return as_ms(datetime.datetime(value.year, value.month, value.day, tzinfo=UTC))
    # Grafana takes epoch numbers in seconds or milliseconds.
    v = float(value)
    return round(v * 1000) if abs(v) < 1e11 else round(v)


def lines_of(resp):
    """The response as Grafana draws it: {line name: [(time ms, value)]}.
    Raises AssertionError where Grafana would refuse it."""
    names = resp.names()
    assert names.count("time") == 1, f"needs exactly one column named time, got {names}"
    ti = names.index("time")
    assert resp.cols[ti][1] in TIME_TYPES | NUMERIC_TYPES, f"time column of type oid {resp.cols[ti][1]}"
    mi = names.index("metric") if "metric" in names else None
    if mi is not None:
        assert resp.cols[mi][1] in TEXT_TYPES, f"metric column of type oid {resp.cols[mi][1]}"
    values = [i for i in range(len(names)) if i not in (ti, mi)]
    assert values, "no value column"
    for i in values:
        assert resp.cols[i][1] in NUMERIC_TYPES, f"value column {names[i]} of type oid {resp.cols[i][1]}"
    assert len(set(names[i] for i in values)) == len(values), f"value columns share a name: {names}"
    lines, last_time, seen = {}, None, set()
    for n, row in enumerate(resp.rows):
        assert row[ti] is not None, f"row {n}: NULL time"
        t = as_ms(row[ti])
        assert last_time is None or t >= last_time, f"row {n}: time {t} before {last_time}: not ascending"
        last_time = t
        metric = None
        if mi is not None:
            metric = row[mi]
            assert metric is not None, f"row {n}: NULL metric"
        assert (t, metric) not in seen, f"row {n}: a second row for time {t} metric {metric}"
        seen.add((t, metric))
        for i in values:
            v = row[i]
            if v is not None:
                v = float(v)
                assert math.isfinite(v), f"row {n}: value {v}"
            key = names[i] if metric is None else (metric if len(values) == 1 else f"{metric} {names[i]}")
            lines.setdefault(key, []).append((t, v))
    return lines


def check_range(lines, s):
    """Every time within a step of the range."""
    lo, hi = epoch(s.frm) * 1000, epoch(s.to) * 1000
    for key, pts in lines.items():
        gap = max([b[0] - a[0] for a, b in zip(pts, pts[1:])] or [FINEST_STEP_MS])
        for t, _ in pts:
            assert lo - gap <= t <= hi + gap, f"{key}: time {t} outside {lo}..{hi} (step {gap})"


def check_counts(runs):
    """`runs`: [(settings, lines)] for one range and Min interval, several
    widths. Rows per line follow the interval."""
    for s, lines in runs:
        shown = s.range_ms() / s.interval
        held = s.range_ms() / FINEST_STEP_MS
        for key, pts in lines.items():
            assert len(pts) <= shown + 2, \
                f"{s}: {key} has {len(pts)} rows, more than range / interval + 2 = {shown + 2:.0f}"
            assert len(pts) >= 0.4 * min(shown, held), \
                f"{s}: {key} has {len(pts)} rows, under 40% of {min(shown, held):.0f}"
    ordered = sorted(runs, key=lambda r: r[0].interval)
    for (a, la), (b, lb) in zip(ordered, ordered[1:]):
        for key in set(la) & set(lb):
            assert len(lb[key]) <= len(la[key]), \
                f"{key}: {len(lb[key])} rows at {b.interval} ms, more than {len(la[key])} at {a.interval} ms"


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def self_test():
    """The checks refuse what Grafana would not draw."""
    tz, f8, txt = 1184, 701, 25
    t = lambda m: datetime.datetime(2026, 11, 30, 12, m, tzinfo=UTC)
    good = Response([("time", tz), ("metric", txt), ("value", f8)],
                    [(t(0), "a", 1.0), (t(0), "b", 2.0), (t(1), "a", None), (t(1), "b", 3.0)])
    lines_of(good)
    bad = {
        "descending": Response([("time", tz), ("v", f8)], [(t(1), 1.0), (t(0), 2.0)]),
        "duplicate": Response([("time", tz), ("metric", txt), ("v", f8)], [(t(0), "a", 1.0), (t(0), "a", 2.0)]),
        "text value": Response([("time", tz), ("v", txt)], [(t(0), "1")]),
        "no time": Response([("t", tz), ("v", f8)], [(t(0), 1.0)]),
        "numeric metric": Response([("time", tz), ("metric", f8), ("v", f8)], [(t(0), 1.0, 1.0)]),
        "no value": Response([("time", tz), ("metric", txt)], [(t(0), "a")]),
        "null time": Response([("time", tz), ("v", f8)], [(None, 1.0)]),
    }
    for what, resp in bad.items():
        try:
            lines_of(resp)
        except AssertionError:
            continue
        raise SystemExit(f"grafana.py: the checks accept a response with {what}")
    s = Settings(RANGES[4][0], RANGES[4][1], 150)
    too_many = {"x": [(i * 60_000, 1.0) for i in range(10080)]}
    try:
        check_counts([(s, too_many)])
    except AssertionError:
        pass
    else:
        raise SystemExit("grafana.py: the checks accept 10080 rows for a 150-pixel week")
    got = expand("$__timeFilter(t) $__interval $__interval_ms $h", Settings(s.frm, s.to, 150, variables={
        "h": (["a", "b'c"], True)}))
    if got != f"t BETWEEN '{rfc3339(s.frm)}' AND '{rfc3339(s.to)}' 1h 3600000 'a','b''c'":
        raise SystemExit(f"grafana.py: expansion is off: {got}")


# ---------------------------------------------------------------- the run

class Run:
    def __init__(self, args):
        self.dir = os.path.abspath(args.dir)
        self.sock = os.path.join(self.dir, "sock")
        self.port = args.port
        self.page = args.page
        self.keep = args.keep
        self.passed = self.failed = 0

    def connect(self, user="postgres", dbname=DB):
        return psycopg.connect(host=self.sock, port=self.port, user=user, dbname=dbname, autocommit=True)

    def psql(self, script, db=DB):
        p = subprocess.run(
            [f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-p", str(self.port),
             "-U", "postgres", "-d", db],
            input=script, capture_output=True, text=True, env=dict(os.environ, PGTZ="UTC"))
        if p.returncode != 0:
            raise SystemExit(f"grafana.py: psql: {p.stderr.strip()}")
        return p.stdout

    def report(self, block, errors, runs):
        where = f"{os.path.relpath(self.page, ROOT)}:{block.line} {block.kind}"
        if errors:
            self.failed += 1
            print(f"FAIL {where}: {len(errors)} of {runs} runs")
            for e in errors[:5]:
                print(f"    {e}")
        else:
            self.passed += 1
            print(f"ok   {where}: {runs} runs")

    def query(self, conn, sql):
        cur = conn.execute(sql)
        return Response([(d.name, d.type_code) for d in cur.description], cur.fetchall())

    def prepare(self, blocks):
        roles = [r for b in blocks if b.kind == "setup" for r in re.findall(r"CREATE ROLE (\w+)", b.body)]
        if len(roles) != 1:
            raise SystemExit(f"grafana.py: the page's setup must make one role, it makes {roles}")
        self.role = roles[0]
        self.psql(f"DROP DATABASE IF EXISTS {DB};\nDROP ROLE IF EXISTS {self.role};\nCREATE DATABASE {DB};",
                  db="postgres")
        self.psql("CREATE EXTENSION pg_rrd;")
        self.psql("".join(b.body + "\n" for b in blocks if b.lang == "sql"))
        for b in blocks:
            if b.kind == "setup":
                self.psql(b.body)
        self.su = self.connect()
        self.conn = self.connect(self.role)
        self.hosts = [r[0] for r in self.su.execute(
            "SELECT DISTINCT split_part(name, '.', 2) FROM rrd.series WHERE name LIKE 'servers.%' ORDER BY 1")]

    def series_of(self, sql, key, wide):
        """The series a line of a query comes from: the name the query gives
        rrd.fetch, or the one whose name has the metric as a node."""
        if wide:
            names = re.findall(r"rrd\.fetch\('([^']+)'", sql)
            return names[0] if len(set(names)) == 1 else None
        rows = self.su.execute("SELECT name FROM rrd.series WHERE %s = ANY(string_to_array(name, '.'))",
                               (key,)).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def direct(self, name, cf, s, resolution_s=None):
        res = "" if resolution_s is None else f", resolution => make_interval(secs => {resolution_s})"
        rows = self.su.execute(
            f"SELECT t, v FROM rrd.fetch(%s, %s, %s, %s{res})", (name, cf, s.frm, s.to)).fetchall()
        return [(as_ms(t), v) for t, v in rows]

    def compare_fetch(self, sql, resp, lines, s):
        """Lines read by rrd.fetch against a direct read of their series."""
        if not re.search(r"rrd\.fetch\(", sql):
            return 0
        cfs = re.findall(r"rrd\.fetch\([^,]+,\s*'(\w+)'", sql)
        cf = cfs[0] if cfs else "AVERAGE"
        with_points = "points =>" in sql
        merged = 0
        for key, pts in lines.items():
            name = self.series_of(sql, key, "metric" not in resp.names())
            assert name, f"no series for line {key}"
            if not with_points:
                want = self.direct(name, cf, s)
                assert len(want) == len(pts) and all(a[0] == b[0] and same(a[1], b[1]) for a, b in zip(pts, want)), \
                    f"line {key} differs from rrd.fetch({name!r}, {cf!r}, ...)"
                continue
            points = (2 * s.range_ms() + s.interval) // (2 * s.interval)
            span = max(epoch(s.to) - epoch(s.frm), 1)
            direct = self.direct(name, cf, s, -(-span // points))
            step = direct[1][0] - direct[0][0]
            spacing = pts[1][0] - pts[0][0] if len(pts) > 1 else step
            assert all(b[0] - a[0] == spacing for a, b in zip(pts, pts[1:])), f"{key}: uneven rows"
            assert spacing % step == 0, f"{key}: rows of {spacing} ms from an archive of {step} ms"
            by_time = dict(direct)
            covered = 0
            for t, v in pts:
                if t - spacing < direct[0][0] - step or t > direct[-1][0]:
                    continue
                run = [by_time[u] for u in range(t - spacing + step, t + 1, step)]
                known = [x for x in run if x is not None]
                want = merge(cf, known)
                assert same(v, want), f"{key} at {t}: {v}, rrd.fetch's rows {run} give {want}"
                covered += 1
            assert covered >= max(1, len(pts) - 2), f"{key}: {covered} of {len(pts)} rows compared"
            merged += spacing > step
        return merged

    def time_series(self, block):
        errors, runs, merged = [], 0, 0
        for variables in self.variable_sets(block):
            for frm, to in RANGES:
                for min_ms in MIN_INTERVALS:
                    group = []
                    for width in WIDTHS:
                        s = Settings(frm, to, width, min_ms, variables)
                        runs += 1
                        try:
                            sql = expand(block.body, s)
                            resp = self.query(self.conn, sql)
                            lines = lines_of(resp)
                            assert lines, f"no rows"
                            assert any(v is not None for pts in lines.values() for _, v in pts), \
                                f"no known value"
                            check_range(lines, s)
                            self.check_variables(block, s, resp, lines)
                            merged += self.compare_fetch(sql, resp, lines, s)
                            group.append((s, lines))
                        except (AssertionError, ExpandError, psycopg.Error) as e:
                            errors.append(f"{s}: {str(e).strip()}")
                    if "$__interval" in block.body and len(group) == len(WIDTHS):
                        try:
                            check_counts(group)
                        except AssertionError as e:
                            errors.append(str(e))
        if "points =>" in block.body and not errors and merged == 0:
            errors.append("no run merged rows: points => was never tested")
        self.report(block, errors, runs)

    def variable_sets(self, block):
        """The variable values to try: every host for a single-value $host,
        one, two and all hosts for a multi-value one."""
        used = [v for v in set(re.findall(r"\$\{?(\w+)", block.body)) if not v.startswith("__")]
        if not used:
            return [{}]
        assert used == ["host"], f"the page uses variables {used}; the test knows host"
        if "host" in block.multi:
            return [{"host": (self.hosts[:n], True)} for n in (1, 2, len(self.hosts))]
        return [{"host": ([h], False)} for h in self.hosts]

    def check_variables(self, block, s, resp, lines):
        if "host" not in s.variables:
            return
        hosts, multi = s.variables["host"]
        if multi:
            assert sorted(lines) == sorted(hosts), f"lines {sorted(lines)} for hosts {hosts}"
        else:
            assert list(lines) == hosts, f"line {list(lines)} for host {hosts}"

    def table(self, block):
        errors, runs = [], 0
        for frm, to in RANGES:
            s = Settings(frm, to, 1000)
            runs += 1
            try:
                resp = self.query(self.conn, expand(block.body, s))
                names = resp.names()
                label = [i for i, c in enumerate(resp.cols) if c[1] in TEXT_TYPES]
                assert len(label) == 1, f"{s}: one text column to name the series, got {resp.cols}"
                li = label[0]
                for i, c in enumerate(resp.cols):
                    assert i == li or c[1] in NUMERIC_TYPES, f"{s}: column {c[0]} of type oid {c[1]}"
                assert [r[li] for r in resp.rows] == self.hosts, \
                    f"{s}: rows {[r[li] for r in resp.rows]} for hosts {self.hosts}"
                assert {"last", "min", "max"} <= set(names), f"{s}: columns {names}"
                for row in resp.rows:
                    name = self.series_of("", row[li], False)
                    lo, hi = epoch(s.frm) * 1000, epoch(s.to) * 1000
                    known = [(t, v) for t, v in self.direct(name, "AVERAGE", s) if lo <= t <= hi and v is not None]
                    want = {"last": known[-1][1], "min": min(v for _, v in known), "max": max(v for _, v in known)}
                    for col, value in want.items():
                        got = row[names.index(col)]
                        assert same(float(got), value), f"{s}: {row[li]} {col} {got}, rrd.fetch gives {value}"
            except (AssertionError, ExpandError, psycopg.Error) as e:
                errors.append(str(e).strip())
        self.report(block, errors, runs)

    def variable(self, block):
        errors = []
        try:
            resp = self.query(self.conn, expand(block.body, Settings(*RANGES[1], 1000)))
            names = resp.names()
            col = names.index("__value") if "__value" in names else 0
            assert len(names) == 1 or {"__text", "__value"} <= set(names), f"columns {names}"
            assert resp.cols[col][1] in TEXT_TYPES, f"values of type oid {resp.cols[col][1]}"
            values = [r[col] for r in resp.rows]
            assert values == self.hosts, f"values {values}, the data's hosts are {self.hosts}"
        except (AssertionError, ExpandError, psycopg.Error) as e:
            errors.append(str(e).strip())
        self.report(block, errors, 1)

    def expanded(self, block):
        src = block.expanded_from
        s = settings_of(block.settings_text, src.multi)
        errors = []
        try:
            want = expand(src.body, s) + ";"
            if block.body.strip() != want.strip():
                errors.append(f"{s}: the block is not what Grafana sends:\n{want}")
        except ExpandError as e:
            errors.append(str(e))
        block.kind = f"expanded from line {src.line}"
        self.report(block, errors, 1)

    def main(self):
        self_test()
        blocks = parse_page(self.page)
        grafana = [b for b in blocks if b.lang == "grafana"]
        kinds = {b.kind for b in grafana}
        if not {"time_series", "table", "variable", "setup"} <= kinds:
            raise SystemExit(f"grafana.py: {self.page} has blocks of kinds {sorted(kinds)} only")
        subprocess.run(["bash", CLUSTER_SH, "start", self.dir, str(self.port)], check=True)
        try:
            self.prepare(blocks)
            for b in blocks:
                if b.kind in ("time_series", "table", "variable"):
                    getattr(self, b.kind)(b)
                elif b.expanded_from is not None:
                    self.expanded(b)
            self.su.close()
            self.conn.close()
            if not self.keep:
                self.psql(f"DROP DATABASE {DB};\nDROP ROLE {self.role};", db="postgres")
        finally:
            if not self.keep:
                subprocess.run(["bash", CLUSTER_SH, "stop", self.dir], check=True)
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def merge(cf, known):
    """What `points =>` makes of a run's known values."""
    if not known:
        return None
    return {"AVERAGE": lambda: sum(known) / len(known), "MIN": lambda: min(known),
            "MAX": lambda: max(known), "LAST": lambda: known[-1]}[cf]()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "grafana"), help="the private cluster's folder")
    ap.add_argument("--port", type=int, default=55442)
    ap.add_argument("--page", default=os.path.join(ROOT, "docs", "grafana.md"))
    ap.add_argument("--keep", action="store_true",
                    help=f"leave the cluster running with database {DB} and the page's role, to look at")
    sys.exit(Run(ap.parse_args()).main())


if __name__ == "__main__":
    main()
