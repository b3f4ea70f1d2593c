#!/usr/bin/python3
"""The journal of many-series statements under load, on clusters of its own.

    /usr/bin/python3 pgrx-tests/journal.py [--dir .pgdata] [--port 55430] [--long] [CASE ...]

CASE is any of concurrency, crash, worker, bounded, dump, standby (default:
all). The clusters live in DIR/journal-* (main, standby, crash, worker) on
ports PORT .. PORT+3, are made afresh by each run, and are stopped at its
end, also when a case fails. The script runs as root (the servers run as
the postgres user, through scripts/cluster.sh) or as postgres.

- concurrency: first, a read that waits for rrd.journal (locked by a session
  that then folds and commits) must still see the point committed before
  it started, in a session that has read before and in one that has folded
  before (rrd.lastupdate, rrd.info, rrd.fetch, rrd.fetch_many). Then 8
  sessions for --seconds (default 20): two write batches of
  many series over overlapping, shuffled name sets (arrays, INSERT and COPY
  into rrd.points); two write one series each, distinct series of one lane
  (one point, arrays, rrd.points, small transactions); two write the same
  series; one folds (rrd.flush(), rrd.flush(name)); one tunes and renames
  series that nobody writes (whose points are pending) and reads hot series
  (rrd.lastupdate must show every point committed before the read). No
  deadlock (40P01), no error but 22008 where two writers raced on one
  series. Every committed point is then replayed, per series in time order,
  on one session into a fresh database, and every read of every series
  must be the same there, before and after rrd.flush(); rrd.verify() lists
  no problem in either, before and after.
- crash: rounds of a 2000-series ingest (one statement per step, or many
  steps per statement, with or without a session folding beside it), and a
  large rrd.flush(), each ended by kill -9 of the postmaster and all its
  processes; after the restart every committed step reads back exactly,
  nothing past the statement in flight, which is there for all series or
  for none; rrd.pending() agrees with the journal, and rrd.flush() folds
  exactly that without changing any read; rrd.verify() lists no problem
  after each restart and after each fold.
- worker: shared_preload_libraries = 'pg_rrd', pg_rrd.flush_interval = 1:
  the "pg_rrd flush" worker is in pg_stat_activity, and folds the journal
  to nothing without rrd.flush(); reads are the same before and after.
- bounded: without the worker, rrd.pending() never exceeds 32768 and one
  statement's points, for 128 series of one lane and for 2 series.
- dump: pg_dump -Fc with points pending and series written directly since,
  pg_restore into a fresh database: every read the same (ids included);
  both take the same new points, and refuse an out-of-order one (22008);
  rrd.verify() clean in both, at the dump and after.
- standby: a streaming hot standby of the main cluster with points pending
  on the primary, a rename and a new series of the old name replayed under
  a standby session's name cache: every read (fetch, with resolution and
  points, fetch_array, fetch_many, lastupdate, info, last, first, pending)
  is the same on both; then every read function of schema rrd (EVERY_READ:
  each form of rrd.fetch, fetch_array, fetch_many, fetch_tagged,
  fetch_stitched, find, children, dump, verify, listener_stats, archives,
  the type's functions... and a read of every table and view) gives the
  same on both, the primary's in one transaction that spends no
  transaction id; every write (each form of rrd.update, INSERT and COPY
  into rrd.points, create, drop, rename, tune, resize, archives, flush,
  imports, tags, meta) fails on the standby with 25006. A function or
  relation of schema rrd that is neither a read, nor a write, nor listed
  as internal fails the case: a new one must be added. rrd.verify() is
  clean on both.

Each case prints one summary line (what was tried, failures found, how
many rrd.verify() runs were clean); the last line is "journal: N cases, N
failed". With RELIABILITY_DIR set, each case's line (checks, failures,
summary) goes to $RELIABILITY_DIR/journal.json (docs/reliability.md). Exit status 1 on any failure;
the clusters' folders are then left behind (stopped) for a look at their
server.log. JOURNAL_DEBUG=1 prints the time of each step of the crash and
dump cases.
"""

import argparse
import datetime
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import traceback

import psycopg

import pgcluster
from pgcluster import CLUSTER_SH, PGBIN, ROOT, base_backup, drop_db, fresh_db, one, run_case, sqlstate

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# A multiple of 60: the 6-step rows of a 10 s series end on whole minutes.
BASE = 1_600_000_020
BASE_US = BASE * 1_000_000
# The inline fold's mark (src/flush.rs LANE_FOLD_POINTS) without the worker.
LANE_FOLD_POINTS = 128 * 256


def ts(us):
    return EPOCH + datetime.timedelta(microseconds=us)


def us_of(t):
    return (t - EPOCH) // datetime.timedelta(microseconds=1)


# ---------------------------------------------------------------- clusters

class Cluster(pgcluster.Cluster):
    """A private cluster in DIR/journal-NAME, run by scripts/cluster.sh."""

    def __init__(self, base, name, port):
        super().__init__(os.path.join(os.path.abspath(base), f"journal-{name}"), port, name=name)
        self.used = False

    def start(self):
        self.used = True
        super().start()

    def fresh(self, conf=None):
        """A new cluster: initdb, start, with `conf` lines appended."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.start()
        if conf:
            self.configure(conf)

    def configure(self, conf):
        """Appends `conf` lines to postgresql.conf and restarts."""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# pgrx-tests/journal.py\n" + "".join(line + "\n" for line in conf))
        self.restart()


DEBUG = bool(os.environ.get("JOURNAL_DEBUG"))
_t_last = [time.time()]


def debug(msg):
    if DEBUG:
        now = time.time()
        print(f"    [{now - _t_last[0]:6.2f} s] {msg}", flush=True)
        _t_last[0] = now


# ---------------------------------------------------------------- results

class Case(pgcluster.Case):
    """What one case tried and the failures it found."""

    def summary(self, secs):
        tried = ", ".join(f"{v} {k}" for k, v in self.tried.items()) or "nothing"
        notes = "".join(f"; {n}" for n in self.notes + ([self.verified()] if self.verify_runs else []))
        return f"journal {self.name}: tried {tried}{notes}; {len(self.failures)} failures ({secs:.1f} s)"


# ---------------------------------------------------------------- reads

def agg(alias, t="t", v="v"):
    return (f"string_agg(extract(epoch FROM {alias}.{t}) || '=' || coalesce({alias}.{v}::text, '-'), "
            f"' ' ORDER BY {alias}.{t})")


SERIES_READS = [
    ("fetch", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a, u.b) f)"),
    ("fetch MAX 60 s", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'MAX', u.a2, u.b, resolution => interval '60 s') f)"),
    ("fetch points => 9", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a2, u.b, points => 9) f)"),
    ("fetch LAST", f"(SELECT {agg('f')} FROM rrd.fetch(u.n, 'LAST', u.a, u.b) f)"),
    ("fetch_array", "(SELECT extract(epoch FROM f.start) || '/' || f.step || '/' || f.v::text "
                    "FROM rrd.fetch_array(u.n, 'AVERAGE', u.a, u.b) f)"),
    ("lastupdate", "(SELECT extract(epoch FROM l.t) || '=' || coalesce(l.value, '-') FROM rrd.lastupdate(u.n) l)"),
    ("info", "(rrd.info(u.n) - CASE WHEN %(with_id)s THEN '' ELSE 'id' END)::text"),
    ("last", "extract(epoch FROM rrd.last(u.n))::text"),
    ("first", "extract(epoch FROM rrd.first(u.n)) || ' ' || extract(epoch FROM rrd.first(u.n, 1))"),
    ("pending(name)", "rrd.pending(u.n)::text"),
]

SERIES_READ = ("SELECT u.n, {expr} FROM unnest(%(names)s::text[], %(a)s::timestamptz[], %(a2)s::timestamptz[], "
               "%(b)s::timestamptz[]) AS u(n, a, a2, b) ORDER BY u.n")

MANY_READS = [
    ("fetch_many", f"SELECT f.name, {agg('f')} FROM rrd.fetch_many(%(pat)s, 'AVERAGE', %(fa)s, %(fb)s) f "
                   "GROUP BY f.name ORDER BY f.name"),
    ("fetch_many MAX 60 s", f"SELECT f.name, {agg('f')} FROM rrd.fetch_many(%(pat)s, 'MAX', %(fa)s, %(fb)s, "
                            "interval '60 s') f GROUP BY f.name ORDER BY f.name"),
    ("pending()", "SELECT 'all', rrd.pending()::text"),
]


def windows(last_us):
    """Per series: the windows its reads cover, ending just past its last
    point (1000 rows of 10 s, 600 of 60 s)."""
    a, a2, b = [], [], []
    for t in last_us:
        end = t // 1_000_000 + 20
        b.append(ts(end * 1_000_000))
        a.append(ts(max(BASE - 10, end - 10_000) * 1_000_000))
        a2.append(ts(max(BASE - 60, end - 36_000) * 1_000_000))
    return a, a2, b


def snapshot(conn, names, last_us, pattern, with_id=False, pending=True, many_window=None):
    """Every read of every series, by read: {label: rows} (or the error)."""
    a, a2, b = windows(last_us)
    args = {"names": list(names), "a": a, "a2": a2, "b": b, "with_id": with_id, "pat": pattern}
    if many_window is None:
        end = max(last_us) // 1_000_000 + 20
        many_window = (ts((end - 3000) * 1_000_000), ts(end * 1_000_000))
    args["fa"], args["fb"] = many_window
    out = {}
    for label, expr in SERIES_READS:
        if label == "pending(name)" and not pending:
            continue
        try:
            out[label] = conn.execute(SERIES_READ.format(expr=expr), args).fetchall()
        except psycopg.Error as e:
            out[label] = f"ERROR {e.sqlstate}: {e}"
    for label, sql in MANY_READS:
        if label == "pending()" and not pending:
            continue
        try:
            out[label] = conn.execute(sql, args).fetchall()
        except psycopg.Error as e:
            out[label] = f"ERROR {e.sqlstate}: {e}"
    return out


def differences(x, y, xs="left", ys="right", limit=6):
    """What differs between two snapshots, as short lines."""
    out = []
    for label in x:
        a, b = x[label], y.get(label)
        if isinstance(a, str) or isinstance(b, str):
            if a != b:
                out.append(f"{label}: {xs} {str(a)[:300]} / {ys} {str(b)[:300]}")
            continue
        if a == b:
            continue
        da, db = dict(a), dict(b)
        names = sorted(set(da) | set(db))
        bad = [n for n in names if da.get(n) != db.get(n)]
        first = bad[0]
        va, vb = str(da.get(first)), str(db.get(first))
        k = next((i for i in range(min(len(va), len(vb))) if va[i] != vb[i]), min(len(va), len(vb)))
        lo = max(0, k - 80)
        out.append(f"{label}: {len(bad)} series differ, first {first}: "
                   f"{xs} ...{va[lo:k + 120]}... / {ys} ...{vb[lo:k + 120]}...")
        if len(out) >= limit:
            break
    return out


def compare(case, x, y, what, xs, ys):
    diff = differences(x, y, xs, ys)
    errors = [f"{label}: {v}" for snap in (x, y) for label, v in snap.items() if isinstance(v, str)]
    with case.lock:
        case.checks += len(x)  # one check per read compared
    for e in errors[:3]:
        case.fail(f"{what}: read failed: {e[:400]}", checked=True)
    for d in diff:
        if not errors:
            case.fail(f"{what}: {d}", checked=True)
    case.count("read results compared", len(x))
    return not diff


def check_log(case, cluster):
    """Crashes, assertion failures and journal points left out, in the log."""
    log = cluster.log()
    pats = [r"terminated by signal", r"PANIC", r"TRAP:", r"journal point of series .* left out",
            r"was terminated by exception"]
    for pat in pats:
        hits = [line for line in log.splitlines() if re.search(pat, line)]
        if hits:
            case.fail(f"{cluster.name} server.log: {len(hits)} lines like {hits[0][:300]!r}")


# ---------------------------------------------------------------- steps

# Series PRE.0000 .. of 10 s steps; step k of series i: time BASE + 10 k,
# value k * 4096 + i (exact as a double).
DEF_STEPS = "--step 10 DS:x:GAUGE:600:U:U RRA:LAST:0.5:1:5000 RRA:AVERAGE:0.5:6:1000 RRA:MAX:0.5:6:1000"

ORDER = "ORDER BY k, md5(i || ':' || k)"
STEPS_UPDATE = f"""
SELECT rrd.update(array_agg(%(pre)s || '.' || lpad(i::text, 4, '0') {ORDER}),
                  array_agg(to_timestamp(%(base)s + 10 * k) {ORDER}),
                  array_agg((k * 4096 + i)::float8 {ORDER}))
FROM generate_series(%(lo)s::int, %(hi)s::int) k, generate_series(%(i0)s::int, %(i1)s::int) i
WHERE %(keep)s::int[] IS NULL OR i = ANY(%(keep)s::int[])"""
STEPS_INSERT = f"""
INSERT INTO rrd.points (name, t, v)
SELECT %(pre)s || '.' || lpad(i::text, 4, '0'), to_timestamp(%(base)s + 10 * k), (k * 4096 + i)::float8
FROM generate_series(%(lo)s::int, %(hi)s::int) k, generate_series(%(i0)s::int, %(i1)s::int) i
WHERE %(keep)s::int[] IS NULL OR i = ANY(%(keep)s::int[])
{ORDER}"""


def create_steps(conn, pre, n, start=BASE, first=0, definition=DEF_STEPS):
    conn.execute("SELECT count(rrd.create(%(pre)s || '.' || lpad(i::text, 4, '0'), %(def)s, to_timestamp(%(t)s))) "
                 "FROM generate_series(%(a)s::int, %(b)s::int) i",
                 {"pre": pre, "def": definition, "t": start, "a": first, "b": first + n - 1})


def write_steps(conn, pre, n, lo, hi, form="update", keep=None, i0=0):
    """Steps lo..hi of series pre.i0 .. pre.(i0+n-1) (or those in `keep`)
    in one statement."""
    args = {"pre": pre, "base": BASE, "lo": lo, "hi": hi, "i0": i0, "i1": i0 + n - 1, "keep": keep}
    if form == "update":
        conn.execute(STEPS_UPDATE, args)
    elif form == "insert":
        conn.execute(STEPS_INSERT, args)
    else:
        rng = random.Random(lo)
        with conn.cursor().copy("COPY rrd.points (name, t, v) FROM STDIN") as cp:
            for k in range(lo, hi + 1):
                idx = [i for i in range(i0, i0 + n) if keep is None or i in keep]
                rng.shuffle(idx)
                for i in idx:
                    cp.write_row((f"{pre}.{i:04d}", ts((BASE + 10 * k) * 1_000_000), float(k * 4096 + i)))


CHECK_LAST = """
SELECT count(*), count(*) FILTER (WHERE f.v IS DISTINCT FROM CASE WHEN x.k BETWEEN 1 AND %(last)s THEN x.k * 4096 + x.i END)
FROM rrd.fetch_many(%(pat)s, 'LAST', to_timestamp(%(a)s), to_timestamp(%(b)s)) f,
     LATERAL (SELECT (extract(epoch FROM f.t)::bigint - %(base)s) / 10 AS k, substr(f.name, 3)::int AS i) x"""
CHECK_AVERAGE = """
SELECT count(*), count(*) FILTER (WHERE CASE WHEN x.j >= 1 AND 6 * x.j <= %(last)s
                                   THEN f.v IS NULL OR abs(f.v - (24576.0 * x.j - 10240 + x.i)) > 1e-6
                                   ELSE f.v IS NOT NULL END)
FROM rrd.fetch_many(%(pat)s, 'AVERAGE', to_timestamp(%(a)s), to_timestamp(%(b)s), interval '60 s') f,
     LATERAL (SELECT (extract(epoch FROM f.t)::bigint - %(base)s) / 60 AS j, substr(f.name, 3)::int AS i) x"""


def check_steps(case, conn, pre, n, last, what, span=200):
    """Every series pre.* holds steps 1..last exactly (the last `span` of
    them, in the 10 s LAST and 60 s AVERAGE archives), and nothing later."""
    lo = max(0, last - span)
    args = {"pat": f"{pre}.*", "last": last, "base": BASE,
            "a": BASE + 10 * lo, "b": BASE + 10 * (last + 3)}
    rows, bad = conn.execute(CHECK_LAST, args).fetchone()
    case.check(rows == n * (last + 4 - lo) and bad == 0,
               f"{what}: LAST archive: {bad} of {rows} rows wrong (steps {lo}..{last}, {n} series)")
    args["a"], args["b"] = BASE + 60 * (lo // 6), BASE + 60 * (last // 6 + 2)
    rows, bad = conn.execute(CHECK_AVERAGE, args).fetchone()
    case.check(rows > 0 and bad == 0, f"{what}: AVERAGE archive: {bad} of {rows} rows wrong")
    case.count("rows checked", rows)


KNOWN_STEPS = """
SELECT x.last, count(*) FROM (
  SELECT f.name, coalesce(max((extract(epoch FROM f.t)::bigint - %(base)s) / 10) FILTER (WHERE f.v IS NOT NULL), 0)
         AS last
  FROM rrd.fetch_many(%(pat)s, 'LAST', to_timestamp(%(a)s), to_timestamp(%(b)s)) f GROUP BY f.name) x
GROUP BY x.last ORDER BY x.last"""


def last_steps(conn, pre, lo, hi):
    """{the last step held: number of series pre.* there}, looking at steps
    lo..hi; and the last updates of a sample of series."""
    rows = conn.execute(KNOWN_STEPS, {"base": BASE, "pat": f"{pre}.*", "a": BASE + 10 * max(0, lo - 1),
                                      "b": BASE + 10 * (hi + 2)}).fetchall()
    sample = conn.execute("SELECT (extract(epoch FROM l.t)::bigint - %s) / 10, count(*) FROM rrd.series s, "
                          "rrd.lastupdate(s.name) l WHERE starts_with(s.name, %s) AND s.id %% 50 = 7 "
                          "GROUP BY 1 ORDER BY 1", (BASE, pre + ".")).fetchall()
    return dict(rows), dict(sample)


def journal_consistent(case, conn, what):
    """rrd.pending() and rrd.pending(name) against the journal's rows."""
    p = one(conn, "SELECT rrd.pending()")
    j = one(conn, "SELECT coalesce(sum(cardinality(slots)), 0) FROM rrd.journal")
    case.check(p == j, f"{what}: rrd.pending() = {p} but the journal holds {j} points")
    bad = one(conn, "SELECT count(*) FROM rrd.lane l WHERE l.pending <> coalesce((SELECT sum(cardinality(j.slots)) "
                    "FROM rrd.journal j WHERE j.lane = l.lane), 0)")
    case.check(bad == 0, f"{what}: {bad} lanes count other pending points than their journal rows hold")
    wrong = conn.execute("""
        SELECT s.name, rrd.pending(s.name), (SELECT count(*) FROM rrd.journal j, unnest(j.slots) x
                                             WHERE j.lane = s.id >> 7 AND x = s.id & 127)
        FROM (SELECT * FROM rrd.series ORDER BY md5(name) LIMIT 25) s""").fetchall()
    wrong = [r for r in wrong if r[1] != r[2]]
    case.check(not wrong, f"{what}: rrd.pending(name) differs from the journal: {wrong[:3]}")
    return p


STEPS_SNAPSHOT = """
SELECT md5(string_agg(f.name || f.t || coalesce(f.v::text, '-'), ',' ORDER BY f.name, f.t))
       || md5((SELECT string_agg(s.name || (rrd.info(s.name))::text || l.t || coalesce(l.value, '-'), ','
                                 ORDER BY s.name)
               FROM rrd.series s, rrd.lastupdate(s.name) l
               WHERE starts_with(s.name, %(pre)s || '.') AND s.id %% 40 = 3))
FROM rrd.fetch_many(%(pre)s || '.*', 'LAST', to_timestamp(%(a)s), to_timestamp(%(b)s)) f"""


def steps_snapshot(conn, pre, last):
    return one(conn, STEPS_SNAPSHOT, {"pre": pre, "a": BASE + 10 * max(0, last - 300), "b": BASE + 10 * (last + 3)})


# ---------------------------------------------------------------- concurrency

KINDS = ["GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"]
STEP_US = 7_000_000


def point_us(n):
    return BASE_US + n * STEP_US + (n % 4) * 250_000


class Points:
    """Per series counters of points: times increase with the counter, so a
    series' committed points, in time order, are in the order they were
    committed. The value is a function of series and counter."""

    def __init__(self, names, rng):
        self.lock = threading.Lock()
        self.next = {n: 1 for n in names}
        self.index = {n: i for i, n in enumerate(names)}
        self.kind = {n: KINDS[i % 4] for i, n in enumerate(names)}
        self.committed = {n: [] for n in names}
        self.top = {n: 0 for n in names}
        self.how = {n: None for n in names}  # the statement that committed top, and when
        self.rng = rng

    def take(self, name, gap=None):
        n = self.next[name]
        r = self.rng.random()
        step = gap or (12 if r < 0.02 else 6 if r < 0.06 else 1)
        self.next[name] = n + step
        return n

    def value(self, name, n):
        i = self.index[name]
        if (n * 13 + i) % 53 == 0:
            return None
        kind = self.kind[name]
        if kind == "GAUGE":
            return ((n * 7919 + i * 31) % 1000) / 4
        if kind in ("COUNTER", "DERIVE"):
            return float(n * 5 + (n * 7919 + i) % 5 + i * 1000)
        return float((n + i) % 17)

    def commit(self, pts, how=None):
        with self.lock:
            for name, n in pts:
                self.committed[name].append(n)
                if n > self.top[name]:
                    self.top[name] = n
                    self.how[name] = how


def definition_of(kind):
    return f"--step 10 DS:x:{kind}:60:U:U RRA:AVERAGE:0.5:1:1200 RRA:MAX:0.5:6:700 RRA:LAST:0.5:1:300"


def execute_points(conn, pts, values, form):
    names = [p[0] for p in pts]
    times = [ts(point_us(p[1])) for p in pts]
    if form == "update":
        conn.execute("SELECT rrd.update(%s::text[], %s::timestamptz[], %s::float8[])", (names, times, values))
    elif form == "update1":
        conn.execute("SELECT rrd.update(%s, %s::timestamptz[], %s::float8[])", (names[0], times, values))
    elif form == "one":
        conn.execute("SELECT rrd.update(%s, %s::timestamptz, %s::float8)", (names[0], times[0], values[0]))
    elif form == "insert":
        conn.execute("INSERT INTO rrd.points (name, t, v) SELECT u.n, u.t, u.v FROM unnest(%s::text[], "
                     "%s::timestamptz[], %s::float8[]) WITH ORDINALITY AS u(n, t, v, o) ORDER BY u.o",
                     (names, times, values))
    elif form == "copy":
        with conn.cursor().copy("COPY rrd.points (name, t, v) FROM STDIN") as cp:
            for row in zip(names, times, values):
                cp.write_row(row)
    else:
        raise ValueError(form)


TORN_READS = {
    "lastupdate": "SELECT extract(epoch FROM t)::bigint FROM rrd.lastupdate('t.x')",
    "info": "SELECT (rrd.info('t.x')->>'last_update')::float8::bigint",
    "fetch": "SELECT max(extract(epoch FROM t))::bigint FROM rrd.fetch('t.x', 'LAST', to_timestamp(%(a)s), "
             "to_timestamp(%(b)s)) WHERE v IS NOT NULL",
    "fetch_many": "SELECT max(extract(epoch FROM t))::bigint FROM rrd.fetch_many('t.*', 'LAST', to_timestamp(%(a)s), "
                  "to_timestamp(%(b)s)) WHERE v IS NOT NULL AND name = 't.x'",
}


def torn_reads(cl, case):
    """A read that waits for rrd.journal while another session folds: it
    must see the point committed before it started, whatever its session
    did before (here: one rrd.flush(), or one read)."""
    w = fresh_db(cl, "jt")
    for name in ("t.x", "t.y"):
        w.execute("SELECT rrd.create(%s, '--step 10 DS:v:GAUGE:600:U:U RRA:LAST:0.5:1:100', to_timestamp(%s))",
                  (name, BASE))
    t = BASE
    bad = []
    for label, sql in TORN_READS.items():
        for first in ("read", "flush"):
            r = cl.connect("jt")
            if first == "flush":
                t += 10
                w.execute("SELECT rrd.update(ARRAY['t.x', 't.y'], ARRAY[to_timestamp(%s), to_timestamp(%s)], "
                          "ARRAY[1, 1]::float8[])", (t, t))
                r.execute("SELECT rrd.flush()")
            else:
                r.execute(sql, {"a": BASE, "b": BASE + 1000})
            t += 10
            w.execute("SELECT rrd.update(ARRAY['t.x', 't.y'], ARRAY[to_timestamp(%s), to_timestamp(%s)], "
                      "ARRAY[2, 2]::float8[])", (t, t))
            holder = cl.connect("jt")
            holder.execute("BEGIN")
            holder.execute("LOCK TABLE rrd.journal IN ACCESS EXCLUSIVE MODE")
            out = {}

            def read():
                try:
                    out["t"] = one(r, sql, {"a": BASE, "b": BASE + 1000})
                except psycopg.Error as e:
                    out["t"] = f"{e.sqlstate}: {e}"

            th = threading.Thread(target=read)
            th.start()
            for _ in range(500):
                if one(holder, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'rrd.journal'::regclass"):
                    break
                time.sleep(0.01)
            holder.execute("SELECT rrd.flush()")
            holder.execute("COMMIT")
            th.join(timeout=60)
            case.count("reads beside a fold")
            if out.get("t") != t:
                bad.append(f"rrd.{label} in a session that first did one {first}: last point at "
                           f"{out.get('t') if not isinstance(out.get('t'), int) else out['t'] - BASE} s, "
                           f"{t - BASE} s was committed before the read")
            holder.close()
            r.close()
    w.close()
    case.check(not bad, "reads waiting on rrd.journal while another session folds: " + "; ".join(bad))
    if not bad:
        drop_db(cl, "jt")


def concurrency(ctx, case):
    cl = ctx.main
    torn_reads(cl, case)
    seconds = ctx.args.seconds
    rng = random.Random(ctx.seed)
    conn = fresh_db(cl, "jc")
    A = [f"a.{i:03d}" for i in range(300)]
    B = ["b.0", "b.1"]
    C = ["c.0"]
    E = [f"e.{i:02d}" for i in range(10)]
    everything = A + B + C + E
    pts = Points(everything, random.Random(ctx.seed + 1))
    for name in everything:
        conn.execute("SELECT rrd.create(%s, %s, to_timestamp(%s))", (name, definition_of(pts.kind[name]), BASE))
    ids = dict(conn.execute("SELECT name, id FROM rrd.series").fetchall())
    lanes = {n: ids[n] >> 7 for n in everything}
    shared = lanes["b.0"]
    case.check(lanes["b.1"] == shared and lanes["c.0"] == shared and lanes["e.00"] == shared
               and any(lanes[a] == shared for a in A),
               f"b, c, e and some a series should share one lane: {[(n, lanes[n]) for n in B + C + E[:1]]}")
    # Points of every series pending before the sessions start: 4 steps of
    # all, then more of e.* with gaps of 42 s (known under the heartbeat of
    # 60 s, unknown under the tuned 30 s).
    for _ in range(4):
        batch = []
        for name in everything:
            for _ in range(3):
                batch.append((name, pts.take(name, gap=6 if name in E and pts.rng.random() < 0.3 else 1)))
        execute_points(conn, batch, [pts.value(n, k) for n, k in batch], "update")
        pts.commit(batch)
    case.count("points set up", sum(len(v) for v in pts.committed.values()))
    pending0 = one(conn, "SELECT rrd.pending()")
    case.check(pending0 > 0, "no points pending before the sessions start")

    stop_at = time.time() + seconds
    stats = {"deadlocks": 0, "22008": 0, "other errors": 0}
    refused = []
    lock = threading.Lock()
    sessions = {}

    def error(who, e, stmt_pts):
        with lock:
            if e.sqlstate == "40P01":
                stats["deadlocks"] += 1
                case.fail(f"{who}: deadlock: {e}")
            elif e.sqlstate == "22008" and stmt_pts is not None:
                stats["22008"] += 1
                refused.append((who, list(stmt_pts), str(e)))
            else:
                stats["other errors"] += 1
                case.fail(f"{who}: {e.sqlstate}: {str(e)[:300]}")

    def session(who, body):
        def run():
            c = None
            try:
                c = cl.connect("jc")
                c.execute("SET statement_timeout = '60s'")
                sessions[who] = one(c, "SELECT pg_backend_pid()")
                body(who, c, random.Random(f"{ctx.seed}:{who}"))
            except Exception as e:  # noqa: BLE001 - a failure of the session itself
                case.fail(f"{who}: session ended: {type(e).__name__}: {e}\n{traceback.format_exc()[-800:]}")
            finally:
                if c is not None:
                    c.close()
        return threading.Thread(target=run, name=who)

    def write(who, c, batch, form, txn_parts=None):
        """Runs one statement (or a small transaction); records it if committed."""
        case.count("statements")
        values = [pts.value(n, k) for n, k in batch]
        try:
            if txn_parts:
                with c.transaction():
                    for part in txn_parts:
                        execute_points(c, part, [pts.value(n, k) for n, k in part], "one")
            else:
                execute_points(c, batch, values, form)
        except psycopg.Error as e:
            error(who, e, batch)
            return False
        pts.commit(batch, (who, form or "transaction", len(batch), time.time()))
        case.count("committed")
        return True

    def batcher(who, c, r):
        while time.time() < stop_at:
            names = r.sample(A, r.randint(20, 120))
            if r.random() < 0.15:
                names.append(r.choice(B + C))
            r.shuffle(names)
            with pts.lock:
                batch = [(n, pts.take(n)) for n in names]
                again = r.sample(names, len(names) // 5)
                r.shuffle(again)
                batch += [(n, pts.take(n)) for n in again]
            write(who, c, batch, r.choice(["update", "update", "insert", "copy"]))

    def single(name):
        def body(who, c, r):
            while time.time() < stop_at:
                form = r.choice(["one", "one", "update1", "insert", "txn"])
                k = 1 if form == "one" else r.randint(1, 5)
                with pts.lock:
                    batch = [(name, pts.take(name)) for _ in range(k)]
                if form == "txn":
                    write(who, c, batch, None, txn_parts=[[p] for p in batch])
                else:
                    write(who, c, batch, form if k > 1 or form != "update1" else "one")
                time.sleep(0.002)
        return body

    stale = []

    def read_check(who, c, r):
        """A read of a hot series shows every point committed before it
        started, and the point it shows is one that was written."""
        name = r.choice(A + B + C)
        with pts.lock:
            floor = pts.top[name]
            how = pts.how[name]
        t_read = time.time()
        via = r.choice(["lastupdate", "lastupdate", "info"])
        try:
            if via == "lastupdate":
                row = c.execute("SELECT t, value FROM rrd.lastupdate(%s)", (name,)).fetchone()
                t_us = us_of(row[0])
            else:
                row = (one(c, "SELECT rrd.info(%s)->>'last_update'", (name,)),)
                t_us = round(float(row[0]) * 1e6)
            case.count("reads")
        except psycopg.Error as ex:
            error(who, ex, None)
            return
        n = 0 if t_us == BASE_US else (t_us - BASE_US) // STEP_US
        if n < floor:
            with lock:
                stale.append(f"{who}: rrd.{via}({name}) shows point {n} after point {floor} was committed "
                             f"by {how[:3] if how else 'the setup'} {t_read - how[3] if how else 0:.3f} s "
                             f"before the read")
            return
        if n > 0:
            want = pts.value(name, n)
            case.check(t_us == point_us(n) and (via != "lastupdate" or (
                row[1] is None if want is None else row[1] is not None and float(row[1]) == want)),
                f"{who}: rrd.{via}({name}) = {row} is no point written")

    def flusher(who, c, r):
        while time.time() < stop_at:
            read_check(who, c, r)
            try:
                if r.random() < 0.5:
                    folded = one(c, "SELECT rrd.flush()")
                    case.count("flush()")
                else:
                    folded = one(c, "SELECT rrd.flush(%s)", (r.choice(A + B + C),))
                    case.count("flush(name)")
                case.check(folded >= 0, f"{who}: rrd.flush gave {folded}")
            except psycopg.Error as e:
                error(who, e, None)
            time.sleep(r.uniform(0.005, 0.05))

    current = {e: e for e in E}
    tuned = set()

    def tuner(who, c, r):
        next_change = time.time()
        while time.time() < stop_at:
            if time.time() >= next_change:
                next_change = time.time() + r.uniform(0.1, 0.5)
                e = r.choice(E)
                try:
                    if r.random() < 0.5:
                        c.execute("SELECT rrd.tune(%s, heartbeat => interval '30 s')", (current[e],))
                        tuned.add(e)
                        case.count("tunes")
                    else:
                        new = e if current[e] != e else "e.r" + e[2:]
                        c.execute("SELECT rrd.rename(%s, %s)", (current[e], new))
                        current[e] = new
                        case.count("renames")
                except psycopg.Error as ex:
                    error(who, ex, None)
                continue
            read_check(who, c, r)

    threads = [session("batch 1", batcher), session("batch 2", batcher),
               session("one b.0", single("b.0")), session("one b.1", single("b.1")),
               session("same c.0 #1", single("c.0")), session("same c.0 #2", single("c.0")),
               session("flush", flusher), session("tune/rename/read", tuner)]
    for t in threads:
        t.start()
    hung = []
    for t in threads:
        t.join(timeout=max(1, stop_at - time.time()) + 90)
        if t.is_alive():
            hung.append(t.name)
    if hung:
        case.fail(f"sessions still running 90 s after the end: {hung}; cancelling them")
        conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = 'jc' "
                     "AND pid <> pg_backend_pid()")
        for t in threads:
            t.join(timeout=30)
    case.count("sessions", len(threads))
    case.notes.append(f"{stats['22008']} statements refused 22008 by same-series races, "
                      f"{stats['deadlocks']} deadlocks, {stats['other errors']} other errors")
    if stale:
        case.fail(f"{len(stale)} of {case.tried.get('reads', 0)} reads missed points committed before they "
                  f"started, first: " + "; ".join(stale[:3]))
    # A refused statement had a point of a series whose later point had
    # been committed: anything else was refused without a race.
    for who, stmt, msg in refused:
        if not any(pts.top[n] > k for n, k in stmt):
            case.fail(f"{who}: refused 22008 with no later point of its series committed: {msg[:300]}")
    committed = sum(len(v) for v in pts.committed.values())
    case.count("points committed", committed)
    for who in ["flush()", "statements", "reads"]:
        case.check(case.tried.get(who, 0) >= 10, f"too little progress: {who} {case.tried.get(who, 0)}")
    for name in A[:1] + B + C:
        case.check(len(pts.committed[name]) > 20, f"too little progress on {name}: {len(pts.committed[name])} points")

    # The same points on one session, one series at a time.
    final = [current.get(n, n) for n in everything]
    last_us = [point_us(max(pts.committed[n])) for n in everything]
    replay = fresh_db(cl, "jc_replay")
    for name in everything:
        replay.execute("SELECT rrd.create(%s, %s, to_timestamp(%s))", (name, definition_of(pts.kind[name]), BASE))
    for name in everything:
        ks = sorted(pts.committed[name])
        for lo in range(0, len(ks), 20000):
            part = [(name, k) for k in ks[lo:lo + 20000]]
            execute_points(replay, part, [pts.value(name, k) for k in ks[lo:lo + 20000]], "update1")
    for e in E:
        if e in tuned:
            replay.execute("SELECT rrd.tune(%s, heartbeat => interval '30 s')", (e,))
        if current[e] != e:
            replay.execute("SELECT rrd.rename(%s, %s)", (e, current[e]))
    order = sorted(range(len(final)), key=lambda i: final[i])
    final = [final[i] for i in order]
    last_us = [last_us[i] for i in order]
    want = snapshot(replay, final, last_us, "*.*", pending=False)
    pending = one(conn, "SELECT rrd.pending()")
    got = snapshot(conn, final, last_us, "*.*", pending=False)
    compare(case, got, want, "before rrd.flush()", "concurrent", "replayed")
    case.verify(conn, "concurrent, before rrd.flush()")
    case.verify(replay, "replayed, before rrd.flush()")
    folded = one(conn, "SELECT rrd.flush()")
    case.check(folded == pending, f"rrd.flush() folded {folded} points of {pending} pending")
    case.check(one(conn, "SELECT rrd.pending()") == 0, "points pending after rrd.flush()")
    one(replay, "SELECT rrd.flush()")
    got = snapshot(conn, final, last_us, "*.*", pending=False)
    want = snapshot(replay, final, last_us, "*.*", pending=False)
    compare(case, got, want, "after rrd.flush()", "concurrent", "replayed")
    case.verify(conn, "concurrent, after rrd.flush()")
    case.verify(replay, "replayed, after rrd.flush()")
    case.count("series compared", len(final))
    case.notes.append(f"{pending} points pending at the end")
    conn.close()
    replay.close()
    if not case.failures:
        drop_db(cl, "jc")
        drop_db(cl, "jc_replay")


# ---------------------------------------------------------------- crash

def crash(ctx, case):
    cl = ctx.crash
    cl.fresh(["max_wal_size = '2GB'"])
    n = 2000
    conn = fresh_db(cl, "jk")
    create_steps(conn, "k", n)
    conn.close()
    rng = random.Random(ctx.seed + 7)
    kinds = ["ingest", "ingest + flush", "big flush", "many steps + flush", "big flush"]
    rounds = ctx.args.rounds or (20 if ctx.args.long else 5)
    last = 0
    for r in range(rounds):
        kind = kinds[r % len(kinds)]
        what = f"round {r + 1} ({kind})"
        conn = cl.connect("jk")
        log = {"done": [], "inflight": None, "error": None, "flushes": 0, "flush": None}
        killed_at = [None]
        stop = threading.Event()

        def ingest(steps, forms):
            c = cl.connect("jk")
            k = last + 1
            try:
                while not stop.is_set():
                    lo, hi = k, k + steps - 1
                    log["inflight"] = (lo, hi)
                    write_steps(c, "k", n, lo, hi, rng.choice(forms) if steps == 1 else "update")
                    log["done"].append((lo, hi))
                    log["inflight"] = None
                    k = hi + 1
            except psycopg.Error as e:
                log["error"] = (time.time(), e)

        def flush_loop():
            c = cl.connect("jk")
            try:
                while not stop.is_set():
                    one(c, "SELECT rrd.flush()")
                    log["flushes"] += 1
                    time.sleep(rng.uniform(0, 0.2))
            except psycopg.Error as e:
                log["ferror"] = (time.time(), e)

        def big_flush():
            c = cl.connect("jk")
            try:
                t0 = time.time()
                log["flush started"] = t0
                log["flush"] = (one(c, "SELECT rrd.flush()"), time.time() - t0)
            except psycopg.Error as e:
                log["ferror"] = (time.time(), e)

        threads = []
        before = None
        if kind == "big flush":
            # Many points pending, then a flush killed in the middle.
            steps = 150
            write_steps(conn, "k", n, last + 1, last + steps)
            last += steps
            case.count("steps committed", steps)
            pending = one(conn, "SELECT rrd.pending()")
            before = steps_snapshot(conn, "k", last)
            threads.append(threading.Thread(target=big_flush))
            # A flush of 300000 points takes about half a second.
            delay = rng.uniform(0.02, 0.25)
        elif kind == "many steps + flush":
            threads.append(threading.Thread(target=ingest, args=(40, ["update"])))
            threads.append(threading.Thread(target=flush_loop))
            delay = rng.uniform(0.5, 3.0)
        else:
            threads.append(threading.Thread(target=ingest, args=(1, ["update", "insert", "copy"])))
            if "flush" in kind:
                threads.append(threading.Thread(target=flush_loop))
            delay = rng.uniform(0.3, 2.5)
        for t in threads:
            t.start()
        if kind == "big flush":
            t0 = time.time()
            while threads[0].is_alive() and time.time() - t0 < 10 and not one(
                    conn, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT rrd.flush()' "
                          "AND state = 'active'"):
                time.sleep(0.002)
        time.sleep(delay)
        in_flush = kind == "big flush" and log["flush"] is None
        debug(f"{what}: kill after {delay:.2f} s" + (f", {pending} pending" if kind == "big flush" else ""))
        killed_at[0] = time.time()
        cl.kill9()
        debug(f"{what}: killed")
        case.count("kills")
        stop.set()
        for t in threads:
            t.join(timeout=60)
        conn = None
        for key in ("error", "ferror"):
            if log.get(key) and log[key][0] < killed_at[0]:
                case.fail(f"{what}: error before the kill: {log[key][1].sqlstate}: {log[key][1]}")
        cl.start()
        debug(f"{what}: restarted")
        conn = cl.connect("jk")
        # Steps: every committed one, the one in flight for all series or none.
        done_hi = max([hi for _, hi in log["done"]], default=last)
        allowed = {done_hi}
        if log["inflight"]:
            allowed.add(log["inflight"][1])
        found, sample = last_steps(conn, "k", last, max(allowed))
        case.count("steps committed", done_hi - last if kind != "big flush" else 0)
        case.check(len(found) == 1 and sum(found.values()) == n,
                   f"{what}: the series hold different last steps (step: series): {dict(list(found.items())[:5])}")
        step = max(found) if found else 0
        case.check(list(sample) == [step], f"{what}: last updates (step: series) {sample}, the rows end at {step}")
        case.check(step in allowed, f"{what}: last update at step {step}, expected one of {sorted(allowed)} "
                                    f"(committed up to {done_hi}, in flight {log['inflight']})")
        if log["inflight"] and step == log["inflight"][1] and step != done_hi:
            case.count("statements in flight kept")
        last = step
        p = journal_consistent(case, conn, what)
        case.verify(conn, f"{what}, after the restart")
        # The reads with the journal as the crash left it, then folded:
        # rrd.flush() folds what rrd.pending() counts and changes no read;
        # the folded rows hold every step exactly.
        pending_reads = steps_snapshot(conn, "k", last)
        debug(f"{what}: journal checked, read")
        if kind == "big flush":
            case.check(pending_reads == before, f"{what}: reads changed by a flush killed in the middle")
            if in_flush:
                case.count("flushes killed mid-way")
            if log["flush"] is not None:
                case.check(p == 0, f"{what}: flush returned {log['flush'][0]} before the kill, yet {p} pending")
            else:
                case.check(p in (0, pending), f"{what}: {p} points pending after a killed flush of {pending}")
        folded = one(conn, "SELECT rrd.flush()")
        case.check(folded == p, f"{what}: rrd.flush() folded {folded} of {p} pending after the restart")
        case.check(one(conn, "SELECT rrd.pending()") == 0, f"{what}: points pending after rrd.flush()")
        case.check(steps_snapshot(conn, "k", last) == pending_reads, f"{what}: rrd.flush() changed reads")
        case.verify(conn, f"{what}, after rrd.flush()")
        case.count("points pending after restarts", p)
        check_steps(case, conn, "k", n, last, what)
        debug(f"{what}: flushed, steps checked")
        # Writing continues where the tips are.
        state = sqlstate(conn, STEPS_UPDATE, {"pre": "k", "base": BASE, "lo": last, "hi": last, "i0": 0,
                                              "i1": n - 1, "keep": None})
        case.check(state == "22008" or last == 0, f"{what}: rewriting step {last} gave {state}")
        conn.close()
    conn = cl.connect("jk")
    check_steps(case, conn, "k", n, last, "at the end", span=min(last, 4900))
    case.count("series", n)
    conn.close()
    case.count("rounds", rounds)
    case.count("steps in all", last)
    check_log(case, cl)


# ---------------------------------------------------------------- worker

def worker(ctx, case):
    cl = ctx.worker
    cl.fresh()
    conn = fresh_db(cl, "jw")
    conn.close()
    cl.configure(["shared_preload_libraries = 'pg_rrd'", "pg_rrd.flush_database = 'jw'",
                  "pg_rrd.flush_interval = 1"])
    conn = cl.connect("jw")
    row = None
    for _ in range(100):
        row = conn.execute("SELECT pid, datname FROM pg_stat_activity WHERE backend_type = 'pg_rrd flush'").fetchone()
        if row:
            break
        time.sleep(0.1)
    case.check(row is not None and row[1] == "jw", f"the pg_rrd flush worker in pg_stat_activity: {row}")
    case.check(one(conn, "SHOW pg_rrd.flush_interval") == "1s", "pg_rrd.flush_interval is not 1s")
    n = 1000
    create_steps(conn, "w", n)
    # Writers beside the worker for a while, then a last burst.
    last = 0
    t_end = time.time() + (10 if ctx.args.long else 3)
    seen = []
    while time.time() < t_end:
        k = random.Random(last).choice([1, 1, 1, 5])
        write_steps(conn, "w", n, last + 1, last + k, ["update", "insert"][last % 2] if k == 1 else "update")
        last += k
        case.count("statements")
        seen.append(one(conn, "SELECT rrd.pending()"))
    write_steps(conn, "w", n, last + 1, last + 20)
    last += 20
    sample = [f"w.{i:04d}" for i in range(0, n, 7)]
    # The reads before, all in one snapshot with points pending.
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        p = one(conn, "SELECT rrd.pending()")
        before = snapshot(conn, sample, [(BASE + 10 * last) * 1_000_000] * len(sample), "w.*", pending=False)
    case.count("steps", last)
    case.check(p > 0, "no points pending right after the last statement")
    case.check(any(x < y for x, y in zip(seen[1:], seen)), "the worker never folded while writers wrote")
    check_steps(case, conn, "w", n, last, "before the worker folded")
    t0 = time.time()
    while one(conn, "SELECT rrd.pending()") != 0 and time.time() - t0 < 15:
        time.sleep(0.2)
    left = one(conn, "SELECT rrd.pending()")
    case.check(left == 0, f"{left} points still pending 15 s after the last write (of {p})")
    case.notes.append(f"{p} points pending after the last write, {left} left {time.time() - t0:.1f} s later")
    journal_consistent(case, conn, "after the worker folded")
    case.verify(conn, "after the worker folded")
    after = snapshot(conn, sample, [(BASE + 10 * last) * 1_000_000] * len(sample), "w.*", pending=False)
    compare(case, after, before, "after the worker folded", "after", "before")
    check_steps(case, conn, "w", n, last, "after the worker folded")
    row2 = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_rrd flush'").fetchone()
    case.check(row2 is not None and row is not None and row2[0] == row[0],
               f"the worker restarted (pid {row and row[0]} then {row2 and row2[0]})")
    conn.close()
    log = cl.log()
    bad = [line for line in log.splitlines() if "pg_rrd flush" in line and
           re.search(r"ERROR|exited with exit code|terminated", line)]
    case.check(not bad, f"worker errors in server.log: {bad[:2]}")
    check_log(case, cl)
    cl.stop()


# ---------------------------------------------------------------- bounded

def bounded(ctx, case):
    cl = ctx.main
    conn = fresh_db(cl, "jb")
    conn.execute("SELECT rrd.create('q.' || lpad(i::text, 4, '0'), %s, to_timestamp(%s)) "
                 "FROM generate_series(0, 255) i", (DEF_STEPS, BASE))
    ids = dict(conn.execute("SELECT name, id FROM rrd.series").fetchall())
    lane1 = sorted(int(nm[2:]) for nm, i in ids.items() if i >> 7 == 1)
    case.check(len(lane1) == 128, f"{len(lane1)} series in lane 1")
    scale = 4 if ctx.args.long else 1
    for label, keep, steps, statements in [
        ("128 series x 10 steps", lane1, 10, 100 * scale),
        ("2 series x 1000 steps", lane1[:2], 1000, 40 * scale),
        ("128 series x 1 step", lane1, 1, 400 * scale),
    ]:
        conn.execute("SELECT rrd.flush()")
        most = 0
        drops = 0
        prev = 0
        last = one(conn, "SELECT (extract(epoch FROM rrd.last(%s))::bigint - %s) / 10",
                   (f"q.{keep[0]:04d}", BASE))
        per = len(keep) * steps
        first = last
        for s in range(statements):
            write_steps(conn, "q", 256, last + 1, last + steps, keep=keep)
            last += steps
            p = one(conn, "SELECT rrd.pending()")
            most = max(most, p)
            drops += p < prev
            prev = p
            case.count("statements")
            if not case.check(p <= LANE_FOLD_POINTS + per,
                              f"{label}: {p} points pending after statement {s + 1} "
                              f"(bound {LANE_FOLD_POINTS} + {per})"):
                break
        case.check(drops > 0 or statements * per < LANE_FOLD_POINTS, f"{label}: no inline fold happened")
        case.notes.append(f"{label}: at most {most} pending, {drops} inline folds")
        journal_consistent(case, conn, label)
        case.verify(conn, label)
        # The points are all there.
        rows, kept = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE f.v IS DISTINCT FROM "
            "(extract(epoch FROM f.t)::bigint - %s) / 10 * 4096 + substr(f.name, 3)::int) "
            "FROM rrd.fetch_many('q.*', 'LAST', to_timestamp(%s), to_timestamp(%s)) f "
            "WHERE substr(f.name, 3)::int = ANY(%s) AND f.t <= to_timestamp(%s)",
            (BASE, BASE + 10 * max(first, last - 200), BASE + 10 * last, keep, BASE + 10 * last)).fetchone()
        case.check(rows >= min(200, last - first) * len(keep) and kept == 0, f"{label}: {kept} of {rows} rows of the written series wrong")
        case.count("rows checked", rows)
    conn.close()
    if not case.failures:
        drop_db(cl, "jb")


# ---------------------------------------------------------------- dump

def dump(ctx, case):
    cl = ctx.main
    src = fresh_db(cl, "jd")
    n = 300
    create_steps(src, "d", n)
    direct = list(range(290, 300))
    others = [i for i in range(n) if i not in direct]
    for lo in range(1, 41, 10):
        write_steps(src, "d", n, lo, lo + 9, ["update", "insert", "copy", "update"][lo // 10])
    for i in direct:
        src.execute("SELECT rrd.update(%s, to_timestamp(%s), %s::float8)", (f"d.{i:04d}", BASE + 410, 41 * 4096 + i))
    src.execute("SELECT rrd.tune('d.0005', heartbeat => interval '900 s')")
    for i in others[:5]:
        src.execute("SELECT rrd.update(%s, to_timestamp(%s), %s::float8)", (f"d.{i:04d}", BASE + 410, 41 * 4096 + i))
    write_steps(src, "d", n, 42, 46, keep=others[5:])
    write_steps(src, "d", n, 42, 46, keep=others[:5])
    for i in direct:
        src.execute("SELECT rrd.update(%s, to_timestamp(%s), %s::float8)", (f"d.{i:04d}", BASE + 470, 47 * 4096 + i))
    # Each read of a series merges what its lane has pending: the reads of
    # one series are for a sample (and fetch_many for all).
    picked = sorted(set(direct + others[:25] + list(range(0, n, 6))))
    names = [f"d.{i:04d}" for i in picked]
    last_us = [(BASE + 10 * (47 if i in direct else 46)) * 1_000_000 for i in picked]
    pending = one(src, "SELECT rrd.pending()")
    markers = one(src, "SELECT count(*) FROM rrd.tip")
    case.check(pending > 0 and markers > 0, f"before the dump: {pending} pending, {markers} series written directly")
    debug("dump: written")
    case.notes.append(f"{pending} points pending and {markers} series written directly at the dump")
    want = snapshot(src, names, last_us, "d.*", with_id=True)
    debug("dump: source read")
    path = os.path.join(cl.dir, "jd.dump")
    env = dict(os.environ, PGHOST=cl.sock, PGPORT=str(cl.port), PGUSER="postgres")
    subprocess.run([f"{PGBIN}/pg_dump", "-Fc", "-f", path, "jd"], check=True, env=env)
    debug("dump: pg_dump")
    drop_db(cl, "jd2")
    base = cl.connect()
    base.execute("CREATE DATABASE jd2")
    base.close()
    p = subprocess.run([f"{PGBIN}/pg_restore", "--exit-on-error", "-d", "jd2", path],
                       capture_output=True, text=True, env=env)
    case.check(p.returncode == 0, f"pg_restore: {p.stderr.strip()[:500]}")
    debug("dump: pg_restore")
    dst = cl.connect("jd2")
    got = snapshot(dst, names, last_us, "d.*", with_id=True)
    compare(case, got, want, "restored", "restored", "source")
    debug("dump: compared")
    journal_consistent(case, dst, "restored")
    case.verify(src, "source, at the dump")
    case.verify(dst, "restored")
    # Out of order: refused in both, as the tips say.
    for label, sql, args in [
        ("a many-series step before the directly written series' last", STEPS_UPDATE,
         {"pre": "d", "base": BASE, "lo": 47, "hi": 47, "i0": 0, "i1": n - 1, "keep": direct[:3]}),
        ("a many-series step at the pending points' last", STEPS_UPDATE,
         {"pre": "d", "base": BASE, "lo": 46, "hi": 46, "i0": 0, "i1": n - 1, "keep": others[10:13]}),
        ("a one-series point at its pending last", "SELECT rrd.update(%(name)s, to_timestamp(%(t)s), 1::float8)",
         {"name": f"d.{others[20]:04d}", "t": BASE + 455}),
    ]:
        for db, c in (("source", src), ("restored", dst)):
            state = sqlstate(c, sql, args)
            case.count("refusals checked")
            case.check(state == "22008", f"{db}: {label} gave {state}, expected 22008")
    for c in (src, dst):
        write_steps(c, "d", n, 48, 48)
        write_steps(c, "d", n, 49, 50, "copy")
        c.execute("SELECT rrd.update('d.0007', to_timestamp(%s), 3::float8)", (BASE + 505,))
    last_us = [(BASE + 10 * 50) * 1_000_000 + (500_000_000 if i == 7 else 0) for i in picked]
    compare(case, snapshot(dst, names, last_us, "d.*", with_id=True),
            snapshot(src, names, last_us, "d.*", with_id=True), "after new points", "restored", "source")
    newid = [one(c, "SELECT rrd.create('d.new', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:10')") for c in (src, dst)]
    case.check(newid[0] == newid[1] and newid[0] > n, f"ids of a new series: {newid}")
    for c in (src, dst):
        c.execute("SELECT rrd.flush()")
        c.execute("SELECT rrd.drop('d.new')")
    compare(case, snapshot(dst, names, last_us, "d.*", with_id=True),
            snapshot(src, names, last_us, "d.*", with_id=True), "after rrd.flush()", "restored", "source")
    for label, c in (("source", src), ("restored", dst)):
        case.verify(c, f"{label}, after new points and rrd.flush()")
    src.close()
    dst.close()
    os.unlink(path)
    if not case.failures:
        drop_db(cl, "jd")
        drop_db(cl, "jd2")


# ---------------------------------------------------------------- standby

# Every function and relation of schema rrd is a read, checked on the
# standby against the primary (EVERY_READ), a write, which the standby
# must refuse with 25006 (STANDBY_WRITES), or one of INTERNAL: a function
# that pg_proc lists and none of these covers fails the case, so a new
# function needs a line here. Keys are pg_proc's signatures with
# timestamptz and float8 for the long type names.
TZ, TZS = "timestamptz", "timestamptz[]"
INTERNAL = {
    "rrd._names_changed()": "the name cache's invalidation, run by the triggers on rrd.series",
    "rrd._points_row()": "trigger of rrd.points",
    "rrd._points_statement_start()": "trigger of rrd.points",
    "rrd._points_statement_end()": "trigger of rrd.points",
    "rrd._series_deleted()": "trigger of rrd.series",
    "rrd._series_truncated()": "trigger of rrd.series",
    "rrd._spans_deleted()": "trigger of rrd.series",
    "rrd._spans_truncated()": "trigger of rrd.series",
}

SIGNATURES = """
SELECT replace(replace(replace(p.oid::regprocedure::text, 'timestamp with time zone', 'timestamptz'),
                       'double precision', 'float8'), '"', '')
FROM pg_proc p WHERE p.pronamespace = 'rrd'::regnamespace"""
RELATIONS = ("SELECT 'rrd.' || relname FROM pg_class WHERE relnamespace = 'rrd'::regnamespace "
             "AND relkind IN ('r', 'v', 'm', 'p')")


def per_series(expr, where="true"):
    """One row per series of %(names)s (those `where` keeps): its name and
    `expr` (u.n the name, u.a, u.a2, u.b its windows)."""
    return (f"SELECT u.n, ({expr})::text FROM unnest(%(names)s::text[], %(a)s::timestamptz[], "
            f"%(a2)s::timestamptz[], %(b)s::timestamptz[]) AS u(n, a, a2, b) WHERE {where} ORDER BY u.n")


def rows_of(alias):
    return f"string_agg(row({alias}.*)::text, ' ' ORDER BY row({alias}.*)::text)"


FETCH = f"rrd.fetch(text,text,{TZ},{TZ},interval,integer)"
FETCH_MANY = f"rrd.fetch_many(text,text,{TZ},{TZ},interval)"
FETCH_TAGGED = f"rrd.fetch_tagged(jsonb,text,{TZ},{TZ},interval)"
TAGGED = ("SELECT g.tags::text || ' ' || f.name, {agg} FROM unnest(ARRAY['{{\"grp\": \"a\"}}', '{{\"grp\": \"b\"}}', "
          "'{{}}']::jsonb[]) g(tags), rrd.fetch_tagged(g.tags, {args}) f GROUP BY 1 ORDER BY 1")
EVERY_READ = [
    (FETCH, "fetch(name, cf, start, stop)", per_series(
        f"SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a, u.b) f")),
    (FETCH, "fetch resolution =>", per_series(
        f"SELECT {agg('f')} FROM rrd.fetch(u.n, 'MAX', u.a2, u.b, resolution => interval '60 s') f")),
    (FETCH, "fetch points =>", per_series(
        f"SELECT {agg('f')} FROM rrd.fetch(u.n, 'AVERAGE', u.a2, u.b, points => 9) f")),
    (FETCH, "fetch resolution => points =>", per_series(
        f"SELECT {agg('f')} FROM rrd.fetch(u.n, 'LAST', u.a, u.b, resolution => interval '10 s', points => 40) f")),
    (FETCH, "fetch, every argument named", per_series(
        f"SELECT {agg('f')} FROM rrd.fetch(stop => u.b, start => u.a, cf => 'LAST', name => u.n) f")),
    (f"rrd.fetch_array(text,text,{TZ},{TZ},interval)", "fetch_array", per_series(
        "SELECT extract(epoch FROM f.start) || '/' || f.step || '/' || f.v::text "
        "FROM rrd.fetch_array(u.n, 'AVERAGE', u.a, u.b) f")),
    (f"rrd.fetch_array(text,text,{TZ},{TZ},interval)", "fetch_array resolution =>", per_series(
        "SELECT extract(epoch FROM f.start) || '/' || f.step || '/' || f.v::text "
        "FROM rrd.fetch_array(u.n, 'MAX', u.a2, u.b, resolution => interval '60 s') f")),
    (FETCH_MANY, "fetch_many", f"SELECT f.name, {agg('f')} FROM rrd.fetch_many(%(pat)s, 'AVERAGE', %(fa)s, %(fb)s) f "
                               "GROUP BY f.name ORDER BY f.name"),
    (FETCH_MANY, "fetch_many resolution", f"SELECT f.name, {agg('f')} FROM rrd.fetch_many(%(pat)s, 'MAX', %(fa)s, "
                                          "%(fb)s, interval '60 s') f GROUP BY f.name ORDER BY f.name"),
    (FETCH_TAGGED, "fetch_tagged", TAGGED.format(agg=agg("f"), args="'AVERAGE', %(fa)s, %(fb)s")),
    (FETCH_TAGGED, "fetch_tagged resolution",
     TAGGED.format(agg=agg("f"), args="'MAX', %(fa)s, %(fb)s, interval '60 s'")),
    (f"rrd.fetch_stitched(text,text,{TZ},{TZ})", "fetch_stitched", per_series(
        f"SELECT {agg('f')} || ' ' || string_agg(DISTINCT f.step::text, ',') "
        "FROM rrd.fetch_stitched(u.n, 'AVERAGE', u.a2, u.b) f")),
    (f"rrd.aggregate(text,text,{TZ},{TZ},interval,float8)", "aggregate", per_series(
        "SELECT row(a.*)::text FROM rrd.aggregate(u.n, 'AVERAGE', u.a, u.b, percentile => 0.9) a")),
    (f"rrd.aggregate_many(text,text,{TZ},{TZ},interval,float8)", "aggregate_many",
     "SELECT a.name, row(a.*)::text FROM rrd.aggregate_many(%(pat)s, 'MAX', %(fa)s, %(fb)s) a ORDER BY 1"),
    (f"rrd.aggregate_tagged(jsonb,text,{TZ},{TZ},interval,float8)", "aggregate_tagged",
     "SELECT g.tags::text || ' ' || a.name, row(a.*)::text FROM unnest(ARRAY['{\"grp\": \"a\"}', "
     "'{}']::jsonb[]) g(tags), rrd.aggregate_tagged(g.tags, 'AVERAGE', %(fa)s, %(fb)s) a ORDER BY 1"),
    (f"rrd.graph({TZ},{TZ},text[],text,jsonb,text,text,integer,integer,text,text,float8,float8,text[])",
     "graph", per_series(
         "md5(rrd.graph(u.a, u.b, series => ARRAY[u.n], width => 200, height => 60))")),
    (f"rrd.sparkline(text,text,{TZ},{TZ},integer)", "sparkline", per_series(
        "rrd.sparkline(u.n, 'AVERAGE', u.a, u.b, 30)")),
    (f"rrd.explain(text,text,{TZ},{TZ},interval)", "explain", per_series(
        "SELECT string_agg(row(e.*)::text, ' ' ORDER BY e.t) FROM rrd.explain(u.n, 'AVERAGE', u.a2, u.b) e")),
    (f"rrd.find(text,{TZ},{TZ})", "find",
     "SELECT p, (SELECT string_agg(f.name, ' ' ORDER BY f.name) FROM rrd.find(p) f) "
     "FROM unnest(ARRAY['s.*', 's.00{1,2}*', '*.x*', 'nothing.*']) p ORDER BY p"),
    (f"rrd.find(text,{TZ},{TZ})", "find from/until", "SELECT 'find', string_agg(f.name, ' ' ORDER BY f.name) "
                                                     "FROM rrd.find('s.*', %(fa)s, %(fb)s) f"),
    ("rrd.children(text)", "children",
     "SELECT p, (SELECT string_agg(row(c.*)::text, ' ' ORDER BY c.path) FROM rrd.children(p) c) "
     "FROM unnest(ARRAY['', 's', 's.00', 'nothing']) p ORDER BY p"),
    ("rrd.lastupdate(text)", "lastupdate", per_series(
        "SELECT extract(epoch FROM l.t) || '=' || coalesce(l.value, '-') FROM rrd.lastupdate(u.n) l")),
    ("rrd.last(text)", "last", per_series("extract(epoch FROM rrd.last(u.n))")),
    ("rrd.first(text,integer)", "first", per_series(
        "extract(epoch FROM rrd.first(u.n)) || ' ' || extract(epoch FROM rrd.first(u.n, 1)) || ' ' "
        "|| extract(epoch FROM rrd.first(archive => 2, name => u.n))")),
    ("rrd.info(text)", "info", per_series("rrd.info(u.n)")),
    ("rrd.definition(text)", "definition", per_series("rrd.definition(u.n)")),
    ("rrd.pending()", "pending()", "SELECT 'all', rrd.pending()::text"),
    ("rrd.pending(text)", "pending(name)", per_series("rrd.pending(u.n)")),
    ("rrd.dump(text)", "dump", per_series("md5(rrd.dump(u.n)) || ' ' || length(rrd.dump(u.n))",
                                           "u.n = ANY(%(dumped)s)")),
    ("rrd.verify(text)", "verify()",
     f"SELECT 'all', count(*) || ' ' || coalesce({rows_of('v')}, '') FROM rrd.verify() v"),
    ("rrd.verify(text)", "verify(name)", per_series(f"SELECT count(*) || ' ' || coalesce({rows_of('v')}, '') "
                                                    "FROM rrd.verify(u.n) v")),
    ("rrd.listener_stats()", "listener_stats", "SELECT l.counter, l.value || ' ' || coalesce(l.updated::text, '-') "
                                               "FROM rrd.listener_stats() l ORDER BY 1"),
    ("rrd.archives(rrd.rrd)", "archives", per_series(
        f"SELECT {rows_of('a')} FROM rrd.archives(rrd.definition(u.n)) a")),
    ("rrd.data_source(rrd.rrd)", "data_source", per_series(
        f"SELECT {rows_of('d')} FROM rrd.data_source(rrd.definition(u.n)) d")),
    ("rrd.step(rrd.rrd)", "step", per_series("rrd.step(rrd.definition(u.n))")),
    ("rrd.rrd_out(rrd.rrd)", "rrd_out", per_series("rrd.rrd_out(rrd.definition(u.n))::text")),
    ("rrd.rrd_in(cstring)", "rrd_in", per_series("rrd.rrd_in(rrd.rrd_out(rrd.definition(u.n)))")),
    ("rrd._set_slots(float8[],integer[],float8[])", "_set_slots",
     "SELECT 'slots', rrd._set_slots(ARRAY[1, 2, 3, 4]::float8[], ARRAY[1, 3], ARRAY[9, 'NaN']::float8[])::text"),
]
# The relations, whole (md5 of their rows in order): physical replication
# makes them equal; this checks that the standby reads each.
for rel in ["series", "state", "chunk", "journal", "lane", "tip", "points", "graphite_schemas", "listener_counters",
            "unknown_spans"]:
    EVERY_READ.append((f"rrd.{rel}", f"SELECT FROM rrd.{rel}",
                       f"SELECT 'rows', count(*) || ' ' || "
                       f"coalesce(md5(string_agg(r::text, ',' ORDER BY r::text)), '') FROM rrd.{rel} r"))

# A whisper file of one archive of 6 points of 10 s (big-endian: header,
# archive info, points), for rrd.import_whisper.
WHISPER = (struct.pack("!2LfL", 1, 60, 0.5, 1) + struct.pack("!3L", 28, 10, 6)
           + b"".join(struct.pack("!Ld", 1_700_000_000 + 10 * k, float(k)) for k in range(6)))
UPDATE_MANY = f"rrd.update(text[],{TZS},float8[],boolean)"
STANDBY_WRITES = [
    (UPDATE_MANY, "SELECT rrd.update(ARRAY['s.0010', 's.0011'], ARRAY[to_timestamp(1700000000), "
                  "to_timestamp(1700000000)], ARRAY[1, 2]::float8[])"),
    (UPDATE_MANY, "SELECT rrd.update(ARRAY['s.0010', 's.0011'], ARRAY[to_timestamp(1700000000), "
                  "to_timestamp(1700000000)], ARRAY[1, 2]::float8[], skip_bad => true)"),
    (f"rrd.update(text,{TZ},float8)", "SELECT rrd.update('s.0010', to_timestamp(1700000000), 1::float8)"),
    (f"rrd.update(text,{TZ},numeric)", "SELECT rrd.update('s.0010', to_timestamp(1700000000), 1::numeric)"),
    (f"rrd.update(text,{TZS},float8[],boolean)",
     "SELECT rrd.update('s.0010', ARRAY[to_timestamp(1700000000)], ARRAY[1::float8])"),
    ("rrd.update(text,text)", "SELECT rrd.update('s.0010', '1700000000:1')"),
    ("rrd.update(text,text)", "SELECT rrd.update('s.0010', 'N:1')"),
    ("rrd.update(text,text[],boolean)", "SELECT rrd.update('s.0010', ARRAY['1700000000:1', '1700000010:2'])"),
    ("rrd.points", "INSERT INTO rrd.points VALUES ('s.0010', to_timestamp(1700000000), 1)"),
    ("rrd.points", "INSERT INTO rrd.points VALUES ('s.0010', to_timestamp(1700000000), 1), "
                   "('s.0011', to_timestamp(1700000000), 1)"),
    ("rrd.points", "COPY rrd.points FROM STDIN"),
    ("rrd.flush()", "SELECT rrd.flush()"),
    ("rrd.flush(text)", "SELECT rrd.flush('s.0010')"),
    ("rrd.tune(text,interval,float8,float8,text,text,integer,float8,interval)",
     "SELECT rrd.tune('s.0010', heartbeat => interval '40 s')"),
    ("rrd.rename(text,text)", "SELECT rrd.rename('s.0010', 's.z010')"),
    ("rrd.create(text,rrd.rrd,timestamptz,integer,jsonb,jsonb,interval)",
     "SELECT rrd.create('s.new', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:10')"),
    ("rrd.drop(text)", "SELECT rrd.drop('s.0010')"),
    ("rrd.resize(text,integer,bigint)", "SELECT rrd.resize('s.0010', 0, 6000)"),
    ("rrd.add_archive(text,text)", "SELECT rrd.add_archive('s.0010', 'RRA:MIN:0.5:1:10')"),
    ("rrd.drop_archive(text,integer)", "SELECT rrd.drop_archive('s.0010', 2)"),
    ("rrd.set_tags(text,jsonb)", "SELECT rrd.set_tags('s.0010', '{\"grp\": \"z\"}')"),
    ("rrd.set_meta(text,jsonb)", "SELECT rrd.set_meta('s.0010', '{\"owner\": \"z\"}')"),
    ("rrd.import_rrdtool(text,text,boolean,text)", "SELECT * FROM rrd.import_rrdtool('s.imported', %(xml)s)"),
    ("rrd.import_rrdtool(text,text,boolean,text)",
     "SELECT * FROM rrd.import_rrdtool('s.0010', %(xml)s, on_exists => 'replace')"),
    ("rrd.import_whisper(text,bytea,integer,text)", "SELECT * FROM rrd.import_whisper('s.whisper', %(wsp)s)"),
]


def every_read(conn, names, last_us, dumped):
    """Each read of EVERY_READ on `conn`: {label: rows, or the error}."""
    a, a2, b = windows(last_us)
    end = max(last_us) // 1_000_000 + 20
    args = {"names": list(names), "a": a, "a2": a2, "b": b, "pat": "s.*",
            "fa": ts((end - 3000) * 1_000_000), "fb": ts(end * 1_000_000),
            "dumped": sorted(dumped)}
    out = {}
    for _, label, sql in EVERY_READ:
        try:
            if conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                with conn.transaction():  # a savepoint: a failed read leaves the others their transaction
                    out[label] = conn.execute(sql, args).fetchall()
            else:
                out[label] = conn.execute(sql, args).fetchall()
        except psycopg.Error as e:
            out[label] = f"ERROR {e.sqlstate}: {e}"
    return out


def every_read_in_one_transaction(case, conn, names, last_us, dumped, what):
    """every_read in one transaction of `conn`, which must end with no
    transaction id assigned (no read writes)."""
    with conn.transaction():
        out = every_read(conn, names, last_us, dumped)
        xid = one(conn, "SELECT txid_current_if_assigned()")
    case.check(xid is None, f"{what}: the reads of every function took transaction id {xid}")
    return out


def coverage(case, conn):
    """Every function and relation of schema rrd is covered by a read, a
    refused write or INTERNAL; and every one listed exists."""
    have = {r[0] for r in conn.execute(SIGNATURES).fetchall()} | {r[0] for r in conn.execute(RELATIONS).fetchall()}
    listed = {k for k, _, _ in EVERY_READ} | {k for k, _ in STANDBY_WRITES} | set(INTERNAL)
    missing = sorted(have - listed)
    case.check(not missing, f"functions or relations of schema rrd that the standby check does not cover (add them "
                            f"to EVERY_READ, STANDBY_WRITES or INTERNAL): {missing}")
    stale = sorted(listed - have)
    case.check(not stale, f"listed but not in schema rrd: {stale}")
    case.count("functions and relations covered", len(have & listed))


def standby_writes(case, conn, xml):
    """Every write of STANDBY_WRITES on a standby session fails with 25006."""
    bad = []
    for _, sql in STANDBY_WRITES:
        if sql.startswith("COPY"):
            try:
                with conn.cursor().copy(sql) as cp:
                    cp.write_row(("s.0010", ts(1_700_000_000 * 1_000_000), 1.0))
                state = None
            except psycopg.Error as e:
                state = e.sqlstate
        else:
            state = sqlstate(conn, sql, {"xml": xml, "wsp": WHISPER} if "%(" in sql else None)
        case.count("writes refused")
        if state != "25006":
            bad.append(f"{sql[:90]}: {state}")
    case.check(not bad, "writes on the standby not refused with 25006: " + "; ".join(bad))


def standby(ctx, case):
    cl, sb = ctx.main, ctx.standby
    prim = fresh_db(cl, "js")
    n = 300
    create_steps(prim, "s", n)
    write_steps(prim, "s", n, 1, 10)
    write_steps(prim, "s", n, 11, 20, "insert")
    sb.stop()
    shutil.rmtree(sb.dir, ignore_errors=True)
    subprocess.run(["bash", CLUSTER_SH, "prepare", sb.dir], check=True)
    base_backup(sb.data, cl.sock, cl.port, capture_output=True)
    sb.start()
    s1 = sb.connect("js")
    case.check(one(s1, "SELECT pg_is_in_recovery()"), "the standby is not in recovery")
    names = [f"s.{i:04d}" for i in sorted(set(range(0, n, 5)) | {1, 2, 150, 151, 299})]
    # A standby session that has read the series (and cached their names).
    snapshot(s1, names, [(BASE + 200) * 1_000_000] * len(names), "s.*")

    def caught_up():
        lsn = one(prim, "SELECT pg_current_wal_lsn()")
        for _ in range(300):
            if one(s1, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(lsn),)):
                return True
            time.sleep(0.05)
        return False

    # On the primary: more pending points, a fold of one lane, a rename and
    # a new series under the old name, written in the same statements.
    write_steps(prim, "s", n, 21, 25)
    prim.execute("SELECT rrd.flush('s.0150')")
    prim.execute("SELECT rrd.rename('s.0001', 's.x001')")
    prim.execute("SELECT rrd.create('s.0001', '--step 10 DS:x:GAUGE:600:U:U RRA:AVERAGE:0.5:1:500 "
                 "RRA:MAX:0.5:6:100 RRA:LAST:0.5:1:50', to_timestamp(%s))", (BASE + 250,))
    write_steps(prim, "s", n, 26, 30)
    prim.execute("SELECT rrd.update('s.0002', to_timestamp(%s), 5::float8)", (BASE + 305,))
    # Tags for rrd.fetch_tagged, a dump for the refused import.
    prim.execute("""SELECT rrd.set_tags('s.' || lpad(i::text, 4, '0'), jsonb_build_object('grp', CASE WHEN i % 10 = 0
                    THEN 'a' ELSE 'b' END)) FROM generate_series(0, 95, 5) i""")
    xml = one(prim, "SELECT rrd.dump('s.0003')")
    pending = one(prim, "SELECT rrd.pending()")
    case.check(pending > 0, "no points pending on the primary")
    case.notes.append(f"{pending} points pending on the primary")
    case.check(caught_up(), "the standby did not catch up in 15 s")
    names = sorted(names + ["s.x001"])
    last_us = [(BASE + 300 + (5 if nm == "s.0002" else 0)) * 1_000_000 for nm in names]
    want = snapshot(prim, names, last_us, "s.*", with_id=True)
    s2 = sb.connect("js")
    for label, c in (("standby, session with names cached", s1), ("standby, new session", s2)):
        got = snapshot(c, names, last_us, "s.*", with_id=True)
        compare(case, got, want, label, "standby", "primary")
    # Every read function, on sessions of both (the primary's in one
    # transaction that must spend no transaction id).
    dumped = {"s.0000", "s.0001", "s.0002", "s.0150", "s.0295", "s.x001"}
    coverage(case, s2)
    want_all = every_read_in_one_transaction(case, prim, names, last_us, dumped, "primary")
    for label, c in (("standby, session with names cached", s1), ("standby, new session", s2)):
        compare(case, every_read(c, names, last_us, dumped), want_all, f"{label}, every read", "standby", "primary")
    for label, c in (("standby, session with names cached", s1), ("standby, new session", s2), ("primary", prim)):
        case.verify(c, label)
    standby_writes(case, s2, xml)
    # The primary folds; the standby still reads the same.
    prim.execute("SELECT rrd.flush()")
    case.check(caught_up(), "the standby did not catch up after rrd.flush()")
    want2 = snapshot(prim, names, last_us, "s.*", with_id=True)
    compare(case, {k: v for k, v in want2.items() if "pending" not in k},
            {k: v for k, v in want.items() if "pending" not in k}, "primary after rrd.flush()", "after", "before")
    compare(case, snapshot(s1, names, last_us, "s.*", with_id=True), want2, "standby after rrd.flush()",
            "standby", "primary")
    want_all = every_read(prim, names, last_us, dumped)
    compare(case, every_read(s1, names, last_us, dumped), want_all, "standby after rrd.flush(), every read",
            "standby", "primary")
    case.verify(s1, "standby after rrd.flush()")
    case.verify(prim, "primary after rrd.flush()")
    s1.close()
    s2.close()
    prim.close()
    check_log(case, sb)
    sb.stop()
    if not case.failures:
        drop_db(cl, "js")
        shutil.rmtree(sb.dir, ignore_errors=True)


# ---------------------------------------------------------------- main

# What each case tries, for its line in docs/reliability.md.
WHAT = {
    "concurrency": "8 sessions of overlapping batches in shuffled orders, one-series writers, folds, tunes and "
                   "renames, replayed into a fresh database and every read compared",
    "crash": "kill -9 of the cluster during a 2000-series ingest and during rrd.flush(), every committed step "
             "read back and nothing else",
    "worker": "the background worker folding beside writers, with shared_preload_libraries",
    "bounded": "the journal's inline fold bounding the pending points without the worker",
    "dump": "pg_dump and pg_restore with points pending, every read and new writes compared",
    "standby": "a hot standby with points pending: every read function against the primary, every write "
               "refused with 25006",
    "logs": "the clusters' server.log: no crash, no assertion, no journal point left out",
}
CASES = {"concurrency": concurrency, "crash": crash, "worker": worker, "bounded": bounded,
         "dump": dump, "standby": standby}


class Context:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata"), help="where the journal-* clusters live")
    ap.add_argument("--port", type=int, default=55430, help="first of four ports")
    ap.add_argument("--long", action="store_true", help="longer soak rounds")
    ap.add_argument("--seconds", type=float, help="length of the concurrency run (default 20, --long 120)")
    ap.add_argument("--rounds", type=int, help="crash rounds (default 5, --long 20)")
    ap.add_argument("--seed", type=int, help="random seed (default: new, printed)")
    ap.add_argument("--keep", action="store_true", help="leave the clusters' folders behind")
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    for c in args.cases:
        if c not in CASES:
            ap.error(f"unknown case {c}")
    if args.seconds is None:
        args.seconds = 120.0 if args.long else 20.0
    ctx = Context()
    ctx.args = args
    ctx.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    ctx.main = Cluster(args.dir, "main", args.port)
    ctx.standby = Cluster(args.dir, "standby", args.port + 1)
    ctx.crash = Cluster(args.dir, "crash", args.port + 2)
    ctx.worker = Cluster(args.dir, "worker", args.port + 3)
    clusters = [ctx.standby, ctx.main, ctx.crash, ctx.worker]
    print(f"journal: seed {ctx.seed}, clusters in {os.path.abspath(args.dir)}/journal-* on ports "
          f"{args.port}-{args.port + 3}", flush=True)
    t_all = time.time()
    failed = 0
    try:
        if any(c in args.cases for c in ("concurrency", "bounded", "dump", "standby")):
            ctx.main.fresh(["max_wal_size = '2GB'", "max_connections = 50"])
        for name in args.cases:
            failed += run_case(CASES[name], ctx, Case(name), suite="journal", what=WHAT[name])
        if ctx.main.used:
            c = Case("logs")
            check_log(c, ctx.main)
            c.count("server logs", 1)
            failed += len(c.failures) > 0
            line = c.summary(0)
            print(line, flush=True)
            pgcluster.record_case("journal", c, line, WHAT["logs"])
    finally:
        for c in clusters:
            try:
                c.stop()
            except Exception as e:  # noqa: BLE001
                print(f"journal: stopping {c.dir}: {e}", file=sys.stderr)
        if not failed and not args.keep:
            for c in clusters:
                shutil.rmtree(c.dir, ignore_errors=True)
    print(f"journal: {len(args.cases)} cases, {failed} failed ({time.time() - t_all:.1f} s, seed {ctx.seed})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
