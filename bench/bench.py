#!/usr/bin/python3
"""pg_rrd beside a naive table, a tgres-style array schema and RRDtool, on the same data.

`make bench` runs it against a private cluster. It prints one table: for each workload and
contender the load rate, WAL bytes per point, bytes on disk per stored slot and the share of HOT
updates, with ratios against the naive table measured in the same run, then PASS/FAIL against
pg_rrd's targets. Each figure is the median of several runs.

Workloads (docs/performance.md says more):
  W1  one series, 1M points in 10 s steps, sent in one piece
  W2  10,000 series x 100 steps, one point per series per step, each step one statement;
      pg_rrd's rows end with a timed `SELECT rrd.flush()`, so the fold of the journal counts
  W2C W2's series, 30 steps (a 5-minute checkpoint cycle at a 10 s step) right after a CHECKPOINT
  W2L W2 at 100,000 series, 10 steps; the note gives the folding backend's peak RSS
  W3  one point per statement, 2 pgbench clients, each its own series, clock_timestamp() as time
  W4  1,000 series on small rings, several laps past full: does the storage stay flat?
  W5  W2's steps on 2,000 series for several chunk widths (fold included)
  W6  100,000 points of 10 series from a table, in one statement: rrd.update(name, t, v) row by
      row against rrd.update(names[], t[], v[]) over array_agg of the same rows
  L1  W2's points as 1M Graphite plaintext lines sent to the listener over 4 connections, until
      all are committed and folded, beside COPY rrd.points of the same points (the cluster is
      restarted with pg_rrd preloaded and the listener on for this workload only)
  R1  8,640 rows of one series read to the client
  R2  avg() over a year of 10 s data of one series
  R3  one series' ring read while its lane's journal holds ~32,000 pending points, then after
      rrd.flush()

Environment:
  BENCH_RUNS   runs per figure; the median is printed (default 3; 1 in quick mode)
  BENCH_QUICK  1: small scale, for a smoke test in well under a minute (also --quick)
  BENCH_OUT    file for a markdown copy of the output (default bench/results.md; empty: none)
  BENCH_SLOW   seconds: a figure whose first run takes longer is not repeated (default 20)
"""

import argparse
import math
import os
import platform
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from datetime import datetime, timezone

import psycopg
import rrdtool
from psycopg import pq

PGBIN = "/usr/lib/postgresql/15/bin"
DB = "pg_rrd_bench"
T0 = 1577836800  # 2020-01-01 00:00:00 UTC, a multiple of every archive's row width
PG_EPOCH = 946684800  # 2000-01-01, the origin of PostgreSQL's binary timestamps

W1_DEF = "--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:8640 RRA:AVERAGE:0.5:6:10080 RRA:MAX:0.5:360:8784"
W2_DEF = "--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:1440 RRA:MAX:0.5:6:1440"

# Array element and array type oids, for binary parameters.
OID_INT4, OID_TEXT, OID_FLOAT8, OID_TSTZ = 23, 25, 701, 1184
OID_INT4_ARR, OID_TEXT_ARR, OID_FLOAT8_ARR, OID_TSTZ_ARR = 1007, 1009, 1022, 1185


class Scale:
    """Sizes of the workloads; the quick scale only checks that everything runs."""

    def __init__(self, quick):
        self.quick = quick
        self.w1_points = 20_000 if quick else 1_000_000
        self.w1_single = 1_000 if quick else 5_000  # points sent one statement each
        self.w1_insert_rows = 1000  # rows per multi-row INSERT
        self.w2_series = 500 if quick else 10_000
        self.w2_steps = 10 if quick else 100
        self.w2_single_steps = 2 if quick else 5  # steps for the one-call-per-point paths
        self.w2_rrdtool_steps = 5 if quick else 10
        self.w2c_steps = 30  # W2C: a checkpoint cycle of 5 minutes at a 10 s step, in both scales
        self.w2c_history = 270  # steps written before it, untimed
        self.w2l_series = 5_000 if quick else 100_000
        self.w2l_steps = 4 if quick else 10
        self.w6_series = 10
        self.w6_steps = 1_000 if quick else 10_000
        self.r3_series = 128  # one lane
        self.r3_steps = 250  # 32,000 points pending, below the 32,768 at which a writer folds
        self.w3_seconds = 2 if quick else 10
        self.w4_series = 50 if quick else 1000
        self.w4_ring = 60 if quick else 240
        self.w4_laps = 2 if quick else 3
        self.year_points = 50_000 if quick else 365 * 8640
        self.read_seconds = 0.3 if quick else 1.0  # per read figure and run
        self.w5_series = 200 if quick else 2000
        self.w5_steps = 5 if quick else 40
        self.w5_widths = (60, 240, 960) if quick else (60, 240, 480, 960)

    def w4_def(self):
        r = self.w4_ring
        return f"--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:{r} RRA:MAX:0.5:6:{r // 6}"


# --------------------------------------------------------------------------------------------
# Data: deterministic values, the same for every contender.


def gauge(i, phase, rnd):
    """A sine with a day's period plus noise, rounded so text and binary forms are equal."""
    return round(50 + 40 * math.sin((i + phase) * 2 * math.pi / 8640) + rnd.uniform(-5, 5), 4)


def w1_data(n):
    rnd = random.Random(1)
    times = [T0 + 10 * (i + 1) for i in range(n)]
    return times, [gauge(i, 0, rnd) for i in range(n)]


def w2_values(series, steps):
    """values[k][s]: the value of series s at step k."""
    rnd = random.Random(2)
    phases = [rnd.randrange(8640) for _ in range(series)]
    return [[gauge(k, phases[s], rnd) for s in range(series)] for k in range(steps)]


class TsText:
    """Fast ISO text for whole-second UTC times: a day prefix plus a time of day."""

    def __init__(self):
        self.days = {}
        self.tod = ["%02d:%02d:%02d+00" % (s // 3600, s // 60 % 60, s % 60) for s in range(86400)]

    def __call__(self, t):
        d, s = divmod(t, 86400)
        p = self.days.get(d)
        if p is None:
            p = self.days[d] = datetime.fromtimestamp(d * 86400, timezone.utc).strftime("%Y-%m-%dT")
        return p + self.tod[s]


TS = TsText()


def copy_text(keys, times, values):
    """COPY text rows `key<TAB>time<TAB>value`; keys is one key or a list."""
    if isinstance(keys, (str, int)):
        k = str(keys)
        return "".join(f"{k}\t{TS(t)}\t{v}\n" for t, v in zip(times, values)).encode()
    return "".join(f"{k}\t{TS(t)}\t{v}\n" for k, t, v in zip(keys, times, values)).encode()


def insert_statements(table, keys, times, values, per_statement):
    """Multi-row INSERTs of per_statement rows each; keys are SQL literals."""
    if isinstance(keys, (str, int)):
        keys = [keys] * len(times)
    rows = [f"({k},'{TS(t)}',{v})" for k, t, v in zip(keys, times, values)]
    return [
        f"INSERT INTO {table} VALUES {','.join(rows[i:i + per_statement])}".encode()
        for i in range(0, len(rows), per_statement)
    ]


def _fixed_width_array(elem_oid, code, values):
    """PostgreSQL's binary array format for 8-byte elements, built at C speed."""
    n = len(values)
    data = array(code, values)
    if sys.byteorder == "little":
        data.byteswap()
    raw = data.tobytes()
    buf = bytearray(n * 12)
    buf[3::12] = b"\x08" * n  # each element: int32 length 8, then 8 bytes
    for k in range(8):
        buf[4 + k::12] = raw[k::8]
    return struct.pack(">iiiii", 1, 0, elem_oid, n, 1) + bytes(buf)


def bin_float8_array(values):
    return _fixed_width_array(OID_FLOAT8, "d", values)


def bin_tstz_array(times):
    return _fixed_width_array(OID_TSTZ, "q", [(t - PG_EPOCH) * 1_000_000 for t in times])


def bin_int4_array(values):
    n = len(values)
    body = struct.pack(">" + "ii" * n, *[x for v in values for x in (4, v)])
    return struct.pack(">iiiii", 1, 0, OID_INT4, n, 1) + body


def bin_text_array(values):
    parts = [struct.pack(">iiiii", 1, 0, OID_TEXT, len(values), 1)]
    for v in values:
        b = v.encode()
        parts.append(struct.pack(">i", len(b)) + b)
    return b"".join(parts)


def text_array(items):
    return ("{" + ",".join(items) + "}").encode()


def w2_data(prefix, digits, ns, steps):
    """W2's lockstep steps: ns series named prefix.00001..., one point each per step, with each
    step's naive COPY block and binary arrays built."""
    vals = w2_values(ns, steps)
    names = [f"{prefix}.{i:0{digits}d}" for i in range(ns)]
    d = W2(ns=ns, steps=steps, names=names, vals=vals, prefix=prefix, digits=digits)
    d.times = [T0 + 10 * (k + 1) for k in range(steps)]
    ids = list(range(1, ns + 1))
    d.copy_naive = [copy_text(ids, [t] * ns, vals[k]) for k, t in enumerate(d.times)]
    d.bin_names = bin_text_array(names)
    d.bin_ids = bin_int4_array(ids)
    d.bin_ts = [bin_tstz_array([t] * ns) for t in d.times]
    d.bin_vs = [bin_float8_array(v) for v in vals]
    return d


# --------------------------------------------------------------------------------------------
# Talking to the server.


class Db:
    def __init__(self, host, port, dbname):
        self.host, self.port, self.dbname = host, port, dbname

    def connect(self, dbname=None):
        # No server-side prepared statements: runs drop and recreate the extension, and a
        # statement prepared against the old one would name types that are gone.
        return psycopg.connect(host=self.host, port=self.port, user="postgres",
                               dbname=dbname or self.dbname, autocommit=True, prepare_threshold=None)


def q(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def q1(conn, sql, params=None):
    rows = q(conn, sql, params)
    return rows[0][0] if rows else None


def check(res, want):
    if res.status != want:
        raise RuntimeError((res.error_message or b"").decode(errors="replace").strip())
    return res


def run_raw(conn, sql):
    """One statement by the simple protocol; rows stay in libpq (they did reach the client)."""
    res = conn.pgconn.exec_(sql)
    if res.status == pq.ExecStatus.TUPLES_OK:
        return res
    return check(res, pq.ExecStatus.COMMAND_OK)


def run_params(conn, sql, values, types, binary):
    fmt = [1 if binary else 0] * len(values)
    return check(conn.pgconn.exec_params(sql, values, param_types=types, param_formats=fmt),
                 pq.ExecStatus.TUPLES_OK)


def copy_in(conn, sql, data):
    with conn.cursor() as cur, cur.copy(sql) as cp:
        mv = memoryview(data)
        for i in range(0, len(mv), 1 << 20):
            cp.write(mv[i:i + (1 << 20)])


def wal_lsn(conn):
    return q1(conn, "SELECT pg_current_wal_lsn()::text")


def wal_since(conn, lsn):
    return float(q1(conn, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (lsn,)))


def flush_stats(conn):
    """Make this session's table counters visible to others now, not a second later."""
    q(conn, "SELECT pg_stat_force_next_flush()")


def upd_counts(conn, tables):
    rows = q(conn, "SELECT relid::regclass::text, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                   "WHERE relid = ANY (%s::regclass[])", (tables,))
    return {r[0]: (r[1], r[2]) for r in rows}


def settled_counts(conn, tables):
    """Counters once backends that just exited have flushed theirs."""
    last = None
    for _ in range(20):
        cur = upd_counts(conn, tables)
        if cur == last:
            return cur
        last = cur
        time.sleep(0.25)
    return last


def hot_share(before, after, tables):
    """'state 100% / chunk 98%' over the tables that had updates in between."""
    parts = []
    for t in tables:
        u0, h0 = before.get(t, (0, 0))
        u1, h1 = after.get(t, (0, 0))
        if u1 - u0 > 0:
            parts.append((t.split(".")[-1], 100.0 * (h1 - h0) / (u1 - u0)))
    return parts


def schema_bytes(conn, schema):
    return int(q1(conn, "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'S', 'm')",
                  (schema,)))


def proc_memory(pid):
    """kB figures of a process on this machine from /proc/<pid>/status (VmHWM: its peak RSS)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssShmem"):
                    out[key] = int(val.split()[0])
    except OSError:
        return None
    return out


def rrd_ring_slots(conn):
    return int(q1(conn, "SELECT coalesce(sum(a.rows), 0) FROM rrd.series s, rrd.archives(s.def) a"))


# --------------------------------------------------------------------------------------------
# Schemas of the alternatives.

NAIVE_SQL = """
CREATE TABLE {t} (series_id int, t timestamptz, v float8, PRIMARY KEY (series_id, t));
"""

# The tgres design in plain SQL: a small pointer row per series, and the ring as rows of
# float8[240] (STORAGE MAIN, so never TOASTed), preallocated with NaN. Consolidation is the
# caller's (tgres did it in its daemon), so only the finest ring is stored.
TGRES_SQL = """
DROP SCHEMA IF EXISTS tg CASCADE;
CREATE SCHEMA tg;
CREATE TABLE tg.ds (
    id     int PRIMARY KEY,
    name   text NOT NULL UNIQUE,
    step   int NOT NULL,
    size   int NOT NULL,
    width  int NOT NULL,
    last_t timestamptz,
    last_v float8
) WITH (fillfactor = 50);
CREATE TABLE tg.ts (
    ds_id int NOT NULL,
    n     int NOT NULL,
    dp    float8[] NOT NULL,
    PRIMARY KEY (ds_id, n)
) WITH (fillfactor = 60);
ALTER TABLE tg.ts ALTER COLUMN dp SET STORAGE MAIN;

CREATE FUNCTION tg.create(p_id int, p_name text, p_step int, p_size int, p_width int DEFAULT 240)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO tg.ds (id, name, step, size, width) VALUES (p_id, p_name, p_step, p_size, least(p_width, p_size));
    INSERT INTO tg.ts (ds_id, n, dp)
    SELECT p_id, n, array_fill('NaN'::float8, ARRAY[least(p_width, p_size - n * p_width)])
    FROM generate_series(0, (p_size - 1) / p_width) AS n;
$$;

-- One point: move the pointer row, write one slot.
CREATE FUNCTION tg.update(p_id int, p_t timestamptz, p_v float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d tg.ds;
    s bigint;
BEGIN
    UPDATE tg.ds SET last_t = p_t, last_v = p_v
    WHERE id = p_id AND (last_t IS NULL OR last_t < p_t) RETURNING * INTO d;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'series % unknown, or % not after its last update', p_id, p_t;
    END IF;
    s := ceil(date_part('epoch', p_t) / d.step)::bigint % d.size;
    UPDATE tg.ts SET dp[s % d.width + 1] = p_v WHERE ds_id = p_id AND n = s / d.width;
END $$;

-- Many points of many series, set-based: one pointer row write per series and one slice
-- assignment per run of consecutive slots in a chunk row (a second pass only when a chunk
-- gets two separate runs, as when a batch wraps around the ring).
CREATE FUNCTION tg.update_many(p_id int[], p_t timestamptz[], p_v float8[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n_series int;
    n_moved int;
    pass int := 1;
    runs int;
BEGIN
    WITH x AS (
        SELECT DISTINCT ON (id) id, t, v, min(t) OVER (PARTITION BY id) AS t_min
        FROM unnest(p_id, p_t, p_v) AS u(id, t, v) ORDER BY id, t DESC
    ), moved AS (
        UPDATE tg.ds d SET last_t = x.t, last_v = x.v FROM x
        WHERE d.id = x.id AND (d.last_t IS NULL OR d.last_t < x.t_min) RETURNING 1
    )
    SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM moved) INTO n_series, n_moved;
    IF n_moved <> n_series THEN
        RAISE EXCEPTION 'unknown series, or a time not after its last update';
    END IF;
    LOOP
        WITH p AS (
            SELECT DISTINCT ON (u.id, z.s) u.id, z.s, u.v, d.width
            FROM unnest(p_id, p_t, p_v) AS u(id, t, v)
            JOIN tg.ds d ON d.id = u.id
            CROSS JOIN LATERAL (SELECT ceil(date_part('epoch', u.t) / d.step)::bigint % d.size AS s) AS z
            ORDER BY u.id, z.s, u.t DESC
        ), islands AS (
            SELECT id, s / width AS n, s - row_number() OVER (PARTITION BY id, s / width ORDER BY s) AS grp,
                   s, v, width
            FROM p
        ), slices AS (
            SELECT id, n, (min(s % width) + 1)::int AS lo, (max(s % width) + 1)::int AS hi,
                   array_agg(v ORDER BY s) AS vals,
                   rank() OVER (PARTITION BY id, n ORDER BY grp) AS k,
                   count(*) OVER (PARTITION BY id, n) AS of_k
            FROM islands GROUP BY id, n, grp
        ), done AS (
            UPDATE tg.ts ts SET dp[r.lo:r.hi] = r.vals FROM slices r
            WHERE r.k = pass AND ts.ds_id = r.id AND ts.n = r.n RETURNING r.of_k
        )
        SELECT coalesce(max(of_k), 0) INTO runs FROM done;
        EXIT WHEN runs <= pass;
        pass := pass + 1;
    END LOOP;
END $$;
"""


def reset_pg_rrd(conn):
    """A fresh pg_rrd: new, empty relations, so runs do not inherit each other's pages."""
    run_raw(conn, b"DROP EXTENSION IF EXISTS pg_rrd CASCADE")
    run_raw(conn, b"CREATE EXTENSION pg_rrd")


def so_path():
    libdir = subprocess.run([f"{PGBIN}/pg_config", "--pkglibdir"], capture_output=True, text=True).stdout.strip()
    return os.path.join(libdir, "pg_rrd.so")


def so_stamp():
    try:
        st = os.stat(so_path())
        return (st.st_ino, st.st_mtime)
    except OSError:
        return None


def reset_tgres(conn):
    run_raw(conn, TGRES_SQL.encode())


def reset_naive(conn, table):
    run_raw(conn, f"DROP TABLE IF EXISTS {table}".encode())
    run_raw(conn, NAIVE_SQL.format(t=table).encode())


def vacuum_checkpoint(conn, tables):
    for t in tables:
        run_raw(conn, f"VACUUM {t}".encode())
    run_raw(conn, b"CHECKPOINT")


# --------------------------------------------------------------------------------------------
# Results.


class Row:
    def __init__(self, workload, contender, unit="pts/s"):
        self.workload, self.contender, self.unit = workload, contender, unit
        self.rate = self.wal = self.disk = None
        self.hot = []  # [(table, percent)]
        self.note = ""
        self.missing = None  # reason the row has no figures
        self.pg_rrd = contender.startswith("pg_rrd")
        self.ref = False  # the naive figure the others are compared with
        self.extra = {}


class Bench:
    def __init__(self, db, scale, runs, slow):
        self.db, self.s, self.runs, self.slow = db, scale, runs, slow
        self.rows = []
        self.tmp = tempfile.mkdtemp(prefix="pg_rrd_bench.")
        self.conn = db.connect()
        self.mon = db.connect()

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def reset_pg_rrd(self):
        """A fresh pg_rrd in a new session, so that its library is the one installed now."""
        self.conn.close()
        self.conn = self.db.connect()
        reset_pg_rrd(self.conn)

    def settle(self):
        """Between workloads: drop what the last one left, so that autovacuum working on it
        does not add its WAL and CPU to the next one's figures."""
        for t in ("naive_w1", "naive_w2", "naive_w3", "w6_old"):
            run_raw(self.conn, f"DROP TABLE IF EXISTS {t}".encode())
        run_raw(self.conn, b"DROP SCHEMA IF EXISTS tg CASCADE")
        self.reset_pg_rrd()
        run_raw(self.conn, b"VACUUM")
        run_raw(self.conn, b"CHECKPOINT")

    def log(self, msg):
        print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def add(self, row):
        self.rows.append(row)
        if row.missing:
            self.log(f"{row.workload} {row.contender}: n/a ({row.missing})")
        else:
            wal = f", {row.wal:.1f} B WAL/pt" if row.wal is not None else ""
            runs = f" (runs: {row.extra['runs']})" if "runs" in row.extra else ""
            self.log(f"{row.workload} {row.contender}: {fmt_rate(row.rate)} {row.unit}{wal}{runs} {row.note}")
        return row

    # Does the server have pg_rrd's batch entry points yet?
    def has(self, what):
        sql = {
            "array1": "SELECT to_regprocedure('rrd.update(text,timestamptz[],double precision[],boolean)') IS NOT NULL",
            "arrayN": "SELECT to_regprocedure('rrd.update(text[],timestamptz[],double precision[],boolean)') IS NOT NULL",
            "points": "SELECT to_regclass('rrd.points') IS NOT NULL",
        }[what]
        return bool(q1(self.conn, sql))

    def flush(self, fresh=False):
        """`SELECT rrd.flush()`, timed: on the loading session, or on a new one (connecting is
        not timed) whose peak RSS is read from /proc afterwards (the server is on this machine).
        Returns (seconds, points folded, memory of the new backend or None)."""
        conn = self.db.connect() if fresh else self.conn
        try:
            pid = q1(conn, "SELECT pg_backend_pid()") if fresh else None
            at_connect = proc_memory(pid) if fresh else None
            t0 = time.perf_counter()
            folded = int(q1(conn, "SELECT rrd.flush()"))
            dt = time.perf_counter() - t0
            mem = proc_memory(pid) if fresh else None
            if mem and at_connect:
                mem["connect"] = at_connect["VmHWM"]
        finally:
            if fresh:
                conn.close()
        return dt, folded, mem

    def measured(self, row, setup, load, points, wal=True, hot_tables=(), after=None, flush=None):
        """Runs setup (untimed) then load (timed) self.runs times; keeps the medians.

        A first run slower than BENCH_SLOW seconds is not repeated. `after` runs once after
        the last run (sizes on disk). flush "same" or "fresh": a `SELECT rrd.flush()` after
        the load, on the loading session or on a new one, is timed and its WAL counted with
        the load; the note gives its share of the time (and, "fresh", the peak RSS of the
        backend that folded)."""
        rates, wals, hots, secs, fsecs, folds, mems = [], [], [], [], [], [], []
        for r in range(self.runs):
            run_raw(self.conn, b"CHECKPOINT")
            setup()
            before = upd_counts(self.mon, list(hot_tables)) if hot_tables else {}
            lsn = wal_lsn(self.mon)
            t0 = time.perf_counter()
            load()
            dt = time.perf_counter() - t0
            if flush:
                fdt, folded, mem = self.flush(fresh=flush == "fresh")
                dt += fdt
                fsecs.append(fdt)
                folds.append(folded)
                if mem:
                    mems.append(mem)
            if wal:
                wals.append(wal_since(self.mon, lsn) / points)
            if hot_tables:
                flush_stats(self.conn)
                hots.append(hot_share(before, settled_counts(self.mon, list(hot_tables)), hot_tables))
            rates.append(points / dt)
            secs.append(dt)
            if r == 0 and dt > self.slow and self.runs > 1:
                row.note = (row.note + " 1 run (slow)").strip()
                break
        row.rate = statistics.median(rates)
        row.wal = statistics.median(wals) if wals else None
        if hots:
            row.hot = [(name, statistics.median(h[i][1] for h in hots)) for i, (name, _) in enumerate(hots[0])]
        row.extra["seconds"] = statistics.median(secs)
        row.extra["runs"] = " ".join(fmt_rate(x) for x in rates)
        if after:
            after(row)
        if flush:
            fs = statistics.median(fsecs)
            row.extra.update(flush_seconds=fs, folded=statistics.median(folds))
            note = f"flush {fs:.2f} s of {row.extra['seconds']:.2f} s ({fmt_rate(row.extra['folded'])} pts folded)"
            if mems:
                mb = {k: statistics.median(m.get(k, 0) for m in mems) / 1024
                      for k in ("VmHWM", "RssShmem", "connect")}
                row.extra["fold_rss_mb"] = mb["VmHWM"]
                note += (f"; fold peak RSS {mb['VmHWM']:.0f} MB (VmHWM of a fresh backend: "
                         f"{mb['connect']:.0f} MB at connect, {mb['RssShmem']:.0f} MB shared memory at end)")
            elif flush == "fresh":
                note += "; fold peak RSS n/a (/proc unreadable)"
            row.note = (row.note + " " + note).strip()
        return self.add(row)

    def missing(self, workload, contender, why):
        row = Row(workload, contender)
        row.missing = why
        return self.add(row)

    # ----------------------------------------------------------------------------------------
    # W1: one series, many points in one piece.

    def w1(self):
        s = self.s
        n = s.w1_points
        self.log(f"W1: building {n} points")
        times, values = w1_data(n)
        d = W1(times=times, values=values, n=n)
        d.copy_naive = copy_text(1, times, values)
        d.insert_naive = insert_statements("naive_w1i", 1, times, values, s.w1_insert_rows)
        self.w1_naive_copy(d)
        self.w1_naive_insert(d)
        self.w1_tgres(d)
        self.w1_rrdtool(d)
        self.w1_pg_rrd(d)

    def w1_naive_copy(self, d):
        row = Row("W1", "naive table, COPY")
        row.ref = True

        def after(row):
            vacuum_checkpoint(self.conn, ["naive_w1"])
            row.disk = q1(self.conn, "SELECT pg_total_relation_size('naive_w1')") / d.n
            row.note = "disk per point stored"

        # The last run's rows stay for the reads (R1, R2).
        self.measured(row, lambda: reset_naive(self.conn, "naive_w1"),
                      lambda: copy_in(self.conn, "COPY naive_w1 FROM STDIN", d.copy_naive), d.n, after=after)

    def w1_naive_insert(self, d):
        row = Row("W1", f"naive table, INSERT {self.s.w1_insert_rows} rows/stmt")

        def load():
            for stmt in d.insert_naive:
                run_raw(self.conn, stmt)

        self.measured(row, lambda: reset_naive(self.conn, "naive_w1i"), load, d.n)
        run_raw(self.conn, b"DROP TABLE naive_w1i")

    def w1_tgres(self, d):
        row = Row("W1", "tgres-style, batch function")
        ids = bin_int4_array([1] * d.n)
        ts, vs = bin_tstz_array(d.times), bin_float8_array(d.values)

        def setup():
            reset_tgres(self.conn)
            run_raw(self.conn, b"SELECT tg.create(1, 'w1', 10, 8640)")

        def load():
            run_params(self.conn, b"SELECT tg.update_many($1, $2, $3)", [ids, ts, vs],
                       [OID_INT4_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

        def after(row):
            vacuum_checkpoint(self.conn, ["tg.ds", "tg.ts"])
            row.disk = schema_bytes(self.conn, "tg") / 8640
            row.note = "finest ring only"

        self.measured(row, setup, load, d.n, hot_tables=("tg.ds", "tg.ts"), after=after)

    def w1_rrdtool(self, d):
        row = Row("W1", "RRDtool, 10000 pts/call")
        path = os.path.join(self.tmp, "w1.rrd")
        args = [f"{t}:{v}" for t, v in zip(d.times, d.values)]

        def setup():
            if os.path.exists(path):
                os.unlink(path)
            rrdtool.create(path, "--start", str(T0), "--step", "10", *W1_DEF.replace("--step 10", "").split())

        def load():
            for i in range(0, len(args), 10000):
                rrdtool.update(path, *args[i:i + 10000])

        def after(row):
            row.disk = os.path.getsize(path) / (8640 + 10080 + 8784)
            row.note = "file size per ring slot"

        self.measured(row, setup, load, d.n, wal=False, after=after)
        self.w1_rrd_file = path

    def w1_pg_rrd(self, d):
        n = d.n
        hot = ("rrd.state", "rrd.chunk")

        def setup():
            self.reset_pg_rrd()
            q(self.conn, "SELECT rrd.create('w1', %s, to_timestamp(%s))", (W1_DEF, T0))

        def disk(row):
            vacuum_checkpoint(self.conn, ["rrd.series", "rrd.state", "rrd.chunk"])
            row.disk = schema_bytes(self.conn, "rrd") / rrd_ring_slots(self.conn)
            row.note = f"disk incl. {self.rrd_empty // 1024} KB of empty relations"

        # rrd.update once per point, one statement each: the path that exists for every client.
        k = min(self.s.w1_single, n)
        row = Row("W1", f"pg_rrd update() per point ({k} pts)")

        def load_single():
            stmt = b"SELECT rrd.update('w1', $1::timestamptz, $2::float8)"
            for t, v in zip(d.times[:k], d.values[:k]):
                run_params(self.conn, stmt, [TS(t).encode(), repr(v).encode()], None, False)

        self.measured(row, setup, load_single, k, hot_tables=hot)

        if self.has("array1"):
            ts, vs = bin_tstz_array(d.times), bin_float8_array(d.values)
            row = Row("W1", "pg_rrd update(name, t[], v[]) binary")
            self.measured(row, setup, lambda: run_params(
                self.conn, b"SELECT rrd.update('w1', $1, $2)", [ts, vs], [OID_TSTZ_ARR, OID_FLOAT8_ARR], True),
                n, hot_tables=hot, after=disk)
            tt = text_array(TS(t) for t in d.times)
            tv = text_array(repr(v) for v in d.values)
            row = Row("W1", "pg_rrd update(name, t[], v[]) text")
            self.measured(row, setup, lambda: run_params(
                self.conn, b"SELECT rrd.update('w1', $1::timestamptz[], $2::float8[])", [tt, tv], None, False),
                n, hot_tables=hot)
        else:
            self.missing("W1", "pg_rrd update(name, t[], v[])", "missing")

        if self.has("points"):
            data = copy_text("w1", d.times, d.values)
            row = Row("W1", "pg_rrd COPY rrd.points")
            self.measured(row, setup, lambda: copy_in(self.conn, "COPY rrd.points (name, t, v) FROM STDIN", data),
                          n, hot_tables=hot, after=disk)
            stmts = insert_statements("rrd.points", "'w1'", d.times, d.values, self.s.w1_insert_rows)
            row = Row("W1", f"pg_rrd INSERT rrd.points {self.s.w1_insert_rows} rows/stmt")

            def load_insert():
                for stmt in stmts:
                    run_raw(self.conn, stmt)

            self.measured(row, setup, load_insert, n, hot_tables=hot, after=disk)
        else:
            self.missing("W1", "pg_rrd COPY/INSERT rrd.points", "missing")

        # Leave the whole of W1 in pg_rrd for the reads, by the fastest path there is.
        setup()
        if self.has("array1"):
            run_params(self.conn, b"SELECT rrd.update('w1', $1, $2)",
                       [bin_tstz_array(d.times), bin_float8_array(d.values)], [OID_TSTZ_ARR, OID_FLOAT8_ARR], True)
            self.w1_loaded = n
        else:
            load_single()
            self.w1_loaded = k

    # ----------------------------------------------------------------------------------------
    # Reads: R1 (8,640 rows to the client) and R2 (avg over a year of 10 s data).

    def reads(self):
        s = self.s
        stop = T0 + 10 * self.w1_loaded
        start = stop - 86400
        span = f"'{TS(start)}', '{TS(stop)}'"
        self.read_row("R1", "naive table, range read", True,
                      f"SELECT t, v FROM naive_w1 WHERE series_id = 1 AND t > '{TS(start)}' AND t <= '{TS(stop)}'")
        self.read_row("R1", "naive table, range read", False,
                      f"SELECT t, v FROM naive_w1 WHERE series_id = 1 AND t > '{TS(start)}' AND t <= '{TS(stop)}'",
                      binary=True)
        self.read_row("R1", "pg_rrd rrd.fetch()", False,
                      f"SELECT t, v FROM rrd.fetch('w1', 'AVERAGE', {span})")
        self.read_row("R1", "pg_rrd rrd.fetch()", False,
                      f"SELECT t, v FROM rrd.fetch('w1', 'AVERAGE', {span})", binary=True)
        if q1(self.conn, "SELECT to_regprocedure('rrd.fetch_array(text,text,timestamptz,timestamptz,interval)') "
                         "IS NOT NULL"):
            for binary in (False, True):
                self.read_row("R1", "pg_rrd rrd.fetch_array()", False,
                              f"SELECT * FROM rrd.fetch_array('w1', 'AVERAGE', {span})", binary=binary,
                              array_len=True)
        self.read_rrdtool(start, stop)

        # R2: a year of 10 s points (series 2 of the naive table; series 'year' of pg_rrd).
        n = s.year_points
        self.log(f"R2: loading {n} points into both")
        rnd = random.Random(3)
        times = [T0 + 10 * (i + 1) for i in range(n)]
        values = [gauge(i, 0, rnd) for i in range(n)]
        copy_in(self.conn, "COPY naive_w1 FROM STDIN", copy_text(2, times, values))
        run_raw(self.conn, b"VACUUM ANALYZE naive_w1")
        q(self.conn, "SELECT rrd.create('year', %s, to_timestamp(%s))",
          (f"--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:{n}", T0))
        year_ok = self.has("array1")
        if year_ok:
            for i in range(0, n, 1_000_000):
                run_params(self.conn, b"SELECT rrd.update('year', $1, $2)",
                           [bin_tstz_array(times[i:i + 1_000_000]), bin_float8_array(values[i:i + 1_000_000])],
                           [OID_TSTZ_ARR, OID_FLOAT8_ARR], True)
        run_raw(self.conn, b"VACUUM ANALYZE rrd.chunk")
        stop = times[-1]
        start = T0
        self.read_row("R2", "naive table, avg() over a year", True,
                      f"SELECT avg(v), count(v) FROM naive_w1 WHERE series_id = 2 "
                      f"AND t > '{TS(start)}' AND t <= '{TS(stop)}'", n)
        if year_ok:
            self.read_row("R2", "pg_rrd avg() over rrd.fetch()", False,
                          f"SELECT avg(v), count(v) FROM rrd.fetch('year', 'AVERAGE', '{TS(start)}', '{TS(stop)}')",
                          n)
            if q1(self.conn, "SELECT to_regprocedure('rrd.aggregate(text,text,timestamptz,timestamptz,"
                             "interval,double precision)') IS NOT NULL"):
                self.read_row("R2", "pg_rrd rrd.aggregate() over a year", False,
                              f"SELECT avg, count FROM rrd.aggregate('year', 'AVERAGE', '{TS(start)}', "
                              f"'{TS(stop)}')", n)
            if q1(self.conn, "SELECT to_regprocedure("
                             "'rrd.fetch_array(text,text,timestamptz,timestamptz,interval)') IS NOT NULL"):
                self.read_row("R2", "pg_rrd avg() over rrd.fetch_array()", False,
                              f"SELECT avg(x), count(x) FROM rrd.fetch_array('year', 'AVERAGE', '{TS(start)}', "
                              f"'{TS(stop)}') AS f, unnest(f.v) AS x", n)
        else:
            self.missing("R2", "pg_rrd avg() over rrd.fetch()", "missing: needs rrd.update(name, t[], v[]) to load")

    def read_row(self, workload, contender, ref, sql, points=None, binary=False, array_len=False):
        """Rows/s to the client (text or binary results); for an aggregate, input points/s;
        for fetch_array, the values of its array."""
        row = Row(workload, contender, "rows/s")
        row.ref = ref
        row.extra["binary"] = binary
        sql_b = sql.encode()

        def run():
            if binary:
                return check(self.conn.pgconn.exec_params(sql_b, [], result_format=1), pq.ExecStatus.TUPLES_OK)
            return run_raw(self.conn, sql_b)

        res = run()  # and warm the cache
        rows_out = res.ntuples
        if array_len:
            n = int(q1(self.conn, f"SELECT cardinality(v) FROM ({sql}) AS x"))
            per = n
            row.note = f"1 row of {n} values,"
        elif points:
            per = points
            row.note = f"avg of {int(res.get_value(0, 1) or 0)} values,"
        else:
            per = rows_out
            row.note = f"{rows_out} rows,"
        if binary:
            row.contender += ", binary"
        rates, lat = [], []
        for _ in range(max(self.runs, 3)):
            k, t0 = 0, time.perf_counter()
            while True:
                run()
                k += 1
                dt = time.perf_counter() - t0
                if dt > self.s.read_seconds:
                    break
            rates.append(per * k / dt)
            lat.append(dt / k)
        row.rate = statistics.median(rates)
        row.extra["latency"] = statistics.median(lat)
        row.note += f" {1000 * statistics.median(lat):.2f} ms/query"
        return self.add(row)

    def read_rrdtool(self, start, stop):
        row = Row("R1", "RRDtool fetch (in process)", "rows/s")
        path = self.w1_rrd_file
        n = len(rrdtool.fetch(path, "AVERAGE", "-s", str(start), "-e", str(stop))[2])
        rates = []
        for _ in range(max(self.runs, 3)):
            k, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < self.s.read_seconds:
                rrdtool.fetch(path, "AVERAGE", "-s", str(start), "-e", str(stop))
                k += 1
            rates.append(n * k / (time.perf_counter() - t0))
        row.rate = statistics.median(rates)
        row.note = f"{n} rows, into Python tuples"
        self.add(row)

    # ----------------------------------------------------------------------------------------
    # R3: a read that merges pending points, against the same read once they are folded.

    def r3(self):
        s = self.s
        if not (self.has("arrayN") and q1(self.conn, "SELECT to_regprocedure('rrd.pending()') IS NOT NULL")):
            self.missing("R3", "pg_rrd rrd.fetch() with points pending",
                         "missing: needs update(names[]) and rrd.pending()")
            return
        self.reset_pg_rrd()
        # Series ids come from a sequence from 1, and a lane is 128 ids in a row (id / 128):
        # 255 series fill lane 0's 127 and the whole of lane 1, whose series are written.
        per_lane = s.r3_series
        run_raw(self.conn, f"SELECT count(rrd.create('r3.' || lpad(i::text, 3, '0'), '{W2_DEF}', "
                           f"to_timestamp({T0}))) FROM generate_series(0, {2 * per_lane - 2}) i".encode())
        names = [r[0] for r in q(self.conn, f"SELECT name FROM rrd.series WHERE id / {per_lane} = "
                                            f"(SELECT max(id) / {per_lane} FROM rrd.series) ORDER BY id")]
        steps = s.r3_steps
        self.log(f"R3: {len(names)} series of one lane x {steps} steps through update(names[])")
        vals = w2_values(len(names), steps)
        bin_names = bin_text_array(names)
        for k in range(steps):
            run_params(self.conn, b"SELECT rrd.update($1, $2, $3)",
                       [bin_names, bin_tstz_array([T0 + 10 * (k + 1)] * len(names)), bin_float8_array(vals[k])],
                       [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)
        run_raw(self.conn, b"VACUUM ANALYZE rrd.series, rrd.state, rrd.chunk, rrd.journal, rrd.lane")
        pending = int(q1(self.conn, "SELECT rrd.pending()"))
        if pending <= 0:
            self.missing("R3", "pg_rrd rrd.fetch() with points pending", "no points pending: folded inline?")
            return
        name = names[0]
        stop = T0 + 10 * steps
        start = stop - 1440 * 10  # the whole finest ring
        sql = f"SELECT t, v FROM rrd.fetch('{name}', 'AVERAGE', '{TS(start)}', '{TS(stop)}')"
        same = f"SELECT string_agg(t::text || ' ' || v::text, ',') FROM ({sql}) AS x"  # NaN-safe compare
        seen = q1(self.conn, same)
        p = self.read_row("R3", f"pg_rrd rrd.fetch(), {pending} pts pending in its lane", False, sql)
        p.extra["pending_read"] = True
        still = int(q1(self.conn, "SELECT rrd.pending()"))
        folded = int(q1(self.conn, "SELECT rrd.flush()"))
        run_raw(self.conn, b"VACUUM ANALYZE rrd.state, rrd.chunk, rrd.journal, rrd.lane")
        f = self.read_row("R3", "pg_rrd rrd.fetch(), after rrd.flush()", False, sql)
        f.extra["flushed_read"] = True
        x = p.extra["latency"] / f.extra["latency"]
        p.extra["vs_flushed"] = x
        p.note += f", {x:.2f}x the time after rrd.flush()"
        if still != pending:
            p.note += f"; WARNING: {pending - still} pts folded while reading"
        if q1(self.conn, same) != seen:
            p.note += "; WARNING: the rows differ after rrd.flush()"
        f.note += f", after folding {folded} pts"
        self.log(f"R3: pending read {x:.2f}x the flushed one ({1000 * p.extra['latency']:.2f} vs "
                 f"{1000 * f.extra['latency']:.2f} ms/query)")

    # ----------------------------------------------------------------------------------------
    # W2: many series, one point each per statement.

    def w2(self):
        s = self.s
        ns, steps = s.w2_series, s.w2_steps
        self.log(f"W2: building {ns} series x {max(steps, s.w2c_steps)} steps")
        d = w2_data("w2", 5, ns, max(steps, s.w2c_steps))
        d.steps = steps  # W2's rows; W2C takes its own number of the same steps
        ids = list(range(1, ns + 1))
        d.insert_naive = [insert_statements("naive_w2", ids, [t] * ns, d.vals[k], ns)[0]
                          for k, t in enumerate(d.times[:steps])]
        self.w2_naive(d)
        self.w2_tgres(d)
        self.w2_rrdtool(d)
        self.w2_pg_rrd(d)
        self.w2_checkpoint(d)

    def w2_naive(self, d):
        pts = d.ns * d.steps
        row = Row("W2", "naive table, COPY per step")
        row.ref = True

        def after(row):
            vacuum_checkpoint(self.conn, ["naive_w2"])
            row.disk = q1(self.conn, "SELECT pg_total_relation_size('naive_w2')") / pts
            row.note = "disk per point stored"

        def load_copy():
            for block in d.copy_naive[:d.steps]:
                copy_in(self.conn, "COPY naive_w2 FROM STDIN", block)

        self.measured(row, lambda: reset_naive(self.conn, "naive_w2"), load_copy, pts, after=after)
        row = Row("W2", "naive table, INSERT per step")

        def load_insert():
            for stmt in d.insert_naive:
                run_raw(self.conn, stmt)

        self.measured(row, lambda: reset_naive(self.conn, "naive_w2"), load_insert, pts)

    def w2_tgres(self, d):
        row = Row("W2", "tgres-style, batch function per step")

        def setup():
            reset_tgres(self.conn)
            run_raw(self.conn, f"SELECT tg.create(i, 'w2.' || i, 10, 1440) FROM generate_series(1, {d.ns}) i".encode())
            run_raw(self.conn, b"VACUUM ANALYZE tg.ds, tg.ts")

        def load():
            for k in range(d.steps):
                run_params(self.conn, b"SELECT tg.update_many($1, $2, $3)", [d.bin_ids, d.bin_ts[k], d.bin_vs[k]],
                           [OID_INT4_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

        def after(row):
            vacuum_checkpoint(self.conn, ["tg.ds", "tg.ts"])
            row.disk = schema_bytes(self.conn, "tg") / (d.ns * 1440)
            row.note = "finest ring only"

        self.measured(row, setup, load, d.ns * d.steps, hot_tables=("tg.ds", "tg.ts"), after=after)

    def w2_rrdtool(self, d):
        steps = min(self.s.w2_rrdtool_steps, d.steps)
        row = Row("W2", f"RRDtool, 1 update/series/step ({steps} steps)")
        folder = os.path.join(self.tmp, "w2")
        paths = [os.path.join(folder, f"{n}.rrd") for n in d.names]
        rra = W2_DEF.replace("--step 10", "").split()

        def setup():
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            for p in paths:
                rrdtool.create(p, "--start", str(T0), "--step", "10", *rra)

        def load():
            for k in range(steps):
                t = d.times[k]
                for p, v in zip(paths, d.vals[k]):
                    rrdtool.update(p, f"{t}:{v}")

        def after(row):
            row.disk = sum(os.path.getsize(p) for p in paths) / (d.ns * 2880)
            row.note = "file size per ring slot"
            shutil.rmtree(folder, ignore_errors=True)

        self.measured(row, setup, load, d.ns * steps, wal=False, after=after)

    def w2_create(self, d):
        """A fresh pg_rrd holding d's series (W2's definition), created before the clock starts."""
        self.reset_pg_rrd()
        run_raw(self.conn, f"SELECT count(rrd.create('{d.prefix}.' || lpad(i::text, {d.digits}, '0'), '{W2_DEF}', "
                           f"to_timestamp({T0}))) FROM generate_series(0, {d.ns - 1}) i".encode())
        run_raw(self.conn, b"VACUUM ANALYZE rrd.series, rrd.state")

    def w2_arrays(self, d, steps):
        """The first `steps` steps of d, one rrd.update(names[], t[], v[]) each, binary."""
        for k in range(steps):
            run_params(self.conn, b"SELECT rrd.update($1, $2, $3)", [d.bin_names, d.bin_ts[k], d.bin_vs[k]],
                       [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

    def w2_pg_rrd(self, d):
        # Every row ends with a timed rrd.flush() on the loading session: statements of many
        # series only append to the journal, and the fold is part of the cost of a point.
        hot = ("rrd.state", "rrd.chunk")
        pts = d.ns * d.steps

        def setup():
            self.w2_create(d)

        def disk(row):
            vacuum_checkpoint(self.conn, ["rrd.series", "rrd.state", "rrd.chunk", "rrd.journal", "rrd.lane"])
            row.disk = schema_bytes(self.conn, "rrd") / rrd_ring_slots(self.conn)

        steps1 = min(self.s.w2_single_steps, d.steps)
        row = Row("W2", f"pg_rrd update() per point, one stmt/step ({steps1} steps)")

        def load_single():
            stmt = (b"SELECT count(*) FROM (SELECT rrd.update(n, t, v) "
                    b"FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS u(n, t, v)) AS x")
            for k in range(steps1):
                run_params(self.conn, stmt, [d.bin_names, d.bin_ts[k], d.bin_vs[k]],
                           [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

        self.measured(row, setup, load_single, d.ns * steps1, hot_tables=hot, flush="same")

        if self.has("arrayN"):
            row = Row("W2", "pg_rrd update(names[], t[], v[]) binary")
            self.measured(row, setup, lambda: self.w2_arrays(d, d.steps), pts, hot_tables=hot, after=disk,
                          flush="same")
        else:
            self.missing("W2", "pg_rrd update(names[], t[], v[])", "missing")

        if self.has("points"):
            blocks = [copy_text(d.names, [t] * d.ns, d.vals[k]) for k, t in enumerate(d.times[:d.steps])]
            row = Row("W2", "pg_rrd COPY rrd.points per step")

            def load_copy():
                for block in blocks:
                    copy_in(self.conn, "COPY rrd.points (name, t, v) FROM STDIN", block)

            self.measured(row, setup, load_copy, pts, hot_tables=hot, after=disk, flush="same")
            names = [f"'{n}'" for n in d.names]
            stmts = [insert_statements("rrd.points", names, [t] * d.ns, d.vals[k], d.ns)[0]
                     for k, t in enumerate(d.times[:d.steps])]
            row = Row("W2", "pg_rrd INSERT rrd.points per step")

            def load_insert():
                for stmt in stmts:
                    run_raw(self.conn, stmt)

            self.measured(row, setup, load_insert, pts, hot_tables=hot, flush="same")
        else:
            self.missing("W2", "pg_rrd COPY/INSERT rrd.points", "missing")

    def w2_checkpoint(self, d):
        """W2C: the steps of one checkpoint cycle (30 steps: 5 minutes at 10 s) right after a
        CHECKPOINT, when the first change of every page logs the whole page (full_page_writes).

        Both contenders first get the same 270 steps of history, written step after step as a
        collector would have written them, so that the pages the cycle touches are those of a
        running system: pg_rrd's are the same from rrd.create on, but a naive table's index
        only reaches one leaf page per series once each series has a few hundred rows. The
        naive table is also measured empty, its best case (no index pages yet to image)."""
        s = self.s
        steps, hist = min(s.w2c_steps, len(d.vals)), s.w2c_history
        pts = d.ns * steps
        times = [T0 + 10 * (hist + k + 1) for k in range(steps)]
        ids = list(range(1, d.ns + 1))
        blocks = [copy_text(ids, [t] * d.ns, d.vals[k]) for k, t in enumerate(times)]
        bin_ts = [bin_tstz_array([t] * d.ns) for t in times]
        # History, server-side and time-major: step after step, series after series.
        value = "round((50 + 40 * sin((k + s * 37) * 2 * pi() / 8640))::numeric, 4)::float8"
        naive_hist = (f"INSERT INTO naive_w2 SELECT s, to_timestamp({T0} + 10 * k), {value} "
                      f"FROM generate_series(1, {hist}) k, generate_series(1, {d.ns}) s ORDER BY k, s").encode()

        def rrd_hist(k0, k1):
            return (f"SELECT rrd.update(array_agg(n ORDER BY k, s), array_agg(t ORDER BY k, s), "
                    f"array_agg(v ORDER BY k, s)) FROM (SELECT k, s, '{d.prefix}.' || lpad((s - 1)::text, "
                    f"{d.digits}, '0') AS n, to_timestamp({T0} + 10 * k) AS t, {value} AS v "
                    f"FROM generate_series({k0}, {k1}) k, generate_series(1, {d.ns}) s) AS x").encode()

        def load_copy():
            for block in blocks:
                copy_in(self.conn, "COPY naive_w2 FROM STDIN", block)

        def setup_naive(history):
            reset_naive(self.conn, "naive_w2")
            if history:
                run_raw(self.conn, naive_hist)
            run_raw(self.conn, b"VACUUM ANALYZE naive_w2")
            run_raw(self.conn, b"CHECKPOINT")

        row = Row("W2C", "naive table, COPY per step, CHECKPOINT just before")
        row.ref = True
        row.note = f"{steps} steps after {hist} of history; WAL incl. full-page images"
        self.measured(row, lambda: setup_naive(True), load_copy, pts)
        row = Row("W2C", "naive table, same, into an empty table")
        row.note = f"{steps} steps; WAL incl. full-page images"
        row.extra["empty"] = True
        self.measured(row, lambda: setup_naive(False), load_copy, pts)
        if not self.has("arrayN"):
            self.missing("W2C", "pg_rrd update(names[]), CHECKPOINT just before", "missing")
            return
        row = Row("W2C", "pg_rrd update(names[]), CHECKPOINT just before")
        row.note = f"{steps} steps after {hist} of history; WAL incl. full-page images;"

        def setup():
            self.w2_create(d)
            for k0 in range(1, hist + 1, 30):
                run_raw(self.conn, rrd_hist(k0, min(k0 + 29, hist)))
            run_raw(self.conn, b"SELECT rrd.flush()")
            run_raw(self.conn, b"VACUUM ANALYZE rrd.series, rrd.state, rrd.chunk, rrd.journal, rrd.lane")
            run_raw(self.conn, b"CHECKPOINT")

        def load():
            for k in range(steps):
                run_params(self.conn, b"SELECT rrd.update($1, $2, $3)", [d.bin_names, bin_ts[k], d.bin_vs[k]],
                           [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

        self.measured(row, setup, load, pts, hot_tables=("rrd.state", "rrd.chunk"), flush="same")
        folded = row
        # The journal alone: what the writers write in the cycle; the fold comes later.
        row = Row("W2C", "pg_rrd update(names[]), CHECKPOINT just before, no fold in the cycle")
        row.note = f"{steps} steps after {hist} of history; the journal's WAL alone"
        row.extra["variant"] = True
        self.measured(row, setup, load, pts)
        journal = row
        # The default schedule: a fold every pg_rrd.flush_interval = 900 s, three cycles of
        # checkpoint_timeout's default 5 minutes. Each cycle writes its journal; one cycle in
        # three also folds, imaging the pages it touches.
        if folded.wal is not None and journal.wal is not None:
            per_fold = folded.wal - journal.wal
            row = Row("W2C", "pg_rrd, default schedule: a fold every 3 cycles")
            row.wal = journal.wal + per_fold / 3
            row.rate = None
            row.note = (f"{journal.wal:.1f} B/pt journal + {per_fold:.1f} / 3 B/pt fold "
                        f"(the two rows above)")
            row.extra["schedule"] = True
            self.add(row)

    # ----------------------------------------------------------------------------------------
    # W2L: W2 at 100,000 series; the fold's memory.

    def w2l(self):
        s = self.s
        ns, steps = s.w2l_series, s.w2l_steps
        self.log(f"W2L: building {ns} series x {steps} steps")
        d = w2_data("w2l", 6, ns, steps)
        pts = ns * steps
        row = Row("W2L", "naive table, COPY per step")
        row.ref = True
        row.note = f"{ns} series x {steps} steps"

        def load_copy():
            for block in d.copy_naive:
                copy_in(self.conn, "COPY naive_w2 FROM STDIN", block)

        self.measured(row, lambda: reset_naive(self.conn, "naive_w2"), load_copy, pts)
        run_raw(self.conn, b"DROP TABLE naive_w2")
        if not self.has("arrayN"):
            self.missing("W2L", "pg_rrd update(names[], t[], v[])", "missing")
            return
        # The flush runs on a new connection, so that the backend's peak RSS is the fold's.
        row = Row("W2L", "pg_rrd update(names[], t[], v[]) binary")
        self.log(f"W2L: each run creates {ns} series first (untimed)")
        self.measured(row, lambda: self.w2_create(d), lambda: self.w2_arrays(d, steps), pts,
                      hot_tables=("rrd.state", "rrd.chunk"), flush="fresh")
        self.reset_pg_rrd()  # give back the space of the 100,000 series now

    # ----------------------------------------------------------------------------------------
    # W6: row-by-row SQL, one statement, against the array form of the same rows.

    # ----------------------------------------------------------------------------------------
    # L1: Graphite lines through the listener.

    def restart(self, settings):
        """ALTER SYSTEM for each (name, value) (None resets it), then a restart of the cluster
        and new sessions."""
        for name, value in settings:
            if value is None:
                run_raw(self.conn, f"ALTER SYSTEM RESET {name}".encode())
            else:
                run_raw(self.conn, f"ALTER SYSTEM SET {name} = '{value}'".encode())
        self.conn.close()
        self.mon.close()
        cluster = os.path.dirname(os.path.abspath(self.db.host))
        # The server's output goes to its log: a pipe would stay open as long as it runs.
        cmd = [f"{PGBIN}/pg_ctl", "-D", os.path.join(cluster, "data"), "-l", os.path.join(cluster, "server.log"),
               "-w", "-m", "fast", "restart"]
        if os.geteuid() == 0:
            cmd = ["sudo", "-u", "postgres"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.conn = self.db.connect()
        self.mon = self.db.connect()

    def l1(self):
        s = self.s
        ns, steps = s.w2_series, s.w2_steps
        pts = ns * steps
        self.log(f"L1: {ns} series x {steps} steps as Graphite lines")
        d = w2_data("l1", 5, ns, steps)
        senders = 4
        streams = [bytearray() for _ in range(senders)]
        for k, t in enumerate(d.times):
            for i, name in enumerate(d.names):
                streams[i % senders] += f"{name} {d.vals[k][i]!r} {t}\n".encode()
        blocks = [copy_text(d.names, [t] * d.ns, d.vals[k]) for k, t in enumerate(d.times)]
        port = self.db.port + 2
        hot = ("rrd.state", "rrd.chunk")
        row = Row("L1", "pg_rrd COPY rrd.points per step")
        row.ref = True

        def load_copy():
            for block in blocks:
                copy_in(self.conn, "COPY rrd.points (name, t, v) FROM STDIN", block)

        self.measured(row, lambda: self.w2_create(d), load_copy, pts, hot_tables=hot, flush="same")
        if not q1(self.conn, "SELECT to_regprocedure('rrd.listener_stats()') IS NOT NULL"):
            self.missing("L1", "pg_rrd graphite listener", "missing")
            return
        self.restart([("shared_preload_libraries", "pg_rrd"), ("pg_rrd.flush_database", DB),
                      ("pg_rrd.graphite_listen", f"127.0.0.1:{port}"), ("pg_rrd.flush_interval", "86400")])
        try:
            row = Row("L1", f"pg_rrd graphite listener, {senders} connections")
            accepted = []

            def setup():
                self.w2_create(d)
                run_raw(self.conn, b"TRUNCATE rrd.listener_counters")

            def counter(name):
                return int(q1(self.mon, "SELECT value FROM rrd.listener_stats() WHERE counter = %s", (name,)))

            def load():
                import socket
                import threading
                deadline = time.time() + 30
                while True:
                    try:
                        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(senders)]
                        break
                    except OSError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.2)
                threads = [threading.Thread(target=lambda c=c, b=b: (c.sendall(b), c.close()))
                           for c, b in zip(socks, streams)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                deadline = time.time() + 600
                while counter("lines_accepted") + counter("refused_by_series") < pts:
                    if time.time() > deadline:
                        raise RuntimeError("the listener did not commit every line in 600 s")
                    time.sleep(0.02)
                accepted.append(counter("lines_accepted"))

            def after(row):
                row.note = (row.note + f" {fmt_rate(pts)} lines; committed {accepted[-1]} of them;").strip()
                if accepted[-1] != pts:
                    row.note += " SOME LINES WERE REFUSED;"

            self.measured(row, setup, load, pts, hot_tables=hot, after=after, flush="same")
            row.unit = "lines/s"
        finally:
            self.restart([("shared_preload_libraries", None), ("pg_rrd.flush_database", None),
                          ("pg_rrd.graphite_listen", None), ("pg_rrd.flush_interval", None)])

    def w6(self):
        s = self.s
        ns, steps = s.w6_series, s.w6_steps
        n = ns * steps
        self.log(f"W6: {ns} series x {steps} steps in a table")
        rnd = random.Random(6)
        names = [f"w6.{i:02d}" for i in range(ns)]
        # Stored series after series, as an old table keyed by series would hand them out;
        # ORDER BY t then interleaves the series.
        keys = [name for name in names for _ in range(steps)]
        times = [T0 + 10 * (k + 1) for _ in names for k in range(steps)]
        vals = [gauge(k, i * 997, rnd) for i in range(ns) for k in range(steps)]
        run_raw(self.conn, b"DROP TABLE IF EXISTS w6_old")
        run_raw(self.conn, b"CREATE TABLE w6_old (name text, t timestamptz, v float8)")
        copy_in(self.conn, "COPY w6_old FROM STDIN", copy_text(keys, times, vals))
        run_raw(self.conn, b"VACUUM ANALYZE w6_old")
        hot = ("rrd.state", "rrd.chunk")

        def setup():
            self.reset_pg_rrd()
            q(self.conn, "SELECT count(rrd.create(n, %s, to_timestamp(%s))) FROM unnest(%s::text[]) n",
              (W1_DEF, T0, names))

        arr = None
        if self.has("arrayN"):
            row = Row("W6", "pg_rrd update(names[], t[], v[]) over array_agg, one statement")
            row.note = f"{ns} series x {steps} steps;"
            sql = (b"SELECT rrd.update(array_agg(name), array_agg(t), array_agg(v)) "
                   b"FROM (SELECT * FROM w6_old ORDER BY t) o")
            arr = self.measured(row, setup, lambda: run_raw(self.conn, sql), n, hot_tables=hot, flush="same")
        else:
            self.missing("W6", "pg_rrd update(names[], t[], v[]) over array_agg", "missing")

        row = Row("W6", "pg_rrd update(name, t, v) row by row, one statement")
        sql = b"SELECT count(rrd.update(name, t, v)) FROM (SELECT * FROM w6_old ORDER BY t) o"

        def ratio(row):
            if arr is not None:
                x = row.extra["seconds"] / arr.extra["seconds"]
                row.extra["vs_array"] = x
                row.note = (row.note + f" row by row / array: {x:.2f}x the time;").strip()

        self.measured(row, setup, lambda: run_raw(self.conn, sql), n, hot_tables=hot, after=ratio, flush="same")
        run_raw(self.conn, b"DROP TABLE w6_old")

    # ----------------------------------------------------------------------------------------
    # W3: one point per statement from two pgbench clients.

    def w3(self):
        secs = self.s.w3_seconds
        self.w3_one("naive table, INSERT 1 row", True,
                    lambda: reset_naive(self.conn, "naive_w3"),
                    "INSERT INTO naive_w3 VALUES (:client_id, clock_timestamp(), random());", ())
        self.w3_one("tgres-style, update()", False,
                    lambda: (reset_tgres(self.conn),
                             run_raw(self.conn, b"SELECT tg.create(i, 'w3.' || i, 10, 8640) FROM generate_series(0, 1) i")),
                    "SELECT tg.update(:client_id, clock_timestamp(), random());", ("tg.ds", "tg.ts"))
        self.w3_one("pg_rrd update()", False,
                    lambda: (self.reset_pg_rrd(),
                             q(self.conn, "SELECT rrd.create('w3.' || i, %s) FROM generate_series(0, 1) i", (W1_DEF,))),
                    "SELECT rrd.update('w3.' || :client_id, clock_timestamp(), random());", ("rrd.state", "rrd.chunk"))
        self.last_secs = secs

    def w3_one(self, contender, ref, setup, script, hot_tables):
        row = Row("W3", contender)
        row.ref = ref
        path = os.path.join(self.tmp, "w3.sql")
        with open(path, "w") as f:
            f.write(script + "\n")
        rates, wals, hots = [], [], []
        for _ in range(self.runs):
            run_raw(self.conn, b"CHECKPOINT")
            setup()
            before = upd_counts(self.mon, list(hot_tables)) if hot_tables else {}
            lsn = wal_lsn(self.mon)
            out = subprocess.run(
                [f"{PGBIN}/pgbench", "-n", "-c", "2", "-j", "2", "-T", str(self.s.w3_seconds), "-f", path,
                 "-h", self.db.host, "-p", str(self.db.port), "-U", "postgres", self.db.dbname],
                check=True, capture_output=True, text=True).stdout
            n = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
            tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
            wals.append(wal_since(self.mon, lsn) / n)
            rates.append(tps)
            if hot_tables:
                hots.append(hot_share(before, settled_counts(self.mon, list(hot_tables)), hot_tables))
        row.rate = statistics.median(rates)
        row.wal = statistics.median(wals)
        if hots and hots[0]:
            row.hot = [(name, statistics.median(h[i][1] for h in hots)) for i, (name, _) in enumerate(hots[0])]
        row.note = f"pgbench -c 2 -j 2 -T {self.s.w3_seconds}"
        self.add(row)

    # ----------------------------------------------------------------------------------------
    # W4: rings full, then more laps; sizes after each lap.

    def w4(self):
        s = self.s
        ns, ring = s.w4_series, s.w4_ring
        self.log(f"W4: {ns} series, ring {ring}, {s.w4_laps} laps")
        names = [f"w4.{i:04d}" for i in range(ns)]
        self.w4_pg_rrd(names)
        self.w4_tgres(names)

    # ----------------------------------------------------------------------------------------
    # W5: chunk width, on W2's lockstep steps.

    def w5(self):
        s = self.s
        # rrd.create(name, def, start, chunk_width, meta, tags): asked by argument name, so that
        # arguments added later do not hide it.
        has_width = q1(self.conn, "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'create' "
                                  "AND pronamespace = 'rrd'::regnamespace AND 'chunk_width' = ANY (proargnames))")
        if not (self.has("arrayN") and has_width):
            self.missing("W5", "pg_rrd chunk_width", "missing: needs update(names[]) and create(..., chunk_width)")
            return
        ns, steps = s.w5_series, s.w5_steps
        self.log(f"W5: {ns} series x {steps} steps for chunk widths {s.w5_widths}")
        names = [f"w5.{i:04d}" for i in range(ns)]
        bin_names = bin_text_array(names)
        vals = w2_values(ns, steps)
        bts = [bin_tstz_array([T0 + 10 * (k + 1)] * ns) for k in range(steps)]
        bvs = [bin_float8_array(v) for v in vals]
        for width in s.w5_widths:
            row = Row("W5", f"pg_rrd chunk_width {width}, update(names[])")

            def setup(width=width):
                self.reset_pg_rrd()
                q(self.conn, "SELECT rrd.create(n, %s, to_timestamp(%s), chunk_width => %s) FROM unnest(%s::text[]) n",
                  (W2_DEF, T0, width, names))
                run_raw(self.conn, b"VACUUM ANALYZE rrd.series, rrd.state, rrd.chunk")

            def load():
                for k in range(steps):
                    run_params(self.conn, b"SELECT rrd.update($1, $2, $3)", [bin_names, bts[k], bvs[k]],
                               [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

            def disk(row):
                vacuum_checkpoint(self.conn, ["rrd.series", "rrd.state", "rrd.chunk", "rrd.journal", "rrd.lane"])
                row.disk = schema_bytes(self.conn, "rrd") / rrd_ring_slots(self.conn)
                row.note = (row.note + f" {ns} series of W2's definition;").strip()

            # The fold writes the chunk rows, so it is what the widths change: flush included.
            self.measured(row, setup, load, ns * steps, hot_tables=("rrd.state", "rrd.chunk"), after=disk,
                          flush="same")

    def w4_steps(self, send, lap_done):
        """Sends one statement per step; calls lap_done(lap) after each lap."""
        s = self.s
        rnd = random.Random(4)
        step = 0
        t0 = time.perf_counter()
        for lap in range(1, s.w4_laps + 1):
            for _ in range(s.w4_ring):
                step += 1
                t = T0 + 10 * step
                send(t, [gauge(step, i * 37, rnd) for i in range(s.w4_series)])
            lap_done(lap)
        return s.w4_ring * s.w4_laps * s.w4_series / (time.perf_counter() - t0)

    def w4_pg_rrd(self, names):
        s = self.s
        row = Row("W4", "pg_rrd, sizes lap 1 -> lap N")
        self.reset_pg_rrd()
        q(self.conn, f"SELECT rrd.create(n, %s, to_timestamp({T0})) FROM unnest(%s::text[]) n", (s.w4_def(), names))
        if self.has("arrayN"):
            bin_names = bin_text_array(names)

            def send(t, vals):
                ts = bin_tstz_array([t] * len(names))
                run_params(self.conn, b"SELECT rrd.update($1, $2, $3)", [bin_names, ts, bin_float8_array(vals)],
                           [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)
            row.contender += " (update(names[]))"
        else:
            stmt = (b"SELECT count(*) FROM (SELECT rrd.update(n, t, v) "
                    b"FROM unnest($1::text[], $2::timestamptz[], $3::float8[]) AS u(n, t, v)) AS x")
            bin_names = bin_text_array(names)

            def send(t, vals):
                run_params(self.conn, stmt, [bin_names, bin_tstz_array([t] * len(names)), bin_float8_array(vals)],
                           [OID_TEXT_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)
            row.contender += " (update() per point)"
        self.w4_run(row, send, "rrd", ("rrd.state", "rrd.chunk"), lambda: rrd_ring_slots(self.conn))

    def w4_tgres(self, names):
        s = self.s
        row = Row("W4", "tgres-style, sizes lap 1 -> lap N")
        reset_tgres(self.conn)
        run_raw(self.conn, f"SELECT tg.create(i, 'w4.' || i, 10, {s.w4_ring}) "
                           f"FROM generate_series(1, {len(names)}) i".encode())
        ids = bin_int4_array(list(range(1, len(names) + 1)))

        def send(t, vals):
            run_params(self.conn, b"SELECT tg.update_many($1, $2, $3)",
                       [ids, bin_tstz_array([t] * len(names)), bin_float8_array(vals)],
                       [OID_INT4_ARR, OID_TSTZ_ARR, OID_FLOAT8_ARR], True)

        self.w4_run(row, send, "tg", ("tg.ds", "tg.ts"), lambda: len(names) * s.w4_ring)

    def w4_run(self, row, send, schema, tables, slots):
        sizes = {}
        before = upd_counts(self.mon, list(tables))
        lsn = wal_lsn(self.mon)

        def lap_done(lap):
            sizes[lap] = schema_bytes(self.conn, schema)

        rate = self.w4_steps(send, lap_done)
        points = self.s.w4_ring * self.s.w4_laps * self.s.w4_series
        row.wal = wal_since(self.mon, lsn) / points
        flush_stats(self.conn)
        row.hot = hot_share(before, settled_counts(self.mon, list(tables)), tables)
        vacuum_checkpoint(self.conn, tables)
        rest = schema_bytes(self.conn, schema)
        row.disk = rest / slots()
        row.rate = rate
        first, last = sizes[1], sizes[max(sizes)]
        row.extra.update(sizes=sizes, growth=last / first)
        laps = " ".join(f"{sizes[k] / 1e6:.2f}" for k in sorted(sizes))
        row.note = f"MB after laps 1..{max(sizes)}: {laps} (x{last / first:.3f}); at rest after VACUUM"
        self.add(row)


class W1:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class W2(W1):
    pass


# --------------------------------------------------------------------------------------------
# Output.


def fmt_rate(x):
    if x is None:
        return ""
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}K"
    return f"{x:.0f}"


def fmt_ratio(x):
    return "" if x is None else (f"{x:.2f}x" if x < 10 else f"{x:.1f}x")


def table_rows(rows):
    refs = {r.workload: r for r in rows if getattr(r, "ref", False) and not r.missing}
    out = []
    for r in rows:
        ref = refs.get(r.workload)
        if r.missing:
            out.append([r.workload, r.contender, f"n/a ({r.missing})", "", "", "", "", "", "", ""])
            continue
        rate_x = r.rate / ref.rate if ref and ref is not r and ref.rate and r.rate is not None else None
        wal_x = r.wal / ref.wal if ref and ref is not r and r.wal is not None and ref.wal else None
        hot = " ".join(f"{t} {p:.0f}%" for t, p in r.hot)
        out.append([r.workload, r.contender, fmt_rate(r.rate), r.unit, fmt_ratio(rate_x),
                    "" if r.wal is None else f"{r.wal:.1f}", fmt_ratio(wal_x),
                    "" if r.disk is None else f"{r.disk:.1f}", hot, r.note])
    return out


HEAD = ["wl", "contender", "rate", "unit", "vs naive", "WAL B/pt", "WAL vs naive", "disk B/slot", "HOT", "note"]


def render_text(rows):
    cells = [HEAD] + rows
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    lines = []
    for k, c in enumerate(cells):
        lines.append("  ".join(x.ljust(widths[i]) if i in (0, 1, 3, 8, 9) else x.rjust(widths[i])
                               for i, x in enumerate(c)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_md(rows):
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    lines += ["| " + " | ".join(c) + " |" for c in rows]
    return "\n".join(lines)


def best(rows, workload):
    """The fastest pg_rrd path of a workload: its headline."""
    cands = [r for r in rows if r.workload == workload and r.pg_rrd and not r.missing and r.rate
             and not r.extra.get("variant")]
    return max(cands, key=lambda r: r.rate) if cands else None


def ref_of(rows, workload):
    return next((r for r in rows if r.workload == workload and getattr(r, "ref", False) and not r.missing), None)


def find(rows, workload, prefix):
    return next((r for r in rows if r.workload == workload and r.contender.startswith(prefix) and not r.missing), None)


def checks(rows):
    """(target, verdict, detail) against the targets of docs/performance.md."""
    out = []

    def add(name, ok, detail):
        out.append((name, "n/a" if ok is None else ("PASS" if ok else "FAIL"), detail))

    # W2's pg_rrd rates and WAL include the final rrd.flush() (the fold of the journal).
    for wl, k_rate, max_wal, wal_share, k_tgres in (("W1", 10, 12, None, None), ("W2", 2, 40, 0.5, 5)):
        b, ref = best(rows, wl), ref_of(rows, wl)
        if not (b and ref):
            add(f"{wl} rate >= {k_rate}x naive COPY", None, "not measured")
            continue
        fold = " (fold included)" if wl == "W2" else ""
        if wl == "W2":
            # Both ways a collector sends a step must make it.
            for prefix, via in (("pg_rrd update(names[]", "update(names[])"),
                                ("pg_rrd COPY rrd.points", "COPY rrd.points")):
                r = find(rows, wl, prefix)
                name = f"W2 rate >= {k_rate}x naive COPY through {via}{fold}"
                if r:
                    x = r.rate / ref.rate
                    add(name, x >= k_rate, f"{x:.2f}x ({r.contender})")
                else:
                    add(name, None, "not measured")
        else:
            x = b.rate / ref.rate
            add(f"{wl} rate >= {k_rate}x naive COPY", x >= k_rate, f"{x:.2f}x ({b.contender})")
        if max_wal is not None:
            add(f"{wl} WAL <= {max_wal} B/point{fold}", b.wal <= max_wal, f"{b.wal:.1f} B ({b.contender})")
        if wal_share is not None:
            add(f"{wl} WAL <= {wal_share} x naive COPY's", b.wal <= wal_share * ref.wal,
                f"{b.wal:.1f} vs {ref.wal:.1f} B ({b.contender})")
        if k_tgres is not None:
            tg = find(rows, wl, "tgres")
            if tg:
                add(f"{wl} rate >= {k_tgres}x tgres-style", b.rate >= k_tgres * tg.rate,
                    f"{b.rate / tg.rate:.2f}x ({b.contender})")
    c, nc = find(rows, "W2C", "pg_rrd"), ref_of(rows, "W2C")
    sched = next((r for r in rows if r.workload == "W2C" and r.extra.get("schedule")), None)
    if c and nc:
        empty = next((r for r in rows if r.workload == "W2C" and r.extra.get("empty") and not r.missing), None)
        add("W2C WAL after a CHECKPOINT <= the naive COPY's after one (fold every cycle)", c.wal <= nc.wal,
            f"{c.wal:.1f} vs {nc.wal:.1f} B/point (fold included; naive into an empty table: "
            f"{'n/a' if empty is None else f'{empty.wal:.1f}'})")
    if sched and nc:
        add("W2C WAL per cycle <= the naive COPY's (default schedule, fold every 3 cycles)",
            sched.wal <= nc.wal, f"{sched.wal:.1f} vs {nc.wal:.1f} B/point")
    r3, n3 = find(rows, "W3", "pg_rrd"), ref_of(rows, "W3")
    if r3 and n3:
        add("W3 rate >= 0.95x naive single-row INSERT", r3.rate >= 0.95 * n3.rate, f"{r3.rate / n3.rate:.2f}x")
    w2 = next((r for r in rows if r.workload == "W2" and r.pg_rrd and r.disk is not None), None)
    if w2:
        add("disk at rest <= 9 B/slot (W2's series, after VACUUM)", w2.disk <= 9, f"{w2.disk:.2f} B/slot")
    w4 = find(rows, "W4", "pg_rrd")
    if w4:
        add("size flat once rings are full (W4 lap N <= 1.05x lap 1)", w4.extra["growth"] <= 1.05,
            f"x{w4.extra['growth']:.3f}")
    # W5 tries widths on purpose, some of them bad; the targets hold for W1 to W4.
    core = [r for r in rows if r.pg_rrd and not r.missing and r.workload in ("W1", "W2", "W3", "W4")]
    low = [(r, t, p) for r in core for t, p in r.hot if p < 95]
    measured = [r for r in core if r.hot]
    add("HOT >= 95% on rrd.state and rrd.chunk (pg_rrd rows of W1-W4)", (not low) if measured else None,
        "; ".join(f"{r.workload} {r.contender}: {t} {p:.0f}%" for r, t, p in low) or "all rows")
    r1 = [r for r in rows if r.workload == "R1" and not r.missing and r.rate]
    f1 = max((r for r in r1 if r.pg_rrd), key=lambda r: r.rate, default=None)
    if f1:
        add("reads >= 3M rows/s to the client", f1.rate >= 3e6, f"{fmt_rate(f1.rate)} rows/s ({f1.contender})")
        n1 = next((r for r in r1 if r.contender.startswith("naive")
                   and r.extra.get("binary") == f1.extra.get("binary")), None)
        if n1:
            add("reads >= 8x the naive range read", f1.rate >= 8 * n1.rate,
                f"{f1.rate / n1.rate:.2f}x ({f1.contender} vs {n1.contender})")
    a2, n2 = find(rows, "R2", "pg_rrd rrd.aggregate()"), ref_of(rows, "R2")
    if a2 and n2 and a2.rate and n2.rate:
        add("R2 rrd.aggregate() >= 10x the naive avg() over a year", a2.rate >= 10 * n2.rate,
            f"{a2.rate / n2.rate:.2f}x")
    p3 = next((r for r in rows if r.workload == "R3" and r.extra.get("pending_read") and not r.missing), None)
    if p3 and "vs_flushed" in p3.extra:
        x = p3.extra["vs_flushed"]
        add("R3 read with points pending <= 1.25x the read after rrd.flush()", x <= 1.25,
            f"{x:.2f}x ({p3.contender})")
    return out


def machine(conn, runs, scale):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    version = q1(conn, "SELECT version()")
    settings = q(conn, "SELECT name, setting, unit FROM pg_settings WHERE name IN ("
                       "'shared_buffers', 'synchronous_commit', 'wal_level', 'max_wal_size', 'checkpoint_timeout', "
                       "'full_page_writes', 'wal_compression', 'fsync', 'autovacuum') ORDER BY name")
    shown = []
    for name, setting, unit in settings:
        if unit == "8kB":
            setting = f"{int(setting) * 8 // 1024}MB"
        elif unit:
            setting += unit
        shown.append(f"{name}={setting}")
    ext = q1(conn, "SELECT extversion FROM pg_extension WHERE extname = 'pg_rrd'")
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        commit = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {mem_kb / 1048576:.0f} GB RAM, {platform.system()} {platform.release()}",
        f"server: {version}",
        f"settings: {', '.join(shown)}",
        f"pg_rrd {ext} at {commit}; rrdtool {rrdtool.lib_version()}; psycopg {psycopg.__version__}",
        f"scale: {'quick' if scale.quick else 'full'}; each figure the median of {runs} run(s)",
    ]


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default=os.environ.get("PGHOST", "/var/run/postgresql"), help="socket folder")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") not in ("", "0"))
    ap.add_argument("--only", default="",
                    help="comma list of W1,R,R3,W2,W2L,W3,W4,W5,W6,L1 (default all; R includes R3, W2 includes W2C)")
    args = ap.parse_args()
    scale = Scale(args.quick)
    runs = int(os.environ.get("BENCH_RUNS") or (1 if args.quick else 3))
    slow = float(os.environ.get("BENCH_SLOW") or 20)
    out_path = os.environ.get("BENCH_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md"))
    only = {x.strip().upper() for x in args.only.split(",") if x.strip()}

    db = Db(args.host, args.port, DB)
    with db.connect("postgres") as c:
        run_raw(c, f"DROP DATABASE IF EXISTS {DB}".encode())
        run_raw(c, f"CREATE DATABASE {DB}".encode())
    bench = Bench(db, scale, runs, slow)
    started = time.time()
    stamp = so_stamp()
    try:
        bench.reset_pg_rrd()
        bench.rrd_empty = schema_bytes(bench.conn, "rrd")
        load0 = os.getloadavg()[0]
        head = machine(bench.conn, runs, scale)
        for line in head:
            bench.log(line)
        if not only or "W1" in only or "R" in only:
            bench.w1()
        if not only or "R" in only:
            bench.reads()
        for name, step in (("R3", bench.r3), ("W2", bench.w2), ("W2L", bench.w2l), ("W3", bench.w3),
                           ("W4", bench.w4), ("W5", bench.w5), ("W6", bench.w6), ("L1", bench.l1)):
            if not only or name in only or (name == "R3" and "R" in only):
                bench.settle()
                step()
    finally:
        bench.close()
    elapsed = time.time() - started
    head.append(f"load average (1 min) at start {load0:.2f}, at end {os.getloadavg()[0]:.2f}; "
                f"run took {elapsed:.0f} s")
    if so_stamp() != stamp:
        head.append(f"WARNING: {so_path()} was reinstalled during the run; the figures mix two builds")

    rows = table_rows(bench.rows)
    verdicts = checks(bench.rows)
    width = max(len(v[0]) for v in verdicts) if verdicts else 0
    text = "\n".join(head) + "\n\n" + render_text(rows) + "\n\n" + "\n".join(
        f"{v:4}  {n.ljust(width)}  {d}" for n, v, d in verdicts)
    print(text)
    if out_path:
        md = ["# pg_rrd benchmark results", "", "Written by `make bench` (bench/bench.py).", ""]
        md += [f"- {line}" for line in head] + ["", render_md(rows), "", "| target | verdict | measured |",
                                                 "|---|---|---|"]
        md += [f"| {n} | {v} | {d} |" for n, v, d in verdicts]
        md += [""]
        with open(out_path, "w") as f:
            f.write("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
