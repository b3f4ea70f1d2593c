#!/usr/bin/env python3
"""graphite-web 1.1.10 reading pg_rrd through pg_rrd_graphite, on a cluster of its own.

    .venv/bin/python pgrx-tests/graphite.py [--dir .pgdata/graphite] [--port 55440] [--keep]

Runs with the environment scripts/install-graphite.sh makes (graphite-web,
Django and the finder installed, Debian's psycopg seen). It starts a private
cluster in DIR on PORT (scripts/cluster.sh, as root or postgres), makes the
database pg_rrd_graphite afresh, creates series with dotted names (four
hosts, two cpu metrics each, a node that is both a series and a branch, a
series with MAX rows only), feeds them six hours of points (the many-series
array form, half folded by rrd.flush() and half left in the journal, and the
one-series array form), then serves graphite-web in-process with Django's
test client and STORAGE_FINDERS = ('pg_rrd_graphite.PgRrdFinder',), and
compares:

- /metrics/find (json, treejson, completer), with wildcards, classes and
  leavesOnly, against rrd.children and rrd.find; the intervals of leaves
  against rrd.first and rrd.last; /metrics/index.json against rrd.series.
- /render?format=json of a plain series, sumSeries, averageSeries,
  groupByNode(..., 'sumSeries'), movingAverage, scale, a series whose only
  archive is MAX (the finder falls back to it) and a node that is also a
  branch, over three ranges (1-minute rows, 5-minute rows when the start is
  older than the 1-minute ring, and one reaching before the first point),
  against the same computation done here over rrd.fetch's rows, each row
  ending at T being Graphite's point at T - step: timestamps exact, values
  within 1e-9 relative, None where unknown.
- that the same reference without the label shift differs from what
  graphite-web returns (the comparison can fail), and that the finder's
  one-series reader gives what its many-series fetch gives.

Prints a line per check that fails and closes with "graphite: N passed,
N failed"; exit status 1 on any failure. The cluster is stopped at the end
(--keep leaves it running).
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# This file's folder comes first on the path, and its name would hide graphite-web's package.
sys.path = [p for p in sys.path if os.path.realpath(p or os.curdir) != HERE]
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
DB = "pg_rrd_graphite"
# graphite-web connects as a role that may only read, with docs/graphite.md's grants.
READER = "graphite_reader"
DOC = os.path.join(ROOT, "docs", "graphite.md")

# A whole hour; six hours of points follow it.
BASE = 1_699_999_200
STEP = 60
POINTS = 360
LAST = BASE + POINTS * STEP
HOSTS = ("db01", "web01", "web02", "web03")
# A day of 1-minute and 5-minute rows... but only four hours of 1-minute ones, so
# that a range starting earlier is read from the 5-minute archive.
DEF = "--step 60 DS:x:GAUGE:120:U:U RRA:AVERAGE:0.5:1:240 RRA:AVERAGE:0.5:5:288 RRA:MAX:0.5:1:240"
MAX_ONLY = "--step 60 DS:x:GAUGE:600:U:U RRA:MAX:0.5:5:288"

CPU = [f"servers.{h}.cpu.{m}" for h in HOSTS for m in ("system", "user")]
OTHER = ["servers.web02.load", "servers.web02.load.shortterm"]
BATCH = "other.batch.duration"
# The consolidation function each series is read with: AVERAGE, except the
# series that has only MAX rows.
CF = {n: "AVERAGE" for n in CPU + OTHER}
CF[BATCH] = "MAX"

REL = 1e-9


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok


# The cluster and its data.


def cluster(*args):
    p = subprocess.run(["bash", CLUSTER_SH, *args], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"cluster.sh {' '.join(args)}: {p.stderr.strip()[-800:]}")


def make_database(sock, port):
    with psycopg.connect(host=sock, port=port, user="postgres", dbname="postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB}")
        c.execute(f"DROP ROLE IF EXISTS {READER}")
        c.execute(f"CREATE ROLE {READER} LOGIN")
        c.execute(f"CREATE DATABASE {DB}")
    conn = psycopg.connect(host=sock, port=port, user="postgres", dbname=DB, autocommit=True)
    conn.execute("CREATE EXTENSION pg_rrd")
    conn.execute(f"GRANT USAGE ON SCHEMA rrd TO {READER}")
    conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA rrd TO {READER}")
    return conn


def points(rng, name):
    """The (t, v) a series is fed: one point a minute at an offset of its own, some
    unknown, and an hour and a half without any for web03 (longer than the heartbeat)."""
    offset = rng.randrange(1, STEP)
    out = []
    for i in range(POINTS):
        if ".web03." in name and 100 <= i < 190:
            continue
        v = None if rng.random() < 0.05 else round(rng.uniform(0, 100), 3)
        out.append((BASE + i * STEP + offset, v))
    return out


def feed(conn):
    rng = random.Random(20231114)
    for n in CPU + OTHER:
        conn.execute("SELECT rrd.create(%s, %s, %s)", (n, DEF, utc(BASE)))
    conn.execute("SELECT rrd.create(%s, %s, %s)", (BATCH, MAX_ONLY, utc(BASE)))
    series = {n: points(rng, n) for n in CPU + OTHER + [BATCH]}
    # The cpu series in statements of many series, by time: the first four
    # hours folded into the rings, the rest left pending in the journal.
    rows = sorted((t, n, v) for n in CPU for t, v in series[n])
    half = BASE + 4 * 3600
    for part in ([r for r in rows if r[0] < half], [r for r in rows if r[0] >= half]):
        conn.execute("SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[])",
                     ([n for _, n, _ in part], [utc(t) for t, _, _ in part], [v for _, _, v in part]))
        if part[0][0] < half:
            conn.execute("SELECT rrd.flush()")
    for n in OTHER + [BATCH]:
        conn.execute("SELECT rrd.update(%s, %s::timestamptz[], %s::float8[])",
                     (n, [utc(t) for t, _ in series[n]], [v for _, v in series[n]]))


# graphite-web, in this process.


def start_graphite(dsn, state):
    webapp = os.path.join(state, "webapp")
    for d in ("webapp", "storage", "log"):
        os.makedirs(os.path.join(state, d), exist_ok=True)
    settings = {
        "SECRET_KEY": "pg_rrd graphite test",
        "ALLOWED_HOSTS": ["*"],
        "TIME_ZONE": "UTC",
        "STORAGE_DIR": os.path.join(state, "storage"),
        "LOG_DIR": os.path.join(state, "log"),
        "STORAGE_FINDERS": ("pg_rrd_graphite.PgRrdFinder",),
        # Set, so that graphite-web does not look for whisper (its own finder is not used).
        "STANDARD_DIRS": [os.path.join(state, "storage", "whisper")],
        "TAGDB": "",
        "CARBONLINK_HOSTS": [],
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
        "DEFAULT_CACHE_DURATION": 0,
        "FIND_CACHE_DURATION": 0,
        "PG_RRD_DSN": dsn,
        "PG_RRD_CF": "AVERAGE",
    }
    with open(os.path.join(webapp, "pg_rrd_test_settings.py"), "w") as f:
        for k, v in settings.items():
            f.write(f"{k} = {v!r}\n")
    sys.path.insert(0, webapp)
    os.environ["GRAPHITE_SETTINGS_MODULE"] = "pg_rrd_test_settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
    import django
    from django.core.management import call_command
    from django.test import Client

    django.setup()
    # treejson reads the user's profile from graphite-web's own database.
    call_command("migrate", verbosity=0, interactive=False)
    return Client()


def get_json(client, path, params):
    r = client.get(path, params)
    if r.status_code != 200:
        raise RuntimeError(f"{path} {params}: HTTP {r.status_code}: {r.content[:800]!r}")
    return json.loads(r.content)


# The reference: rrd.fetch's rows, relabelled, and Graphite's functions over them.


class Series:
    def __init__(self, name, start, step, values):
        self.name, self.start, self.step, self.values = name, start, step, values

    def datapoints(self):
        return [[v, self.start + i * self.step] for i, v in enumerate(self.values)]


def ref_fetch(conn, name, start, stop, shift=True):
    rows = conn.execute(
        "SELECT extract(epoch FROM t)::bigint, v FROM rrd.fetch(%s, %s, %s, %s)",
        (name, CF[name], utc(start), utc(stop))).fetchall()
    step = rows[1][0] - rows[0][0]
    assert all(b[0] - a[0] == step for a, b in zip(rows, rows[1:])), name
    # pg_rrd's row ending at T covers (T - step, T]: Graphite's point at T - step.
    first = rows[0][0] - step if shift else rows[0][0]
    return Series(name, first, step, [v for _, v in rows])


def combine(name, series, func):
    assert len({(s.start, s.step, len(s.values)) for s in series}) == 1
    values = []
    for row in zip(*(s.values for s in series)):
        known = [v for v in row if v is not None]
        values.append(func(known) if known else None)
    return Series(name, series[0].start, series[0].step, values)


def mean(values):
    return sum(values) / len(values)


def moving_average(conn, name, window, start, stop, shift):
    # The window reaches back `window` points of the range's own step before
    # its start, read again from there; each point averages the known values
    # of the last `window` points up to and including itself.
    preview = ref_fetch(conn, name, start, stop, shift).step * window
    s = ref_fetch(conn, name, start - preview, stop, shift)
    values = []
    for i in range(window + 1, len(s.values) + 1):
        known = [v for v in s.values[i - window:i] if v is not None]
        values.append(mean(known) if known else None)
    return Series(f"movingAverage({name},{window})", s.start + preview, s.step, values)


def expected(conn, start, stop, shift=True):
    """{target: [Series]} for each target rendered."""
    f = lambda n: ref_fetch(conn, n, start, stop, shift)  # noqa: E731
    users = [f"servers.{h}.cpu.user" for h in HOSTS]
    systems = [f"servers.{h}.cpu.system" for h in HOSTS]
    out = {
        "servers.web01.cpu.user": [f("servers.web01.cpu.user")],
        "sumSeries(servers.*.cpu.user)": [
            combine("sumSeries(servers.*.cpu.user)", [f(n) for n in users], sum)],
        "averageSeries(servers.*.cpu.system)": [
            combine("averageSeries(servers.*.cpu.system)", [f(n) for n in systems], mean)],
        "groupByNode(servers.*.cpu.*,1,'sumSeries')": [
            combine(h, [f(f"servers.{h}.cpu.system"), f(f"servers.{h}.cpu.user")], sum) for h in HOSTS],
        "movingAverage(servers.web01.cpu.user,5)": [
            moving_average(conn, "servers.web01.cpu.user", 5, start, stop, shift)],
        "scale(servers.web02.cpu.system,2.5)": [],
        BATCH: [f(BATCH)],
        "servers.web02.load": [f("servers.web02.load")],
    }
    s = f("servers.web02.cpu.system")
    out["scale(servers.web02.cpu.system,2.5)"] = [
        Series("scale(servers.web02.cpu.system,2.5)", s.start, s.step,
               [None if v is None else v * 2.5 for v in s.values])]
    return out


def same_points(got, want):
    """None when the datapoints agree, else where they first differ."""
    if len(got) != len(want):
        return f"{len(got)} points, expected {len(want)}"
    for (gv, gt), (wv, wt) in zip(got, want):
        if gt != wt:
            return f"timestamp {gt}, expected {wt}"
        if (gv is None) != (wv is None):
            return f"at {gt}: {gv}, expected {wv}"
        if gv is not None and abs(gv - wv) > REL * max(abs(gv), abs(wv)):
            return f"at {gt}: {gv!r}, expected {wv!r}"
    return None


def check_render(ck, client, conn, start, stop, label):
    want = expected(conn, start, stop)
    got = get_json(client, "/render", {"target": list(want), "format": "json",
                                       "from": str(start), "until": str(stop)})
    by_name = {s["target"]: s["datapoints"] for s in got}
    names = [s.name for ss in want.values() for s in ss]
    ck.check(sorted(by_name) == sorted(names), f"{label}: series rendered",
             f"{sorted(by_name)} != {sorted(names)}")
    for target, series in want.items():
        for s in series:
            if s.name in by_name:
                diff = same_points(by_name[s.name], s.datapoints())
                ck.check(diff is None, f"{label}: {target} -> {s.name}", diff)
    values = [v for ss in want.values() for s in ss for v in s.values]
    ck.check(None in values and sum(v is not None for v in values) > len(values) / 2,
             f"{label}: the references hold known and unknown points")
    # Without the label shift every timestamp is one step late: the comparison must see it.
    plain = "servers.web01.cpu.user"
    unshifted = expected(conn, start, stop, shift=False)[plain][0]
    ck.check(same_points(by_name.get(plain, []), unshifted.datapoints()) is not None,
             f"{label}: a reference without the label shift differs")
    return want


# /metrics/find.


def children(conn, prefix):
    """What /metrics/find lists for `prefix`.*: (path, is_leaf) pairs."""
    out = set()
    for path, _node, leaf, branch in conn.execute("SELECT * FROM rrd.children(%s)", (prefix,)):
        if leaf:
            out.add((path, True))
        if branch:
            out.add((path, False))
    return out


def intervals(conn, name):
    first = min(
        conn.execute("SELECT extract(epoch FROM rrd.first(%s, %s))::float8", (name, a)).fetchone()[0] - res
        for a, res in conn.execute(
            "SELECT archive, extract(epoch FROM resolution)::float8 FROM rrd.archives(rrd.definition(%s))",
            (name,)).fetchall())
    last = conn.execute("SELECT extract(epoch FROM rrd.last(%s))::float8", (name,)).fetchone()[0]
    return [{"start": first, "end": last}]


def check_find(ck, client, conn):
    cases = [("*", None), ("servers.*", "servers"), ("servers.web01.*", "servers.web01"),
             ("servers.web02.*", "servers.web02"), ("servers.web02.load.*", "servers.web02.load"),
             ("servers.web0[12].cpu.*", "servers.web0[12].cpu"), ("servers.{db01,web03}.*", "servers.{db01,web03}")]
    for query, prefix in cases:
        got = get_json(client, "/metrics/find", {"query": query, "format": "json"})
        want = children(conn, prefix)
        ck.check(sorted((n["path"], n["is_leaf"]) for n in got) == sorted(want),
                 f"find {query} (json)", f"{got} != {sorted(want)}")
        for n in got:
            if n["is_leaf"]:
                ck.check(n["intervals"] == intervals(conn, n["path"]), f"find {query}: intervals of {n['path']}",
                         f"{n['intervals']} != {intervals(conn, n['path'])}")
        # treejson (Grafana's, and the composer's tree) lists each node name once, as
        # the query's parent path and the name: a path that is both a series and a
        # branch shows as either, and names under a wildcard parent are merged.
        tree = get_json(client, "/metrics/find", {"query": query})
        base = query.rsplit(".", 1)[0] + "." if "." in query else ""
        kinds = {}
        for path, leaf in want:
            kinds.setdefault(path.rsplit(".", 1)[-1], set()).add(leaf)
        ck.check(sorted(n["text"] for n in tree) == sorted(kinds)
                 and all(bool(n["leaf"]) in kinds[n["text"]] for n in tree)
                 and all(n["id"] == base + n["text"] for n in tree),
                 f"find {query} (treejson)", f"{tree}")
    # Leaves only, against rrd.find.
    for query in ("servers.*.cpu.user", "servers.web02.load*", "*.*.*", "other.batch.duration"):
        got = get_json(client, "/metrics/find", {"query": query, "format": "json", "leavesOnly": "1"})
        want = [r[0] for r in conn.execute("SELECT name FROM rrd.find(%s)", (query,))]
        ck.check(sorted(n["path"] for n in got) == want and all(n["is_leaf"] for n in got),
                 f"find {query} (leavesOnly)", f"{got} != {want}")
    # Autocompletion: graphite-web adds the trailing *.
    got = get_json(client, "/metrics/find", {"query": "servers.we", "format": "completer"})["metrics"]
    want = sorted(p + "." for p, leaf in children(conn, "servers") if p.startswith("servers.we") and not leaf)
    ck.check(sorted(m["path"] for m in got) == want and all(m["is_leaf"] == "0" for m in got),
             "find servers.we (completer)", f"{got} != {want}")
    # Nothing, and a pattern pg_rrd refuses: no match, as with graphite-web's own finders.
    for query in ("nothing.*", "servers.{web"):
        got = get_json(client, "/metrics/find", {"query": query, "format": "json"})
        ck.check(got == [], f"find {query}", f"{got}")
    index = get_json(client, "/metrics/index.json", {})
    want = [r[0] for r in conn.execute("SELECT name FROM rrd.series ORDER BY name")]
    ck.check(index == sorted(want) and len(index) == len(CPU + OTHER) + 1, "metrics/index.json", f"{index}")


def check_reader(ck, start, stop):
    """The finder's one-series reader (LeafNode.fetch) against its many-series fetch."""
    from graphite.finders.utils import FindQuery
    from pg_rrd_graphite import PgRrdFinder

    finder = PgRrdFinder()
    many = {r["path"]: (r["time_info"], r["values"])
            for r in finder.fetch(["servers.*.cpu.*", BATCH], start, stop)}
    leaves = [n for n in finder.find_nodes(FindQuery("servers.*.cpu.*", None, None)) if n.is_leaf]
    leaves += [n for n in finder.find_nodes(FindQuery(BATCH, None, None, leaves_only=True))]
    ck.check(sorted(n.path for n in leaves) == sorted(many) and len(many) == len(CPU) + 1,
             "finder: leaves of find_nodes are those fetch reads", f"{sorted(many)}")
    for n in leaves:
        ti, values = n.fetch(start, stop)
        ck.check((ti, list(values)) == many.get(n.path), f"finder: reader of {n.path}")
    # A series pg_rrd refuses to read (here: more rows than pg_rrd.max_fetch_rows, which
    # the 5-minute rows of the MAX series stay under) leaves the others of the fetch.
    finder.db.rows("SET pg_rrd.max_fetch_rows = 100")
    try:
        got = [r["path"] for r in finder.fetch(["servers.web01.cpu.user", BATCH], start, stop)]
    finally:
        finder.db.rows("RESET pg_rrd.max_fetch_rows")
    ck.check(got == [BATCH] and many[BATCH] == finder.fetch_series([BATCH], start, stop)[BATCH],
             "finder: a refused series leaves the others", f"{got}")


def check_doc(ck, client, conn):
    """docs/graphite.md: its SQL, then each GET of an ```http block against the ```json after it."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", open(DOC, encoding="utf-8").read(), flags=re.M | re.S)
    for lang, body in fences:
        if lang == "sql":
            conn.execute(body)
    pairs = [(body.split()[1], json.loads(nxt[1])) for (lang, body), nxt in zip(fences, fences[1:])
             if lang == "http" and nxt[0] == "json"]
    ck.check(len(pairs) > 0, "docs/graphite.md has requests to replay")
    for url, want in pairs:
        path, _, query = url.partition("?")
        params = {}
        for k, v in urllib.parse.parse_qsl(query):
            params.setdefault(k, []).append(v)
        got = get_json(client, path, params)
        ck.check(got == want, f"docs/graphite.md: GET {url}", f"{got}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "graphite"))
    ap.add_argument("--port", type=int, default=55440)
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    args = ap.parse_args()
    d = os.path.realpath(args.dir)
    sock = os.path.join(d, "sock")
    ck = Checks()
    state = tempfile.mkdtemp(prefix="pg_rrd_graphite.")
    cluster("start", d, str(args.port))
    try:
        conn = make_database(sock, args.port)
        feed(conn)
        pending = conn.execute("SELECT rrd.pending()").fetchone()[0]
        ck.check(pending > 0, "points are pending in the journal", f"{pending}")
        client = start_graphite(f"host={sock} port={args.port} user={READER} dbname={DB}", state)
        check_find(ck, client, conn)
        ranges = [
            # The last two hours, from the 1-minute archive; unaligned ends.
            ("1-minute rows", LAST - 7200 + 13, LAST - 300 + 29, 60),
            # A start older than the 1-minute ring: the 5-minute archive.
            ("5-minute rows", BASE + 600, LAST, 300),
            # From before the series' start to its first hour.
            ("before the data", BASE - 3600, BASE + 3600, 300),
        ]
        for label, start, stop, step in ranges:
            want = check_render(ck, client, conn, start, stop, label)
            ck.check(want["servers.web01.cpu.user"][0].step == step, f"{label}: rows of {step} s",
                     f"{want['servers.web01.cpu.user'][0].step}")
        check_reader(ck, LAST - 7200, LAST)
        check_doc(ck, client, conn)
        conn.close()
    finally:
        if not args.keep:
            cluster("stop", d)
        shutil.rmtree(state, ignore_errors=True)
    print(f"graphite: {ck.passed} passed, {ck.failed} failed")
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()
