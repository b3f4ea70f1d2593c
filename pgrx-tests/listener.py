#!/usr/bin/python3
"""The Graphite listener (src/listener.rs) on a cluster of its own.

    /usr/bin/python3 pgrx-tests/listener.py [--dir .pgdata/listener] [--port 55446] [CASE ...]

The cluster lives in DIR, is made afresh by each run on PORT, preloads
pg_rrd with pg_rrd.flush_database = 'pg_rrd' and pg_rrd.graphite_listen =
'127.0.0.1:PORT+1', and is stopped at the end, also when a case fails.
PORT+2 is the address the reload case moves the listener to, PORT+3 the
second receiver of collectd's lines. CASE is any of those below (default:
all, in this order); the script runs as root (the server runs as the
postgres user, through scripts/cluster.sh) or as postgres.

- replay: 500 series of three kinds (GAUGE with bounds, COUNTER with
  wraps, DERIVE), 20 points each at irregular and fractional times, sent
  over 4 concurrent connections (each series on one, in time order, lines
  of different series shuffled, blanks, tabs and \\r\\n mixed in, cut at
  random byte positions, with pauses), with pg_rrd.graphite_batch = 700.
  Every line is accepted, every series created; every read of every series
  (rrd.fetch of each CF at two resolutions, rrd.lastupdate, rrd.info) is
  the same as in a fresh database fed the same points one call of
  rrd.update(name, t, v) at a time, before and after rrd.flush(); no
  batch took more than 700 lines.
- counters: malformed lines, bad values (nan, inf, hex...), bad times,
  non-UTF-8 and control-character paths, lines over 8320 bytes (one of
  100 KB), a line of exactly 8320 bytes and a path of exactly 8192,
  paths no rule matches, points a series refuses (out of order in one
  batch and across batches, a COUNTER given 7.5 or -3), -1 timestamps
  (now), \\r\\n, blank lines, a last line without \\n: every counter
  moves exactly as expected, every good line between the bad ones is
  stored, refusals are logged once.
- rules: priority order, ties by pattern, unanchored and (?i) regular
  expressions, a second batch into the series the first created (a
  changed rule does not touch them), a rule added later for a path
  dropped before.
- failure: a batch that cannot be written (rrd.series locked beyond
  lock_timeout) is rolled back whole, its lines counted in lines_failed,
  its refusals still counted, and logged; the same lines sent again are
  all stored.
- limit: pg_rrd.graphite_max_connections = 3 on reload: of 5 senders the
  first 3 are served, 2 closed and counted; after a reset 5 are served.
- fairness: 8 senders of 60,000 lines each, all sent at once: when the
  first has all its lines stored, every other has at least a quarter of
  its own (each sender writes a new block of series every 150 steps, and
  the blocks' creation times, their batches' transaction times, date each
  sender's progress).
- pressure: one sender of 2,000,000 lines as fast as it can: all arrive;
  the listener's VmRSS stays under 300 MB (sampled every 20 ms); when
  the sender's last write returns, no more lines are in flight than the
  sockets' buffers and a batch hold (the listener does not read ahead of
  what it writes). Prints the rate of the first million lines and of all.
- crash: kill -9 of the postmaster and all its processes during a stream
  of 1,000,000 lines; after the restart the lines lines_accepted counted
  are exactly a prefix of the stream, and exactly what the series hold;
  rrd.verify() lists no problem.
- collectd: a real collectd (Interval 1; cpu, load, memory, interface;
  write_graphite to the listener and to a receiver of the test's own) for
  15 s, a rule for ^collectd\\. with a 1 s step: the series are created,
  every line collectd sent is accounted for (accepted, nan refused as a
  bad value, or refused by its series), and every accepted line's value
  is what rrd.fetch reads at its second.
- reload: pg_rrd.graphite_listen set to PORT+2 and reloaded: the listener
  restarts there (a new process; the old port refuses), and takes lines;
  cleared and reloaded: no listener process, and none comes back.

The listener's process must be the same one from the start to the crash
case, and from the crash case's restart to the reload case (it never
failed and was restarted). Each case prints one summary line; the last
line is "listener: N cases, N failed"; with RELIABILITY_DIR set, each
case's line (checks, failures, summary) goes to
$RELIABILITY_DIR/listener.json. Exit status 1 on any failure; the cluster's
folder is then left behind (stopped) for a look at server.log.
"""

import argparse
import collections
import datetime
import json
import math
import os
import random
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

import pgcluster
from pgcluster import ROOT, fresh_db, run_case

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
LISTENER = "pg_rrd graphite listener"
META = {"created_by": "pg_rrd graphite listener"}
COUNTERS = ["lines_accepted", "refused_malformed", "refused_bad_path", "refused_bad_value",
            "refused_bad_time", "refused_too_long", "refused_by_series", "dropped_no_rule",
            "series_created", "lines_failed", "batches", "connections_accepted",
            "connections_refused"]
# rrd_core::line::MAX_LINE: a name at the limit (8192 bytes) and 128 more.
MAX_NAME = 8192
MAX_LINE = MAX_NAME + 128


def ts(us):
    return EPOCH + datetime.timedelta(microseconds=us)


def secs_text(us):
    """Seconds since 1970 as a line writes them: integer, or with 6 decimals."""
    return str(us // 1_000_000) if us % 1_000_000 == 0 else f"{us // 1_000_000}.{us % 1_000_000:06d}"


# ---------------------------------------------------------------- the cluster

class Cluster(pgcluster.Cluster):
    def connect(self, dbname="pg_rrd", autocommit=True):
        # Another build may be reinstalling the extension: a refused first connection is retried.
        for attempt in range(20):
            try:
                return super().connect(dbname, autocommit)
            except psycopg.OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.5)


def rss_kb(pid):
    """(VmRSS, RssAnon) of a process in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    return int(fields["VmRSS"].split()[0]), int(fields["RssAnon"].split()[0])


# ---------------------------------------------------------------- results

class Case(pgcluster.Case):
    def note(self, msg):
        self.notes.append(msg)
        print(f"  {self.name}: {msg}", flush=True)

    def check(self, cond, msg):
        self.count("checks")
        return super().check(cond, msg)

    def summary(self, secs):
        tried = ", ".join(f"{v} {k}" for k, v in self.tried.items()) or "nothing"
        verified = f"; {self.verified()}" if self.verify_runs else ""
        return f"listener {self.name}: {tried}{verified}; {len(self.failures)} failures ({secs:.1f} s)"


# ---------------------------------------------------------------- helpers

def stats(conn):
    return dict(conn.execute("SELECT counter, value FROM rrd.listener_stats()").fetchall())


def grown(before, after):
    return {k: after[k] - before[k] for k in COUNTERS}


def wait_stats(conn, before, pred, timeout):
    """Polls the counters until pred(growth since `before`) holds, or the
    timeout: returns the last counters read."""
    deadline = time.time() + timeout
    while True:
        now = stats(conn)
        if pred(grown(before, now)) or time.time() > deadline:
            return now
        time.sleep(0.05)


def settle(conn, before, want, timeout=30):
    """Waits until the counters grew exactly by `want` (names absent: 0;
    value None: any), then a little longer (refusals read after the last
    batch are committed within a second), and returns the growth."""
    def matches(g):
        return all(want.get(k, 0) is None or g[k] == want.get(k, 0) for k in COUNTERS)
    wait_stats(conn, before, matches, timeout)
    time.sleep(1.3)
    return grown(before, stats(conn))


def check_growth(case, got, want, what):
    for k in COUNTERS:
        w = want.get(k, 0)
        if w is None:
            continue
        case.check(got[k] == w, f"{what}: {k} grew by {got[k]}, expected {w}")


def listener_pids(conn):
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = %s ORDER BY pid", (LISTENER,))]


def wait_listener(ctx, port, timeout=30, other_than=None, found=None):
    """Waits for one listener process (not `other_than`) and for `port` to
    take connections; returns the pid or None (and the time it was seen
    in found[0])."""
    deadline = time.time() + timeout
    conn = ctx.cluster.connect()
    try:
        while time.time() < deadline:
            pids = [p for p in listener_pids(conn) if p != other_than]
            if len(pids) == 1 and port_open(port):
                if found is not None:
                    found.append(time.time())
                # That connection is counted with the listener's next commit, within a second:
                # done before the caller reads the counters.
                time.sleep(1.5)
                return pids[0]
            time.sleep(0.1)
        return None
    finally:
        conn.close()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def send(port, data, rng=None, chunk=4096, pauses=(), close=True):
    """Sends `data` on a new connection, cut at random byte positions
    (chunks of 1..chunk bytes) when `rng` is given, sleeping where the
    byte offsets of `pauses` ((offset, seconds), ascending) fall."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    pos = 0
    pauses = list(pauses)
    while pos < len(data):
        end = len(data) if rng is None else min(len(data), pos + rng.randint(1, chunk))
        if pauses and end > pauses[0][0] > pos:
            end = pauses[0][0]
        s.sendall(data[pos:end])
        pos = end
        if pauses and pos >= pauses[0][0]:
            time.sleep(pauses.pop(0)[1])
    if close:
        s.close()
    return s


def set_conf(ctx, **settings):
    """ALTER SYSTEM SET (value None: RESET) and reload."""
    conn = ctx.cluster.connect("postgres")
    for k, v in settings.items():
        if v is None:
            conn.execute(f"ALTER SYSTEM RESET pg_rrd.{k}")
        else:
            conn.execute(f"ALTER SYSTEM SET pg_rrd.{k} = '{v}'")
    conn.execute("SELECT pg_reload_conf()")
    conn.close()
    # The listener reads the files when it next looks at its signals: at
    # most a second later, its poll timeout.
    time.sleep(1.5)


def add_rules(conn, rules):
    for pattern, definition, priority in rules:
        conn.execute("INSERT INTO rrd.graphite_schemas (pattern, definition, priority) VALUES (%s, %s, %s)",
                     (pattern, definition, priority))


def check_same_listener(ctx, case):
    conn = ctx.cluster.connect()
    pids = listener_pids(conn)
    conn.close()
    case.check(pids == [ctx.listener_pid],
               f"the listener's process changed: was {ctx.listener_pid}, now {pids} (it failed and was restarted)")


# ---------------------------------------------------------------- replay

REPLAY_DEFS = {
    "g": "--step 10 DS:v:GAUGE:20:-50:50 RRA:AVERAGE:0.5:1:300 RRA:MAX:0.5:3:100 RRA:LAST:0.5:1:300 "
         "RRA:MIN:0.5:6:50",
    "c": "--step 10 DS:v:COUNTER:20:0:U RRA:AVERAGE:0.5:1:300 RRA:MAX:0.5:3:100",
    "d": "--step 5 DS:v:DERIVE:12:U:U RRA:AVERAGE:0.5:1:600 RRA:LAST:0.5:4:150",
}
REPLAY_CFS = {"g": ["AVERAGE", "MAX", "LAST", "MIN"], "c": ["AVERAGE", "MAX"], "d": ["AVERAGE", "LAST"]}
REPLAY_BASE = 1_600_000_000


def replay_points(rng, n_series, n_points):
    """{name: [(t_us, value text)]} in time order."""
    out = {}
    for i in range(n_series):
        kind = "gcd"[i % 3]
        name = f"ora.{kind}.h{i // 25}.m{i % 25}"
        fractional = rng.random() < 0.5
        t = REPLAY_BASE * 1_000_000 + (rng.randrange(30_000_000) if fractional else rng.randrange(30) * 1_000_000)
        level = rng.randrange(0, 1_000_000)
        pts = []
        for _ in range(n_points):
            if kind == "g":
                x = rng.uniform(-60, 60)
                text = rng.choice([repr(x), f"{x:.3f}", f"{x:.2e}", str(int(x))])
            elif kind == "c":
                level = rng.randrange(1000) if rng.random() < 0.07 else level + rng.randrange(100_000)
                text = str(level)
            else:
                level += rng.randrange(-5000, 5000)
                text = str(level)
            pts.append((t, text))
            if fractional:
                t += rng.choice([10_000_000, 10_000_000, 5_000_000, 7_500_000, 12_250_000, 25_000_000,
                                 1_000, 3_333_333])
            else:
                t += rng.choice([10, 10, 10, 5, 25, 1, 30]) * 1_000_000
        out[name] = pts
    return out


def line_bytes(rng, name, value, t_text):
    sep = lambda: rng.choice([" ", " ", " ", " ", " ", " ", " ", "\t", "  ", " \t "])  # noqa: E731
    end = "\r\n" if rng.random() < 0.2 else "\n"
    blank = rng.choice(["\n", "  \n", "\r\n"]) if rng.random() < 0.02 else ""
    return f"{blank}{name}{sep()}{value}{sep()}{t_text}{end}".encode()


def snapshot(conn, kinds):
    """Every read of every series: {(read, name): text}."""
    out = {}
    for kind, names in kinds.items():
        for cf in REPLAY_CFS[kind]:
            for res in ("NULL", "interval '30 s'"):
                rows = conn.execute(
                    "SELECT n, (SELECT string_agg(extract(epoch FROM f.t) || '=' || coalesce(f.v::text, '-'), ' ' "
                    "ORDER BY f.t) FROM rrd.fetch(n, %s, rrd.last(n) - interval '1 hour', rrd.last(n) + interval "
                    f"'1 minute', resolution => {res}) f) FROM unnest(%s::text[]) AS n", (cf, names)).fetchall()
                for n, v in rows:
                    out[(f"fetch {cf} {res}", n)] = v
        rows = conn.execute(
            "SELECT n, (SELECT extract(epoch FROM l.t) || '=' || l.value FROM rrd.lastupdate(n) l), "
            "(rrd.info(n) - 'id')::text FROM unnest(%s::text[]) AS n", (names,)).fetchall()
        for n, last, info in rows:
            out[("lastupdate", n)] = last
            out[("info", n)] = info
    return out


def compare(case, got, want, what):
    diffs = [k for k in want if got.get(k) != want[k]]
    case.count(f"reads compared ({what})", len(want))
    for k in diffs[:5]:
        case.fail(f"{what}: {k[0]} of {k[1]}: listener {str(got.get(k))[:300]!r}, replay {str(want[k])[:300]!r}")
    if len(diffs) > 5:
        case.fail(f"{what}: {len(diffs)} reads differ in all")


def case_replay(ctx, case):
    rng = random.Random(ctx.seed)
    conn = ctx.cluster.connect()
    add_rules(conn, [(rf"^ora\.{k}\.", d, 0) for k, d in REPLAY_DEFS.items()])
    set_conf(ctx, graphite_batch=700)
    series = replay_points(rng, 500, 20)
    n_lines = sum(len(p) for p in series.values())
    # Each series on one connection, in time order; series shuffled together.
    streams = [[] for _ in range(4)]
    for name, pts in series.items():
        streams[rng.randrange(4)].append(collections.deque((name, p) for p in pts))
    datas = []
    for queues in streams:
        out = []
        while queues:
            q = queues[rng.randrange(len(queues))]
            name, (t, text) = q.popleft()
            out.append(line_bytes(rng, name, text, secs_text(t)))
            if not q:
                queues.remove(q)
        datas.append(b"".join(out))
    before = stats(conn)
    threads = []
    for data in datas:
        cuts = sorted(rng.sample(range(1, len(data)), 2))
        th = threading.Thread(target=send, args=(ctx.gport, data, random.Random(rng.random()), 3000,
                                                 [(cuts[0], 1.2), (cuts[1], 1.2)]))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    case.count("lines", n_lines)
    g = settle(conn, before, {"lines_accepted": n_lines, "series_created": len(series), "batches": None,
                              "connections_accepted": 4}, timeout=60)
    check_growth(case, g, {"lines_accepted": n_lines, "series_created": len(series), "batches": None,
                           "connections_accepted": 4}, "replay")
    case.check(g["batches"] >= math.ceil(n_lines / 700),
               f"pg_rrd.graphite_batch = 700: {n_lines} lines were written in {g['batches']} batches, fewer "
               f"than {math.ceil(n_lines / 700)}: batches took more lines than the setting allows")
    case.note(f"{n_lines} lines in {g['batches']} batches with pg_rrd.graphite_batch = 700")
    set_conf(ctx, graphite_batch=None)
    # The replay: the same points, one rrd.update(name, t, v) at a time, into series created as the
    # listener creates them (start a second before the first point, the same meta).
    ora = fresh_db(ctx.cluster, "replay")
    for name, pts in series.items():
        ora.execute("SELECT rrd.create(%s, %s, start => to_timestamp(%s), meta => %s::jsonb)",
                    (name, REPLAY_DEFS[name.split(".")[1]], pts[0][0] // 1_000_000 - 1, json.dumps(META)))
    with ora.cursor() as cur:
        with ora.transaction():
            cur.executemany("SELECT rrd.update(%s::text, %s::timestamptz, %s::float8)",
                            [(name, ts(t), float(text)) for name, pts in series.items() for t, text in pts])
    kinds = {k: [n for n in series if n.split(".")[1] == k] for k in "gcd"}
    want = snapshot(ora, kinds)
    compare(case, snapshot(conn, kinds), want, "before rrd.flush()")
    conn.execute("SELECT rrd.flush()")
    compare(case, snapshot(conn, kinds), want, "after rrd.flush()")
    ora.close()
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- counters

def case_counters(ctx, case):
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^cnt\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:100", 0),
                     (r"^cnt\.ctr\.", "--step 10 DS:v:COUNTER:20:U:U RRA:LAST:0.5:1:100", 1)])
    T = 1_650_000_000
    seq = []          # (bytes, what): what is a counter, "ignored" or "lines_accepted"
    good = {}         # name -> (t_us, value) its last point should be
    n_good = [0]

    def add(raw, what, name=None, t_us=None, value=None):
        seq.append((raw, what))
        if what == "lines_accepted" and name is not None:
            good[name] = (t_us, value)

    def good_line():
        i = n_good[0]
        n_good[0] += 1
        name = f"cnt.good.g{i}"
        add(f"{name} {i}.5 {T + i}\n".encode(), "lines_accepted", name, (T + i) * 1_000_000, i + 0.5)

    bad = []
    for raw in [b"cnt.m", b"cnt.m 1", b"cnt.m 1 2 3", b"cnt.m\t1", b"  cnt.m   1  ", b"cnt.m 1 2 3 4 5"]:
        bad.append((raw + b"\n", "refused_malformed"))
    for v in [b"nan", b"NaN", b"inf", b"-inf", b"1e999", b"0x1f", b"1,5", b"U", b"-", b"1.2.3"]:
        bad.append((b"cnt.v " + v + b" %d\n" % T, "refused_bad_value"))
    for t in [b"-2", b"abc", b"99999999999999", b"nan", b"1e20", b"-1.5", b"N", b"1700000000x"]:
        bad.append((b"cnt.t 1 " + t + b"\n", "refused_bad_time"))
    for p in [b"cnt.\xff\xfe", b"cnt.\xc3", b"cnt.a\x01b", b"cnt.a\x7fb", b"cnt." + b"p" * (MAX_NAME - 3)]:
        bad.append((p + b" 1 %d\n" % T, "refused_bad_path"))
    for raw in [b"cnt.long." + b"a" * 9000 + b" 1 %d" % T,
                b"cnt.pad" + b" " * (MAX_LINE + 1 - len(b"cnt.pad 1 %d" % T)) + b" 1 %d" % T,
                b"cnt.huge " + b"9" * 100_000 + b" %d" % T]:
        bad.append((raw + b"\n", "refused_too_long"))
    for raw in [b"norule.a 1 %d" % T, b"norule.a 2 %d" % (T + 10), b"norule.b 1 %d" % T]:
        bad.append((raw + b"\n", "dropped_no_rule"))
    rng = random.Random(ctx.seed + 1)
    rng.shuffle(bad)
    for raw, what in bad:
        add(raw, what)
        good_line()
    for _ in range(3):
        for raw in [b"\n", b"   \n", b"\r\n", b"\t\n"]:
            add(raw, "ignored")
        good_line()
    # Refused by their series, in one batch.
    add(b"cnt.ooo 1 %d\n" % (T + 20), "lines_accepted")
    add(b"cnt.ooo 2 %d\n" % (T + 10), "refused_by_series")
    add(b"cnt.ooo 3 %d\n" % (T + 20), "refused_by_series")
    add(b"cnt.ooo 4 %d\n" % (T + 30), "lines_accepted", "cnt.ooo", (T + 30) * 1_000_000, 4)
    good_line()
    add(b"cnt.ctr.a 100 %d\n" % T, "lines_accepted")
    add(b"cnt.ctr.a 7.5 %d\n" % (T + 10), "refused_by_series")
    add(b"cnt.ctr.a -3 %d\n" % (T + 20), "refused_by_series")
    add(b"cnt.ctr.a 200 %d\n" % (T + 30), "lines_accepted", "cnt.ctr.a", (T + 30) * 1_000_000, 200)
    good_line()
    # Edges that are accepted.
    exact = b"cnt.pad8320 5" + b" " * (MAX_LINE - len(b"cnt.pad8320 5 %d" % T)) + b" %d" % T
    assert len(exact) == MAX_LINE
    add(exact + b"\n", "lines_accepted", "cnt.pad8320", T * 1_000_000, 5)
    long_name = "cnt." + "q" * (MAX_NAME - 4)
    add(f"{long_name} 6 {T}\n".encode(), "lines_accepted", long_name, T * 1_000_000, 6)
    add(b"cnt.crlf 7 %d\r\n" % T, "lines_accepted", "cnt.crlf", T * 1_000_000, 7)
    add(b"cnt.frac 1.25 %d.75\n" % T, "lines_accepted", "cnt.frac", T * 1_000_000 + 750_000, 1.25)
    add(b"cnt.exp -1e3 1.65e9\n", "lines_accepted", "cnt.exp", 1_650_000_000 * 1_000_000, -1000)
    add(b"cnt.now.a 5 -1\n", "lines_accepted")
    add(b"cnt.now.b 6 -1\r\n", "lines_accepted")
    good_line()
    add(b"cnt.last 9 %d" % T, "lines_accepted", "cnt.last", T * 1_000_000, 9)
    data = b"".join(raw for raw, _ in seq)
    want = collections.Counter(what for _, what in seq if what != "ignored")
    # Refused by its series across batches: sent on a second connection after the first is stored.
    late = [(b"cnt.ooo 5 %d\n" % (T + 25), "refused_by_series"), (b"cnt.ooo 6 %d\n" % (T + 40), "lines_accepted")]
    created = {raw.split()[0] for raw, what in seq + late if what in ("lines_accepted", "refused_by_series")}
    want["series_created"] = len(created)
    want["connections_accepted"] = 2
    want["batches"] = None

    log_from = ctx.cluster.log_size()
    before = stats(conn)
    t_sent = time.time()
    send(ctx.gport, data, rng, 3000)
    first = sum(1 for _, w in seq if w == "lines_accepted")
    wait_stats(conn, before, lambda g: g["lines_accepted"] >= first, 30)
    t_stored = time.time()
    send(ctx.gport, b"".join(raw for raw, _ in late))
    for _, what in late:
        want[what] += 1
    good["cnt.ooo"] = ((T + 40) * 1_000_000, 6)
    g = settle(conn, before, want)
    case.count("lines", len(seq) + len(late))
    check_growth(case, g, want, "counters")
    rows = dict((n, (t, v)) for n, t, v in conn.execute(
        "SELECT n, (SELECT l.t FROM rrd.lastupdate(n) l), (SELECT l.value FROM rrd.lastupdate(n) l) "
        "FROM unnest(%s::text[]) AS n WHERE EXISTS (SELECT 1 FROM rrd.series s WHERE s.name = n)",
        (list(good) + ["cnt.now.a", "cnt.now.b"],)).fetchall())
    lost = [n for n in good if n not in rows]
    case.check(not lost, f"good lines lost (no series): {[n[:40] for n in lost][:8]}")
    for name, (t_us, value) in good.items():
        if name in rows:
            t, v = rows[name]
            case.check(t == ts(t_us) and float(v) == value,
                       f"{name[:40]}: last update {t} = {v}, expected {ts(t_us)} = {value}")
    for name, value in (("cnt.now.a", 5), ("cnt.now.b", 6)):
        t, v = rows.get(name, (None, None))
        case.check(t is not None and t_sent - 2 <= t.timestamp() <= t_stored + 2 and float(v) == value,
                   f"{name}: a -1 line was stored at {t} = {v}, expected about now ({ts(int(t_sent * 1e6))}) = {value}")
    odd = conn.execute(r"SELECT count(*) FROM rrd.series WHERE name ~ '[\r\n\t ]'").fetchone()[0]
    case.check(odd == 0, f"{odd} series names with a blank or \\r in them")
    # Refusals are logged at most every 10 s: all of these in one line.
    logged = len(re.findall(r"pg_rrd graphite listener: refused_", ctx.cluster.log(log_from)))
    if time.time() - t_sent < 9:
        case.check(logged == 1, f"{logged} log lines about refused lines within 10 s, expected 1")
    refused = sum(want[k] for k in COUNTERS if k.startswith(("refused", "dropped")))
    case.note(f"{want['lines_accepted']} lines stored, {refused} refused or dropped, {logged} log line(s)")
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- rules

def case_rules(ctx, case):
    conn = ctx.cluster.connect()
    d = {k: f"--step {s} DS:v:GAUGE:{2 * s}:U:U RRA:AVERAGE:0.5:1:{rows}"
         for k, s, rows in [("A", 10, 10), ("A2", 10, 11), ("B", 5, 12), ("C", 20, 13), ("D", 10, 14),
                            ("E", 10, 15), ("F", 10, 16), ("G", 10, 17), ("X", 10, 18)]}
    add_rules(conn, [(r"^rule\.", d["A"], 0), (r"^rule\.hi\.", d["B"], 10), (r"^rule\.(x|y)\.[0-9]+$", d["C"], 5),
                     (r"^tie\.a", d["E"], 3), (r"^tie\.", d["D"], 3), (r"(?i)^mixed\.", d["F"], 0),
                     (r"\.unanchored\.", d["G"], 0)])
    T = 1_660_000_000
    expect = {"rule.a": "A", "rule.hi.a": "B", "rule.x.12": "C", "rule.y.7": "C", "rule.x.12a": "A",
              "rule.hi.x.1": "B", "tie.a.b": "D", "tie.b": "D", "MiXeD.q": "F", "zz.unanchored.q": "G",
              "rule.unanchored.q": "G"}
    dropped = ["rulex.a", "ruleXa", "tie", "unanchored.q"]
    data = b"".join(f"{p} 1 {T}\n".encode() for p in list(expect) + dropped)
    before = stats(conn)
    send(ctx.gport, data)
    g = settle(conn, before, {"lines_accepted": len(expect), "series_created": len(expect),
                              "dropped_no_rule": len(dropped), "batches": None, "connections_accepted": 1})
    check_growth(case, g, {"lines_accepted": len(expect), "series_created": len(expect),
                           "dropped_no_rule": len(dropped), "batches": None, "connections_accepted": 1}, "first batch")

    def check_defs(expect, what):
        got = dict(conn.execute(
            "SELECT s.name, s.def::text = (%s::jsonb ->> s.name)::rrd.rrd::text FROM rrd.series s "
            "WHERE s.name = ANY(%s)", (json.dumps({p: d[k] for p, k in expect.items()}), list(expect))).fetchall())
        for p, k in expect.items():
            case.check(got.get(p) is True, f"{what}: {p} created with the wrong definition, or not at all "
                                           f"(expected rule {k}: {d[k]})")
        metas = conn.execute("SELECT count(*) FROM rrd.series WHERE name = ANY(%s) AND meta = %s::jsonb",
                             (list(expect), json.dumps(META))).fetchone()[0]
        case.check(metas == len(expect), f"{what}: {len(expect) - metas} series without meta {META}")
        case.count("paths", len(expect))

    check_defs(expect, "first batch")
    # A second batch: the series made by the first take the points, whatever the rules say now.
    conn.execute(r"UPDATE rrd.graphite_schemas SET definition = %s WHERE pattern = '^rule\.'", (d["A2"],))
    add_rules(conn, [(r"^rulex\.", d["X"], 0)])
    data = b"".join(f"{p} 2 {T + 10}\n".encode() for p in expect) + f"rule.b 1 {T}\nrulex.a 1 {T}\n".encode()
    before = stats(conn)
    send(ctx.gport, data)
    g = settle(conn, before, {"lines_accepted": len(expect) + 2, "series_created": 2, "batches": None,
                              "connections_accepted": 1})
    check_growth(case, g, {"lines_accepted": len(expect) + 2, "series_created": 2, "batches": None,
                           "connections_accepted": 1}, "second batch")
    check_defs(dict(expect, **{"rule.b": "A2", "rulex.a": "X"}), "second batch")
    n = conn.execute("SELECT count(*) FROM unnest(%s::text[]) AS p, rrd.lastupdate(p) l "
                     "WHERE l.t = to_timestamp(%s) AND l.value = '2'", (list(expect), T + 10)).fetchone()[0]
    case.check(n == len(expect), f"second batch: {len(expect) - n} of the first batch's series missed their point")
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- failure

def case_failure(ctx, case):
    """A batch that fails (here: rrd.series locked past lock_timeout) is
    rolled back whole, counted in lines_failed with its refusals kept, and
    the listener goes on."""
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^failed\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:10", 0)])
    admin = ctx.cluster.connect("postgres")
    admin.execute("ALTER SYSTEM SET lock_timeout = '300ms'")
    admin.execute("SELECT pg_reload_conf()")
    time.sleep(1.5)
    data = b"failed.a 1 1710000000\nfailed.b 2 1710000000\nfailed.a 3 1710000010\nnot a line at all\n"
    try:
        before = stats(conn)
        locker = ctx.cluster.connect(autocommit=False)
        locker.execute("LOCK TABLE rrd.series IN ACCESS EXCLUSIVE MODE")
        send(ctx.gport, data)
        g = settle(conn, before, {"lines_failed": 3, "refused_malformed": 1, "connections_accepted": 1}, timeout=15)
        locker.rollback()
        locker.close()
        check_growth(case, g, {"lines_failed": 3, "refused_malformed": 1, "connections_accepted": 1},
                     "a batch that failed")
        ctx.batch_failures += 1
        before = stats(conn)
        send(ctx.gport, data)
        g = settle(conn, before, {"lines_accepted": 3, "series_created": 2, "batches": 1, "refused_malformed": 1,
                                  "connections_accepted": 1})
        check_growth(case, g, {"lines_accepted": 3, "series_created": 2, "batches": 1, "refused_malformed": 1,
                               "connections_accepted": 1}, "the same lines once the lock is gone")
        last = conn.execute("SELECT extract(epoch FROM t)::bigint, value FROM rrd.lastupdate('failed.a')").fetchone()
        case.check(last == (1710000010, "3"), f"failed.a: last update {last}")
    finally:
        admin.execute("ALTER SYSTEM RESET lock_timeout")
        admin.execute("SELECT pg_reload_conf()")
        admin.close()
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- limit

def served(socks):
    """For each socket, whether the listener kept it open (a closed one
    reads b'' or a reset within the wait)."""
    time.sleep(0.5)
    readable, _, _ = select.select(socks, [], [], 0)
    out = []
    for s in socks:
        if s not in readable:
            out.append(True)
            continue
        try:
            out.append(s.recv(1) != b"")
        except OSError:
            out.append(False)
    return out


def case_limit(ctx, case):
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^limit\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:10", 0)])
    set_conf(ctx, graphite_max_connections=3)
    before = stats(conn)
    socks = []
    for _ in range(5):
        socks.append(socket.create_connection(("127.0.0.1", ctx.gport), timeout=5))
        time.sleep(0.2)
    open_ = served(socks)
    case.check(open_ == [True, True, True, False, False],
               f"pg_rrd.graphite_max_connections = 3: of 5 senders, served {open_}, expected the first 3")
    T = 1_670_000_000
    for i, s in enumerate(socks[:3]):
        s.sendall(f"limit.c{i} {i} {T}\n".encode())
        s.close()
    for s in socks[3:]:
        s.close()
    g = settle(conn, before, {"lines_accepted": 3, "series_created": 3, "batches": None,
                              "connections_accepted": 3, "connections_refused": 2})
    check_growth(case, g, {"lines_accepted": 3, "series_created": 3, "batches": None,
                           "connections_accepted": 3, "connections_refused": 2}, "3 of 5 served")
    set_conf(ctx, graphite_max_connections=None)
    before = stats(conn)
    socks = [socket.create_connection(("127.0.0.1", ctx.gport), timeout=5) for _ in range(5)]
    open_ = served(socks)
    case.check(all(open_), f"after RESET, of 5 senders served {open_}")
    for i, s in enumerate(socks):
        s.sendall(f"limit.d{i} {i} {T}\n".encode())
        s.close()
    g = settle(conn, before, {"lines_accepted": 5, "series_created": 5, "batches": None, "connections_accepted": 5})
    check_growth(case, g, {"lines_accepted": 5, "series_created": 5, "batches": None, "connections_accepted": 5},
                 "after RESET")
    case.count("connections", 10)
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- fairness

def case_fairness(ctx, case):
    """Each sender's lines go to a new block of series every 150 steps: the
    creation time of a block (its batch's transaction) dates that sender's
    progress, with no sampling."""
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^fair\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:10", 0)])
    K, B, S, P, T = 8, 20, 20, 150, 1_680_000_000
    N = B * S * P
    datas = [b"".join(b"fair.c%d.b%d.s%d %d %d\n" % (k, b, i, j, T + 10 * (b * P + j))
                      for b in range(B) for j in range(P) for i in range(S)) for k in range(K)]
    before = stats(conn)
    socks = [socket.create_connection(("127.0.0.1", ctx.gport), timeout=120) for _ in range(K)]
    threads = [threading.Thread(target=lambda s, d: (s.sendall(d), s.close()), args=(s, d))
               for s, d in zip(socks, datas)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    g = settle(conn, before, {"lines_accepted": K * N, "series_created": K * B * S, "batches": None,
                              "connections_accepted": K}, timeout=120)
    check_growth(case, g, {"lines_accepted": K * N, "series_created": K * B * S, "batches": None,
                           "connections_accepted": K}, f"{K} senders")
    case.count("lines", K * N)
    rows = conn.execute(
        "SELECT split_part(name, '.', 2), split_part(name, '.', 3), min(created) FROM rrd.series "
        "WHERE name LIKE 'fair.%' GROUP BY 1, 2").fetchall()
    blocks = collections.defaultdict(list)
    for c, _, created in rows:
        blocks[int(c[1:])].append(created)
    if case.check(len(blocks) == K and all(len(v) == B for v in blocks.values()),
                  f"blocks of series by sender: {sorted((k, len(v)) for k, v in blocks.items())}"):
        first = min(max(v) for v in blocks.values())
        frac = [round(sum(1 for t in blocks[k] if t <= first) / B, 2) for k in range(K)]
        spread = (max(max(v) for v in blocks.values()) - min(min(v) for v in blocks.values())).total_seconds()
        case.note(f"{K} senders of {N} lines, {spread:.1f} s from the first block to the last: when the first "
                  f"sender's last block was written, the senders (in connection order) had {frac} of theirs")
        case.check(min(frac) >= 0.25, f"{K} senders at full speed: when one had all its {N} lines stored, another "
                                      f"had {min(frac):.0%} of its own (in connection order: {frac})")
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- pressure

def case_pressure(ctx, case):
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^pressure\.", "--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1200", 0)])
    N, S, T = ctx.args.pressure_lines, 2000, 1_690_000_000
    data = b"".join(b"pressure.h%04d.cpu.user %d %d\n" % (i % S, i % 997, T + 10 * (i // S)) for i in range(N))
    shortest = len(b"pressure.h0000.cpu.user 0 1690000000\n")
    pid = ctx.listener_pid
    base = stats(conn)["lines_accepted"]
    samples = []      # (VmRSS, RssAnon)
    marks = {}
    done = threading.Event()

    def sample_rss():
        while not done.is_set():
            r = rss_kb(pid)
            if r:
                samples.append(r)
            time.sleep(0.02)

    def watch():
        c = ctx.cluster.connect()
        while not done.is_set():
            n = c.execute("SELECT value FROM rrd.listener_stats() "
                          "WHERE counter = 'lines_accepted'").fetchone()[0] - base
            now = time.time()
            for m in (1_000_000, N):
                if n >= m and m not in marks:
                    marks[m] = now
            if n >= N:
                break
            time.sleep(0.05)
        c.close()

    rss0 = rss_kb(pid)
    threads = [threading.Thread(target=sample_rss), threading.Thread(target=watch)]
    for th in threads:
        th.start()
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", ctx.gport), timeout=300)
    sndbuf = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    s.sendall(data)
    t_sent = time.time()
    at_sent = stats(conn)["lines_accepted"] - base
    s.close()
    deadline = time.time() + 180
    while N not in marks and time.time() < deadline:
        time.sleep(0.05)
    done.set()
    for th in threads:
        th.join()
    case.count("lines", N)
    time.sleep(1.3)
    total = stats(conn)["lines_accepted"] - base
    case.check(total == N, f"{N} lines sent as fast as possible, {total} accepted")
    vm = max(x[0] for x in samples) if samples else 0
    anon = max(x[1] for x in samples) if samples else 0
    case.check(len(samples) > 10, f"only {len(samples)} RSS samples of the listener")
    case.check(vm < 300 * 1024, f"the listener's VmRSS reached {vm / 1024:.0f} MB (bound 300 MB)")

    def sysctl(path):
        with open(path) as f:
            return int(f.read().split()[-1])
    in_flight = max(sndbuf, sysctl("/proc/sys/net/ipv4/tcp_wmem")) + sysctl("/proc/sys/net/ipv4/tcp_rmem")
    bound = (in_flight + 512 * 1024) // shortest + 2 * 50_000
    case.check(N - at_sent <= bound,
               f"when the sender's last write returned, {N - at_sent} lines were not yet stored, more than the "
               f"sockets' buffers ({in_flight} bytes) and two batches hold ({bound} lines): the listener read ahead")
    if 1_000_000 in marks:
        r1 = 1_000_000 / (marks[1_000_000] - t0)
        case.note(f"rate: first 1,000,000 lines stored in {marks[1_000_000] - t0:.1f} s ({r1:,.0f} lines/s)")
    if N in marks:
        case.note(f"rate: all {N:,} lines ({len(data) / 1e6:.0f} MB) stored in {marks[N] - t0:.1f} s "
                  f"({N / (marks[N] - t0):,.0f} lines/s); the sender's last write returned after {t_sent - t0:.1f} s "
                  f"with {N - at_sent:,} lines not yet stored")
    case.note(f"listener memory: VmRSS {rss0[0] / 1024:.0f} MB before, at most {vm / 1024:.0f} MB "
              f"(RssAnon {rss0[1] / 1024:.0f} MB before, at most {anon / 1024:.0f} MB), {len(samples)} samples")
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- crash

def case_crash(ctx, case):
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^crash\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:1100", 0)])
    S, steps, T = 1000, 1000, 1_700_000_000
    lines = [(f"crash.s{i % S}", i // S) for i in range(S * steps)]
    data = b"".join(f"{n} {k} {T + 10 * k}\n".encode() for n, k in lines)
    before = stats(conn)
    conn.close()
    err = []

    def sender():
        try:
            send(ctx.gport, data)
        except OSError as e:
            err.append(e)
    th = threading.Thread(target=sender)
    th.start()
    c = ctx.cluster.connect()
    wait_stats(c, before, lambda g: g["lines_accepted"] >= 20_000, 30)
    c.close()
    time.sleep(random.Random(ctx.seed).uniform(0, 0.1))
    killed = ctx.cluster.kill9()
    th.join()
    ctx.cluster.start()
    pid = wait_listener(ctx, ctx.gport)
    case.check(pid is not None, "no listener after the restart")
    ctx.listener_pid = pid
    conn = ctx.cluster.connect()
    g = grown(before, stats(conn))
    L = g["lines_accepted"]
    case.note(f"kill -9 of {killed} processes with {L} of {len(lines)} lines counted as accepted "
              f"(sender: {err[0].__class__.__name__ if err else 'finished'})")
    case.check(0 < L < len(lines), f"the kill did not fall during the stream ({L} of {len(lines)} accepted)")
    case.check(g["lines_failed"] == 0 and g["refused_by_series"] == 0,
               f"lines failed {g['lines_failed']}, refused {g['refused_by_series']}")
    want = {}
    for n, k in lines[:L]:
        want[n] = k
    got = {n: (t, v) for n, t, v in conn.execute(
        "SELECT s.name, extract(epoch FROM l.t)::bigint, l.value FROM rrd.series s, rrd.lastupdate(s.name) l "
        "WHERE s.name LIKE 'crash.%'").fetchall()}
    case.check(g["series_created"] == len(got),
               f"series_created grew by {g['series_created']}, {len(got)} series exist")
    bad = [n for n in set(want) | set(got) if n not in got or n not in want or
           got[n] != (T + 10 * want[n], str(want[n]))]
    case.count("series checked", len(set(want) | set(got)))
    case.check(not bad, f"after the crash, {len(bad)} series do not end where the {L} counted lines end, e.g. "
                        + "; ".join(f"{n}: stored {got.get(n)}, counted up to {want.get(n)}" for n in sorted(bad)[:4]))
    case.verify(conn, "after the crash")
    conn.close()


# ---------------------------------------------------------------- collectd

COLLECTD_CONF = """\
Hostname "pgrrdtest"
FQDNLookup false
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
AutoLoadPlugin false
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/collectd.log"
</Plugin>
LoadPlugin cpu
LoadPlugin load
LoadPlugin memory
LoadPlugin interface
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "pg_rrd">
    Host "127.0.0.1"
    Port "{port}"
    Protocol "tcp"
    Prefix "collectd."
  </Node>
  <Node "copy">
    Host "127.0.0.1"
    Port "{copy_port}"
    Protocol "tcp"
    Prefix "collectd."
  </Node>
</Plugin>
"""


def case_collectd(ctx, case):
    exe = shutil.which("collectd") or "/usr/sbin/collectd"
    if not case.check(os.path.exists(exe) and os.path.exists("/usr/lib/collectd/write_graphite.so"),
                      "collectd is not installed (bash scripts/install-listener-deps.sh)"):
        return
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^collectd\.", "--step 1 DS:v:GAUGE:5:U:U RRA:LAST:0.5:1:600 RRA:AVERAGE:0.5:2:300", 0)])
    # The same lines as the listener, to a receiver of our own.
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", ctx.gport + 2))
    srv.listen()
    copies = []

    def receive():
        while True:
            try:
                s, _ = srv.accept()
            except OSError:
                return
            buf = bytearray()
            copies.append(buf)

            def read(s=s, buf=buf):
                while True:
                    try:
                        b = s.recv(65536)
                    except OSError:
                        return
                    if not b:
                        return
                    buf.extend(b)
            threading.Thread(target=read, daemon=True).start()
    threading.Thread(target=receive, daemon=True).start()
    work = tempfile.mkdtemp(prefix="pg_rrd-collectd-")
    conf = os.path.join(work, "collectd.conf")
    with open(conf, "w") as f:
        f.write(COLLECTD_CONF.format(dir=work, port=ctx.gport, copy_port=ctx.gport + 2))
    before = stats(conn)
    out = open(os.path.join(work, "collectd.out"), "w")
    proc = subprocess.Popen([exe, "-f", "-C", conf], stdout=out, stderr=subprocess.STDOUT)
    ctx.children.append(proc)
    time.sleep(ctx.args.collectd_seconds)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.close()
    ctx.children.remove(proc)
    time.sleep(0.5)
    srv.close()
    sent = b"".join(bytes(b) for b in copies)
    lines = [x for x in sent.split(b"\n") if x.strip()]
    case.check(len(lines) > 100, f"collectd sent {len(lines)} lines in {ctx.args.collectd_seconds} s")
    # What the listener should have made of each line.
    want = collections.Counter()
    last = {}
    accepted = []
    odd = []
    for raw in lines:
        f = raw.decode("utf-8", "replace").split()
        if len(f) != 3:
            odd.append(raw)
            continue
        path, v, t = f[0], float(f[1]), float(f[2])
        if not math.isfinite(v):
            want["refused_bad_value"] += 1
        elif path in last and t <= last[path]:
            want["refused_by_series"] += 1
        else:
            want["lines_accepted"] += 1
            last[path] = t
            accepted.append((path, t, v))
    case.check(not odd, f"unexpected lines from collectd: {odd[:3]}")
    created = {p for p, _, _ in accepted}
    want["series_created"] = len(created)
    want["batches"] = None
    want["connections_accepted"] = None
    g = settle(conn, before, want)
    check_growth(case, g, want, "collectd")
    case.check(g["connections_accepted"] >= 1, "collectd never connected")
    case.count("lines", len(lines))
    case.count("series", len(created))
    names = {r[0] for r in conn.execute(
        "SELECT name FROM rrd.series WHERE name LIKE 'collectd.%%' AND meta = %s::jsonb", (json.dumps(META),))}
    for n in ["load.load.shortterm", "load.load.midterm", "load.load.longterm", "memory.memory-used",
              "memory.memory-free", "cpu-0.cpu-user", "cpu-0.cpu-idle", "interface-lo.if_octets.rx"]:
        case.check(f"collectd.pgrrdtest.{n}" in names, f"no series collectd.pgrrdtest.{n} (got {len(names)} series)")
    case.check(names == created, f"series created {len(names)}, paths accepted {len(created)}")
    # Every accepted value at its second, in the LAST archive of 1 s.
    whole = [(p, t, v) for p, t, v in accepted if t == int(t)]
    rows = conn.execute(
        "SELECT u.p, u.t, u.v, f.v FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS u(p, t, v) "
        "LEFT JOIN LATERAL (SELECT f.v FROM rrd.fetch(u.p, 'LAST', to_timestamp(u.t - 1), to_timestamp(u.t)) f "
        "WHERE f.t = to_timestamp(u.t)) f ON true",
        ([p for p, _, _ in whole], [t for _, t, _ in whole], [v for _, _, v in whole])).fetchall()
    wrong = [r for r in rows if r[3] is None or abs(r[3] - r[2]) > 1e-9 * max(1.0, abs(r[2]))]
    case.count("values read back", len(rows))
    case.check(not wrong, f"{len(wrong)} of {len(rows)} values collectd sent read back otherwise, e.g. {wrong[:3]}")
    # The last seconds of the load are known.
    load = "collectd.pgrrdtest.load.load.shortterm"
    if load in names:
        vals = [r[0] for r in conn.execute(
            "SELECT f.v FROM rrd.fetch(%s, 'AVERAGE', rrd.last(%s) - interval '6 s', rrd.last(%s), "
            "resolution => interval '1 s') f WHERE f.t <= rrd.last(%s)", (load, load, load, load))]
        case.check(len(vals) >= 5 and all(v is not None for v in vals),
                   f"{load}: the last seconds read {vals}")
    case.note(f"{len(lines)} lines from collectd: {want['lines_accepted']} accepted, "
              f"{want['refused_bad_value']} nan refused (a DERIVE's first reading has no rate), "
              f"{want['refused_by_series']} refused by their series; {len(created)} series")
    shutil.rmtree(work, ignore_errors=True)
    conn.close()
    check_same_listener(ctx, case)


# ---------------------------------------------------------------- reload

def case_reload(ctx, case):
    new_port = ctx.gport + 1
    conn = ctx.cluster.connect()
    add_rules(conn, [(r"^moved\.", "--step 10 DS:v:GAUGE:20:U:U RRA:LAST:0.5:1:10", 0)])
    old = ctx.listener_pid
    t0 = time.time()
    set_conf(ctx, graphite_listen=f"127.0.0.1:{new_port}")
    found = []
    pid = wait_listener(ctx, new_port, timeout=20, other_than=old, found=found)
    case.check(pid is not None, f"no listener on port {new_port} within 20 s of the reload")
    if pid is not None:
        case.note(f"listener moved to port {new_port} {found[0] - t0:.1f} s after the reload (process {old} -> {pid})")
    case.check(not port_open(ctx.gport), f"port {ctx.gport} still takes connections after the move")
    before = stats(conn)
    send(new_port, b"moved.a 1 1710000000\n")
    g = settle(conn, before, {"lines_accepted": 1, "series_created": 1, "batches": 1, "connections_accepted": 1})
    check_growth(case, g, {"lines_accepted": 1, "series_created": 1, "batches": 1, "connections_accepted": 1},
                 f"a line on port {new_port}")
    set_conf(ctx, graphite_listen="")
    deadline = time.time() + 10
    while listener_pids(conn) and time.time() < deadline:
        time.sleep(0.1)
    case.check(not listener_pids(conn), f"a listener process is left 10 s after pg_rrd.graphite_listen was cleared")
    # Longer than the restart time (5 s): it does not come back.
    time.sleep(6)
    pids = listener_pids(conn)
    case.check(not pids and not port_open(new_port),
               f"6 s after the listener stopped: processes {pids}, port {new_port} open: {port_open(new_port)}")
    flush = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_rrd flush'").fetchone()[0]
    case.check(flush == 1, f"{flush} 'pg_rrd flush' workers after the listener stopped")
    conn.close()


# ---------------------------------------------------------------- main

# What each case tries, for its line in docs/reliability.md.
WHAT = {
    "replay": "500 series over 4 shuffled connections against a replay one rrd.update at a time",
    "counters": "every refusal counter moving exactly, every good line between the bad ones stored",
    "rules": "series created by rules in priority and pattern order",
    "failure": "a batch that cannot be written rolled back whole and counted",
    "limit": "the connection limit on reload",
    "fairness": "8 senders at once served in turn",
    "pressure": "2,000,000 lines as fast as one sender can, the listener's memory sampled",
    "crash": "kill -9 during a stream of 1,000,000 lines: what was counted is what is stored",
    "collectd": "a real collectd's write_graphite, every line accounted for",
    "reload": "a reload that moves the listener, and one that stops it",
    "logs": "server.log: no crash, failed batches as counted, refusals logged at most every 10 s",
}
CASES = {"replay": case_replay, "counters": case_counters, "rules": case_rules, "failure": case_failure,
         "limit": case_limit,
         "fairness": case_fairness, "pressure": case_pressure, "crash": case_crash,
         "collectd": case_collectd, "reload": case_reload}


def setup(ctx):
    cl = ctx.cluster
    cl.stop()
    shutil.rmtree(cl.dir, ignore_errors=True)
    cl.start()
    c = cl.connect("postgres")
    c.execute("CREATE DATABASE pg_rrd")
    c.execute("LOAD 'pg_rrd'")
    c.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_rrd'")
    c.execute("ALTER SYSTEM SET pg_rrd.flush_database = 'pg_rrd'")
    c.execute(f"ALTER SYSTEM SET pg_rrd.graphite_listen = '127.0.0.1:{ctx.gport}'")
    c.close()
    cl.restart()
    c = cl.connect()
    c.execute("CREATE EXTENSION pg_rrd")
    c.close()
    pid = wait_listener(ctx, ctx.gport)
    if pid is None:
        raise RuntimeError(f"no listener on port {ctx.gport}:\n{cl.log()[-2000:]}")
    ctx.listener_pid = pid


def check_logs(ctx, case):
    log = ctx.cluster.log()
    for pat in [r"terminated by signal", r"PANIC", r"TRAP:", r"panicked", r"exited with exit code [2-9]",
                r"counters not saved"]:
        hits = re.findall(rf"^.*{pat}.*$", log, flags=re.M)
        case.check(not hits, f"server.log: {hits[:3]}")
    hits = re.findall(r"^.*a batch of \d+ lines failed.*$", log, flags=re.M)
    case.check(len(hits) == ctx.batch_failures, f"server.log: {len(hits)} batches failed, expected "
                                                 f"{ctx.batch_failures}: {hits[:3]}")
    # Refusals are logged at most every 10 s by each listener process.
    seen = collections.defaultdict(list)
    for m in re.finditer(r"^(\S+ \S+) UTC \[(\d+)\] LOG:  pg_rrd graphite listener: refused_", log, flags=re.M):
        seen[m.group(2)].append(datetime.datetime.fromisoformat(m.group(1)))
    for pid, times in seen.items():
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
        case.check(all(g >= 9.9 for g in gaps), f"listener {pid} logged refusals {min(gaps, default=0):.1f} s apart")
    case.count("log lines", log.count("\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "listener"), help="the cluster's folder")
    ap.add_argument("--port", type=int, default=55446, help="PostgreSQL's port; the next three are the listener's")
    ap.add_argument("--seed", type=int, help="random seed (default: new, printed)")
    ap.add_argument("--pressure-lines", type=int, default=2_000_000)
    ap.add_argument("--collectd-seconds", type=float, default=15)
    ap.add_argument("--keep", action="store_true", help="leave the cluster's folder behind")
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    for c in args.cases:
        if c not in CASES:
            ap.error(f"unknown case {c}")

    class Ctx:
        pass
    ctx = Ctx()
    ctx.args = args
    ctx.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    ctx.cluster = Cluster(args.dir, args.port)
    ctx.gport = args.port + 1
    ctx.children = []
    ctx.batch_failures = 0
    print(f"listener: seed {ctx.seed}, cluster {ctx.cluster.dir} on port {args.port}, listener on "
          f"127.0.0.1:{ctx.gport}", flush=True)
    t_all = time.time()
    failed = 0
    try:
        setup(ctx)
        for name in args.cases:
            failed += run_case(CASES[name], ctx, Case(name), suite="listener", what=WHAT.get(name))
        case = Case("logs")
        check_logs(ctx, case)
        line = case.summary(0)
        print(line, flush=True)
        pgcluster.record_case("listener", case, line, WHAT["logs"])
        failed += len(case.failures) > 0
    except Exception as e:  # noqa: BLE001
        print(f"listener: setup failed: {type(e).__name__}: {e}", flush=True)
        failed += 1
    finally:
        for p in ctx.children:
            p.kill()
            p.wait()
        try:
            ctx.cluster.stop()
        except Exception as e:  # noqa: BLE001
            print(f"listener: stopping {ctx.cluster.dir}: {e}", file=sys.stderr)
        if not failed and not args.keep:
            shutil.rmtree(ctx.cluster.dir, ignore_errors=True)
    print(f"listener: {len(args.cases)} cases, {failed} failed ({time.time() - t_all:.1f} s, seed {ctx.seed})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
