#!/usr/bin/python3
"""Random calls with hostile arguments over every function of pg_rrd.

    /usr/bin/python3 pgrx-tests/sqlfuzz.py [--dir .pgdata/sqlfuzz] [--port 55460]
        [--seconds 60 | --calls N] [--seed S] [--self-test] [--timeout 2] [--memory-mb 1536]
        [--only REGEX] [--verbose] [--sql STATEMENT ...] [--keep]

Starts a private cluster (scripts/cluster.sh) in DIR, makes a database with
pg_rrd and reads every function of schema rrd from pg_proc (argument types,
names, defaults, variadic, set-returning or not), so that a new function is
fuzzed without a change here. Each call draws its arguments from pools of
hostile values per type (empty, huge and junk text, definitions valid and
not, deep globs, infinite and far times, NaN and the edges of each number
type, huge and negative intervals, empty, NULL-laden, huge, multi-dimensional
and offset arrays, junk and near-valid Whisper bytes and rrdtool dumps, deep
and huge jsonb, NULLs) and from hints by argument name (a `name` is mostly a
series that exists, `t` mostly times after its last update), in positional,
named and mixed notation, in several statement shapes; INSERT and COPY into
rrd.points, DELETE and TRUNCATE of rrd.series, the user settings of pg_rrd,
transactions with savepoints and a pool of real series (made again when the
calls drop or rename them) come between. Every value is an SQL expression
(a 10 MB text is a repeat(...)), so every statement printed replays as it is.

A call fails the run when the session's connection is lost or the server
crashed (server.log: "terminated by signal", PANIC), on SQLSTATE class XX
(internal error, data corrupted: nothing here corrupts stored data), on an
error whose message is empty, on a WARNING about a leaked or unclosed
resource, when it takes longer than statement_timeout + 1 s by the wall
clock less the time its backend waited for a CPU (/proc/PID/schedstat), or
when the backend's peak resident memory (VmHWM of pg_backend_pid(), reset
before each call through /proc/PID/clear_refs) passes --memory-mb. Every
other SQLSTATE is an allowed refusal; each is counted. A call still running
5 s past its limit gets SIGTERM, a backend past three times the memory bound
SIGKILL. The fixed calls of REGRESSIONS run first (after the pool is made),
every time. A crash right after pg_rrd.so was replaced (a reinstall: the new
library under the old catalog) makes a new database and retries the call
once instead.

--self-test first runs one deliberate case of each failure kind through the
same checks (an XX000 raised by PL/pgSQL, an empty message, a sleep past the
timeout, 300 MB under a 200 MB bound, a WARNING of a leak,
pg_terminate_backend of the session itself, SIGSEGV of its backend) and
fails the run if any goes unnoticed.

Prints the seed, each failure with its SQL (once per kind, function and
SQLSTATE; repeats are counted), and a table of calls, time, peak memory and
SQLSTATEs per function; with RELIABILITY_DIR set, writes one line
{"test", "cases", "failures", "detail"} to $RELIABILITY_DIR/sqlfuzz.json. The
last statements run, with their outcomes, are in DIR/last-calls.sql, the
summary in DIR/summary.json. Replay a run with --seed S --calls N (both
printed); --sql runs given statements through the checks instead. Stops the
cluster at the end, also on failure.
"""

import argparse
import collections
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback

import psycopg

PGBIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
DB = "sqlfuzz"

# Fixed calls run before the random ones, every run: each reproduced a
# failure once (description, SQL).
REGRESSIONS = [
    # (what, SQL); the SQL may read the tables of REGRESSION_SETUP.
    # pgrx's trigger functions called outside a trigger raised XX000
    # ("PgTrigger::from_fcinfo failed: NotTrigger"); PL/pgSQL's say 0A000.
    ("rrd._points_row called directly", "SELECT rrd._points_row()"),
    ("rrd._points_statement_start called directly", "SELECT rrd._points_statement_start()"),
    ("rrd._points_statement_end called directly", "SELECT rrd._points_statement_end()"),
    # A jsonb nested deeper than serde_json's recursion limit (128), which
    # PostgreSQL takes, raised XX000 "a text version of jsonb must be a valid json".
    ("rrd.set_tags of jsonb nested 200 deep",
     "SELECT rrd.set_tags('fz.g.fast', (repeat('{\"a\":', 200) || '1' || repeat('}', 200))::jsonb)"),
    ("rrd.set_meta of jsonb nested 200 deep",
     "SELECT rrd.set_meta('fz.g.fast', (repeat('[', 200) || repeat(']', 200))::jsonb)"),
    ("rrd.fetch_tagged of jsonb nested 200 deep",
     "SELECT count(*) FROM rrd.fetch_tagged((repeat('{\"a\":', 200) || '1' || repeat('}', 200))::jsonb, "
     "'AVERAGE', now() - interval '1 hour', now())"),
    ("rrd.create of jsonb nested 200 deep", "SELECT rrd.create('fz.deep', '--step 1 DS:x:GAUGE:2:U:U RRA:LAST:0:1:1', "
     "meta => (repeat('[', 200) || repeat(']', 200))::jsonb)"),
    # An offset outside the row, given as an argument, was called corrupt
    # stored data (XX001), though nothing stored was read.
    ("rrd._set_slots of an offset outside the row", "SELECT rrd._set_slots('{1,2}', '{5}', '{1}')"),
    ("rrd._set_slots of a NULL offset", "SELECT rrd._set_slots('{1,2}', '{NULL}', '{1}')"),
    # Meta of 1.5M keys (30 MB as text), read from a table in 0.1 s: the
    # call took 3.5 s a million keys and did not stop at a cancel.
    ("rrd.set_meta of 1.5M keys", "SELECT rrd.set_meta('fz.g.day', (SELECT j FROM sqlfuzz_input WHERE k = 'meta'))"),
    # A dump of 2M rows (40 MB): rrd.import_rrdtool took 2.5 s a million
    # rows to read it, and a cancel was not heard until it was read (nor was
    # a name too long for any series refused before).
    ("rrd.import_rrdtool of 2M rows", "SELECT count(*) FROM rrd.import_rrdtool('fz.big.import', "
     "(SELECT t FROM sqlfuzz_input WHERE k = 'dump'), false, 'replace')"),
    # A resize of a series of chunk_width 1 to 30M rows took 1.6 GB (55
    # bytes a row) and 5 s before the first row was written, deaf to a
    # cancel (100M rows, the limit: 5.5 GB, and deaf to SIGTERM for 40 s).
    ("rrd.resize to 30M rows of width 1", "SELECT rrd.resize('fz.a.abs', 0, 30000000)"),
    # An archive of 1e9 steps a row: rrd.add_archive took 9 s (2^31 steps:
    # 33 s), linear in the steps, and did not stop at a cancel or SIGTERM.
    ("rrd.add_archive of 1e9 steps a row", "SELECT rrd.add_archive('fz.g.fast', 'RRA:AVERAGE:0.5:1000000000:1')"),
    # 568M rows of 1 s with pg_rrd.max_fetch_rows raised to its most:
    # rrd.explain made room for all its rows before the first (72 GB; the
    # allocation failed and the backend aborted, taking the server down),
    # and rrd.sparkline read every value into memory first (4.5 GB).
    ("rrd.explain of 568M rows, LIMIT 5",
     "SELECT rrd.explain('fz.dd.dderive', 'MAX', '2020-01-01 00:00:00+00', '2038-01-19 03:14:08+00', "
     "resolution => '1 s') FROM (SELECT set_config('pg_rrd.max_fetch_rows', '2147483647', true)) AS s LIMIT 5"),
    ("rrd.sparkline of 568M rows",
     "SELECT rrd.sparkline('fz.dd.dderive', 'MAX', '2020-01-01 00:00:00+00', '2038-01-19 03:14:08+00', 20) "
     "FROM (SELECT set_config('pg_rrd.max_fetch_rows', '2147483647', true)) AS s"),
    # A Whisper file of 20M points (240 MB): rrd.import_whisper did not hear
    # a cancel while it read the points, 2.7 s here (10M points: 1.3 s).
    ("rrd.import_whisper of 20M points",
     "SELECT count(*) FROM rrd.import_whisper('fz.big.wsp', (SELECT b FROM sqlfuzz_input WHERE k = 'whisper'))"),
    # A pattern of 7M nodes (14 MB): rrd.find took 1.9 GB (10M nodes: 2.7
    # GB) and 6 s, and a cancel was not heard until it was compiled.
    ("rrd.find of a pattern of 7M nodes",
     "SELECT count(*) FROM rrd.find((SELECT t FROM sqlfuzz_input WHERE k = 'pattern'))"),
]

# Inputs of REGRESSIONS that take PostgreSQL itself a while to build: made
# once, before them, outside the checks.
REGRESSION_SETUP = """
CREATE TABLE IF NOT EXISTS sqlfuzz_input (k text PRIMARY KEY, t text, j jsonb, b bytea);
INSERT INTO sqlfuzz_input (k, j)
  SELECT 'meta', jsonb_object_agg('k' || i, 'v' || i) FROM generate_series(1, 1500000) i ON CONFLICT DO NOTHING;
INSERT INTO sqlfuzz_input (k, t)
  SELECT 'dump', regexp_replace(rrd.dump('fz.g.end'), '<database>',
                                '<database>' || repeat('<row><v>1</v></row>', 2000000))
  ON CONFLICT DO NOTHING;
INSERT INTO sqlfuzz_input (k, t) SELECT 'pattern', repeat('a.', 7000000) || 'x' ON CONFLICT DO NOTHING;
INSERT INTO sqlfuzz_input (k, b)
  SELECT 'whisper', '\\x0000000147868c003f000000000000010000001c0000003c01312d00'::bytea
                    || decode(repeat('3b9aca143ff8000000000000', 20000000), 'hex')
  ON CONFLICT DO NOTHING;
"""

# What server.log says when a backend did not end by itself.
CRASH_LOG = re.compile(r"terminated by signal|PANIC:|was terminated by exception|"
                       r"exited with exit code|TRAP:|terminating any other active server processes")
LEAK_WARNING = re.compile(r"leak|not closed|still referenced|was not released", re.I)


def pkglibdir():
    try:
        return subprocess.run([f"{PGBIN}/pg_config", "--pkglibdir"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "/usr/lib/postgresql/15/lib"


LIBRARY = os.path.join(pkglibdir(), "pg_rrd.so")


def library_id():
    """What changes when pg_rrd.so is replaced (install-ext.sh renames a new
    file over it)."""
    try:
        st = os.stat(LIBRARY)
        return (st.st_ino, st.st_mtime_ns)
    except OSError:
        return None


# ---------------------------------------------------------------- cluster

class Cluster:
    def __init__(self, path, port):
        self.dir = os.path.abspath(path)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = port

    def start(self):
        p = subprocess.run(["bash", CLUSTER_SH, "start", self.dir, str(self.port)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"cluster.sh start: {p.stderr.strip()[-800:]}")

    def stop(self):
        """A fast stop; an immediate one if that fails (a shutdown asked
        for during crash recovery can wait forever)."""
        subprocess.run(["bash", CLUSTER_SH, "stop", self.dir], capture_output=True, text=True)
        if self.postmaster_pid() is not None:
            as_pg = [] if os.geteuid() != 0 else ["sudo", "-u", "postgres"]
            subprocess.run([*as_pg, f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"],
                           capture_output=True, text=True)

    def connect(self, dbname="postgres"):
        return psycopg.connect(host=self.sock, port=self.port, user="postgres", dbname=dbname,
                               autocommit=True, connect_timeout=10)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return None
        return pid if state != "Z" else None

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_ready(self, dbname, seconds=60):
        """A session once the server takes connections again (after crash
        recovery), or None."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                c = self.connect(dbname)
                c.execute("SELECT 1")
                return c
            except psycopg.Error:
                time.sleep(0.2)
        return None


def proc_status(pid):
    """The kB fields of /proc/PID/status (VmRSS, VmHWM...), or {}."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return out


def runqueue_wait(pid):
    """Seconds PID has spent runnable but waiting for a CPU (the second
    field of /proc/PID/schedstat), 0 if unknown."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def reset_peak(pid):
    """Resets VmHWM of PID to its current RSS (Linux: 5 > clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- SQL text

def lit(s):
    """An SQL literal of text s (no NUL), printable as it is: E'' with
    escapes when s holds control characters or backslashes."""
    if all(c >= " " and c != "\x7f" for c in s) and "\\" not in s:
        return "'" + s.replace("'", "''") + "'"
    out = []
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("''")
        elif c < " " or c == "\x7f":
            out.append("\\x%02x" % ord(c))
        else:
            out.append(c)
    return "E'" + "".join(out) + "'"


def ident(s):
    return '"' + s.replace('"', '""') + '"'


def hexbytes(b):
    return f"'\\x{b.hex()}'::bytea"


# ---------------------------------------------------------------- functions

class Function:
    """One function of schema rrd as pg_proc describes it."""

    def __init__(self, row):
        (self.oid, self.name, self.signature, self.retset, self.rettype, self.variadic,
         self.ndefaults, types, names, modes, self.kind) = row
        modes = modes or ["i"] * len(types)
        names = names or [None] * len(types)
        self.args = [(n or None, t, m) for n, t, m in zip(names, types, modes) if m in ("i", "b", "v")]
        # A result column of arrays can hold 50M elements by design, and
        # PostgreSQL's array_out does not stop at a cancel: such results
        # are counted, never turned into text.
        self.out_arrays = any(t.endswith("[]") for t, m in zip(types, modes) if m in ("o", "t", "b"))
        self.required = len(self.args) - (self.ndefaults or 0)
        self.key = self.signature

    def __repr__(self):
        return self.signature


def discover(conn):
    rows = conn.execute("""
        SELECT p.oid, p.proname, p.oid::regprocedure::text, p.proretset,
               format_type(p.prorettype, NULL), p.provariadic <> 0, p.pronargdefaults,
               ARRAY(SELECT format_type(t, NULL)
                     FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(t, i)
                     ORDER BY i),
               p.proargnames, p.proargmodes::text[], p.prokind
        FROM pg_proc p WHERE p.pronamespace = 'rrd'::regnamespace ORDER BY 3""").fetchall()
    return [Function(r) for r in rows]


# ---------------------------------------------------------------- values

KINDS = ["GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", "DCOUNTER", "DDERIVE"]
CFS = ["AVERAGE", "MIN", "MAX", "LAST"]

# The pool of real series: name, definition, start, chunk_width, tags.
POOL = [
    ("fz.g.fast", "--step 1 DS:x:GAUGE:5:U:U RRA:AVERAGE:0.5:1:300 RRA:MAX:0.5:10:100 "
     "RRA:LAST:0:60:50 RRA:MIN:0.9:1:10", "2020-01-01 00:00:00+00", None, '{"dc": "dc1", "kind": "g"}'),
    ("fz.c.rx", "--step 10 DS:rx:COUNTER:20:0:U RRA:AVERAGE:0.5:1:1000 RRA:MAX:0.5:6:100",
     "2020-01-01 00:00:00+00", 7, '{"dc": "dc1", "kind": "c"}'),
    ("fz.d.deriv", "--step 60 DS:d:DERIVE:120:-100:100 RRA:AVERAGE:0.5:1:500 RRA:MIN:0.5:1h:30d",
     "2001-09-09 01:46:40+00", 1000, '{"dc": "dc2", "kind": "d"}'),
    ("fz.a.abs", "--step 5 DS:a:ABSOLUTE:10:0:1e6 RRA:LAST:0.5:1:100", None, 1, '{"kind": "a"}'),
    ("fz.dc.dcount", "--step 10 DS:dc:DCOUNTER:30:U:U RRA:AVERAGE:0.5:1:200 RRA:AVERAGE:0.5:1m:1d",
     "2024-02-29 00:00:00+00", None, '{}'),
    ("fz.dd.dderive", "--step 1 DS:dd:DDERIVE:2:U:U RRA:MAX:0.99:1:50", "1970-01-01 00:00:01+00", 3, '{"x": ""}'),
    ("fz.g.big", "--step 60 DS:v:GAUGE:120:U:U RRA:AVERAGE:0.5:1:100000 RRA:AVERAGE:0.5:1h:10y",
     "2015-06-30 23:59:59+00", 1000, '{"dc": "dc2", "size": "big"}'),
    ("fz.g.end", "--step 1 DS:e:GAUGE:10:U:U RRA:AVERAGE:0.5:1:20", "9999-12-31 23:58:00+00", None, '{}'),
    ("fz.g.day", "--step 86400 DS:day:GAUGE:172800:0:U RRA:AVERAGE:0:1:3650 RRA:LAST:0:7:520",
     "1980-01-02 00:00:00+00", 240, '{"dc": "dc1"}'),
    ("fz.w.ide", "-s 2147483647 DS:w:GAUGE:2147483648:U:U RRA:AVERAGE:0.5:1:2", "1970-01-01 00:00:00+00", None, '{}'),
]
POOL_NAMES = [p[0] for p in POOL]
# Series whose dump is small enough to be multiplied by a mutation.
SMALL_POOL = ["fz.c.rx", "fz.a.abs", "fz.dd.dderive", "fz.g.end", "fz.w.ide", "fz.g.fast"]

WHISPER_DOC = bytes.fromhex(
    "00000001000000b43f000000000000010000001c0000003c00000003"
    "3b9aca143ff80000000000003b9aca5040040000000000003b9aca8c4010000000000000")

DUMP_DOC = """<rrd>
  <version>0003</version>
  <step>60</step>
  <lastupdate>1000000170</lastupdate>
  <ds>
    <name>in</name> <type>COUNTER</type> <minimal_heartbeat>120</minimal_heartbeat>
    <min>0</min> <max>NaN</max>
    <last_ds>3100</last_ds> <value>300</value> <unknown_sec>0</unknown_sec>
  </ds>
  <ds>
    <name>out</name> <type>COUNTER</type> <minimal_heartbeat>120</minimal_heartbeat>
    <min>0</min> <max>NaN</max>
    <last_ds>1450</last_ds> <value>75</value> <unknown_sec>0</unknown_sec>
  </ds>
  <rra>
    <cf>AVERAGE</cf> <pdp_per_row>1</pdp_per_row>
    <params><xff>0.5</xff></params>
    <cdp_prep>
      <ds><primary_value>20</primary_value> <secondary_value>0</secondary_value>
          <value>NaN</value> <unknown_datapoints>0</unknown_datapoints></ds>
      <ds><primary_value>5</primary_value> <secondary_value>0</secondary_value>
          <value>NaN</value> <unknown_datapoints>0</unknown_datapoints></ds>
    </cdp_prep>
    <database>
      <row><v>NaN</v><v>NaN</v></row>
      <row><v>NaN</v><v>NaN</v></row>
      <row><v>10</v><v>2.5</v></row>
      <row><v>20</v><v>5</v></row>
    </database>
  </rra>
</rrd>
"""

HOSTILE_NUMBER_TEXT = ["0", "-1", "1", "-0", "+5", "1.5", "1e999", "-1e999", "NaN", "nan", "inf", "-Infinity",
                       "9" * 30, "0x10", "1e-400", "2147483647", "2147483648", "4294967296", "9223372036854775808",
                       "18446744073709551616", " 1", "1 ", "", "U", "١٠", "１０", "1_000", "1,5", ".", "e", "-",
                       "5e"]

UNICODE_BITS = ["é", "ß", "漢字", "🦀", "\u200b", "\u202e", "\ufeff", "\u0301", "ﬁ", "Ω", "\uffff",
                "\U0010ffff", "ǅ", "İ", "\u2028", "𝟘"]

SQL_META = ["'; DROP TABLE rrd.series; --", "$$", "$x$", "\\", "\\\\", "%", "_", '"', "E'\\x41'", "/*", "*/",
            ";", "--", "\\N", "\t", "\n", "\r\n", "\\.", "{}", "{\"a\"}", "NULL", "null", "'", "''"]

GLOBS = ["*", "**", "*.*", "*.*.*", "fz.*", "fz.*.*", "fz.g.*", "fz.{g,c}.*", "fz.[a-g].*", "fz.?.*", "fz.[!g].*",
         "fz.[^g].*", "{,}", "{", "}", "[", "[!", "[]", "[]]", "[z-a]", "[a-]", "\\", "fz\\", "fz.\\*", ".", "..",
         "fz.", ".fz", "fz..g", "{fz,}.*.*", "*{a,b}*", "[[]", "fz.{g.fast,c.rx}", "?", "???", "*?*?*?*?*?*?*?*?*?x",
         "{a,{b,{c,{d}}}}", "{{{{", "}}}}", "[\\]]", "[a-\\]", "\u0000x"]


class Gen:
    """Hostile values as SQL expressions, per type and per argument name."""

    def __init__(self, rng):
        self.r = rng
        self.focus = POOL_NAMES[0]
        self.batch = 3
        # Inside an array: no element of megabytes (a thousand of them would
        # measure the array, not pg_rrd).
        self.small = False
        self.gentle = False
        self.names = None

    # Each call picks a series to aim at and a batch length that its arrays
    # share most of the time.
    def new_call(self):
        self.names = None
        self.focus = self.r.choice(POOL_NAMES)
        self.batch = self.r.choice([0, 1, 1, 2, 3, 5, 10, 50, 200, 1000, 100000])

    def p(self, x):
        return self.r.random() < x

    # -------- definitions

    def duration(self, seconds):
        if self.p(0.2):
            for unit, s in (("y", 366 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
                if seconds % s == 0 and seconds >= s:
                    return f"{seconds // s}{unit}"
            return f"{seconds}s"
        return str(seconds)

    def definition(self):
        """A definition pg_rrd takes, most of the time (its edges: a step of
        2^31 - 1 s, rings near 200,000 years); bad_definition() breaks it."""
        r = self.r
        step = r.choice([1, 1, 5, 10, 10, 60, 300, 3600, 86400, 7, 2147483647])
        parts = []
        if step != 300 or self.p(0.5):
            parts.append(f"{r.choice(['--step', '-s'])} {self.duration(step)}")
        name = "".join(r.choice("abcXYZ019_-") for _ in range(r.randint(1, 19)))
        kind = r.choice(KINDS)
        hb = step * r.choice([1, 2, 3, 10]) if step < 2 ** 30 else step
        lo, hi = r.choice([("U", "U"), ("0", "U"), ("-100", "100"), ("U", "1e308"), ("-1e308", "1e308"),
                           ("-0.5", "0.5")])
        parts.append(f"DS:{name}:{kind}:{self.duration(hb)}:{lo}:{hi}")
        for _ in range(r.choice([1, 1, 2, 3, 4])):
            steps = r.choice([1, 1, 2, 6, 60, 1440])
            rows = r.choice([1, 2, 10, 100, 600, 1000, 5000])
            while steps * rows * step > 6311390400000 and (steps > 1 or rows > 1):
                steps, rows = max(1, steps // 10), max(1, rows // 10)
            s_txt = self.duration(steps * step) if self.p(0.15) and step * steps < 2 ** 31 else str(steps)
            r_txt = self.duration(rows * steps * step) if self.p(0.15) and rows * steps * step < 2 ** 40 else str(rows)
            parts.append(f"RRA:{r.choice(CFS)}:{r.choice(['0', '0.5', '0.99', '0.999999', '0.25'])}:{s_txt}:{r_txt}")
        return " ".join(parts)

    def bad_definition(self):
        r = self.r
        d = self.definition()
        fixed = ["", " ", "--step 0 DS:x:GAUGE:1:U:U RRA:AVERAGE:0.5:1:1", "--step -1 DS:x:GAUGE:1:U:U RRA:LAST:0:1:1",
                 "DS:x:GAUGE:20:U:U", "RRA:AVERAGE:0.5:1:10", "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:1:1:10",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:NaN:1:10", "--step 10 DS:x:GAUGE:0:U:U RRA:AVERAGE:0.5:1:10",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:0:10", "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:0",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100000001",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100000000",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:9223372036854775807:9223372036854775807",
                 "--step 1 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:200000y",
                 "--step 10 DS:x:GAUGE:20:U:U DS:y:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10",
                 "--step 10 DS:x:COMPUTE:a,b,+ RRA:AVERAGE:0.5:1:10",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:HWPREDICT:100:0.1:0.0035:288",
                 "--start 0 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10", "--step", "--step 10",
                 "--step 1hours DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10",
                 "--step 10 DS:xxxxxxxxxxxxxxxxxxxx:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10",
                 "--step 10 DS::GAUGE:20:U:U RRA:AVERAGE:0.5:1:10", "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGEx:0.5:1:10",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:7s:10",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:7s",
                 "--step 10 DS:x:GAUGE:20:U:U " + "RRA:LAST:0:1:1 " * 32768,
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10 --step 20",
                 "--step １０ DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10",
                 "-s 2147483649 DS:x:GAUGE:2147483649:U:U RRA:LAST:0:1:1",
                 "--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10 junk",
                 "\u00a0--step 10 DS:x:GAUGE:20:U:U RRA:LAST:0:1:1",
                 "--step 10 DS:x:GAUGE:20:5:1 RRA:LAST:0:1:1", "--step 10 DS:x:GAUGE:20:NaN:U RRA:LAST:0:1:1",
                 "--step 10 DS:x:GAUGE:20:-0:0 RRA:LAST:0:1:1",
                 "-s 2147483648 DS:x:GAUGE:2147483648:U:U RRA:LAST:0:1:1",
                 "--step 86400 DS:x:GAUGE:86400:U:U RRA:LAST:0:1440:5000"]
        if self.p(0.4):
            return r.choice(fixed)
        for _ in range(r.randint(1, 3)):
            m = r.randint(0, 7)
            if m == 0 and d:
                i = r.randrange(len(d))
                d = d[:i] + d[i + 1:]
            elif m == 1:
                i = r.randrange(len(d) + 1)
                d = d[:i] + r.choice([":", " ", "::", "-", "U", r.choice(UNICODE_BITS), "\t", "0"]) + d[i:]
            elif m == 2:
                d = re.sub(r"\d+(\.\d+)?", lambda _: r.choice(HOSTILE_NUMBER_TEXT), d, count=r.randint(1, 3))
            elif m == 3:
                toks = d.split(" ")
                r.shuffle(toks)
                d = " ".join(toks)
            elif m == 4:
                d = d.lower() if self.p(0.5) else d.upper()
            elif m == 5:
                toks = d.split(" ")
                d = " ".join(toks + [r.choice(toks)] * r.randint(1, 5))
            elif m == 6:
                d = d.replace(":", r.choice(["::", ";", ": ", ""]), 1)
            else:
                d = d + " " + r.choice(["RRA:MAX:0.5:1:1", "DS:y:GAUGE:1:U:U", "--step 1", "RRA:", "DS:"])
        return d

    def rrd_value(self):
        r = self.r.random()
        if r < (0.8 if self.gentle else 0.45):
            return lit(self.definition())
        if r < 0.75:
            return lit(self.bad_definition())
        if r < 0.9:
            return f"rrd.definition({lit(self.name())})"
        if r < 0.95:
            return f"(SELECT def FROM rrd.series ORDER BY id DESC LIMIT 1)"
        old = lit(self.r.choice([':', ' ', 'RRA', '0.5', '1']))
        return (f"replace(rrd.definition({lit(self.focus)})::text, {old}, "
                f"{lit(self.r.choice(['', '::', '  ', 'RRA:LAST:0:1:1 RRA', '1.5', '9999999999']))})")

    def rra_text(self):
        r = self.r
        if self.p(0.6):
            return lit(f"RRA:{r.choice(CFS)}:{r.choice(['0', '0.5', '0.9'])}:{r.choice([1, 2, 6, 60, '1h'])}:"
                       f"{r.choice([1, 10, 100, 1000, '1d'])}")
        return lit(r.choice(["", "RRA:AVERAGE:0.5:1:100000000", "RRA:AVERAGE:0.5:1:99999999", "RRA:AVERAGE:0.5:7:10",
                             "RRA:HWPREDICT:1:0.1:0.1:1", "RRA:AVERAGE:1:1:1", "RRA:AVERAGE:-0.1:1:1",
                             "RRA:AVERAGE:0.5:0:1", "RRA:AVERAGE:0.5:1:0", "RRA:AVERAGE:0.5:1:1 RRA:MAX:0.5:1:1",
                             "DS:x:GAUGE:1:U:U", "RRA:LAST:0:1:1:1", "RRA:last:0:1:1", "RRA:LAST:0:1y:1",
                             "RRA:AVERAGE:0.5:2147483648:1", "RRA:AVERAGE:0.5:1:9223372036854775808"]))

    # -------- names

    def name(self):
        r = self.r.random()
        if r < 0.55:
            return self.focus
        if r < 0.7:
            return self.r.choice(POOL_NAMES)
        return self.r.choice([
            "", " ", ".", "fz", "fz.g", "fz.g.fast.x", "fz.G.FAST", "fz.g.fast ", "no.such.series", "fz.imp.in",
            "fz.imp.out", "fz.wsp", "fz.new." + str(self.r.randint(0, 30)), "a" * 8192, "a" * 8193, "é" * 4096,
            "é" * 4097, "fz.*", "fz.{g,c}.*", "*", "fz.g.fast\n", "'; DROP TABLE rrd.series; --", "\\", "%", "_",
            "🦀.🦀", "\u202efz", "fz.g.fast" + "\u0301", "..", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", "x" * 200 + ".y",
            "NULL", "null", "fz.g.fast\t", "fz.renamed"])

    def name_expr(self):
        if self.gentle and self.p(0.35):
            return lit(f"fz.new.{self.r.randint(0, 30)}")
        if self.p(0.05):
            return self.big_text()
        if self.p(0.03):
            return "(SELECT name FROM rrd.series ORDER BY random() LIMIT 1)"
        return lit(self.name())

    def names_array(self):
        self.names = self._names_array()
        return self.names

    def _names_array(self):
        n = self.batch if self.p(0.85) else self.r.choice([0, 1, 2, 7, 1000])
        r = self.r.random()
        if n == 0:
            return "'{}'::text[]"
        if r < 0.55 and n <= 1000:
            return "ARRAY[" + ", ".join(lit(self.name()) for _ in range(n)) + "]::text[]"
        if r < 0.75:
            names = "ARRAY[" + ", ".join(lit(x) for x in self.r.sample(POOL_NAMES, self.r.randint(1, 4))) + "]"
            k = names.count(",") + 1
            return f"(SELECT array_agg(({names})[1 + i % {k}] ORDER BY i) FROM generate_series(0, {n - 1}) i)"
        if r < 0.85:
            return f"array_fill({lit(self.focus)}::text, ARRAY[{n}])"
        return self.text_array()

    def pattern(self):
        r = self.r.random()
        if self.small and 0.5 <= r < 0.85:
            # An array element: 100,000 patterns of 10 kB each would be an
            # array that PostgreSQL alone takes 2 GB to build.
            return f"repeat({lit(self.r.choice(['{a,', '*', '*?', '*.', '{fz,g,*}.']))}, {self.r.choice([2, 10, 50])}) || 'x'"
        if r < 0.5:
            return lit(self.r.choice(GLOBS).replace("\u0000", ""))
        if r < 0.6:
            depth = self.r.choice([10, 100, 1000, 5000, 100000])
            return f"repeat('{{a,', {depth}) || 'x' || repeat('}}', {depth})"
        if r < 0.65:
            depth = self.r.choice([10, 1000, 100000])
            return f"repeat('[', {depth})"
        if r < 0.7:
            return f"repeat('*', {self.r.choice([10, 100, 10000, 1000000])}) || 'x'"
        if r < 0.75:
            return f"repeat('*?', {self.r.choice([20, 1000, 100000])}) || 'fast'"
        if r < 0.8:
            return f"repeat('*.', {self.r.choice([2, 100, 10000])}) || '*'"
        if r < 0.85:
            return f"repeat('{{fz,g,*}}.', {self.r.choice([2, 20, 500])}) || '*'"
        if r < 0.9:
            return lit(self.focus)
        if r < 0.95:
            return self.big_text()
        return lit(self.name())

    # -------- text

    def junk(self, n):
        r = self.r
        cs = []
        for _ in range(n):
            x = r.random()
            if x < 0.5:
                cs.append(chr(r.randint(0x20, 0x7e)))
            elif x < 0.6:
                cs.append(chr(r.randint(1, 0x1f)))
            elif x < 0.85:
                cp = r.randint(0x80, 0x10ffff)
                while 0xd800 <= cp <= 0xdfff:
                    cp = r.randint(0x80, 0x10ffff)
                cs.append(chr(cp))
            else:
                cs.append(r.choice(UNICODE_BITS))
        return "".join(cs)

    def big_text(self):
        if self.small:
            return lit(self.junk(self.r.randint(1, 20)))
        size = self.r.choice([8192, 65536, 1 << 20, 1 << 20, 5 << 20, 10 << 20])
        chunk = self.r.choice(["a", self.junk(self.r.randint(1, 64)), self.definition() + " ", "fz.g.", "{a,",
                               "<row><v>1</v></row>", "N:1 "])
        return f"left(repeat({lit(chunk)}, {size // len(chunk) + 1}), {size})"

    def spec(self):
        r = self.r.random()
        if r < 0.35:
            k = self.r.choice([1, 1, 2, 7, 60, 3600, 0, -1, 10 ** 9])
            v = self.r.choice(["1", "2.5", "U", "0", "-1", "1e308", "NaN", "18446744073709551615", "3100", "x", ""])
            return f"(extract(epoch FROM {self.last_of()})::bigint + {k})::text || {lit(':' + v)}"
        return lit(self.r.choice([
            "N:1", "N:U", "N:", ":1", "N", "", "1000000000:1", "1000000000.5:2", "1000000000.1:3", "-1:1", "0:1",
            "1e10:1", "99999999999999999999:1", "N:1e308", "N:NaN", "N:inf", "N:-inf", "N:0x10", "N:1:2",
            "now-5min:1", "@1:1", "N:١", "N: 1", " N:1", "N:1 ", "253402300800:1", "253402300799.999999:1",
            "253402300799:1", "N:18446744073709551616", "N:-18446744073709551616", "N:18446744073709551615",
            "4294967296:1", "N::", "N:1e-400", "NaN:1", "inf:1", "1.7976931348623157e308:1", "N:" + "9" * 400,
            "1" * 400 + ":1", "N:U:U", "N:+1", "N:1.", "N:.5", "N:-0", "n:1", "N;1"]))

    def spec_array(self):
        n = self.batch if self.p(0.7) and self.batch <= 1000 else self.r.choice([0, 1, 3, 100])
        if self.p(0.2):
            return (f"(SELECT array_agg((extract(epoch FROM b)::bigint + i)::text || ':' || i ORDER BY i) FROM "
                    f"(SELECT {self.last_of()} b) s, "
                    f"generate_series(1, {max(n, 1)}) i)")
        if self.p(0.1):
            return self.text_array()
        return "ARRAY[" + ", ".join(self.spec() for _ in range(n)) + "]::text[]" if n else "'{}'::text[]"

    def text(self):
        r = self.r.random()
        if r < 0.05:
            return "''"
        if r < 0.1:
            return self.big_text()
        if r < 0.25:
            return lit(self.junk(self.r.randint(1, 200)))
        if r < 0.3:
            return lit(self.r.choice(SQL_META))
        if r < 0.35:
            return lit(self.r.choice(HOSTILE_NUMBER_TEXT))
        if r < 0.45:
            return lit(self.definition())
        if r < 0.55:
            return lit(self.bad_definition())
        if r < 0.6:
            return self.spec()
        if r < 0.7:
            return self.pattern()
        if r < 0.85:
            return self.name_expr()
        if r < 0.9:
            return self.xml()
        return lit(self.r.choice(CFS + KINDS + ["error", "skip", "replace", "average", "HWPREDICT", "AVERAGEx", "x"]))

    def cf(self):
        if self.p(0.8 if self.gentle else 0.4):
            return f"(SELECT a.cf FROM rrd.archives(rrd.definition({lit(self.focus)})) a ORDER BY random() LIMIT 1)"
        if self.p(0.75):
            return lit(self.r.choice(CFS))
        return lit(self.r.choice(["", "average", "Average", "AVERAGE ", "HWPREDICT", "MHWPREDICT", "SEASONAL",
                                  "FAILURES", "AVERAGEx", "AVG", "ＭＡＸ", "LAST;",
                                  "MIN" * 1000]))

    def kind(self):
        if self.p(0.6):
            return lit(self.r.choice(KINDS))
        return lit(self.r.choice(["", "gauge", "COMPUTE", "GAUGEX", "counter ", "ABSOLUTE\t", "DCOUNTER" * 100]))

    def on_exists(self):
        if self.p(0.7):
            return lit(self.r.choice(["error", "skip", "replace"]))
        return lit(self.r.choice(["", "REPLACE", "Skip", "drop", "error ", "replace\n"]))

    def ds_name(self):
        if self.p(0.5):
            return lit("".join(self.r.choice("abcXYZ019_-") for _ in range(self.r.randint(1, 19))))
        return lit(self.r.choice(["", "x" * 20, "a:b", "a b", "é", "-", "_", "DS", "U", "x" * 10000, "a\tb"]))

    # -------- dumps and whisper files

    def xml(self):
        r = self.r.random()
        src = self.r.choice(POOL_NAMES)
        if self.gentle and r < 0.6:
            return self.r.choice([f"rrd.dump({lit(src)})", lit(DUMP_DOC)])
        if r < 0.2 or (self.small and r >= 0.75):
            # (Not an array element of megabytes: see pattern.)
            return f"rrd.dump({lit(src)})"
        if r < 0.3:
            return f"left(rrd.dump({lit(src)}), {self.r.randint(0, 3000)})"
        if r < 0.5:
            a, b = self.r.choice([
                ("<step>", "<step>0"), ("<step>", "<step>-"), ("<version>0003", "<version>0009"),
                ("<version>0003", "<version>0005"), ("<lastupdate>", "<lastupdate>9"),
                ("<lastupdate>", "<lastupdate>-"),
                ("<v>", "<v>1e309"), ("<v>", "<v>x"), ("<pdp_per_row>", "<pdp_per_row>0"), ("<rra>", "<rra><rra>"),
                ("</rra>", ""), ("<row>", "<row><v>1</v>"), ("<database>", "<database><row></row>"),
                ("GAUGE", "COMPUTE"), ("AVERAGE", "HWPREDICT"), ("<xff>", "<xff>1"), ("<xff>", "<xff>-"),
                ("<minimal_heartbeat>", "<minimal_heartbeat>0"),
                ("<unknown_sec>", "<unknown_sec>99999999999"), ("<ds>", "<ds><ds>"), ("<name>", "<name>é "),
                ("<rrd>", "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rrd>"),
                ("<rrd>", "<!DOCTYPE rrd [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><rrd>"),
                ("<min>", "<min>&x;"), ("<rrd>", "<rrd a=\"1\">"), ("<cf>", "<cf><![CDATA[x]]>"),
                ("<row>", "<!-- -- --><row>")])
            fn = self.r.choice(["replace", "regexp_replace"])
            if fn == "replace":
                return f"replace(rrd.dump({lit(src)}), {lit(a)}, {lit(b)})"
            return f"regexp_replace(rrd.dump({lit(src)}), {lit(re.escape(a))}, {lit(b)}, 'g')"
        if r < 0.6:
            return lit(DUMP_DOC)
        if r < 0.7:
            d = DUMP_DOC
            cut = self.r.randint(0, len(d))
            if self.p(0.5):
                d = d[:cut]
            else:
                d = d[:cut] + self.r.choice(["<", ">", "&", "&amp;", "<v>", "</rrd>", self.junk(5), "\u0085"]) + d[cut:]
            return lit(d)
        if r < 0.75:
            # A billion laughs: entities of entities, ten each.
            ents = "".join(f"<!ENTITY lol{i} \"" + f"&lol{i - 1};" * 10 + "\">" for i in range(1, 10))
            lol = "<!DOCTYPE lolz [<!ENTITY lol0 \"lol\">" + ents + "]>"
            return lit(lol + "<rrd><version>&lol9;</version></rrd>")
        if r < 0.8:
            depth = self.r.choice([1000, 100000, 1000000])
            return f"'<rrd>' || repeat('<rra>', {depth})"
        src = self.r.choice(SMALL_POOL)
        if r < 0.85:
            n = self.r.choice([1000, 100000, 1000000])
            return (f"regexp_replace(rrd.dump({lit(src)}), '<database>', '<database>' || "
                    f"repeat('<row><v>1</v></row>', {n}))")
        if r < 0.9:
            return (f"regexp_replace(rrd.dump({lit(src)}), '<row><v>[^<]*</v></row>', "
                    f"'<row><v>' || repeat('9', {self.r.choice([400, 10000])}) || '</v></row>', 'g')")
        return self.text()

    def whisper_bytes(self):
        r = self.r
        agg = r.choice([1, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 0xffffffff])
        n_arch = r.choice([1, 1, 2, 3, 0, 5])
        spp, pts = [], []
        for i in range(max(n_arch, 1)):
            s = r.choice([1, 10, 60]) if i == 0 else spp[-1] * r.choice([2, 5, 6, 10])
            p = r.choice([1, 3, 10, 60, 100])
            if i > 0:
                p = max(p, pts[-1] * spp[-1] // s + 1)
            spp.append(s)
            pts.append(p)
        spp, pts = spp[:n_arch], pts[:n_arch]
        ret = spp[-1] * pts[-1] if n_arch else 0
        xff = r.choice([0.5, 0.0, 1.0, 0.99, float("nan"), -1.0, 2.0])
        head = struct.pack("!2LfL", agg, ret & 0xffffffff, xff, n_arch)
        off = 16 + 12 * n_arch
        infos, body = b"", b""
        base = r.choice([1000000000, 1700000000, 0, 4294967000])
        for s, p in zip(spp, pts):
            infos += struct.pack("!3L", off & 0xffffffff, s & 0xffffffff, p)
            for k in range(p):
                if r.random() < 0.7:
                    ts = (base - (base % s) - (p - k) * s) & 0xffffffff
                    v = r.choice([r.uniform(-1e6, 1e6), 0.0, float("nan"), float("inf"), 1e308, -0.0, float(k)])
                    body += struct.pack("!Ld", ts, v)
                else:
                    body += b"\0" * 12
            off += 12 * p
        data = head + infos + body
        m = r.random()
        if m < 0.4 or (self.gentle and agg in (1, 3, 4, 5) and n_arch and m < 0.8):
            return data
        data = bytearray(data)
        if m < 0.55:
            return bytes(data[:r.randint(0, len(data))])
        if m < 0.75:
            for _ in range(r.randint(1, 8)):
                i = r.randrange(len(data))
                data[i] = r.randrange(256)
            return bytes(data)
        if m < 0.9:
            # A header field set to an edge: counts, offsets, steps.
            field = r.choice([4, 12] + [16 + 12 * a + j for a in range(n_arch) for j in (0, 4, 8)])
            if field + 4 <= len(data):
                data[field:field + 4] = struct.pack("!L", r.choice([0, 1, 0x7fffffff, 0xffffffff, len(data), 16]))
            return bytes(data)
        return bytes(data) + bytes(r.randrange(256) for _ in range(r.randint(1, 40)))

    def bytea(self):
        r = self.r.random()
        if r < 0.35:
            return hexbytes(self.whisper_bytes())
        if r < 0.45:
            return hexbytes(WHISPER_DOC)
        if r < 0.55:
            return "'\\x'::bytea"
        if r < 0.7:
            return hexbytes(bytes(self.r.randrange(256) for _ in range(self.r.randint(1, 200))))
        if r < 0.8:
            # A header that claims many points, followed by a body made in SQL.
            pts = self.r.choice([100000, 1000000, 10000000, 0x0fffffff])
            head = struct.pack("!2LfL", 1, (60 * pts) & 0xffffffff, 0.5, 1) + struct.pack("!3L", 28, 60, pts)
            body = self.r.choice([1000, 100000, 1000000, pts])
            return f"{hexbytes(head)} || decode(repeat('3b9aca143ff8000000000000', {min(body, 10000000)}), 'hex')"
        if r < 0.9:
            return f"convert_to({self.text()}, 'UTF8')"
        junk = "".join(self.r.choice("0123456789abcdef") for _ in range(32))
        return f"decode(repeat({lit(junk)}, {self.r.choice([1000, 100000, 300000])}), 'hex')"

    # -------- times, numbers, intervals

    def last_of(self, name=None):
        n = lit(name or self.focus)
        return f"coalesce((SELECT rrd.last(name) FROM rrd.series WHERE name = {n}), now())"

    def timestamptz(self):
        r = self.r.random()
        if r < 0.3:
            k = self.r.choice(["1 s", "0.5 s", "1 microsecond", "10 s", "1 min", "1 hour", "1 day", "0 s",
                               "-1 s", "-1 hour", "-1 day", "-30 days", "-10 years", "1 year", "300 s", "7 s"])
            return f"{self.last_of()} + interval {lit(k)}"
        if r < 0.6:
            return lit(self.r.choice([
                "infinity", "-infinity", "4713-01-01 00:00:00+00 BC", "294276-12-31 23:59:59.999999+00", "epoch",
                "1970-01-01 00:00:00.000001+00", "1969-12-31 23:59:59+00", "1979-12-31 23:59:59+00",
                "1980-01-01 00:00:01+00", "9999-12-31 23:59:59.999999+00", "9999-12-31 23:59:59+00",
                "10000-01-01 00:00:00+00", "2038-01-19 03:14:08+00", "2106-02-07 06:28:16+00", "2001-09-09 01:46:40+00",
                "2020-01-01 00:00:00+00", "2020-01-01 00:05:00+00", "2024-02-29 12:00:00+00", "1970-01-01 00:00:01+00",
                "0001-01-01 00:00:00+00", "2000-01-01 00:00:00+00"]))
        if r < 0.75:
            return self.r.choice(["now()", "clock_timestamp()", "now() - interval '1 hour'", "now() + interval '1 day'",
                                  "date_trunc('hour', now())"])
        if r < 0.9:
            x = self.r.choice([0, 1, -1, 1e9, 1.7e9, 253402300799, 253402300800, 2 ** 31, 2 ** 32, 1e12,
                               self.r.uniform(0, 2.5e11)])
            return f"to_timestamp({x})"
        return f"to_timestamp({self.r.randint(315532800, 4102444800)})"

    def float8(self):
        if self.p(0.55):
            return lit(self.r.choice([
                "NaN", "Infinity", "-Infinity", "0", "-0", "-1", "1", "2147483647", "9223372036854775807", "1e308",
                "-1e308", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308", "1e-300", "0.5",
                "18446744073709551615", "4294967296", "0.999999", "1.0000000000000002", "100"]))
        if self.p(0.5):
            return repr(self.r.uniform(-1e6, 1e6))
        return str(self.r.randint(-10, 10 ** 6))

    def numeric(self):
        if self.p(0.6):
            return lit(self.r.choice([
                "NaN", "Infinity", "-Infinity", "0", "-1", "18446744073709551615", "18446744073709551616", "1e1000",
                "-1e-1000", "0.1", "9" * 1000, "4294967295", "4294967296", "9007199254740993", "-0", "1e-100",
                "3100", "123456789012345678901234567890.123456789"]))
        return self.float8()

    def integer(self, hint=None):
        if hint == "archive":
            if self.p(0.3):
                return (f"(SELECT max(archive) FROM rrd.archives(rrd.definition({lit(self.focus)})))")
            return self.r.choice(["0", "0", "1", "2", "3", "-1", "32767", "32768", "-32768", "2147483647", "4", "5"])
        if hint == "chunk_width":
            return self.r.choice(["1", "7", "240", "1000", "1001", "0", "-1", "2147483647"])
        if hint == "points":
            return self.r.choice(["1", "2", "3", "10", "100", "0", "-1", "2147483647", "-2147483648", "50000000"])
        if hint == "heartbeat":
            return self.r.choice(["1", "60", "120", "0", "-1", "2147483647", "86400"])
        return self.r.choice(["0", "1", "-1", "2", "2147483647", "-2147483648", "32767", "32768", "65535", "1000",
                              "1001", "240", str(self.r.randint(-100, 100000))])

    def bigint(self, hint=None):
        if hint == "rows":
            return self.r.choice(["1", "2", "10", "100", "1000", "0", "-1", "100000000", "99999990", "100000001",
                                  "9223372036854775807", "-9223372036854775808", "2147483648", "50000"])
        return self.r.choice(["0", "1", "-1", "9223372036854775807", "-9223372036854775808", "100000000",
                              "100000001", "2147483648", "4294967296", str(self.r.randint(-10, 10 ** 12))])

    def interval(self):
        return lit(self.r.choice([
            "0", "1 microsecond", "-1 second", "1 second", "10 s", "20 s", "1 min", "2 min", "1 hour", "1 day",
            "1 month", "1 year", "178000000 years", "-178000000 years", "2147483647 days", "-2147483648 days",
            "2147483647 months", "-2147483648 months", "2562047788 hours", "-2562047788 hours", "1 mon -30 days",
            "0.5 s", "1.5 s", "7 s", "3 s", "60 s", "6 min", "1 week", "10 years", "2147483647 s", "2147483648 s"]))

    def boolean(self):
        return self.r.choice(["true", "false", "true", "false", "NULL"])

    def jsonb(self, hint=None):
        r = self.r.random()
        if r < 0.45:
            return lit(self.r.choice([
                "{}", "[]", "null", '"x"', "1", '{"dc": "dc1"}', '{"kind": "g"}', '{"dc": "dc2", "size": "big"}',
                '{"a": 1}', '{"a": {"b": "c"}}', '{"": ""}', '{"a": null}', '{"a": ["b"]}', '{"dc": ["dc1"]}',
                '{"é": "🦀"}', '{"x": ""}', '{"a": true}', '[{"dc": "dc1"}]', '{"a": "b", "a": "c"}']))
        if r < 0.55:
            d = self.r.choice([100, 5000, 100000])
            return f"(repeat('{{\"a\":', {d}) || '1' || repeat('}}', {d}))"
        if r < 0.62:
            d = self.r.choice([100, 5000, 100000])
            return f"(repeat('[', {d}) || repeat(']', {d}))"
        if r < 0.7:
            # More keys take PostgreSQL itself a second to build.
            n = self.r.choice([1000, 10000, 100000])
            return f"(SELECT jsonb_object_agg('k' || i, 'v' || i) FROM generate_series(1, {n}) i)"
        if r < 0.77:
            return f"jsonb_build_object('a', {self.big_text()})"
        if r < 0.85:
            return f"jsonb_build_object({self.text()}, {self.text()})"
        if r < 0.9:
            return f"rrd.info({lit(self.name())})"
        return f"to_jsonb({self.text()})"

    # -------- arrays

    def array(self, elem_type, elem):
        """elem: a function giving one element's SQL."""
        was, self.small = self.small, True
        try:
            return self._array(elem_type, elem)
        finally:
            self.small = was

    def _array(self, elem_type, elem):
        n = self.batch if self.p(0.75) else self.r.choice([0, 1, 2, 3, 10])
        r = self.r.random()
        t = elem_type
        if r < 0.05:
            return f"'{{}}'::{t}[]"
        if r < 0.1:
            return f"ARRAY[NULL]::{t}[]"
        if r < 0.15:
            # A million copies of one element: a short one, or the array
            # alone would be near PostgreSQL's 1 GB limit.
            e = f"left(({elem()})::text, 24)::{t}" if t == "text" else f"({elem()})::{t}"
            return f"array_fill({e}, ARRAY[{self.r.choice([1000000, 3000000, n])}])"
        if r < 0.2:
            return (f"ARRAY[[({elem()})::{t}, ({elem()})::{t}], [({elem()})::{t}, NULL]]")
        if r < 0.25:
            return f"array_fill(({elem()})::{t}, ARRAY[{max(n, 1)}], ARRAY[{self.r.choice([0, -5, 2147483000])}])"
        if r < 0.3:
            return f"ARRAY(SELECT NULL::{t} FROM generate_series(1, {n}))"
        if n > 200:
            return f"ARRAY(SELECT ({elem()})::{t} FROM generate_series(1, {n}))"
        parts = [f"({elem()})::{t}" if not self.p(0.05) else "NULL" for _ in range(n)]
        return f"ARRAY[{', '.join(parts)}]::{t}[]" if parts else f"'{{}}'::{t}[]"

    def time_array(self):
        n = self.batch if self.p(0.85) else self.r.choice([0, 1, 2, 3, 10, 1000000])
        r = self.r.random()
        if n == 0 and r < 0.6:
            return "'{}'::timestamptz[]"
        if r < 0.45:
            step = self.r.choice(["1 s", "0.1 s", "1 microsecond", "7 s", "1 min", "1 hour", "0 s", "-1 s", "1 day"])
            return (f"(SELECT array_agg(b + i * interval {lit(step)} ORDER BY i) FROM (SELECT {self.last_of()} b) s, "
                    f"generate_series(1, {n}) i)")
        if r < 0.6:
            # After the last update of each name of the call's names array
            # (when it came first), each point one second after the last.
            names = self.names or self.names_array()
            return (f"(SELECT array_agg(coalesce((SELECT rrd.last(name) FROM rrd.series WHERE name = u.n), now()) "
                    f"+ u.i * interval '1 s' ORDER BY u.i) FROM unnest({names}) WITH ORDINALITY AS u(n, i))")
        return self.array("timestamptz", self.timestamptz)

    def float_array(self):
        r = self.r.random()
        n = self.batch if self.p(0.85) else self.r.choice([0, 1, 2, 3, 1000000])
        if n == 0 and r < 0.6:
            return "'{}'::float8[]"
        if r < 0.4:
            k = self.r.choice([1, 7, 1000, 0.5, -1])
            return f"(SELECT array_agg((i * {k})::float8 ORDER BY i) FROM generate_series(1, {n}) i)"
        return self.array("float8", self.float8)

    def int_array(self):
        if self.p(0.3):
            n = self.batch if self.p(0.7) else 3
            return f"(SELECT array_agg(i::int ORDER BY i) FROM generate_series(0, {max(n, 1) - 1}) i)"
        return self.array("int", self.integer)

    def text_array(self):
        return self.array("text", self.text)

    # -------- one argument

    def value(self, typ, argname):
        """An SQL expression for argument `argname` of type `typ`; in a
        gentle call, always what its name hints at and never NULL."""
        if not self.gentle and self.p(0.06):
            return "NULL"
        hinted = self.gentle or self.p(0.75)
        a = (argname or "").lower()
        if typ == "text":
            if hinted:
                if a in ("name", "old", "new"):
                    return self.name_expr()
                if a in ("pattern", "prefix"):
                    return self.pattern()
                if a == "cf":
                    return self.cf()
                if a == "spec":
                    return self.spec()
                if a == "xml":
                    return self.xml()
                if a == "archive":
                    return self.rra_text()
                if a == "kind":
                    return self.kind()
                if a == "ds_name":
                    return self.ds_name()
                if a == "on_exists":
                    return self.on_exists()
            return self.text()
        if typ == "text[]":
            if hinted and a == "names":
                return self.names_array()
            if hinted and a == "specs":
                return self.spec_array()
            return self.text_array()
        if typ == "timestamp with time zone":
            if hinted and a in ("start", "from") and self.p(0.5):
                back = self.r.choice(["1 min", "1 hour", "1 day", "30 days", "10 years"])
                return f"{self.last_of()} - interval {lit(back)}"
            if hinted and a in ("stop", "until") and self.p(0.5):
                return f"{self.last_of()} + interval {lit(self.r.choice(['0 s', '1 min', '1 hour', '-1 hour']))}"
            return self.timestamptz()
        if typ == "timestamp with time zone[]":
            return self.time_array()
        if typ == "double precision":
            if hinted and a == "xff":
                return self.r.choice(["0", "0.5", "0.99", "0.999999", "1", "-0.1", "'NaN'", "'Infinity'", "0.25"])
            if hinted and a in ("min", "max"):
                return self.r.choice(["0", "-100", "100", "1e6", "-1e308", "1e308", "'NaN'", "'-Infinity'",
                                      "'Infinity'", "-0.0", "5"])
            return self.float8()
        if typ == "double precision[]":
            return self.float_array()
        if typ == "numeric":
            return self.numeric()
        if typ == "integer":
            return self.integer(a if hinted else None)
        if typ == "integer[]":
            return self.int_array()
        if typ == "bigint":
            return self.bigint(a if hinted else None)
        if typ == "smallint":
            return self.r.choice(["0", "1", "-1", "32767", "-32768"])
        if typ == "interval":
            if hinted and a in ("resolution", "heartbeat") and self.p(0.6):
                return lit(self.r.choice(["1 s", "10 s", "20 s", "1 min", "5 min", "1 hour", "1 day", "1 week"]))
            return self.interval()
        if typ == "boolean":
            return self.boolean()
        if typ == "jsonb":
            return self.jsonb(a)
        if typ == "bytea":
            return self.bytea()
        if typ == "rrd.rrd":
            return self.rrd_value()
        if typ == "cstring":
            return f"({self.rrd_value() if hinted else self.text()})::text"
        if typ.endswith("[]"):
            return self.array(typ[:-2], lambda: "NULL")
        return "NULL"


# ---------------------------------------------------------------- the fuzzer

class Failure(Exception):
    pass


class Watch(threading.Thread):
    """Samples the backend of the call in flight: cancels it past the wall
    clock bound or the memory bound, and ends it if a cancel does not."""

    def __init__(self, fz):
        super().__init__(daemon=True)
        self.fz = fz
        self.lock = threading.Lock()
        self.cur = None
        self.stopped = False

    def arm(self, conn, pid, bound_kb):
        with self.lock:
            self.cur = {"conn": conn, "pid": pid, "t0": time.monotonic(), "wait0": runqueue_wait(pid),
                        "wait": 0.0, "bound": bound_kb, "slow": False, "mem": 0, "killed": False, "killed9": False}

    def disarm(self):
        with self.lock:
            cur, self.cur = self.cur, None
        return cur

    def run(self):
        limit = self.fz.timeout + 1.0
        while not self.stopped:
            with self.lock:
                cur = self.cur
                if cur is not None:
                    # Time the backend waited for a CPU (other work on the
                    # machine) is not its own.
                    w = runqueue_wait(cur["pid"]) - cur["wait0"]
                    if w > cur["wait"]:
                        cur["wait"] = w
                    el = time.monotonic() - cur["t0"] - cur["wait"]
                    rss = proc_status(cur["pid"]).get("VmRSS", 0)
                    if rss > cur["bound"] and not cur["mem"]:
                        cur["mem"] = rss
                        self._cancel(cur)
                    if rss > 3 * cur["bound"] and not cur["killed9"]:
                        # Neither a cancel nor SIGTERM is heard, and the
                        # machine's memory is at stake.
                        cur["killed9"] = True
                        try:
                            os.kill(cur["pid"], signal.SIGKILL)
                        except OSError:
                            pass
                    if el > limit and not cur["slow"]:
                        cur["slow"] = True
                        self._cancel(cur)
                    if (el > limit + 5 or (cur["mem"] and el > 5)) and not cur["killed"]:
                        cur["killed"] = True
                        try:
                            os.kill(cur["pid"], signal.SIGTERM)
                        except OSError:
                            pass
            time.sleep(0.02)

    @staticmethod
    def _cancel(cur):
        try:
            cur["conn"].cancel()
        except Exception:  # noqa: BLE001 - a cancel that cannot be sent leaves the kill
            pass


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.cluster = Cluster(args.dir, args.port)
        self.timeout = args.timeout
        self.bound_kb = int(args.memory_mb * 1024)
        self.rng = random.Random(args.seed)
        self.gen = Gen(self.rng)
        self.failures = []
        self.failure_sigs = []
        self.repeats = collections.Counter()
        self.messages = {}
        self.last_msg = None
        self.calls = collections.Counter()
        self.ok = collections.Counter()
        self.states = collections.defaultdict(collections.Counter)
        self.peak_kb = collections.Counter()
        self.secs = collections.Counter()
        self.resting_kb = 0
        self.resting_max_kb = 0
        self.recent = collections.deque(maxlen=3000)
        self.n = 0
        self.in_tx = 0
        self.notices = []
        self.conn = None
        self.pid = None
        self.functions = []
        self.lib = None
        self.reinstalls = 0
        self.expect_failure = False
        self.self_seen = []
        self.retrying = False
        self.log_start = 0
        self.fuzz_calls = 0
        self.self_caught = 0
        self.watch = Watch(self)

    # -------- sessions

    def fresh_db(self):
        base = self.cluster.connect("postgres")
        base.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        base.execute(f"CREATE DATABASE {DB}")
        base.close()
        self.lib = library_id()
        c = self.cluster.connect(DB)
        c.execute("CREATE EXTENSION pg_rrd")
        self.functions = discover(c)
        only = re.compile(self.args.only) if self.args.only else None
        self.targets = [f for f in self.functions if not only or only.search(f.key)] or self.functions
        c.close()
        self.connect()

    def connect(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.conn = self.cluster.wait_ready(DB)
        if self.conn is None:
            raise Failure("the server takes no connections")
        # A notice's fields are read in the handler: they are gone after it.
        self.conn.add_notice_handler(lambda d: self.notices.append((d.severity, d.message_primary)))
        self.conn.execute(f"SET statement_timeout = '{int(self.timeout * 1000)}ms'")
        self.pid = self.conn.info.backend_pid
        self.in_tx = 0
        self.log_sql(f"-- new session, backend {self.pid}\nSET statement_timeout = '{int(self.timeout * 1000)}ms';")

    def log_sql(self, text):
        self.recent.append(text)

    # -------- one statement

    def fail(self, kind, key, sql, msg, state=None):
        """One failure; the same kind, statement and SQLSTATE again is
        counted, not printed."""
        if self.expect_failure:
            self.self_seen.append(kind)
            return
        # A regression and a random call of one function are one failure.
        m = re.search(r'rrd\.(?:"(\w+)"|(\w+))', key)
        sig = (kind, m.group(1) or m.group(2) if m else key, state)
        self.repeats[sig] += 1
        if self.repeats[sig] > 1:
            return
        short = sql if len(sql) <= 20000 else sql[:20000] + f"... ({len(sql)} characters)"
        text = f"{kind} in {key} (call {self.n}): {msg}\n    SQL: {short}"
        self.failures.append(text)
        self.failure_sigs.append(sig)
        print(f"FAIL {text}", flush=True)
        if len(self.failures) >= self.args.max_failures:
            raise Failure(f"{len(self.failures)} distinct failures")

    def run(self, key, sql, copy=None, count=True, bound_kb=None):
        """Runs one statement (COPY FROM STDIN with `copy` as its data) and
        checks it. Returns the SQLSTATE, None on success."""
        self.n += 1
        if count:
            self.calls[key] += 1
        bound = bound_kb or self.bound_kb
        log_at = self.cluster.log_size()
        self.notices.clear()
        reset_peak(self.pid)
        conn = self.conn
        state, msg, lost = None, None, False
        t0 = time.monotonic()
        self.watch.arm(conn, self.pid, bound)
        try:
            if copy is not None:
                with conn.cursor() as cur:
                    with cur.copy(sql) as cp:
                        cp.write(copy)
            else:
                # The rows are read, never parsed: a DateStyle or a type
                # the client does not know must not matter.
                conn.execute(sql)
        except psycopg.Error as e:
            state = e.sqlstate
            msg = e.diag.message_primary if e.sqlstate else str(e)
            if conn.closed or conn.broken or (state or "").startswith(("08", "57P")):
                lost = True
            elif state is None:
                state = "client"  # psycopg refused what the server sent
        elapsed = time.monotonic() - t0
        self.last_msg = msg
        watched = self.watch.disarm()
        status = proc_status(self.pid)
        hwm = status.get("VmHWM", 0)
        # What the session keeps between calls: a leak grows it.
        self.resting_kb = status.get("RssAnon", self.resting_kb)
        self.resting_max_kb = max(self.resting_max_kb, self.resting_kb)
        if hwm > self.peak_kb[key]:
            self.peak_kb[key] = hwm
        outcome = "ok" if state is None and not lost else (state or "lost")
        if count:
            seen = self.messages.setdefault((key, outcome), [])
            one_line = " ".join((msg or "").split())[:300]
            if len(seen) < 3 and one_line and one_line not in seen:
                seen.append(one_line)
            self.states[key][outcome] += 1
            self.secs[key] += elapsed
            if outcome == "ok":
                self.ok[key] += 1
        data = ""
        if copy is not None:
            data = "\n" + copy.decode("utf-8", "replace") + "\\.\n"
        self.log_sql(f"-- [{self.n}] {key}: {outcome} {elapsed:.3f} s, VmHWM {hwm // 1024} MB\n{sql};{data}")

        if lost and watched and watched["killed9"]:
            self.fail("memory", key, sql, f"backend VmRSS {watched['mem'] // 1024} MB, more than {bound // 1024} MB, "
                      f"and past {3 * bound // 1024} MB after {elapsed:.1f} s: ended with SIGKILL")
            time.sleep(0.5)
            self.connect()
            self.log_start = self.cluster.log_size()
            return "lost"
        if lost and watched and watched["killed"]:
            # Ended by the watch: it did not stop at the cancel.
            self.fail("slow call", key, sql, f"still running {elapsed:.1f} s after it started, {self.timeout} s "
                      f"of statement_timeout and a cancel: ended with SIGTERM")
            self.connect()
            return "lost"
        if lost:
            self.lost(key, sql, copy, log_at, msg)
            return "lost"
        if state and state.startswith("XX"):
            self.fail(f"SQLSTATE {state}", key, sql, msg, state)
        if state == "client":
            self.fail("client error", key, sql, msg, state)
        if state and not (msg or "").strip():
            self.fail("empty error message", key, sql, f"SQLSTATE {state} with message {msg!r}", state)
        for severity, text in self.notices:
            if severity in ("WARNING", "ERROR", "FATAL", "PANIC") and LEAK_WARNING.search(text or ""):
                self.fail("resource warning", key, sql, f"{severity}: {text}")
        waited = max(runqueue_wait(self.pid) - watched["wait0"], watched["wait"]) if watched else 0.0
        if elapsed - waited > self.timeout + 1.0 or (watched and watched["slow"]):
            self.fail("slow call", key, sql, f"{elapsed:.2f} s ({waited:.2f} s of it waiting for a CPU), more than "
                      f"statement_timeout {self.timeout} s + 1 s (ended with {outcome})")
        peak = max(hwm, watched["mem"] if watched else 0)
        if peak > bound:
            self.fail("memory", key, sql, f"backend VmHWM {peak // 1024} MB, more than {bound // 1024} MB "
                      f"(ended with {outcome})")
        if watched and watched["killed"]:
            # The SIGTERM came after the call ended by itself: it would end
            # the next one.
            self.connect()
        elif status.get("VmRSS", 0) > bound // 2 and not self.in_tx:
            # What malloc keeps after a big call would count against the
            # next one: a new backend.
            self.connect()
        return state

    def lost(self, key, sql, copy, log_at, msg):
        """The session is gone: a crash, a termination, or the library
        replaced under the catalog."""
        time.sleep(0.5)  # the postmaster's turn to see a crash
        self.conn = self.cluster.wait_ready(DB)
        if self.conn is None and self.cluster.postmaster_pid() is None:
            self.cluster.start()
            self.conn = self.cluster.wait_ready(DB)
        if self.conn is None:
            raise Failure(f"the server does not take connections after {key}: {sql[:2000]}")
        self.conn.close()
        self.conn = None
        log = self.cluster.log(log_at)
        crash = [ln for ln in log.splitlines() if CRASH_LOG.search(ln)]
        if library_id() != self.lib and not self.expect_failure and not self.retrying:
            # A reinstall: the new pg_rrd.so under the catalog of the old one.
            self.reinstalls += 1
            print(f"pg_rrd.so was replaced during call {self.n}; a new database, and the call again", flush=True)
            self.fresh_db()
            self.setup_pool()
            self.retrying = True
            try:
                self.run(key, sql, copy, count=False)
            finally:
                self.retrying = False
            return
        self.connect()
        self.log_start = self.cluster.log_size()
        what = "server crash" if crash else "lost connection"
        detail = "; ".join(crash[:4]) if crash else (msg or "").strip()
        self.fail(what, key, sql, detail)

    # -------- the pool of series

    def create_sql(self, name, definition, start, width, tags):
        args = [lit(name), lit(definition)]
        named = []
        if start:
            named.append(f"start => {lit(start)}")
        if width:
            named.append(f"chunk_width => {width}")
        named.append(f"tags => {lit(tags)}")
        return (f"SELECT rrd.create({', '.join(args + named)}) "
                f"WHERE NOT EXISTS (SELECT 1 FROM rrd.series WHERE name = {lit(name)})")

    def ensure_pool_sql(self):
        """One statement that makes the series of the pool that are gone."""
        rows = ", ".join(f"({lit(n)}, {lit(d)}, {lit(st) if st else 'NULL'}, {w or 'NULL'}, {lit(t)})"
                         for n, d, st, w, t in POOL)
        return (f"SELECT count(rrd.create(v.n, v.d::rrd.rrd, v.s::timestamptz, v.w::int, tags => v.t::jsonb)) "
                f"FROM (VALUES {rows}) AS v(n, d, s, w, t) "
                f"WHERE NOT EXISTS (SELECT 1 FROM rrd.series WHERE name = v.n)")

    def setup_pool(self):
        for name, definition, start, width, tags in POOL:
            self.run("(pool)", self.create_sql(name, definition, start, width, tags), count=False)
        for name, definition, start, width, tags in POOL:
            if name == "fz.g.end":
                continue
            # 50 points a step apart (fz.w.ide's pass the year 9999: refused).
            times = (f"(SELECT array_agg(b + i * interval '1 s' * rrd.step(def) ORDER BY i) FROM "
                     f"(SELECT rrd.last(name) b, def FROM rrd.series WHERE name = {lit(name)}) s, "
                     f"generate_series(1, 50) i)")
            values = "(SELECT array_agg((i * 7)::float8 ORDER BY i) FROM generate_series(1, 50) i)"
            self.run("(pool)", f"SELECT rrd.update({lit(name)}, {times}, {values})", count=False)
        self.run("(pool)", f"SELECT * FROM rrd.import_whisper('fz.wsp', {hexbytes(WHISPER_DOC)}, "
                 f"on_exists => 'replace')", count=False)
        self.run("(pool)", f"SELECT * FROM rrd.import_rrdtool('fz.imp', {lit(DUMP_DOC)}, on_exists => 'replace')",
                 count=False)

    # -------- statements

    def call_sql(self, f):
        """A random call of f in one of several statement shapes."""
        g = self.gen
        g.new_call()
        r = self.rng
        n_args = len(f.args)
        g.gentle = r.random() < 0.3
        give = n_args if r.random() < 0.5 else r.randint(max(f.required, 0), n_args)
        if r.random() < 0.03 and n_args:
            give = r.randint(0, n_args + 1)  # too few or too many: resolution errors
        style = r.random()
        named = style > 0.65 and all(a[0] for a in f.args[:give])
        skip = set()
        if g.gentle and all(a[0] for a in f.args):
            # The required arguments and a few of the others, by name.
            give, named, style = n_args, True, 0.7
            skip = {i for i in range(f.required, n_args) if r.random() < 0.7}
        parts = []  # (argument name or None when positional, expression)
        for i in range(give):
            if i in skip:
                continue
            argname, typ, mode = f.args[i] if i < n_args else (None, "text", "i")
            expr = g.value(typ, argname)
            if r.random() < 0.92 and expr != "NULL" or r.random() < 0.5:
                expr = f"({expr})::{typ}"
            if mode == "v" and r.random() < 0.5:
                expr = "VARIADIC " + expr
            by_name = named and argname and (style > 0.85 or i >= f.required)
            parts.append((argname if by_name else None, expr, argname))
        if named and r.random() < 0.5:
            head = [p for p in parts if p[0] is None]
            tail = [p for p in parts if p[0] is not None]
            r.shuffle(tail)
            parts = head + tail

        def render(ps):
            return f"rrd.{ident(f.name)}(" + ", ".join(f"{ident(n)} => {e}" if n else e for n, e, _ in ps) + ")"

        def over_names(ps, wanted):
            # The call once per series of the pool, its name argument
            # taken from the set: a plan reused with other values.
            for k, (n, _, argname) in enumerate(ps):
                if argname in wanted:
                    ps = list(ps)
                    ps[k] = (n, "n", argname)
                    names = "ARRAY[" + ", ".join(lit(x) for x in r.sample(POOL_NAMES, r.randint(1, 5))) + "]"
                    return names, render(ps)
            return None, None

        call = render(parts)
        if f.kind == "p":
            return f"CALL {call}"
        if f.kind == "w":
            call += " OVER ()"
        w = r.random()
        if f.retset:
            if w < 0.4:
                return f"SELECT count(*) FROM {call} AS x"
            if w < 0.65:
                if f.out_arrays:
                    return f"SELECT count(*) FROM (SELECT * FROM {call} AS x LIMIT 20) AS s"
                return f"SELECT x::text FROM {call} AS x LIMIT 20"
            if w < 0.75:
                if f.out_arrays:
                    return f"SELECT count(*) FROM (SELECT {call} LIMIT 5) AS s"
                return f"SELECT {call} LIMIT 5"
            if w < 0.85:
                if f.out_arrays:
                    return f"SELECT count(*) FROM (SELECT * FROM {call} AS x ORDER BY 1 DESC LIMIT 3) AS s"
                return f"SELECT * FROM {call} AS x ORDER BY 1 DESC LIMIT 3"
            names, lateral = over_names(parts, ("name", "pattern"))
            if names:
                return f"SELECT count(*) FROM unnest({names}) AS n, LATERAL {lateral} AS x"
            return f"SELECT count(*) FROM {call} AS x"
        if w < 0.35:
            return f"SELECT left(({call})::text, 300)"
        if w < 0.5:
            return f"SELECT md5(({call})::text)"
        if w < 0.65:
            return f"SELECT ({call}) IS NULL"
        if w < 0.8 and f.rettype not in ("text", "jsonb") and not f.rettype.endswith("[]"):
            return f"SELECT {call}"
        names, many = over_names(parts, ("name",))
        if names:
            return f"SELECT count({many}) FROM unnest({names}) AS n"
        return f"SELECT ({call}) IS NULL"

    def points_insert(self):
        g = self.gen
        g.new_call()
        r = self.rng.random()
        if r < 0.5:
            rows = []
            for _ in range(self.rng.choice([1, 2, 5, 20])):
                name = g.name_expr() if self.rng.random() < 0.9 else "NULL"
                value = g.float8() if self.rng.random() < 0.9 else "NULL"
                rows.append(f"({name}, ({g.timestamptz()})::timestamptz, ({value})::float8)")
            return "INSERT INTO rrd.points (name, t, v) VALUES " + ", ".join(rows)
        if r < 0.8:
            n = self.rng.choice([10, 1000, 10000, 100000, 100000, 1000000 if self.rng.random() < 0.2 else 10])
            names = "ARRAY[" + ", ".join(lit(x) for x in self.rng.sample(POOL_NAMES, self.rng.randint(1, 4))) + "]"
            k = names.count(",") + 1
            step = self.rng.choice(["1 s", "1 min", "0 s", "1 microsecond"])
            return (f"INSERT INTO rrd.points (name, t, v) SELECT n, coalesce((SELECT rrd.last(name) FROM rrd.series "
                    f"WHERE name = n), now()) + (i / {k} + 1) * interval {lit(step)}, (i % 97)::float8 FROM "
                    f"(SELECT ({names})[1 + i % {k}] n, i FROM generate_series(0, {n - 1}) i) s ORDER BY i")
        if r < 0.9:
            return (f"INSERT INTO rrd.points VALUES ({g.name_expr()}, ({g.timestamptz()})::timestamptz, "
                    f"({g.float8()})::float8) RETURNING *")
        return self.rng.choice([
            "INSERT INTO rrd.points (name) VALUES ('fz.g.fast')",
            "INSERT INTO rrd.points (name, t, v) VALUES ('fz.g.fast', now(), 'abc')",
            "INSERT INTO rrd.points (name, t, v) SELECT name, now(), 1 FROM rrd.series",
            "INSERT INTO rrd.points (name, t, v) VALUES ('fz.g.fast', now() + interval '1 s', 1) "
            "ON CONFLICT DO NOTHING",
            "INSERT INTO rrd.points SELECT * FROM rrd.points",
            "UPDATE rrd.points SET v = 1",
            "DELETE FROM rrd.points",
            "WITH a AS (INSERT INTO rrd.points VALUES ('fz.g.fast', now() + interval '2 s', 1) RETURNING 1) "
            "SELECT count(*) FROM a",
        ])

    def copy_rows(self):
        g = self.gen
        g.new_call()
        lines = []

        def esc(s):
            return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

        base = self.rng.choice([1600000000, 1000000000, 2000000000, 253402300799, 0])
        for i in range(self.rng.choice([1, 3, 10, 100, 10000])):
            x = self.rng.random()
            name = self.rng.choice(POOL_NAMES) if x < 0.8 else g.name()
            t = (f"{base + i}" if self.rng.random() < 0.1 else
                 time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(min(base, 253402300799) + i)))
            if self.rng.random() < 0.1:
                t = self.rng.choice(["infinity", "-infinity", "", "x", "294276-12-31 23:59:59+00", "4713-01-01 BC",
                                     "\\N"])
            v = self.rng.choice(["1", "2.5", "\\N", "NaN", "Infinity", "-1", "1e400", "", "x", str(i)])
            line = "\t".join([esc(name) if name else "", t, v])
            if self.rng.random() < 0.02:
                line = self.rng.choice(["", "a\tb", "a\tb\tc\td", "\\.", self.gen.junk(20).replace("\\", "")])
            lines.append(line)
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")

    def maintenance(self):
        r = self.rng.random()
        if r < 0.45:
            p = self.rng.choice(POOL)
            return "(pool)", self.create_sql(*p)
        if r < 0.55:
            return "(pool)", (f"SELECT count(rrd.drop(name)) FROM rrd.series WHERE NOT name = ANY(ARRAY["
                              f"{', '.join(lit(n) for n in POOL_NAMES)}])")
        if r < 0.65:
            p = self.rng.choice(POOL)
            return "(pool)", f"SELECT rrd.drop(name) FROM rrd.series WHERE name = {lit(p[0])}"
        if r < 0.75:
            return "SET", self.rng.choice([
                "SET pg_rrd.max_fetch_rows = 1", "SET pg_rrd.max_fetch_rows = 10",
                "SET pg_rrd.max_fetch_rows = 2147483647",
                "RESET pg_rrd.max_fetch_rows", "SET pg_rrd.skip_bad_points = on", "RESET pg_rrd.skip_bad_points",
                "SET pg_rrd.max_fetch_rows = 0", "SET pg_rrd.skip_bad_points = 'x'", "SET TIME ZONE 'America/St_Johns'",
                "SET TIME ZONE 'UTC'", "SET DateStyle = 'SQL, DMY'", "RESET DateStyle", "SET extra_float_digits = -15",
                "RESET extra_float_digits", "SET IntervalStyle = 'iso_8601'", "RESET IntervalStyle",
                "SET search_path = rrd, public", "SET search_path = public", "RESET search_path", "DISCARD PLANS",
                "SET work_mem = '64kB'", "RESET work_mem", "SET jit = on", "SET jit_above_cost = 0",
                "RESET jit_above_cost"])
        if r < 0.85:
            return "DML rrd.series", self.rng.choice([
                f"DELETE FROM rrd.series WHERE name = {lit(self.rng.choice(POOL_NAMES))}",
                "DELETE FROM rrd.series WHERE id % 2 = 0", "TRUNCATE rrd.series", "ANALYZE rrd.series",
                "SELECT count(*) FROM rrd.series, rrd.state, rrd.chunk", "VACUUM rrd.chunk",
                "DELETE FROM rrd.series WHERE name LIKE 'fz.new%'"])
        return "(pool)", self.rng.choice(["SELECT rrd.flush()", "SELECT rrd.pending()", "CHECKPOINT"])

    def statement(self):
        """One random statement: (key, sql, copy data or None)."""
        r = self.rng.random()
        if r < 0.82:
            f = self.rng.choice(self.targets)
            return f.key, self.call_sql(f), None
        if r < 0.88:
            return "INSERT rrd.points", self.points_insert(), None
        if r < 0.91:
            return "COPY rrd.points", "COPY rrd.points (name, t, v) FROM STDIN", self.copy_rows()
        key, sql = self.maintenance()
        return key, sql, None

    def step(self, key, sql, copy):
        # Sometimes a transaction of a few statements, each under a
        # savepoint so that an error keeps the rest, ended either way.
        if not self.in_tx and self.rng.random() < 0.02 and not self.conn.broken:
            self.run("(tx)", "BEGIN", count=False)
            self.in_tx = self.rng.randint(2, 10)
        if self.in_tx:
            self.run("(tx)", "SAVEPOINT fz", count=False)
            st = self.run(key, sql, copy)
            if st == "lost":
                self.in_tx = 0
                return
            self.run("(tx)", "ROLLBACK TO SAVEPOINT fz" if st else "RELEASE SAVEPOINT fz", count=False)
            self.in_tx -= 1
            if not self.in_tx:
                self.run("(tx)", self.rng.choice(["COMMIT", "ROLLBACK", "COMMIT"]), count=False)
        else:
            self.run(key, sql, copy)

    # -------- checks of the checks

    def self_test(self):
        cases = [
            ("SQLSTATE XX000", "DO $$BEGIN RAISE EXCEPTION 'self-test' USING ERRCODE = 'XX000'; END$$", None),
            ("empty error message", "DO $$BEGIN RAISE EXCEPTION USING MESSAGE = '', ERRCODE = '22023'; END$$", None),
            ("slow call", f"BEGIN; SET LOCAL statement_timeout = 0; SELECT pg_sleep({self.timeout + 1.3}); COMMIT",
             None),
            ("memory", "SELECT length(repeat('x', 300000000))", 200 * 1024),
            ("resource warning", "DO $$BEGIN RAISE WARNING 'self-test: snapshot reference leak'; END$$", None),
            ("lost connection", "SELECT pg_terminate_backend(pg_backend_pid())", None),
            ("server crash", "SELECT pg_sleep(5)", None),
        ]
        seen_ok = []
        for kind, sql, bound in cases:
            self.self_seen = []
            self.expect_failure = True
            killer = None
            if kind == "server crash":
                pid = self.pid
                killer = threading.Timer(0.5, lambda: os.kill(pid, signal.SIGSEGV))
                killer.start()
            try:
                self.run("(self-test)", sql, count=False, bound_kb=bound)
            finally:
                self.expect_failure = False
                if killer:
                    killer.join()
            self.connect()
            if kind in self.self_seen:
                seen_ok.append(kind)
            else:
                self.fail("self-test", "(self-test)", sql,
                          f"expected a failure '{kind}', the checks saw {self.self_seen}", kind)
        self.self_caught = len(seen_ok)
        print(f"self-test: {len(seen_ok)} of {len(cases)} deliberate failures caught ({', '.join(seen_ok)})",
              flush=True)

    # -------- the end

    def sweep(self):
        """Every series left: read whole, folded, dumped; nothing may say
        XX (a refusal of a call must not have left bad state)."""
        if self.conn.broken:
            self.connect()
        if self.in_tx:
            self.run("(tx)", "ROLLBACK", count=False)
            self.in_tx = 0
        self.run("(sweep)", "RESET ALL", count=False)
        self.run("(sweep)", f"SET statement_timeout = '{int(self.timeout * 1000)}ms'", count=False)
        try:
            names = [r[0] for r in self.conn.execute("SELECT name FROM rrd.series ORDER BY id LIMIT 300").fetchall()]
        except psycopg.Error as e:
            self.fail("sweep", "(sweep)", "SELECT name FROM rrd.series", str(e))
            names = []
        for n in names:
            self.run("(sweep)", f"SELECT rrd.flush({lit(n)})", count=False)
            self.run("(sweep)", f"SELECT md5(rrd.info({lit(n)})::text)", count=False)
            self.run("(sweep)", f"SELECT count(*) FROM rrd.archives(rrd.definition({lit(n)})) a, LATERAL rrd.fetch("
                     f"{lit(n)}, a.cf, greatest(rrd.first({lit(n)}, a.archive::int) - a.resolution, '1980-01-02'), "
                     f"rrd.last({lit(n)}), a.resolution) f", count=False)
            self.run("(sweep)", f"SELECT length(rrd.dump({lit(n)}))", count=False)
        self.run("(sweep)", "SELECT rrd.flush()", count=False)

    def summary(self, seconds):
        keys = sorted(self.calls)
        fn_keys = [f.key for f in self.functions]
        width = max([len(k) for k in keys] + [20])
        print(f"\n{'function / statement':<{width}} {'calls':>7} {'ok':>6} {'s':>6} {'peak MB':>8}  SQLSTATEs")
        for k in keys:
            st = self.states[k]
            errs = ", ".join(f"{s} {c}" for s, c in st.most_common() if s != "ok")
            print(f"{k:<{width}} {self.calls[k]:>7} {self.ok[k]:>6} {self.secs[k]:>6.1f} "
                  f"{self.peak_kb[k] // 1024:>8}  {errs}")
            if self.args.verbose:
                for s, _ in st.most_common():
                    for m in self.messages.get((k, s), []):
                        print(f"    {s}: {m}")
        classes = collections.Counter()
        codes = collections.Counter()
        for st in self.states.values():
            for s, c in st.items():
                if s != "ok":
                    classes[s[:2] if s != "lost" else "lost"] += c
                    codes[s] += c
        covered = [k for k in fn_keys if self.calls[k]]
        never_ok = [k for k in fn_keys if self.calls[k] and not self.ok[k]]
        total = sum(self.calls.values())
        print(f"\n{total} calls in {seconds:.0f} s (seed {self.args.seed}; replay with --seed {self.args.seed} "
              f"--calls {self.fuzz_calls}); {len(covered)} of {len(fn_keys)} functions covered; "
              f"{sum(self.ok.values())} calls succeeded")
        print("errors by class: " + ", ".join(f"{c} {n}" for c, n in sorted(classes.items())))
        print(f"{len(codes)} SQLSTATEs: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
        if never_ok:
            print("never succeeded: " + ", ".join(never_ok))
        missing = [k for k in fn_keys if not self.calls[k]]
        if missing:
            print("never called: " + ", ".join(missing))
        again = [(sig, n) for sig, n in self.repeats.items() if n > 1]
        if again:
            print("failures seen again: " + ", ".join(f"{k} in {key} {n} times" for (k, key, _), n in again))

        peak = max(self.peak_kb.values(), default=0)
        print(f"largest backend VmHWM of a call: {peak // 1024} MB (bound {self.bound_kb // 1024} MB); backend RssAnon "
              f"between calls: {self.resting_kb // 1024} MB at the end, at most {self.resting_max_kb // 1024} MB")
        if self.reinstalls:
            print(f"pg_rrd.so was replaced {self.reinstalls} time(s) during the run")
        return {
            "seed": self.args.seed, "seconds": round(seconds, 1), "calls_random": self.fuzz_calls,
            "functions": len(fn_keys), "covered": len(covered), "succeeded": sum(self.ok.values()),
            "calls_by_function": dict(self.calls), "ok_by_function": dict(self.ok),
            "sqlstates": dict(codes), "errors_by_class": dict(classes), "never_succeeded": never_ok,
            "peak_vmhwm_mb": peak // 1024, "memory_bound_mb": self.bound_kb // 1024,
            "resting_rss_anon_mb": self.resting_kb // 1024, "resting_rss_anon_max_mb": self.resting_max_kb // 1024,
            "regressions": len(REGRESSIONS), "failures": self.failures[:20],
        }

    def detail_line(self, d):
        """The summary in one line of text."""
        if not d:
            return f"seed {self.args.seed}; stopped early: " + "; ".join(f.splitlines()[0] for f in self.failures[:5])
        top = sorted(d["sqlstates"].items(), key=lambda kv: -kv[1])[:8]
        text = (f"seed {d['seed']}: {sum(self.calls.values())} calls in {d['seconds']:.0f} s over {d['covered']} of "
                f"{d['functions']} functions of schema rrd ({d['succeeded']} succeeded), {len(REGRESSIONS)} fixed "
                f"regression calls, {self.self_caught} checks self-tested; {len(d['sqlstates'])} SQLSTATEs, most "
                f"{', '.join(f'{k} {v}' for k, v in top)}; largest backend VmHWM {d['peak_vmhwm_mb']} MB "
                f"(bound {d['memory_bound_mb']} MB)")
        if self.failures:
            text += "; failures: " + "; ".join(f.splitlines()[0] for f in self.failures[:12])
        return text

    def dump_recent(self):
        path = os.path.join(self.cluster.dir, "last-calls.sql")
        try:
            with open(path, "w") as f:
                f.write("\n".join(self.recent) + "\n")
        except OSError:
            return None
        return path

    def main(self):
        t0 = time.monotonic()
        self.fuzz_calls = 0
        self.cluster.start()
        self.fresh_db()
        self.watch.start()
        print(f"sqlfuzz: seed {self.args.seed}, {len(self.functions)} functions in schema rrd, statement_timeout "
              f"{self.timeout} s, memory bound {self.bound_kb // 1024} MB, cluster {self.cluster.dir} "
              f"port {self.cluster.port}",
              flush=True)
        try:
            if self.args.self_test:
                self.self_test()
            self.log_start = self.cluster.log_size()
            self.setup_pool()
            if REGRESSIONS:
                self.conn.execute("BEGIN; SET LOCAL statement_timeout = 0;" + REGRESSION_SETUP + "COMMIT")
                self.connect()  # not the memory that building them took
            for desc, sql in REGRESSIONS:
                self.run("(regression) " + desc, sql)
            if self.args.sql:
                for sql in self.args.sql:
                    st = self.run("(--sql)", sql)
                    print(f"{st or 'ok'}: {self.recent[-1].splitlines()[0]}", flush=True)
                    if st:
                        print(f"    {self.last_msg}")
                return time.monotonic() - t0
            deadline = time.monotonic() + self.args.seconds if self.args.calls is None else None
            i = 0
            while ((self.args.calls is None or i < self.args.calls)
                   and (deadline is None or time.monotonic() < deadline)):
                key, sql, copy = self.statement()
                self.step(key, sql, copy)
                i += 1
                self.fuzz_calls = i
                if i % 1000 == 0:
                    print(f"  {i} calls, {len(self.failures)} failures, {time.monotonic() - t0:.0f} s", flush=True)
                if i % 25 == 0 and not self.in_tx:
                    self.run("(pool)", self.ensure_pool_sql(), count=False)
                if self.rng.random() < 0.002 and not self.in_tx:
                    self.setup_pool()
            self.sweep()
            log = self.cluster.log(self.log_start)
            crash = [ln for ln in log.splitlines() if CRASH_LOG.search(ln)]
            if crash:
                self.fail("server crash", "(server.log)", "", "; ".join(crash[:4]))
        except Failure as e:
            print(f"stopped: {e}", flush=True)
        return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "sqlfuzz"), help="the cluster's folder")
    ap.add_argument("--port", type=int, default=55460)
    ap.add_argument("--seconds", type=float, default=60, help="length of the random part (default 60)")
    ap.add_argument("--calls", type=int, help="number of random statements instead of --seconds")
    ap.add_argument("--seed", type=int, help="random seed (default: new, printed)")
    ap.add_argument("--timeout", type=float, default=2.0, help="statement_timeout in seconds (default 2)")
    ap.add_argument("--memory-mb", type=float, default=1536, help="bound of a backend's VmHWM (default 1536)")
    ap.add_argument("--max-failures", type=int, default=25, help="stop after this many failures")
    ap.add_argument("--self-test", action="store_true", help="first check that each failure kind is caught")
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    ap.add_argument("--verbose", action="store_true", help="the first messages of each SQLSTATE per function")
    ap.add_argument("--only", help="call only the functions whose signature matches this regular expression")
    ap.add_argument("--sql", action="append", help="run this statement (after the pool is made) instead of random ones")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2 ** 31)
    # A SIGTERM (make interrupted) still stops the cluster, in the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fz = Fuzzer(args)
    seconds = 0.0
    detail = {}
    try:
        seconds = fz.main()
        detail = fz.summary(seconds)
    except Exception as e:  # noqa: BLE001 - reported as one more failure, then the cluster stops
        fz.failures.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        traceback.print_exc()
    finally:
        fz.watch.stopped = True
        path = fz.dump_recent()
        if not args.keep:
            fz.cluster.stop()
    if fz.failures and path:
        print(f"the last {len(fz.recent)} statements are in {path}")
    if detail:
        try:
            with open(os.path.join(fz.cluster.dir, "summary.json"), "w") as f:
                json.dump(detail, f, indent=1, sort_keys=True)
        except OSError:
            pass
    out_dir = os.environ.get("RELIABILITY_DIR")
    if out_dir:
        # One line in the format of pgrx-tests/reliability.py.
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "sqlfuzz.json"), "w") as f:
            f.write(json.dumps({"test": "sqlfuzz", "cases": sum(fz.calls.values()), "failures": len(fz.failures),
                                "detail": fz.detail_line(detail)}) + "\n")
    verdict = f"FAILED, {len(fz.failures)} failures" if fz.failures else "passed"
    print(f"sqlfuzz: {verdict} (seed {args.seed})")
    sys.exit(1 if fz.failures else 0)


if __name__ == "__main__":
    main()
