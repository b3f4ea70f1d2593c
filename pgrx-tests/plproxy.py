#!/usr/bin/python3
"""pg_rrd sharded by series name with PL/Proxy (sql/plproxy/pg_rrd_proxy.sql),
against one node given the same calls.

    /usr/bin/python3 pgrx-tests/plproxy.py [--dir .pgdata/plproxy] [--port 55470] [--runs 3] [CASE ...]

Five clusters of its own, in DIR/{shard0,shard1,shard2,proxy,single}, listen on
127.0.0.1 at PORT .. PORT+4: three shards with pg_rrd, a proxy with plproxy and
the proxy script (its cluster pg_rrd: the three shards, modular_mapping), and a
single node with pg_rrd. They are made by scripts/cluster.sh on first use,
restarted with TCP, given fresh databases by each run, and stopped at its end,
also when a check fails. The script runs as root (the servers run as the
postgres user) or as postgres. CASE is any of those below (default: all; every
one but rate needs load, which then runs first).

- load: 300 series of mixed definitions (GAUGE with bounds, COUNTER with 32-
  and 64-bit wraps, DERIVE with resets, ABSOLUTE; steps of 10, 30 and 60 s;
  start, chunk_width, meta and tags), created through the proxy and on the
  single node with the same calls, then 40 rounds of points sent through every
  form of rrd.update (a point as double and as numeric, an update string, an
  array of them, a series' arrays, many series' arrays split per shard, INSERT
  and COPY into rrd.points), with refused points skipped by skip_bad: every
  statement returns the same on both.
- spread: every series is on exactly one shard, the one abs(hashtext(name) % 3)
  names, and every shard has some; each many-series statement of the load,
  sent to a probe split as rrd.update splits, gives each shard exactly its
  series' points, in their order.
- reads: every read through the proxy equals the same read on the single node,
  row for row: rrd.fetch of every series with four CFs, two resolutions and
  points =>, fetch_array, fetch_stitched, last, first, lastupdate, info (less
  the shard-local id), definition, pending(name); fetch_many and fetch_tagged
  over patterns and tags, find with and without a time range, children at
  every level, the rrd.series view, pending(), verify() and verify(name);
  then rrd.flush() on both and every read again.
- errors and edges: the SQLSTATE of refused calls (unknown series, duplicate,
  bad definition, bad pattern, out-of-order point, NULL names and arrays,
  arrays of different lengths), rrd.points with pg_rrd.skip_bad_points on and
  off (the same notice), rename within a shard and
  refused across shards, drop, dump and import_rrdtool (a dump of several data
  sources refused), tune, set_tags; what a many-series update that fails on one
  shard leaves on the others (reported) and that the same statement sent again
  with skip_bad ends as on one node, and that a proxy ROLLBACK leaves a
  shard's commit (no transaction spans shards).
- rate: into fresh databases, after the same creates, the load's statements of
  its first 10 rounds (every form), then a batch-only workload (many series'
  arrays: 100 steps of the 288 series of double values, 10 steps a
  statement), timed on the single node, through the proxy over 1 shard and
  over 3 shards; medians of --runs runs, printed (no timed assertion).

The last line is "plproxy: N cases, N failed"; with RELIABILITY_DIR set, one
JSON line goes to $RELIABILITY_DIR/plproxy.json. Exit status 1 on a failure.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import traceback

import psycopg

import pgcluster
from pgcluster import CLUSTER_SH, PGBIN, ROOT, as_pg

PROXY_SQL = os.path.join(ROOT, "sql", "plproxy", "pg_rrd_proxy.sql")

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# A multiple of 300, so that every archive's rows end on round times.
BASE = 1_700_000_100
ROUNDS = 40
NSHARDS = 3


def ts(secs):
    return EPOCH + datetime.timedelta(seconds=secs)


# ---------------------------------------------------------------- clusters

class Node(pgcluster.Cluster):
    """A private cluster in DIR, made by scripts/cluster.sh (initdb on first
    use), then run by pg_ctl on 127.0.0.1:PORT: PL/Proxy reaches the shards
    over TCP, and cluster.sh's servers listen on their socket only."""

    def __init__(self, base, name, port):
        super().__init__(os.path.join(os.path.abspath(base), name), port, name=name)

    def start(self):
        super().start()
        subprocess.run(["bash", CLUSTER_SH, "stop", self.dir], check=True, capture_output=True)
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c timezone=UTC "
                f"-c max_connections=60")
        p = subprocess.run([*as_pg(), f"{PGBIN}/pg_ctl", "-D", self.data, "-l", self.log_path, "-w",
                            "-o", opts, "start"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{self.name}: pg_ctl start: {p.stdout.strip()[-400:]} {p.stderr.strip()[-400:]}")

    def connect(self, dbname="postgres", autocommit=True, **kw):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname,
                               autocommit=autocommit, **kw)

    def admin(self, *sqls):
        with self.connect("postgres") as c:
            for s in sqls:
                c.execute(s)

    def psql_file(self, db, path):
        """The script as a DBA runs it: psql -f, stopping at the first error."""
        p = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "postgres", "-d", db, "-f", path], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{self.name}: psql -f {path}: {p.stderr.strip()[-800:]}")


class Nodes:
    def __init__(self, base, port):
        self.shards = [Node(base, f"shard{i}", port + i) for i in range(NSHARDS)]
        self.proxy = Node(base, "proxy", port + NSHARDS)
        self.single = Node(base, "single", port + NSHARDS + 1)
        self.all = self.shards + [self.proxy, self.single]

    def start(self):
        errors = []

        def go(n):
            try:
                n.stop()
                n.start()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=go, args=(n,)) for n in self.all]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def stop(self):
        for n in self.all:
            try:
                n.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                print(f"plproxy: stopping {n.name}: {e}", flush=True)

    def templates(self):
        """rrd_tpl (pg_rrd created) on the shards and the single node,
        proxy_tpl (plproxy and the proxy script) on the proxy."""
        for n in self.shards + [self.single]:
            n.admin("DROP DATABASE IF EXISTS rrd_tpl WITH (FORCE)", "CREATE DATABASE rrd_tpl")
            with n.connect("rrd_tpl") as c:
                c.execute("CREATE EXTENSION pg_rrd")
        self.proxy.admin("DROP DATABASE IF EXISTS proxy_tpl WITH (FORCE)", "CREATE DATABASE proxy_tpl")
        with self.proxy.connect("proxy_tpl") as c:
            c.execute("CREATE EXTENSION plproxy")
        self.proxy.psql_file("proxy_tpl", PROXY_SQL)

    def shard_db(self, db, shards):
        for n in shards:
            n.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db} TEMPLATE rrd_tpl")

    def proxy_db(self, db, shards, shard_db=None):
        """A proxy database `db` whose cluster pg_rrd is database `shard_db`
        (default: `db`) of `shards`."""
        self.proxy.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db} TEMPLATE proxy_tpl")
        parts = ", ".join(f"p{i} 'host=127.0.0.1 port={n.port} dbname={shard_db or db}'" for i, n in enumerate(shards))
        with self.proxy.connect(db) as c:
            c.execute(f"CREATE SERVER pg_rrd FOREIGN DATA WRAPPER plproxy OPTIONS (modular_mapping '1', {parts})")
            c.execute("CREATE USER MAPPING FOR PUBLIC SERVER pg_rrd OPTIONS (user 'postgres')")

    def drop_db(self, db, nodes):
        for n in nodes:
            n.admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


# ---------------------------------------------------------------- results

class Report:
    def __init__(self):
        self.cases = 0
        self.failures = []
        self.notes = []

    def check(self, cond, msg):
        self.cases += 1
        if not cond:
            self.failures.append(msg)
            if len(self.failures) <= 30:
                print(f"  FAIL {msg}", flush=True)
        return cond

    def same(self, what, got, want):
        return self.check(got == want, f"{what}: proxy {short(got)} != single {short(want)}")

    def note(self, msg):
        self.notes.append(msg)
        print(f"  {msg}", flush=True)


def short(x, n=300):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


def attempt(conn, sql, args=None):
    """Rows of `sql`, or ("ERROR", sqlstate)."""
    try:
        return conn.execute(sql, args).fetchall()
    except psycopg.Error as e:
        return ("ERROR", e.sqlstate)


# ---------------------------------------------------------------- the series

HOSTS = [f"dc{d}.r{r:02d}.h{h:02d}" for d in (1, 2) for r in range(1, 6) for h in range(1, 4)]
METRICS = ["cpu", "cpu.user", "cpu.system", "load", "mem.used", "if0.rx", "if0.tx", "disk.sda.reads",
           "disk.sda.writes", "uptime"]


def definition(metric, host_no):
    """(rrdtool create arguments, step, kind) of a metric; hosts vary them."""
    x = 0.5 if host_no % 2 else 0.3
    if metric.startswith("cpu"):
        return (f"--step 10 DS:pct:GAUGE:20:0:100 RRA:AVERAGE:{x}:1:360 RRA:MAX:{x}:6:120 "
                f"RRA:MIN:{x}:6:120 RRA:LAST:0.5:30:20", 10, "gauge%")
    if metric == "load":
        return f"--step 10 DS:load:GAUGE:{20 + 10 * (host_no % 3)}:U:U RRA:AVERAGE:{x}:1:360 RRA:AVERAGE:0.5:6:120", 10, "gauge"
    if metric == "mem.used":
        return "--step 60 DS:used:GAUGE:120:0:U RRA:AVERAGE:0.5:1:200 RRA:MAX:0.5:5:50", 60, "gauge"
    if metric.startswith("if0"):
        return "--step 60 DS:bytes:COUNTER:120:0:U RRA:AVERAGE:0.5:1:200 RRA:MAX:0.5:5:60", 60, "counter"
    if metric.startswith("disk"):
        return f"--step 30 DS:ops:DERIVE:90:0:U RRA:AVERAGE:{x}:1:300 RRA:LAST:0.5:10:50", 30, "derive"
    return "--step 10 DS:ticks:ABSOLUTE:20:0:U RRA:AVERAGE:0.5:1:300 RRA:MAX:0.5:6:60", 10, "absolute"


class Series:
    def __init__(self, name, host_no, metric, rnd):
        self.name = name
        self.def_, self.step, self.kind = definition(metric, host_no)
        # 64-bit counters beyond 2^53 go through the numeric and string forms only.
        self.huge = self.kind == "counter" and host_no % 5 == 0
        self.start = BASE - self.step
        self.points = []   # (secs as float, exact time text, value or None, round)
        acc = (2**64 - 4_000_000) if self.huge else (2**32 - 3_000_000 if self.kind == "counter" else 1000)
        for r in range(1, ROUNDS + 1):
            if rnd.random() < 0.04:
                continue  # a missed round: a gap, sometimes beyond the heartbeat
            us = rnd.randrange(0, self.step * 500_000)
            secs = BASE + r * self.step + us // 1_000_000
            text = f"{secs}.{us % 1_000_000:06d}"
            if self.kind == "gauge%":
                v = None if rnd.random() < 0.05 else round(rnd.uniform(0, 110), 3)
            elif self.kind == "gauge":
                v = None if rnd.random() < 0.05 else round(rnd.uniform(0, 8e9 if "mem" in name else 8), 4)
            elif self.kind == "counter":
                acc += rnd.randrange(0, 900_000)
                if acc >= 2**64:
                    acc -= 2**64
                elif not self.huge and acc >= 2**32:
                    acc -= 2**32
                v = acc
            elif self.kind == "derive":
                acc = rnd.randrange(0, 50) if rnd.random() < 0.05 else acc + rnd.randrange(0, 5000)
                v = acc
            else:
                v = rnd.randrange(0, 1000)
            self.points.append((secs + (us % 1_000_000) / 1e6, text, v, r))

    def t(self, p):
        secs, frac = p[1].split(".")
        return ts(int(secs)) + datetime.timedelta(microseconds=int(frac))


def make_series(rnd):
    out = []
    for hn, host in enumerate(HOSTS):
        for m in METRICS:
            out.append(Series(f"{host}.{m}", hn, m, rnd))
    return out


def create_calls(series, rnd):
    """(sql, args) creating each series, in the styles a client uses."""
    calls = []
    for i, s in enumerate(series):
        dc, rack, host = s.name.split(".")[:3]
        tags = json.dumps({"dc": dc, "rack": rack, "host": host, "kind": s.kind})
        style = i % 4
        if style == 0:
            calls.append(("SELECT rrd.create(%s, %s, %s)", (s.name, s.def_, ts(s.start))))
        elif style == 1:
            calls.append(("SELECT rrd.create(%s, %s, %s, tags => %s::jsonb)", (s.name, s.def_, ts(s.start), tags)))
        elif style == 2:
            calls.append(("SELECT rrd.create(%s, %s, start => %s, chunk_width => 50, meta => %s::jsonb, "
                          "tags => %s::jsonb)",
                          (s.name, s.def_, ts(s.start), json.dumps({"unit": s.kind, "n": i}), tags)))
        else:
            calls.append(("SELECT rrd.create(%s, %s, %s, NULL, %s::jsonb)",
                          (s.name, s.def_, ts(s.start), json.dumps({"owner": {"team": rack}}))))
    return calls


# ---------------------------------------------------------------- the workload

def num_text(v):
    return "U" if v is None else (str(v) if isinstance(v, int) else repr(v))


def workload(series, rnd, blocks=8):
    """Statements sending every series' points through the forms of
    rrd.update, in blocks of rounds: a list of blocks, each a list of (kind,
    sql, args). kind: "one" (one statement, its result compared), "many" (one
    call per args row, pipelined), "copy"."""
    per = ROUNDS // blocks
    stmts = []
    for b in range(blocks):
        batch_many, batch_insert, batch_copy = [], [], []
        block = []
        for s in series:
            pts = [p for p in s.points if (p[3] - 1) // per == b]
            if not pts:
                continue
            forms = ["numeric", "spec", "specs"] if s.huge else \
                ["point", "spec", "specs", "array", "split", "split", "insert", "copy"]
            if s.kind in ("counter", "derive", "absolute") and not s.huge:
                forms.append("numeric")
            form = rnd.choice(forms)
            skip = rnd.random() < 0.3
            if form == "point":
                block.append(("many", "SELECT rrd.update(%s, %s, %s::float8)",
                              [(s.name, s.t(p), None if p[2] is None else float(p[2])) for p in pts]))
            elif form == "numeric":
                block.append(("many", "SELECT rrd.update(%s, %s, %s::numeric)",
                              [(s.name, s.t(p), p[2]) for p in pts]))
            elif form == "spec":
                block.append(("many", "SELECT rrd.update(%s, %s::text)",
                              [(s.name, f"{p[1]}:{num_text(p[2])}") for p in pts]))
            elif form == "specs":
                specs = [f"{p[1]}:{num_text(p[2])}" for p in pts]
                if skip and len(specs) > 1:
                    specs.insert(1, specs[0])  # not after the last: refused, skipped
                block.append(("one", "SELECT rrd.update(%s, %s::text[], skip_bad => %s)", (s.name, specs, skip)))
            elif form == "array":
                tt = [s.t(p) for p in pts]
                vv = [None if p[2] is None else float(p[2]) for p in pts]
                if skip and len(tt) > 1:
                    tt.insert(1, tt[0])
                    vv.insert(1, 1.0)
                block.append(("one", "SELECT rrd.update(%s, %s::timestamptz[], %s::float8[], %s)",
                              (s.name, tt, vv, skip)))
            else:
                rows = [(s.name, s.t(p), None if p[2] is None else float(p[2])) for p in pts]
                {"split": batch_many, "insert": batch_insert, "copy": batch_copy}[form].append(rows)
        # Many series in one statement: round by round, shuffled within a round.
        for kind, lists in (("split", batch_many), ("insert", batch_insert), ("copy", batch_copy)):
            if not lists:
                continue
            rows = []
            for k in range(max(len(x) for x in lists)):
                step = [x[k] for x in lists if k < len(x)]
                rnd.shuffle(step)
                rows += step
            if kind == "split":
                names, tt, vv = [list(c) for c in zip(*rows)]
                skip = rnd.random() < 0.5
                if skip:  # a repeated time, in the middle: refused and skipped
                    j = len(rows) // 2
                    names.insert(j, names[j])
                    tt.insert(j, tt[j])
                    vv.insert(j, 3.0)
                block.append(("one", "SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[], skip_bad => %s)",
                              (names, tt, vv, skip)))
            elif kind == "insert":
                values = ", ".join(["(%s, %s::timestamptz, %s::float8)"] * len(rows))
                block.append(("one", f"INSERT INTO rrd.points (name, t, v) VALUES {values}",
                              tuple(x for r in rows for x in r)))
            else:
                block.append(("copy", "COPY rrd.points (name, t, v) FROM STDIN", rows))
        rnd.shuffle(block)
        stmts.append(block)
    return stmts


def batch_workload(series, steps=100, per_stmt=10, after=ROUNDS + 2):
    """Collector steps only: every double-valued series once per step (from
    round `after` on), each statement carrying `per_stmt` steps of all of them."""
    usable = [s for s in series if not s.huge]
    stmts = []
    for first in range(0, steps, per_stmt):
        names, tt, vv = [], [], []
        for k in range(first, first + per_stmt):
            for s in usable:
                names.append(s.name)
                tt.append(ts(BASE + (after + k) * s.step))
                vv.append(float(k % 7 + (1000 * k if s.kind in ("counter", "derive") else 0)))
        stmts.append(("one", "SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[])", (names, tt, vv)))
    return stmts


def points_of(stmts):
    n = 0
    for kind, sql, args in stmts:
        if kind in ("many", "copy"):
            n += len(args)
        elif sql.startswith("INSERT"):
            n += len(args) // 3
        elif "text[]" in sql and "::timestamptz[]" in sql:
            n += len(args[0])
        else:
            n += len(args[1])
    return n


def apply(conn, stmts):
    """Runs the statements; the result of each "one" statement, in order."""
    out = []
    with conn.cursor() as cur:
        for kind, sql, args in stmts:
            if kind == "many":
                cur.executemany(sql, args)
            elif kind == "copy":
                with cur.copy(sql) as cp:
                    for r in args:
                        cp.write_row(r)
            else:
                cur.execute(sql, args)
                out.append(cur.fetchall() if cur.description else cur.rowcount)
    return out


# ---------------------------------------------------------------- reads

def agg(alias, t="t", v="v"):
    return (f"string_agg(extract(epoch FROM {alias}.{t}) || '=' || coalesce({alias}.{v}::text, '-'), "
            f"' ' ORDER BY {alias}.{t})")


SERIES_READS = [
    ("fetch AVERAGE", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a, u.b) f)"),
    ("fetch MAX 60 s", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'MAX', u.a, u.b, resolution => interval '60 s') f)"),
    ("fetch MIN 60 s", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'MIN', u.a, u.b, interval '60 s') f)"),
    ("fetch LAST", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'LAST', u.a, u.b) f)"),
    ("fetch AVERAGE 300 s", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a, u.b, interval '300 s') f)"),
    ("fetch points => 7", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a, u.b, points => 7) f)"),
    ("fetch_array", "(SELECT extract(epoch FROM f.start) || '/' || f.step || '/' || f.v::text "
                    "FROM rrd.fetch_array(u.n, 'MAX', u.a, u.b) f)"),
    ("fetch_stitched", f"(SELECT {agg('f')} || ' ' || string_agg(f.step::text, ',' ORDER BY f.t) "
                       "FROM rrd.fetch_stitched(u.n, 'AVERAGE', u.a, u.b) f)"),
    ("last", "extract(epoch FROM rrd.last(u.n))::text"),
    ("first", "extract(epoch FROM rrd.first(u.n)) || ' ' || extract(epoch FROM rrd.first(u.n, 1))"),
    ("lastupdate", "(SELECT extract(epoch FROM l.t) || '=' || coalesce(l.value, '-') FROM rrd.lastupdate(u.n) l)"),
    ("info", "(rrd.info(u.n) - 'id')::text"),
    ("definition", "rrd.definition(u.n)::text"),
    ("pending(name)", "rrd.pending(u.n)::text"),
]

SERIES_READ = ("SELECT u.n, {expr} FROM unnest(%(names)s::text[], %(a)s::timestamptz[], %(b)s::timestamptz[]) "
               "AS u(n, a, b) ORDER BY u.n")

PATTERNS = ["dc1.*.*.load", "dc*.r0[1-3].h0?.cpu.*", "*.*.*.{if0,disk}.*", "dc2.*.*.*", "*.*.*.*.*",
            "dc1.r01.h01.*", "*.*.*.*.*.*", "dc2.r05.h03.cpu", "nothing.*"]
TAGS = ['{"dc": "dc1"}', '{"kind": "counter"}', '{"rack": "r03", "kind": "gauge%"}', '{}', '{"dc": "dc9"}']
PREFIXES = [None, "", "dc1", "dc2.r0?", "dc*.*.*", "dc1.r01.h01", "dc1.r01.h01.cpu", "*.*.*.disk.*",
            "dc1.r0{1,2}.h01.if0", "none", "dc1..x"]
FIND = [(p, None, None) for p in PATTERNS + ["dc1.{web", "*"]] + \
       [("*.*.*.*", ts(BASE + 200), None), ("*.*.*.*.*", None, ts(BASE + 15)),
        ("dc1.*.*.*.*", ts(BASE + 100), ts(BASE + 400))]


def many_window():
    return ts(BASE - 60), ts(BASE + ROUNDS * 60 + 120)


def snapshot(conn, names, windows):
    """Every read: {label: rows or ("ERROR", sqlstate)}."""
    a, b = windows
    args = {"names": names, "a": a, "b": b}
    out = {}
    for label, expr in SERIES_READS:
        out[label] = attempt(conn, SERIES_READ.format(expr=expr), args)
    fa, fb = many_window()
    for p in PATTERNS:
        for cf, res in (("AVERAGE", None), ("MAX", "60 s"), ("AVERAGE", "300 s")):
            out[f"fetch_many {p} {cf} {res}"] = attempt(
                conn, "SELECT name, extract(epoch FROM t), v FROM rrd.fetch_many(%s, %s, %s, %s, %s::interval)",
                (p, cf, fa, fb, res))
    for tg in TAGS:
        out[f"fetch_tagged {tg}"] = attempt(
            conn, "SELECT name, extract(epoch FROM t), v FROM rrd.fetch_tagged(%s::jsonb, 'AVERAGE', %s, %s, "
                  "interval '60 s')", (tg, fa, fb))
    for p, f, u in FIND:
        out[f"find {p} {f} {u}"] = attempt(conn, 'SELECT name FROM rrd.find(%s, "from" => %s, until => %s)', (p, f, u))
    out["find *.*.*.* (positional)"] = attempt(conn, "SELECT * FROM rrd.find('*.*.*.*')")
    for p in PREFIXES:
        out[f"children {p}"] = attempt(conn, "SELECT * FROM rrd.children(%s)", (p,))
    out["children ()"] = attempt(conn, "SELECT * FROM rrd.children()")
    out["series view"] = attempt(conn, "SELECT name, def::text, chunk_width, meta, tags FROM rrd.series "
                                       "ORDER BY name COLLATE \"C\"")
    out["pending()"] = attempt(conn, "SELECT rrd.pending()")
    out["verify()"] = attempt(conn, "SELECT * FROM rrd.verify()")
    out["verify(name)"] = attempt(conn, "SELECT u.n, v.* FROM unnest(%s::text[]) AS u(n), rrd.verify(u.n) AS v",
                                  (names[:30] + ["no.such"],))
    out["archives(definition)"] = attempt(
        conn, "SELECT a.* FROM unnest(%s::text[]) AS u(n), rrd.archives(rrd.definition(u.n)) AS a ORDER BY u.n, a.archive",
        (names[:20],))
    return out


def compare(rep, what, got, want):
    """Each read equal; series reads counted series by series."""
    for label in want:
        g, w = got.get(label), want[label]
        if isinstance(w, list) and isinstance(g, list) and label in dict(SERIES_READS):
            if len(g) != len(w):
                rep.same(f"{what} {label} row count", len(g), len(w))
                continue
            for rg, rw in zip(g, w):
                rep.same(f"{what} {label} {rw[0]}", rg, rw)
        else:
            rep.same(f"{what} {label}", g, w)


# ---------------------------------------------------------------- cases

def both(fn, args_p, args_s):
    """fn(*args_p) and fn(*args_s) at once (the proxy's and the single
    node's sessions are independent): their results."""
    out = [None, None]
    errors = []

    def go(i, args):
        try:
            out[i] = fn(*args)
        except Exception as e:  # noqa: BLE001 - raised below
            errors.append(e)
    threads = [threading.Thread(target=go, args=(0, args_p)), threading.Thread(target=go, args=(1, args_s))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out

def case_load(ctx, rep):
    series, rnd = ctx["series"], random.Random(5)
    creates = create_calls(series, rnd)
    for conn, who in ((ctx["p"], "proxy"), (ctx["s"], "single")):
        for sql, args in creates:
            conn.execute(sql, args)
    ids_p = ctx["p"].execute("SELECT count(*) FROM rrd.series").fetchone()[0]
    rep.same("series created", ids_p, len(series))
    got, want = both(apply, (ctx["p"], ctx["stmts"]), (ctx["s"], ctx["stmts"]))
    rep.same("statements with a result", len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        rep.same(f"result of statement {i}", g, w)
    skipped = sum(r[0][0] for r in want if isinstance(r, list) and r and isinstance(r[0][0], int))
    print(f"  load: {len(series)} series, {points_of(ctx['stmts'])} points in {len(ctx['stmts'])} statements "
          f"({len(want)} with a result compared), {skipped} refused points skipped", flush=True)


def case_spread(ctx, rep):
    names = [s.name for s in ctx["series"]]
    predicted = dict(ctx["p"].execute(
        "SELECT n, abs(hashtext(n) %% 3) FROM unnest(%s::text[]) AS n", (names,)).fetchall())
    where = {}
    counts = []
    for i, n in enumerate(ctx["nodes"].shards):
        with n.connect("rrd") as c:
            held = [r[0] for r in c.execute("SELECT name FROM rrd.series").fetchall()]
        counts.append(len(held))
        for h in held:
            where.setdefault(h, []).append(i)
    for nm in names:
        rep.same(f"shard of {nm}", where.get(nm), [predicted[nm]])
    rep.same("series on the shards", sorted(where), sorted(names))
    # What SPLIT sends each shard: only its series' points, in the order they came.
    p = ctx["p"]
    p.execute("""CREATE OR REPLACE FUNCTION public.split_probe(names text[], t timestamptz[], v float8[])
                 RETURNS TABLE (port integer, got_names text[], got_t timestamptz[]) AS $$
                     CLUSTER 'pg_rrd';
                     SPLIT names, t, v;
                     RUN ON hashtext(coalesce(names, ''));
                     SELECT inet_server_port() AS port, names AS got_names, t AS got_t;
                 $$ LANGUAGE plproxy""")
    ports = [n.port for n in ctx["nodes"].shards]
    for kind, sql, args in ctx["stmts"]:
        if kind == "one" and sql.startswith("SELECT rrd.update(%s::text[]"):
            names_, tt = args[0], args[1]
            got = {port: list(zip(gn, gt)) for port, gn, gt in
                   p.execute("SELECT * FROM public.split_probe(%s, %s, %s)", args[:3]).fetchall()}
            for i, port in enumerate(ports):
                want = [(n, t) for n, t in zip(names_, tt) if predicted[n] == i]
                rep.same(f"points split to shard {i}", got.get(port, []), want)
    rep.check(all(c > 0 for c in counts), f"every shard holds series: {counts}")
    ctx["counts"] = counts
    print(f"  spread: series per shard {counts}", flush=True)


def read_all(ctx, rep, what):
    names = sorted((s.name for s in ctx["series"] if s.name not in ctx["dropped"]), key=lambda n: n.encode())
    a = [ts(BASE - 600)] * len(names)
    b = [ts(BASE + ROUNDS * 60 + 120)] * len(names)
    gs, ws = both(snapshot, (ctx["p"], names, (a, b)), (ctx["s"], names, (a, b)))
    n0 = rep.cases
    compare(rep, what, gs, ws)
    rows = sum(len(v) for v in ws.values() if isinstance(v, list))
    errors = [k for k, v in ws.items() if not isinstance(v, list)]
    print(f"  {what}: {rep.cases - n0} comparisons over {len(ws)} reads ({rows} rows on the single node; "
          f"errors on both sides, compared by SQLSTATE: {', '.join(errors) or 'none'})", flush=True)


def case_reads(ctx, rep):
    read_all(ctx, rep, "reads before flush")
    fp = ctx["p"].execute("SELECT rrd.flush()").fetchone()[0]
    fs = ctx["s"].execute("SELECT rrd.flush()").fetchone()[0]
    rep.same("rrd.flush() folded", fp, fs)
    read_all(ctx, rep, "reads after flush")


def sqlstate(conn, sql, args=None):
    try:
        conn.execute(sql, args)
        return None
    except psycopg.Error as e:
        return e.sqlstate


def case_errors(ctx, rep):
    p, s = ctx["p"], ctx["s"]
    name = ctx["series"][0].name
    calls = [
        ("unknown series fetch", "SELECT * FROM rrd.fetch('no.such', 'AVERAGE', now() - interval '1 h', now())", None),
        ("unknown series last", "SELECT rrd.last('no.such')", None),
        ("duplicate create", "SELECT rrd.create(%s, '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10')", (name,)),
        ("bad definition", "SELECT rrd.create('bad.def', '--step 10 DS:x:GAUGE RRA:AVERAGE:0.5:1:10')", None),
        ("out of order", "SELECT rrd.update(%s, %s::timestamptz, 1::float8)", (name, ts(BASE))),
        ("out of order split", "SELECT rrd.update(ARRAY[%s], ARRAY[%s::timestamptz], ARRAY[1::float8])",
         (name, ts(BASE))),
        ("bad CF", "SELECT * FROM rrd.fetch(%s, 'MEDIAN', now() - interval '1 h', now())", (name,)),
        ("bad pattern", "SELECT * FROM rrd.find('dc1..x')", None),
        ("bad update string", "SELECT rrd.update(%s, 'now-5min:1')", (name,)),
        ("bad tags", "SELECT rrd.set_tags(%s, '{\"dc\": 1}')", (name,)),
        ("NULL name", "SELECT rrd.update(NULL::text, now(), 1::float8)", None),
        ("NULL name fetch", "SELECT * FROM rrd.fetch(NULL, 'AVERAGE', now() - interval '1 h', now())", None),
        ("NULL names", "SELECT rrd.update(NULL::text[], ARRAY[now()], ARRAY[1::float8])", None),
        ("NULL in names", "SELECT rrd.update(ARRAY[%s, NULL], ARRAY[now(), now()], ARRAY[1::float8, 2])", (name,)),
        ("lengths differ", "SELECT rrd.update(ARRAY[%s], ARRAY[now()], ARRAY[1::float8, 2])", (name,)),
        ("unknown series split", "SELECT rrd.update(ARRAY['no.such'], ARRAY[now()], ARRAY[1::float8])", None),
    ]
    for what, sql, args in calls:
        rep.same(f"SQLSTATE of {what}", sqlstate(p, sql, args), sqlstate(s, sql, args))
    # rrd.points with pg_rrd.skip_bad_points: a repeated time skipped, with one node's notice.
    for skip in ("on", "off"):
        got = []
        for c in (p, s):
            notices = []
            # PL/Proxy says so when it reopens a connection an earlier error left mid-query.
            c.add_notice_handler(lambda d, out=notices: d.message_primary.startswith("PL/Proxy:")
                                 or out.append(d.message_primary))
            c.execute(f"SET pg_rrd.skip_bad_points = {skip}")
            t = one(c, "SELECT rrd.last(%s)", (name,))
            state = sqlstate(c, "INSERT INTO rrd.points VALUES (%s, %s, 1), (%s, %s, 2), (%s, %s, 3)",
                             (name, t + datetime.timedelta(seconds=5), name, t + datetime.timedelta(seconds=5),
                              name, t + datetime.timedelta(seconds=9)))
            c.execute("RESET pg_rrd.skip_bad_points")
            got.append((state, notices, str(one(c, "SELECT rrd.last(%s)", (name,)) - t)))
        rep.same(f"rrd.points with pg_rrd.skip_bad_points = {skip}", got[0], got[1])
    # How a shard's error reads through the proxy.
    try:
        p.execute("SELECT rrd.last('no.such')")
    except psycopg.Error as e:
        ctx["error_text"] = str(e).strip().splitlines()[0]

    # Rename: within a shard like one node; across shards refused.
    home = {n: h for n, h in p.execute("SELECT n, rrd._home(n) FROM unnest(%s::text[]) AS n",
                                       ([x.name for x in ctx["series"]],)).fetchall()}
    old = ctx["series"][7].name
    same_new = next(f"renamed.{i}" for i in range(1000)
                    if one(p, "SELECT rrd._home(%s)", (f"renamed.{i}",)) == home[old])
    other_new = next(f"renamed.{i}" for i in range(1000)
                     if one(p, "SELECT rrd._home(%s)", (f"renamed.{i}",)) != home[old])
    rep.same("rename within a shard", sqlstate(p, "SELECT rrd.rename(%s, %s)", (old, same_new)),
             sqlstate(s, "SELECT rrd.rename(%s, %s)", (old, same_new)))
    rep.check(sqlstate(p, "SELECT rrd.rename(%s, %s)", (same_new, other_new)) == "0A000",
              "rename across shards refused with 0A000")
    sql = f"SELECT {agg('f')} FROM rrd.fetch(%s, 'AVERAGE', %s, %s) f"
    args = (same_new, ts(BASE - 600), ts(BASE + 3000))
    rep.same("renamed series reads", attempt(p, sql, args), attempt(s, sql, args))
    rep.same("old name gone", sqlstate(p, "SELECT rrd.last(%s)", (old,)), sqlstate(s, "SELECT rrd.last(%s)", (old,)))
    for c in (p, s):
        c.execute("SELECT rrd.rename(%s, %s)", (same_new, old))

    # Tune, tags, meta, drop.
    tuned = ctx["series"][3].name
    for c in (p, s):
        c.execute("SELECT rrd.tune(%s, heartbeat => interval '45 s', min => -1)", (tuned,))
        c.execute("SELECT rrd.set_meta(%s, '{\"tuned\": true}')", (tuned,))
        c.execute("SELECT rrd.set_tags(%s, '{\"dc\": \"dc9\"}')", (tuned,))
    sql = "SELECT name FROM rrd.series WHERE tags @> '{\"dc\": \"dc9\"}'"
    rep.same("rrd.series by tag after set_tags", attempt(p, sql), attempt(s, sql))
    rep.same("info after tune", one(p, "SELECT rrd.info(%s) - 'id'", (tuned,)),
             one(s, "SELECT rrd.info(%s) - 'id'", (tuned,)))
    for d in ctx["series"][-5:]:
        for c in (p, s):
            c.execute("SELECT rrd.drop(%s)", (d.name,))
        ctx["dropped"].add(d.name)
        rep.same(f"dropped {d.name}", sqlstate(p, "SELECT rrd.last(%s)", (d.name,)),
                 sqlstate(s, "SELECT rrd.last(%s)", (d.name,)))

    # Dump, then import under a new name (one data source: routed by that name).
    src = ctx["series"][12].name
    dp, ds = one(p, "SELECT rrd.dump(%s)", (src,)), one(s, "SELECT rrd.dump(%s)", (src,))
    rep.same("dump", dp, ds)
    rep.same("import_rrdtool", attempt(p, "SELECT * FROM rrd.import_rrdtool('imported.copy', %s)", (dp,)),
             attempt(s, "SELECT * FROM rrd.import_rrdtool('imported.copy', %s)", (ds,)))
    args = ("imported.copy", ts(BASE - 600), ts(BASE + 3000))
    rep.same("imported series reads", attempt(p, sql, args), attempt(s, sql, args))
    rep.same("imported definition", one(p, "SELECT rrd.definition('imported.copy')::text"),
             one(s, "SELECT rrd.definition('imported.copy')::text"))
    two = dp.replace("</ds>", "</ds>\n<ds><name> b </name><type> GAUGE </type></ds>", 1)
    rep.check(sqlstate(p, "SELECT * FROM rrd.import_rrdtool('imported.two', %s)", (two,)) == "0A000",
              "import_rrdtool of a dump of two data sources refused with 0A000")
    rep.same("bad XML", sqlstate(p, "SELECT * FROM rrd.import_rrdtool('imported.bad', '<rrd>')"),
             sqlstate(s, "SELECT * FROM rrd.import_rrdtool('imported.bad', '<rrd>')"))
    for c in (p, s):
        c.execute("SELECT rrd.drop('imported.copy')")


def one(conn, sql, args=None):
    return conn.execute(sql, args).fetchone()[0]


def case_consistency(ctx, rep):
    """What the proxy does not give: one transaction across shards."""
    p, s = ctx["p"], ctx["s"]
    home = {}
    names = []
    i = 0
    while len(set(home.values())) < NSHARDS or len(names) < 6:
        n = f"tx.s{i}"
        home[n] = one(p, "SELECT abs(hashtext(%s) %% 3)", (n,))
        names.append(n)
        i += 1
    for c in (p, s):
        for n in names:
            c.execute("SELECT rrd.create(%s, '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:50', %s)", (n, ts(BASE)))
            c.execute("SELECT rrd.update(%s, %s::timestamptz, 1::float8)", (n, ts(BASE + 100)))
    # One statement, every series a new point, the last series an out-of-order one.
    bad = names[-1]
    tt = [ts(BASE + 110)] * (len(names) - 1) + [ts(BASE + 50)]
    sql = "SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[])"
    args = (names, tt, [2.0] * len(names))
    rep.same("failed split update SQLSTATE", sqlstate(p, sql, args), sqlstate(s, sql, args))
    kept_s = sum(1 for n in names if one(s, "SELECT extract(epoch FROM rrd.last(%s))", (n,)) > BASE + 100)
    rep.same("single node keeps nothing of the failed statement", kept_s, 0)
    kept = {}
    for n in names:
        kept.setdefault(home[n], []).append(one(p, "SELECT extract(epoch FROM rrd.last(%s))", (n,)) > BASE + 100)
    rep.check(not any(kept[home[bad]]), "the failing series' shard keeps none of the statement")
    others = sum(sum(v) for k, v in kept.items() if k != home[bad])
    total = sum(len(v) for k, v in kept.items() if k != home[bad])
    ctx["partial"] = f"{others} of {total} points for other shards kept"
    rep.note(f"consistency: a split update failing on one shard: {ctx['partial']} (one node: none)")
    # Sent again with skip_bad: what a shard already has is skipped, and both end the same.
    retry = "SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[], skip_bad => true)"
    sp, ss = one(p, retry, args), one(s, retry, args)
    rep.same("retry with skip_bad: skipped", sp, 1 + others)
    rep.same("retry with skip_bad: skipped on one node", ss, 1)
    sql = f"SELECT u.n, (SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', %s, %s) f), rrd.info(u.n) - 'id' " \
          "FROM unnest(%s::text[]) AS u(n) ORDER BY u.n"
    rargs = (ts(BASE), ts(BASE + 200), names)
    rep.same("reads after the retry", attempt(p, sql, rargs), attempt(s, sql, rargs))
    # A rollback on the proxy does not undo what a shard committed.
    with ctx["nodes"].proxy.connect("proxy", autocommit=False) as c:
        c.execute("SELECT rrd.update(%s, %s::timestamptz, 5::float8)", (names[0], ts(BASE + 200)))
        c.rollback()
    after = one(p, "SELECT extract(epoch FROM rrd.last(%s))", (names[0],))
    ctx["rollback"] = "kept" if after == BASE + 200 else "undone"
    rep.check(ctx["rollback"] == "kept", "a proxy ROLLBACK does not undo a shard's commit (as docs/scale-out.md says)")
    rep.note(f"consistency: a point written in a proxy transaction that rolled back was {ctx['rollback']} on its shard")
    for c in (p, s):
        for n in names:
            c.execute("SELECT rrd.drop(%s)", (n,))


def timed(conn, stmts):
    t0 = time.perf_counter()
    apply(conn, stmts)
    return time.perf_counter() - t0


def case_rate(ctx, rep):
    nodes, series = ctx["nodes"], ctx["series"]
    creates = create_calls(series, random.Random(5))
    loads = [("every form", ctx["quarter"]), ("many series' arrays", batch_workload(series))]
    for wl, stmts in loads:
        print(f"  rate: {wl}: {points_of(stmts)} points in {len(stmts)} statements", flush=True)
    results = {}
    for run in range(ctx["runs"]):
        for label, shards in (("single node", None), ("1 shard", nodes.shards[:1]), ("3 shards", nodes.shards)):
            db = f"bench_{run}"
            if shards is None:
                nodes.shard_db(db, [nodes.single])
                conn = nodes.single.connect(db)
            else:
                nodes.shard_db(db, shards)
                nodes.proxy_db(db, shards)
                conn = nodes.proxy.connect(db)
            try:
                for sql, args in creates:
                    conn.execute(sql, args)
                # The batch's points come after the first workload's, into the same series.
                for wl, stmts in loads:
                    results.setdefault((label, wl), []).append(points_of(stmts) / timed(conn, stmts))
            finally:
                conn.close()
            nodes.drop_db(db, [nodes.single] if shards is None else [nodes.proxy] + shards)
    lines = []
    for (label, wl), rates in results.items():
        line = f"{wl}, {label}: {statistics.median(rates):,.0f} points/s (median of {len(rates)}: " + \
               ", ".join(f"{r:,.0f}" for r in rates) + ")"
        lines.append(line)
        print(f"  rate: {line}", flush=True)
    ctx["rates"] = lines
    rep.check(True, "rate measured")


CASES = [("load", case_load), ("spread", case_spread), ("reads", case_reads), ("errors", case_errors),
         ("consistency", case_consistency), ("rate", case_rate)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "plproxy"))
    ap.add_argument("--port", type=int, default=55470)
    ap.add_argument("--runs", type=int, default=3, help="runs of each rate (median)")
    ap.add_argument("--keep", action="store_true", help="leave the clusters running")
    ap.add_argument("cases", nargs="*", metavar="CASE",
                    help=f"of {', '.join(c for c, _ in CASES)} (default: all; every one but rate needs load, "
                         "which then runs first)")
    args = ap.parse_args()
    unknown = set(args.cases) - {c for c, _ in CASES}
    if unknown:
        ap.error(f"unknown case {', '.join(sorted(unknown))}")
    chosen = set(args.cases or [c for c, _ in CASES])
    if chosen - {"rate"}:
        chosen.add("load")

    t0 = time.time()
    nodes = Nodes(args.dir, args.port)
    rep = Report()
    ctx = {"nodes": nodes, "runs": args.runs, "dropped": set()}
    try:
        nodes.start()
        nodes.templates()
        nodes.shard_db("rrd", nodes.shards + [nodes.single])
        nodes.proxy_db("proxy", nodes.shards, "rrd")
        rnd = random.Random(11)
        ctx["series"] = make_series(rnd)
        blocks = workload(ctx["series"], rnd)
        ctx["stmts"] = [st for b in blocks for st in b]
        # The rate's run: the same statements, of the first quarter of the rounds.
        ctx["quarter"] = [st for b in blocks[:len(blocks) // 4] for st in b]
        ctx["p"] = nodes.proxy.connect("proxy")
        ctx["s"] = nodes.single.connect("rrd")
        for name, fn in CASES:
            if name not in chosen:
                continue
            t1 = time.time()
            before = len(rep.failures)
            try:
                fn(ctx, rep)
            except Exception as e:  # noqa: BLE001 - every failure is reported, then the next case runs
                rep.check(False, f"{name}: {type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
            print(f"plproxy {name}: {len(rep.failures) - before} failures ({time.time() - t1:.1f} s)", flush=True)
            if name == "load" and len(rep.failures) > before:
                break
    except Exception as e:  # noqa: BLE001
        rep.check(False, f"setup: {type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
    finally:
        for k in ("p", "s"):
            if k in ctx:
                ctx[k].close()
        if not args.keep:
            nodes.stop()

    detail = (f"{len(ctx.get('series', []))} series over 3 shards {ctx.get('counts')}; "
              + "; ".join(ctx.get("rates", [])) + f"; {ctx.get('partial', '')}; rollback {ctx.get('rollback')}")
    if rep.failures:
        detail = f"first failure: {rep.failures[0][:300]}; " + detail
    if os.environ.get("RELIABILITY_DIR"):
        os.makedirs(os.environ["RELIABILITY_DIR"], exist_ok=True)
        with open(os.path.join(os.environ["RELIABILITY_DIR"], "plproxy.json"), "w") as f:
            f.write(json.dumps({"test": "plproxy", "cases": rep.cases, "failures": len(rep.failures),
                                "detail": detail}) + "\n")
    if "error_text" in ctx:
        print(f"  a shard's error through the proxy reads: {ctx['error_text']}")
    print(f"plproxy: {rep.cases} cases, {len(rep.failures)} failed ({time.time() - t0:.0f} s)", flush=True)
    sys.exit(1 if rep.failures else 0)


if __name__ == "__main__":
    main()
