#!/usr/bin/python3
"""Differential test: pg_rrd against the real rrdtool 1.7.2.

Random update histories (deterministic for a given --seed) go to Debian's
rrdtool through its Python module and to pg_rrd through psql; every row that
`rrdtool fetch` returns, for each archive and for random windows, must come
back from `rrd.fetch` with the same label and the same value (within 1e-9
relative; SQL NULL where rrdtool has NaN).

Usage (the system interpreter: it has the `rrdtool` module):

    PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... \\
        /usr/bin/python3 pgrx-tests/differential.py [--traces N] [--seed S] [--verbose]
    /usr/bin/python3 pgrx-tests/differential.py --rrdtool-only   # no database

    --traces N      traces to run (default: $PG_RRD_DIFF_TRACES, else 200)
    --seed S        seed of the whole run (default 1); trace n of seed S is
                    always the same history
    --only LIST     run only these trace numbers (comma separated), e.g. to
                    replay one that failed; prints each in full
    --shrink        after a mismatch, cut the first failing trace down to a
                    small history that still fails, and print it
    --batch B       traces per psql run (default 25)
    --exact         values must be the same double (default: within 1e-9 relative)
    --verbose       one line per trace
    --path P        how updates reach pg_rrd: point (default: one
                    rrd.update(name, t, v) each), array (rrd.update over t[]
                    and v[]), many (rrd.update over names[], several traces
                    interleaved), points (INSERT or COPY into rrd.points), or
                    mixed (any of these per batch); see "the batch paths"
    --heavy         histories 8 times as long, in units of 6 to 40 traces, of
                    values a double carries, with few folds asked: lanes fill
                    up to the writers' own fold (32768 points); for the batch
                    paths (default: $PG_RRD_DIFF_HEAVY)
    --rollbacks     also savepoints rolled back inside transactions (after
                    direct writes of the same transaction), and each unit's
                    series made, written and rolled back before they are made
                    for good (default: $PG_RRD_DIFF_ROLLBACKS)

On the batch paths, statements naming several series go to pg_rrd's journal,
and folds come at random points between them (rrd.flush(), rrd.flush(name),
in savepoints or transactions, or none at all); every read is compared
twice, with the points still pending and after a final rrd.flush(), and some
halfway, against rrdtool fed the updates sent so far: see "the journal".

Most traces run in BEGIN ... ROLLBACK; the others commit each statement and
drop their series at the end; either way the database is left as it was.
Requires: apt-get install -y rrdtool python3-rrdtool.

Both sides must read the same numbers. rrdtool 1.7.2 parses values and
times with its own strtod (rrd_strtod.c: digits accumulated in a double,
then scaled by powers of ten), which is not correctly rounded, so the same
double written two ways can read as two doubles. Hence:
- a value sent as float8 is sent to rrdtool as the text pg_rrd hands its
  engine for that double (shortest round-trip digits, no exponent: see
  rrd-core batch.rs float_text); a value sent as numeric is sent as the same digits;
- a fractional time is sent to PostgreSQL as the (second, microsecond) pair
  rrdtool derives from its text: it truncates, so "1000000000.000001" is
  1000000000 s + 0 us (get_time_from_reading in rrd_update.c);
- DS min/max are texts rrd_strtod reads as the correctly rounded double.
Under those rules pg_rrd is expected to agree bit for bit (--exact).

With RELIABILITY_DIR set, the run's line (traces, failed traces, rows
compared) goes to $RELIABILITY_DIR/differential.json, one per --path,
--heavy and --rollbacks (docs/reliability.md).
"""

import argparse
import datetime
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

import reliability

try:
    import rrdtool
except ImportError:  # pragma: no cover
    sys.exit("differential: the rrdtool module is missing: apt-get install -y rrdtool python3-rrdtool "
             "and run with /usr/bin/python3")

KINDS = ["GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", "DCOUNTER", "DDERIVE"]
CFS = ["AVERAGE", "MIN", "MAX", "LAST"]
INT_KINDS = ("COUNTER", "DERIVE")
REL_TOL = 1e-9
EXACT = False  # --exact: values must be the same double, not just within REL_TOL
PATH = "point"  # --path: how updates reach pg_rrd (see "the batch paths")
SEED = "1"  # --seed, for the batch paths' choices
HEAVY = False  # --heavy: long histories in large units, few folds (see "the journal")
LENGTH = 1  # updates of a trace, times this (8 with --heavy)
ROLLBACKS = False  # --rollbacks: savepoints rolled back in transactions too (see "the journal")
FILES = None  # the rrdtool side's Files, for companions and reads halfway
MAX_FETCH_ROWS = 4000
LAST_DS_LEN = 30  # rrd_format.h: rrdtool keeps at most 29 characters of the last input


# ---------------------------------------------------------------------------
# rrdtool's number and time parsing, replicated

def rrd_strtod(s):
    """rrd_strtod() of rrdtool 1.7.2 (src/rrd_strtod.c), operation for operation."""
    n = len(s)
    p = 0
    while p < n and s[p] in " \t\n\v\f\r":
        p += 1
    negative = False
    if p < n and s[p] in "+-":
        negative = s[p] == "-"
        p += 1
    number = 0.0
    exponent = 0
    num_digits = 0
    while p < n and "0" <= s[p] <= "9":
        number = number * 10.0 + (ord(s[p]) - 48)
        p += 1
        num_digits += 1
    if p < n and s[p] == ".":
        p += 1
        num_decimals = 0
        while p < n and "0" <= s[p] <= "9":
            number = number * 10.0 + (ord(s[p]) - 48)
            p += 1
            num_digits += 1
            num_decimals += 1
        exponent -= num_decimals
    if num_digits == 0:
        return None
    if negative:
        number = -number
    if p < n and s[p] in "eE":
        p += 1
        eneg = False
        if p < n and s[p] in "+-":
            eneg = s[p] == "-"
            p += 1
        e = 0
        while p < n and "0" <= s[p] <= "9":
            e = e * 10 + (ord(s[p]) - 48)
            p += 1
        exponent += -e if eneg else e
    if p != n:
        return None
    if exponent < -1021 or exponent > 1024:
        return math.inf
    p10 = 10.0
    k = abs(exponent)
    while k:
        if k & 1:
            number = number / p10 if exponent < 0 else number * p10
        k >>= 1
        p10 *= p10
    return number


def rrd_time(s):
    """(seconds, microseconds) that rrdtool 1.7.2 derives from an update's time
    string (get_time_from_reading in rrd_update.c)."""
    tmp = rrd_strtod(s)
    sec = math.floor(tmp)
    usec = int((tmp - float(sec)) * 1e6)
    return sec, usec


def same_double(s):
    """True if rrdtool and a correctly rounded strtod read `s` as the same double."""
    a = rrd_strtod(s)
    if a is None or math.isinf(a) or math.isnan(a):
        return False
    try:
        b = float(s)
    except ValueError:
        return False
    return a == b and math.copysign(1, a) == math.copysign(1, b) and len(s) < LAST_DS_LEN


# ---------------------------------------------------------------------------
# the traces

class Trace:
    """One series: its definition, its updates and the fetches to compare."""

    def __init__(self, seed, n):
        self.seed = seed
        self.n = n
        self.name = "diff.%s.%d" % (seed, n)
        self.kind = None
        self.step = None
        self.hb = None
        self.vmin = "U"
        self.vmax = "U"
        self.dsname = "x"
        self.rras = []  # (cf, xff text, steps, rows)
        self.start = None
        self.updates = []  # (time text, sec, usec, value text or None)
        self.fetches = []  # (cf, resolution or None, start, end, how to pass NULL resolution)
        self.expected = []  # per fetch: [(label, value or None)]
        self.durations = 0  # 0: plain counts; 1: largest time unit; 2: seconds; 3: mixed
        self.int_as_float = False  # COUNTER/DERIVE values through the float8 overload
        self.float_as_numeric = False  # other values through the numeric overload
        self.unknown_sql = "NULL::float8"
        self.mode = "transaction"  # or "autocommit": see trace_sql()

    def dur(self, secs, count):
        """A count or duration as the definition spells it (RRDtool 1.5+ takes "1m", "2h", ...)."""
        if self.durations == 0 or self.durations == 3 and secs % 3 == 0:
            return str(count)
        if self.durations == 2 or self.durations == 3 and secs % 3 == 1:
            return "%ds" % secs
        for unit, size in (("y", 366 * 86400), ("M", 31 * 86400), ("w", 7 * 86400), ("d", 86400),
                           ("h", 3600), ("m", 60)):
            if secs % size == 0:
                return "%d%s" % (secs // size, unit)
        return "%ds" % secs

    def step_text(self):
        return self.dur(self.step, self.step)

    def ds_text(self):
        return "DS:%s:%s:%s:%s:%s" % (self.dsname, self.kind, self.dur(self.hb, self.hb), self.vmin, self.vmax)

    def rra_texts(self):
        return ["RRA:%s:%s:%s:%s" % (cf, xff, self.dur(self.step * st, st), self.dur(self.step * st * rows, rows))
                for cf, xff, st, rows in self.rras]

    def def_text(self):
        return " ".join(["--step %s" % self.step_text(), self.ds_text()] + self.rra_texts())

    def last_up(self):
        return self.updates[-1][1] if self.updates else self.start

    def copy(self, name=None):
        t = Trace(self.seed, self.n)
        t.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()})
        if name:
            t.name = name
        t.expected = []
        return t


def shortest_text(v):
    """The text pg_rrd hands its engine for a float8 (rrd-core batch.rs float_text, Rust's
    Display): the shortest digits that read back as v, never in exponent form."""
    if v == 0:
        return "0"
    t = format(Decimal(repr(v)), "f")
    return t[:-2] if t.endswith(".0") else t


def fmt_float(rng, x, decimals, numeric):
    """The update text for about x, the same on both sides.

    rrdtool parses the text it is given; pg_rrd gets a float8 and gives its
    engine the shortest text of that double, so through the float8 overload
    rrdtool must get that same text. Through the numeric overload pg_rrd
    keeps the digits as written, trailing zeros included."""
    if rng.random() < 0.4:
        s = repr(float(x))  # all 17 digits, often
    else:
        s = "%.*f" % (decimals, x)
    if not numeric:
        s = shortest_text(float(s))
    if len(s) >= LAST_DS_LEN:
        s = shortest_text(float("%.9g" % x))
    return s


def limit_text(x, decimals):
    """A DS min or max: rrdtool reads at most 18 characters of each."""
    for d in (decimals, 1, 0):
        t = "%.*f" % (d, x)
        if len(t) <= 18 and same_double(t):
            return t
    return "%d" % round(x)


def units_text(u, k):
    """Integer u of units 10^-k as a decimal text."""
    if k == 0:
        return str(u)
    sign = "-" if u < 0 else ""
    digits = str(abs(u)).rjust(k + 1, "0")
    return sign + digits[:-k] + "." + digits[-k:]


class ValueGen:
    """Stateful value generator for one DS kind."""

    def __init__(self, rng, kind, step, numeric):
        self.rng = rng
        self.kind = kind
        self.numeric = numeric  # values go through the numeric overload
        r = rng
        self.p_unknown = r.choice([0, 0, 0, 0.02, 0.05, 0.1, 0.3, 0.6])
        self.rate = 10 ** r.uniform(-2, 6)  # per second, for the counting kinds
        self.decimals = r.choice([0, 1, 2, 3, 4, 5, 6, 8])
        self.vmin = "U"
        self.vmax = "U"
        self.p_special = r.choice([0, 0, 0, 0, 0.01]) if kind in ("GAUGE", "ABSOLUTE") else 0
        if kind == "GAUGE":
            self.style = r.choice(["uniform", "uniform", "ints", "wide", "const"])
            self.center = r.uniform(-1000, 1000)
            self.width = 10 ** r.uniform(-3, 3)
            self.const = self.center
            if self.style == "ints":
                lo, hi = -3, 3
            elif self.style == "wide":
                lo, hi = -1e6, 1e6
            else:
                lo, hi = self.center - self.width, self.center + self.width
            if r.random() < 0.35:
                a = lo + (hi - lo) * r.uniform(-0.2, 0.5)
                b = lo + (hi - lo) * r.uniform(0.5, 1.2)
                if r.random() < 0.7:
                    self.vmin = limit_text(a, r.choice([0, 1, 2]))
                if r.random() < 0.7:
                    self.vmax = limit_text(b, r.choice([0, 1, 2]))
        elif kind == "COUNTER":
            self.style = r.choice(["w32", "w32", "w64", "near64", "near32", "small", "over64"])
            self.c = {
                "w32": r.randint(0, 2**32 - 1),
                "near32": 2**32 - r.randint(1, 10**5),
                "w64": r.randint(0, 2**64 - 1),
                "near64": 2**64 - r.randint(1, 10**7),
                "small": r.randint(0, 1000),
                "over64": 2**64 - r.randint(1, 10**6),
            }[self.style]
            self.modulus = r.choice([10**20, 10**28])
            if r.random() < 0.3:
                self.vmin = "0"
                if r.random() < 0.6:
                    self.vmax = "%d" % max(1, int(self.rate * r.uniform(1, 3)))
        elif kind == "DERIVE":
            self.style = r.choice(["pos", "pos", "neg", "cross", "big", "bigneg", "huge"])
            self.c = {
                "pos": r.randint(0, 10**6),
                "neg": -r.randint(1, 10**9),
                "cross": r.randint(-100, 100),
                "big": 2**64 - r.randint(1, 10**8),
                "bigneg": -(2**63) + r.randint(1, 10**8),
                "huge": r.choice([-1, 1]) * r.randint(10**26, 10**27),
            }[self.style]
            if r.random() < 0.3:
                self.vmin = r.choice(["0", "0", "-%d" % int(self.rate)])
            if r.random() < 0.2:
                self.vmax = "%d" % max(1, int(self.rate * r.uniform(1, 3)))
        elif kind == "ABSOLUTE":
            self.style = r.choice(["ints", "floats", "neg"])
            if r.random() < 0.25:
                self.vmin = "0"
            if r.random() < 0.25:
                self.vmax = limit_text(self.rate * r.uniform(0.8, 2), 0)
        else:  # DCOUNTER, DDERIVE: fixed point with k decimals
            self.k = r.choice([0, 1, 2, 4])
            self.style = r.choice(["up", "up", "down", "walk"])
            self.u = r.randint(-10**6, 10**6) if self.style == "walk" else r.randint(0, 10**8)
            if self.style == "down":
                self.u = -self.u
            if r.random() < 0.25:
                self.vmin = "0"
            if r.random() < 0.2:
                self.vmax = limit_text(self.rate * r.uniform(0.8, 2), 1)

    def next(self, dt):
        """The value text for an update dt seconds after the previous one (None: U)."""
        r = self.rng
        unknown = r.random() < self.p_unknown
        kind = self.kind
        if not unknown and self.p_special and r.random() < self.p_special:
            return r.choice(["inf", "-inf", "nan"])  # rrdtool's parse_special()
        if kind == "GAUGE":
            if unknown:
                return None
            if self.style == "ints":
                return str(r.randint(-3, 3))
            if self.style == "wide":
                x = r.choice([-1, 1]) * 10 ** r.uniform(-6, 8)
            elif self.style == "const":
                if r.random() < 0.1:
                    self.const = self.center + r.uniform(-self.width, self.width)
                x = self.const
            else:
                x = self.center + r.uniform(-self.width, self.width)
            return fmt_float(r, x, self.decimals, self.numeric)
        if kind == "COUNTER":
            inc = int(self.rate * dt * r.uniform(0, 2))
            ev = r.random()
            if ev < 0.02:
                self.c = r.randint(0, 1000)  # reset
            elif ev < 0.03:
                self.c += r.randint(0, 2**40)  # jump
            else:
                self.c += inc
            if self.style in ("w32", "near32", "small"):
                self.c %= 2**32
            elif self.style == "over64":
                self.c %= self.modulus  # rrdtool takes up to 29 digits; exercise > 2^64
            else:
                self.c %= 2**64
            return None if unknown else str(self.c)
        if kind == "DERIVE":
            inc = int(self.rate * dt * r.uniform(-1, 2))
            if self.style == "neg":
                inc = -abs(inc)
            if self.style == "cross":
                inc = int(self.rate * dt * r.uniform(-1.5, 1.5)) if r.random() < 0.8 else -self.c + r.randint(-3, 3)
            if r.random() < 0.03:
                self.c = r.randint(-1000, 1000) if self.style == "cross" else self.c // 2  # reset
            else:
                self.c += inc
            if self.style == "huge":  # 28 digits and a sign fit rrdtool's last_ds
                self.c = max(-(10**28) + 1, min(10**28 - 1, self.c))
            else:
                self.c = max(-(10**19), min(10**20 - 1, self.c))
            return None if unknown else str(self.c)
        if kind == "ABSOLUTE":
            if unknown:
                return None
            if self.style == "ints":
                return str(int(self.rate * dt * r.uniform(0, 2)))
            x = self.rate * dt * r.uniform(-0.5 if self.style == "neg" else 0, 2)
            return fmt_float(r, x, self.decimals, self.numeric)
        # DCOUNTER / DDERIVE
        inc = int(self.rate * dt * r.uniform(0, 2) * 10**self.k)
        if self.style == "walk" or kind == "DDERIVE" and r.random() < 0.3:
            inc = int(self.rate * dt * r.uniform(-1.5, 1.5) * 10**self.k)
        elif self.style == "down":
            inc = -inc
        if r.random() < 0.03:
            self.u = r.randint(0, 100) * (-1 if self.style == "down" else 1)  # reset
        else:
            self.u += inc
        if abs(self.u) > 10**14:
            self.u = r.randint(-100, 100)
        s = units_text(self.u, self.k)
        if not self.numeric:
            s = shortest_text(float(s))
        return None if unknown else s


def time_text(rng, sec, usec, subsec):
    if usec == 0 and (not subsec or rng.random() < 0.7):
        return str(sec)
    s = "%d.%06d" % (sec, usec)
    if rng.random() < 0.4:
        s = s.rstrip("0").rstrip(".") if usec else s
    return s


def gen_trace(seed, n, salt=""):
    rng = random.Random("pg_rrd-differential:%s:%d%s" % (seed, n, salt))
    tr = Trace(seed, n)
    tr.kind = rng.choice(KINDS)
    tr.step = s = rng.choice([1, 5, 10, 60, 300])
    # PDPs per update, and the heartbeat relative to that interval
    pace = rng.choice([0.25, 0.5, 1, 1, 1, 2, 4])
    interval = max(1, round(pace * s))
    tr.hb = max(1, int(round(interval * rng.choices([0.5, 0.8, 1, 1.5, 2, 3, 5, 10],
                                                   weights=[3, 3, 10, 15, 25, 20, 12, 12])[0])))
    nu = rng.choices([0, rng.randint(1, 5), rng.randint(5, 60), rng.randint(60, 250), rng.randint(250, 600)],
                     weights=[2, 5, 30, 45, 18])[0] * LENGTH
    tr.dsname = rng.choice(["x", "value", "ds0", "in_octets"])
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        cf = rng.choice(CFS)
        steps = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 6, 10, 12, 12, 24, 60])
        if rng.random() < 0.75:  # sized so that the history laps the ring a few times
            laps = rng.choice([0.5, 1, 2, 4, 8])
            rows = max(5, min(300, round(nu * interval / s / (steps * laps))))
        else:
            rows = rng.choices([rng.randint(5, 20), rng.randint(5, 60), rng.randint(20, 300)],
                               weights=[40, 35, 25])[0]
        xff = rng.choice(["0", "0.25", "0.5", "0.9"])
        tr.rras.append((cf, xff, steps, rows))
    tr.durations = rng.choices([0, 1, 2, 3], weights=[70, 10, 10, 10])[0]
    tr.int_as_float = rng.random() < 0.2
    tr.float_as_numeric = rng.random() < 0.15 and not HEAVY
    tr.unknown_sql = rng.choices(["NULL::float8", "'NaN'::float8", "NULL::numeric"], weights=[80, 10, 10])[0]
    vg = ValueGen(rng, tr.kind, s, tr.float_as_numeric)
    if HEAVY and vg.style in ("w64", "near64", "over64", "big", "bigneg", "huge"):
        # values a double carries, so that every update can go to the journal
        vg.style = "w32" if tr.kind == "COUNTER" else "pos"
        vg.c = rng.randint(0, 10**6)
    tr.vmin, tr.vmax = vg.vmin, vg.vmax
    if "U" not in (tr.vmin, tr.vmax) and float(tr.vmin) >= float(tr.vmax):
        tr.vmax = "U"  # rrdtool: "min must be less than max"
    start = rng.randint(1_000_000_000, 1_500_000_000)
    if rng.random() < 0.5:
        start -= start % s
    tr.start = start
    maxspan = max(s * st * rows for _, _, st, rows in tr.rras)

    subsec = rng.random() < 0.4
    p_huge = rng.choice([0, 0, 0, 0.003, 0.01])
    p_gap = rng.choice([0, 0, 0.01, 0.03, 0.08])
    p_small = rng.choice([0.02, 0.1, 0.4]) if subsec else 0.0
    regular = rng.random() < 0.5
    p_edge = rng.choice([0, 0, 0.05, 0.2])

    # the first update: soon after --start, or long after
    if rng.random() < 0.2:
        first = rng.randint(tr.hb + 1, max(tr.hb + 2, maxspan * rng.choice([1, 3])))
    else:
        first = rng.randint(1, 2 * s)
    cur_us = (start + first) * 10**6 + (rng.randint(0, 999_999) if subsec else 0)
    last = (start, 0)
    for _ in range(nu):
        sec, usec = divmod(cur_us, 10**6)
        tt = time_text(rng, sec, usec, subsec)
        dsec, dusec = rrd_time(tt)
        while (dsec, dusec) <= last:  # rrdtool's truncation may have eaten a microsecond
            cur_us += 1
            sec, usec = divmod(cur_us, 10**6)
            tt = "%d.%06d" % (sec, usec)
            dsec, dusec = rrd_time(tt)
        dt = (dsec - last[0]) + (dusec - last[1]) / 1e6
        tr.updates.append((tt, dsec, dusec, vg.next(dt)))
        last = (dsec, dusec)
        # the gap to the next update
        r = rng.random()
        if r < p_huge:
            d = rng.randint(max(1, maxspan // 4), 2 * maxspan) * 10**6
        elif r < p_huge + p_gap:
            d = rng.randint(tr.hb + 1, 2 * tr.hb + 2 * s) * 10**6
        elif r < p_huge + p_gap + p_small:
            d = rng.randint(1, 999_999) if rng.random() < 0.7 else rng.randint(1, 3) * 10**6
        elif regular:
            d = interval * 10**6 if rng.random() < 0.9 else rng.randint(1, 2 * interval) * 10**6
        else:
            d = max(1, int(interval * rng.uniform(0.1, 1.6))) * 10**6
        if tr.hb < interval and rng.random() < 0.9:
            d = min(d, rng.randint(1, tr.hb) * 10**6)  # mostly within the heartbeat
        if subsec and r >= p_huge + p_gap + p_small:
            d += rng.randint(-400_000, 400_000)
        x = rng.random()
        if x < p_edge:  # exactly the heartbeat, or a microsecond either side
            d = tr.hb * 10**6 + (rng.choice([-1, 0, 1]) if subsec else 0)
        elif x < 2 * p_edge:  # onto a PDP boundary, or a microsecond either side
            b = (cur_us // (s * 10**6) + rng.randint(1, 3)) * s * 10**6
            d = b - cur_us + (rng.choice([-1, 0, 1]) if subsec else 0)
        cur_us = max(cur_us + 1, cur_us + d)
    tr.mode = "autocommit" if rng.random() < 0.3 else "transaction"
    return tr, rng


def gen_windows(tr, rng, files):
    """Whole-archive fetches, then random windows; computes the expected rows."""
    L = tr.last_up()
    s = tr.step
    for cf, _, steps, rows in tr.rras:
        st = s * steps
        cal_end = L - L % st
        tr.fetches.append((cf, st, cal_end - st * rows, L, "r"))
    cfs = sorted({r[0] for r in tr.rras})
    if any(r[2] == 1 for r in tr.rras):
        cfs_any = CFS  # a 1-step archive answers every one of the four
    else:
        cfs_any = cfs
    maxspan = max(s * st * rows for _, _, st, rows in tr.rras)
    steps_secs = sorted({s * r[2] for r in tr.rras})
    first = tr.updates[0][1] if tr.updates else tr.start
    for _ in range(rng.choice([3, 4, 5])):
        cf = rng.choice(cfs) if rng.random() < 0.8 else rng.choice(cfs_any)
        x = rng.random()
        if x < 0.4:
            res = None
        elif x < 0.75:
            res = rng.choice(steps_secs) + rng.choice([0, 0, 0, -1, 1])
            res = max(1, res)
        elif x < 0.9 or len(steps_secs) < 2:
            res = rng.randint(1, 3 * max(steps_secs))
        else:  # halfway between two archives' steps: a tie on the distance
            a, b = sorted(rng.sample(steps_secs, 2))
            res = (a + b) // 2
        # mostly where the data is; sometimes before it, after it, or around --start
        x = rng.random()
        if x < 0.6:
            end = rng.randint(first, max(first, L))
        elif x < 0.85:
            end = L + rng.randint(-3 * s, 3 * s)
        elif x < 0.92:
            end = L + rng.randint(0, maxspan)
        else:
            end = tr.start + rng.randint(-maxspan, 3 * s)
        a = rng.choice(tr.rras)
        x = rng.random()
        if x < 0.55:
            span = int(s * a[2] * a[3] * rng.uniform(0, 1.2))
        elif x < 0.75:
            span = rng.randint(0, 10 * s)
        elif x < 0.8:
            span = 0
        elif x < 0.95:
            span = rng.randint(0, max(0, end - tr.start) + s)
        else:
            span = rng.randint(0, 3 * maxspan)
        if rng.random() < 0.3:  # window edges on or next to an archive's row boundary
            st = s * rng.choice(tr.rras)[2]
            end = end - end % st + rng.choice([-1, 0, 0, 1])
            start = end - span
            start = start - start % st + rng.choice([-1, 0, 0, 1])
            span = max(0, end - start)
        for _ in range(8):
            got = rrd_fetch(files, tr, cf, res, end - span, end)
            if len(got) <= MAX_FETCH_ROWS:
                break
            span //= 4
        tr.fetches.append((cf, res, end - span, end, rng.choice(["omit", "null"])))


# ---------------------------------------------------------------------------
# the rrdtool side

class Files:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pg_rrd-diff-")
        self.path = os.path.join(self.dir, "t.rrd")
        self.current = None

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def rrd_load(files, tr):
    """Creates the rrd file of tr and feeds it all updates."""
    rrdtool.create(files.path, "--start", str(tr.start), "--step", tr.step_text(),
                   tr.ds_text(), *tr.rra_texts())
    rrd_feed(files.path, tr.updates)
    files.current = tr.name


def rrd_feed(path, updates):
    """Feeds updates (as in Trace.updates) to the rrd file at path."""
    args = ["%s:%s" % (u[0], "U" if u[3] is None else u[3]) for u in updates]
    for i in range(0, len(args), 500):
        rrdtool.update(path, *args[i:i + 500])


def rrd_fetch(files, tr, cf, res, start, end):
    assert files.current == tr.name
    args = [files.path, cf]
    if res is not None:
        args += ["-r", str(res)]
    args += ["-s", str(start), "-e", str(end)]
    (fs, fe, fstep), _, rows = rrdtool.fetch(*args)
    return [(fs + (i + 1) * fstep, row[0]) for i, row in enumerate(rows)]


def run_rrdtool(files, tr):
    rrd_load(files, tr)
    tr.expected = [rrd_fetch(files, tr, f[0], f[1], f[2], f[3]) for f in tr.fetches]


def make_trace(seed, n, files):
    tr, rng = gen_trace(seed, n)
    rrd_load(files, tr)
    gen_windows(tr, rng, files)
    tr.expected = [rrd_fetch(files, tr, f[0], f[1], f[2], f[3]) for f in tr.fetches]
    return tr


# ---------------------------------------------------------------------------
# the PostgreSQL side

def q(s):
    return "'" + s.replace("'", "''") + "'"


def sql_time(sec, usec):
    if usec:
        return "to_timestamp(%d) + interval '%d microseconds'" % (sec, usec)
    return "to_timestamp(%d)" % sec


def sql_create(tr):
    return "SELECT rrd.create(%s, %s, to_timestamp(%d));" % (q(tr.name), q(tr.def_text()), tr.start)


SPECIAL_SQL = {"inf": "'Infinity'::float8", "-inf": "'-Infinity'::float8", "nan": "'NaN'::float8"}


def sql_update(tr, u):
    _, sec, usec, v = u
    if v is None:
        val = tr.unknown_sql
    elif v in SPECIAL_SQL:
        val = SPECIAL_SQL[v]
    elif tr.kind in INT_KINDS:
        val = "'%s'::%s" % (v, "float8" if tr.int_as_float and abs(int(v)) < 2**53 else "numeric")
    else:
        val = "'%s'::%s" % (v, "numeric" if tr.float_as_numeric else "float8")
    return "SELECT rrd.update(%s, %s, %s);" % (q(tr.name), sql_time(sec, usec), val)


def sql_fetch(tr, f):
    cf, res, start, end, how = f
    if res is not None:
        r = ", resolution => make_interval(secs => %d)" % res
    else:
        r = ", resolution => NULL" if how == "null" else ""
    return ("SELECT extract(epoch from t), v FROM rrd.fetch(%s, '%s', to_timestamp(%d), to_timestamp(%d)%s);"
            % (q(tr.name), cf, start, end, r))


def trace_sql(tr):
    """The statements of one trace through the single-point path (see unit_sql)."""
    return unit_sql([tr], "point", None)


# ---------------------------------------------------------------------------
# the batch paths
#
# --path chooses how the updates reach pg_rrd:
#   point   one `rrd.update(name, t, v)` statement per update (the default);
#   array   `rrd.update(name, t[], v[])`, 1 to 50 consecutive updates a call;
#   many    several traces run together ("a unit"), and each round sends a
#           run of updates of each of them in one `rrd.update(names[], t[], v[])`
#           call, the series interleaved at random;
#   points  the same rounds as multi-row `INSERT INTO rrd.points`, or as
#           `COPY rrd.points FROM STDIN` (in the psql script, data inline);
#   mixed   units of several traces; each round picks one of the above (array:
#           one call per trace); some calls pass skip_bad => true and some
#           INSERTs and COPYs run with pg_rrd.skip_bad_points on, which must
#           change nothing.
# Batch sizes, interleavings and choices come from a generator seeded by the
# run's seed, the path and the unit's first trace, so a run is repeatable.
# Which traces share a unit depends on the seed and the trace numbers only;
# --only keeps the listed traces of each unit (list all of a unit's members,
# printed with a failure, to replay it as it ran).
#
# The batch forms carry float8 only. A value whose text is not exactly what
# pg_rrd makes of its double (shortest round-trip digits, see float_text in
# batch.rs) is one rrdtool would read differently, such as a COUNTER input
# above 2^53 or a numeric with trailing zeros: such an update is sent alone
# through the single-point numeric form, cutting its batch in two at that
# point (the order of every series' updates stays the same).
#
# Every update of a trace is one rrdtool accepted (the generator makes times
# increase and values readable), so no batch expects a refused point; a
# refused point would fail its whole statement, and the unit would report an
# error.

PATHS = ("point", "array", "many", "points", "mixed")
MIXED_METHODS = ("point", "array", "many", "insert", "copy")
FLOAT_ELEM = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}


def float_safe(v):
    """True if update value text v reaches the engine unchanged through a float8."""
    if v is None or v in SPECIAL_SQL:
        return True
    try:
        return shortest_text(float(v)) == v
    except ValueError:
        return False


def ts_text(sec, usec):
    """A timestamptz literal (UTC) for (sec, usec), exact to the microsecond."""
    d = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S") + (".%06d" % usec if usec else "") + "+00"


def elem(tr, v):
    """The float8 input text of update value v; None for SQL NULL."""
    if v is None:
        return "NaN" if "NaN" in tr.unknown_sql else None
    return FLOAT_ELEM.get(v, v)


def sql_array(tr, items, skip):
    """One `rrd.update(name, t[], v[])` call for items [(tr, update)] of trace tr."""
    ts = ",".join('"%s"' % ts_text(u[1], u[2]) for _, u in items)
    vs = ",".join(elem(tr, u[3]) or "NULL" for _, u in items)
    return ("SELECT rrd.update(%s, '{%s}'::timestamptz[], '{%s}'::float8[]%s);"
            % (q(tr.name), ts, vs, ", skip_bad => true" if skip else ""))


def sql_many(items, skip):
    """One `rrd.update(names[], t[], v[])` call for items [(trace, update)]."""
    ns = ",".join('"%s"' % tr.name for tr, _ in items)
    ts = ",".join('"%s"' % ts_text(u[1], u[2]) for _, u in items)
    vs = ",".join(elem(tr, u[3]) or "NULL" for tr, u in items)
    return ("SELECT rrd.update('{%s}'::text[], '{%s}'::timestamptz[], '{%s}'::float8[]%s);"
            % (ns, ts, vs, ", skip_bad => true" if skip else ""))


def sql_insert(items):
    """One multi-row `INSERT INTO rrd.points` for items [(trace, update)]."""
    rows = []
    for tr, u in items:
        e = elem(tr, u[3])
        rows.append("(%s, '%s', %s)" % (q(tr.name), ts_text(u[1], u[2]), "NULL" if e is None else q(e)))
    return "INSERT INTO rrd.points (name, t, v) VALUES %s;" % ", ".join(rows)


def sql_copy(items):
    """`COPY rrd.points FROM STDIN` with its data inline, for items [(trace, update)]."""
    lines = ["COPY rrd.points (name, t, v) FROM STDIN;"]
    for tr, u in items:
        e = elem(tr, u[3])
        lines.append("%s\t%s\t%s" % (tr.name, ts_text(u[1], u[2]), "\\N" if e is None else e))
    lines.append("\\.")
    return "\n".join(lines)


def batched(method, items, rng):
    """Statements sending items [(trace, update)] in order by `method`, each
    with the items it sends; an update whose value needs more than a double
    goes alone (sql_update)."""
    out = []
    run = []

    def flush():
        if not run:
            return
        skip = rng.random() < 0.2 and PATH == "mixed"
        if method == "array":
            out.append((sql_array(run[0][0], run, skip), list(run)))
        elif method == "many":
            out.append((sql_many(run, skip), list(run)))
        else:
            if skip:  # skips nothing here: every update is one rrdtool took
                out.append(("SET pg_rrd.skip_bad_points = on;", []))
            out.append((sql_insert(run) if method == "insert" else sql_copy(run), list(run)))
            if skip:
                out.append(("RESET pg_rrd.skip_bad_points;", []))
        run.clear()

    for tr, u in items:
        if method == "point" or not float_safe(u[3]):
            flush()
            out.append((sql_update(tr, u), [(tr, u)]))
        else:
            run.append((tr, u))
    flush()
    return out


def schedule_key(unit):
    """The number that seeds a unit's batches and events: its first trace's,
    or for a trace cut down by --shrink, the number of the one it came from."""
    return getattr(unit[0], "ckey", unit[0].n)


def unit_updates(unit, path, seed):
    """The update statements of a unit of traces sent by `path`, with the
    folds and the other journal events among them (see "the journal")."""
    if path == "point":
        return [sql_update(tr, u) for tr in unit for u in tr.updates]
    rng = random.Random("pg_rrd-differential-batches:%s:%s:%d" % (seed, path, schedule_key(unit)))
    # mixed: all forms alike, or mostly those of several series (the one-series
    # forms fold the lane of a series with points pending)
    weights = rng.choice([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 6, 6, 6], [0.2, 0.2, 4, 4, 4]])
    pos = [0] * len(unit)
    seq = []
    while any(pos[j] < len(tr.updates) for j, tr in enumerate(unit)):
        if path == "mixed":
            method = rng.choices(MIXED_METHODS, weights)[0]
        elif path == "points":
            method = "copy" if rng.random() < 0.3 else "insert"
        else:
            method = path
        runs = []
        # the traces paced to end together, so that statements name several series
        most = max(len(tr.updates) - pos[j] for j, tr in enumerate(unit))
        base = rng.randint(1, rng.choice([3, 10, 50]))
        for j, tr in enumerate(unit):
            left = len(tr.updates) - pos[j]
            if len(unit) > 1 and rng.random() < 0.2:
                k = 0
            else:
                x = base * left / most
                k = int(x) + (rng.random() < x - int(x))
            k = min(k, left)
            runs.append([(tr, u) for u in tr.updates[pos[j]:pos[j] + k]])
            pos[j] += k
        if method == "array":
            for r in runs:
                seq += batched("array", r, rng)
            continue
        # interleave the runs at random, each in its own order
        merged = []
        idx = [0] * len(runs)
        while True:
            live = [j for j in range(len(runs)) if idx[j] < len(runs[j])]
            if not live:
                break
            j = rng.choice(live)
            merged.append(runs[j][idx[j]])
            idx[j] += 1
        seq += batched(method, merged, rng)
    return journal_events(unit, seq, path, seed)


# ---------------------------------------------------------------------------
# the journal
#
# A statement naming several series (rrd.update over names[], INSERT or COPY
# into rrd.points) appends its points to rrd.journal; a fold applies them
# later: rrd.flush(), rrd.flush(name), a writer whose lane holds 32768
# points, a one-series statement whose series has points pending. Every
# read must see what is pending as if folded. On the batch paths:
# - the traces of a unit are paced to end together, and a unit of one trace
#   gets a companion: a second series, generated from the trace's number and
#   compared like any trace, whose updates share the unit's statements; so
#   most statements of the forms of several series name several;
# - mixed: a unit sends all forms alike, or mostly those of several series
#   (a one-series form folds the lane of a series with points pending);
# - between statements, at rates drawn per unit (none at all in some units,
#   so that the reads merge everything): rrd.flush() or rrd.flush(name) of
#   a unit's series; rrd.pending() probes; in autocommit units, runs of
#   statements in BEGIN ... COMMIT with the same events inside, and runs of
#   statements (with a fold among them, sometimes) sent in a transaction
#   that is rolled back, then again for good; reads halfway (mostly just
#   after a statement of several series), compared with rrdtool fed the
#   updates sent so far;
# - with --rollbacks, those rolled-back runs also come as savepoints inside
#   transactions, and a unit in one transaction first makes its series and
#   writes them in a savepoint that is rolled back;
# - at the end every read is made twice: with what is pending (and
#   rrd.pending(name) of each series recorded), then after rrd.flush(),
#   which must fold at least those points and leave none of the unit's.
# The events come from a generator of their own (seed, path, first trace),
# so the update statements of a unit do not depend on them.

JOURNAL_PATHS = ("many", "points", "mixed")
COMPANION = 10**8  # a companion's number: this plus its trace's
COMPANIONS = {}  # trace name -> its companion


def fold_rates(rng):
    """Rates of the journal events of one unit, per gap between statements."""
    if HEAVY:  # let pending points pile up to the inline fold
        p_fold = rng.choice([0, 0, 0, 0.001, 0.005])
    else:
        p_fold = rng.choice([0, 0, 0.02, 0.05, 0.15, 0.4])
    return {
        "fold": p_fold,
        "named": rng.choice([0, 0.5, 1]),  # of folds, those of one series
        "probe": rng.choice([0, 0.02]),
        "undo": rng.choice([0, 0, 0.02, 0.08]),
        "block": rng.choice([0, 0.03, 0.15]),
        "mid": rng.choice([0, 0, 0.01, 0.04]),
    }


def journal_events(unit, seq, path, seed):
    """The statements of seq [(statement, items)] with the unit's journal
    events among them. Sets each trace's reads halfway (tr.mids: [(updates
    sent before, fetch)]) and the updates of it that statements of several
    series sent (tr.journaled)."""
    rng = random.Random("pg_rrd-differential-journal:%s:%s:%d" % (seed, path, schedule_key(unit)))
    rate = fold_rates(rng)
    auto = unit[0].mode == "autocommit"
    names = [tr.name for tr in unit]
    sent = {tr.n: 0 for tr in unit}
    for tr in unit:
        tr.mids = []
        tr.journaled = 0
    out = []
    block = 0  # statements left in an open BEGIN ... COMMIT of an autocommit unit
    saves = 0

    def fold():
        if rng.random() < rate["named"]:
            return "SELECT rrd.flush(%s);" % q(rng.choice(names))
        return "SELECT rrd.flush();"

    for i, (st, items) in enumerate(seq):
        if auto and not block and rng.random() < rate["block"]:
            out.append("BEGIN;")
            block = rng.randint(2, 40)
        if rng.random() < rate["fold"]:
            out.append(fold())
        if rng.random() < rate["probe"]:
            out.append("SELECT rrd.pending(), rrd.pending(%s);" % q(rng.choice(names)))
        if rng.random() < rate["undo"] and (ROLLBACKS or auto and not block):
            seg = [x[0] for x in seq[i:i + rng.randint(1, 4)]]
            if rng.random() < 0.5:
                seg.insert(rng.randint(0, len(seg)), fold())
            if auto and not block:
                out += ["BEGIN;"] + seg + ["ROLLBACK;"]
            else:
                saves += 1
                out += ["SAVEPOINT undo%d;" % saves] + seg + ["ROLLBACK TO SAVEPOINT undo%d;" % saves]
        out.append(st)
        several = len({tr.n for tr, _ in items}) > 1
        for tr, _ in items:
            sent[tr.n] += 1
            tr.journaled += several
        if rng.random() < rate["mid"] * (4 if several else 1):  # mostly where points are pending
            live = [tr for tr, _ in items] if several else [tr for tr in unit if sent[tr.n]]
            if live:
                tr = rng.choice(live)
                k = sent[tr.n]
                f = mid_fetch(tr, k, rng)
                j = len(tr.mids)
                out += ["\\o", "\\echo @N %d %d" % (tr.n, j), "SELECT rrd.pending(%s);" % q(tr.name),
                        "\\echo @M %d %d" % (tr.n, j), sql_fetch(tr, f), "\\o /dev/null"]
                tr.mids.append((k, f))
        if block:
            block -= 1
            if not block:
                out.append("COMMIT;")
    if block:
        out.append("COMMIT;")
    return out


def mid_fetch(tr, k, rng):
    """A read of one archive of tr whole, after its first k updates."""
    cf, _, steps, rows = rng.choice(tr.rras)
    st = tr.step * steps
    L = tr.updates[k - 1][1]
    end = L + rng.choice([0, 0, 0, tr.step, 3 * st])
    cal_end = L - L % st
    return (cf, st, cal_end - st * rows, end, "r")


def mid_expected(tr):
    """rrdtool's rows for the reads halfway of tr (tr.mids), fed in order."""
    if not tr.mids:
        return []
    got = {}
    rrdtool.create(FILES.path, "--start", str(tr.start), "--step", tr.step_text(),
                   tr.ds_text(), *tr.rra_texts())
    FILES.current = tr.name
    done = 0
    for j in sorted(range(len(tr.mids)), key=lambda j: tr.mids[j][0]):
        k, f = tr.mids[j]
        rrd_feed(FILES.path, tr.updates[done:k])
        done = k
        got[j] = rrd_fetch(FILES, tr, f[0], f[1], f[2], f[3])
    FILES.current = None  # the file holds part of the history
    return [got[j] for j in range(len(tr.mids))]


def companion(tr):
    """The companion of trace tr: a series of its own, generated from tr's
    number, that shares tr's statements."""
    c = COMPANIONS.get(tr.name)
    if c is None:
        key = getattr(tr, "ckey", tr.n)
        c, rng = gen_trace(tr.seed, key, ":companion")
        c.n = COMPANION + tr.n
        c.name = tr.name + ".companion"
        c.companion_of = tr.n
        c.ckey = key
        rrd_load(FILES, c)
        gen_windows(c, rng, FILES)
        c.expected = [rrd_fetch(FILES, c, f[0], f[1], f[2], f[3]) for f in c.fetches]
        COMPANIONS[tr.name] = c
    return c


def make_units(traces, path, seed, grouped=True):
    """The traces in units that run together: one each for point and array
    (and when not grouped), else consecutive trace numbers, 1 to 6 a unit
    (6 to 40 with --heavy). On the batch paths a unit of one trace gets its
    companion (see "the journal"). Every trace of a unit takes the first
    one's mode."""
    if path in ("point", "array"):
        return [[tr] for tr in traces]
    if not grouped:
        return with_companions([[tr] for tr in traces])
    rng = random.Random("pg_rrd-differential-units:%s:%s" % (seed, path))
    top = max(tr.n for tr in traces)
    group = {}
    n = g = 0
    while n <= top:
        size = rng.choice([6, 12, 24, 40] if HEAVY else [1, 2, 3, 4, 6])
        for m in range(n, n + size):
            group[m] = g
        n += size
        g += 1
    units = []
    for tr in traces:
        if units and group.get(units[-1][0].n) == group.get(tr.n):
            units[-1].append(tr)
        else:
            units.append([tr])
    return with_companions(units)


def with_companions(units):
    """The units, each of one trace given its companion; every trace of a
    unit takes the first one's mode."""
    for unit in units:
        if len(unit) == 1:
            unit.append(companion(unit[0]))
        for tr in unit:
            tr.mode = unit[0].mode
    return units


def unit_sql(unit, path, seed):
    """The statements of a unit of traces, with the markers parse_output() reads.

    Most units run in one transaction that is rolled back; the others
    commit every statement (so whatever pg_rrd keeps across statements or
    transactions is exercised too) and drop their series at the end."""
    auto = unit[0].mode == "autocommit"
    stmts = ["\\echo @T %d" % tr.n for tr in unit] + ["\\o /dev/null"]
    if auto:  # series left behind by an interrupted run
        stmts += ["DO $$ BEGIN PERFORM rrd.drop(%s); EXCEPTION WHEN OTHERS THEN NULL; END $$;" % q(tr.name)
                  for tr in unit]
    else:
        stmts.append("BEGIN;")
    if ROLLBACKS and not auto and path in JOURNAL_PATHS:
        # the series made, written by a statement of several series, and rolled back
        first = [(tr, tr.updates[0]) for tr in unit if tr.updates and float_safe(tr.updates[0][3])]
        stmts += (["SAVEPOINT made;"] + [sql_create(tr) for tr in unit]
                  + ([sql_many(first, False)] if len(first) > 1 else []) + ["ROLLBACK TO SAVEPOINT made;"])
    stmts += [sql_create(tr) for tr in unit]
    ups = unit_updates(unit, path, seed)
    for tr in unit:
        tr.sent = ups
        tr.unit = [t.n for t in unit]
    stmts += ups
    stmts.append("\\o")
    for tr in unit:
        for i, f in enumerate(tr.fetches):
            stmts += ["\\echo @F %d %d" % (tr.n, i), sql_fetch(tr, f)]
    if path != "point":  # the same reads after a fold of everything (see "the journal")
        for tr in unit:
            tr.mids_expected = mid_expected(tr) if FILES else []
            stmts += ["\\echo @P %d" % tr.n, "SELECT rrd.pending(%s);" % q(tr.name)]
        stmts += ["\\echo @R %d" % unit[0].n, "SELECT rrd.flush();"]
        for tr in unit:
            stmts += ["\\echo @Q %d" % tr.n, "SELECT rrd.pending(%s);" % q(tr.name)]
            for i, f in enumerate(tr.fetches):
                stmts += ["\\echo @G %d %d" % (tr.n, i), sql_fetch(tr, f)]
    stmts.append("\\o /dev/null")
    stmts += ["SELECT rrd.drop(%s);" % q(tr.name) for tr in unit] if auto else ["ROLLBACK;"]
    stmts.append("\\o")
    stmts += ["\\echo @E %d" % tr.n for tr in unit]
    return stmts


def build_script(units, path, seed):
    """The SQL script of one batch, and for each of its lines the unit it belongs to."""
    lines = ["\\pset null NULL"]
    owner = [None]
    for unit in units:
        text = "\n".join(unit_sql(unit, path, seed)).split("\n")
        lines += text
        owner += [unit] * len(text)
    return "\n".join(lines) + "\n", owner


class PgError(Exception):
    pass


def psql_cmd():
    exe = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    return [exe, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-f", "-"]


def parse_output(out):
    """{trace n: {fetch i: [(label, value)]}} for the traces that ran to the end."""
    done = {}
    cur = None
    rows = None
    scalar = None
    partial = {}
    for line in out.split("\n"):
        if line.startswith("@T "):
            cur = int(line.split()[1])
            partial[cur] = {}
            rows = None
        elif line[:3] in ("@F ", "@G ", "@M "):  # a read: before the final flush, after it, halfway
            _, n, i = line.split()
            key = int(i) if line[1] == "F" else ("after" if line[1] == "G" else "mid", int(i))
            rows = partial[int(n)].setdefault(key, [])
        elif line[:3] in ("@P ", "@Q ", "@R "):  # pending before and after the final flush; flushed
            _, n = line.split()
            scalar = (int(n), {"P": "pending", "Q": "pending after", "R": "flushed"}[line[1]])
            rows = None
        elif line.startswith("@N "):  # pending at a read halfway
            _, n, i = line.split()
            scalar = (int(n), ("mid pending", int(i)))
            rows = None
        elif line.startswith("@E "):
            n = int(line.split()[1])
            done[n] = partial.pop(n)
            rows = None
        elif line and scalar is not None:
            partial[scalar[0]][scalar[1]] = int(line)
            scalar = None
        elif line and rows is not None:
            a, _, b = line.partition("|")
            label = Decimal(a)
            label = int(label) if label == label.to_integral_value() else label
            if b == "NULL":
                val = None
            else:
                val = float(b)
            rows.append((label, val))
    return done


def run_pg(traces, batch, grouped=True):
    """Runs the traces through psql; returns {n: {fetch i: rows}} or {n: PgError}.
    A unit (see make_units) that fails gives each of its traces the error."""
    results = {}
    pending = make_units(traces, PATH, SEED, grouped)
    while pending:
        chunk, size = [], 0
        while pending and size < batch:
            chunk.append(pending.pop(0))
            size += len(chunk[-1])
        while chunk:
            script, owner = build_script(chunk, PATH, SEED)
            p = subprocess.run(psql_cmd(), input=script, capture_output=True, text=True)
            done = parse_output(p.stdout)
            results.update(done)
            if p.returncode == 0:
                missing = [t.n for u in chunk for t in u if t.n not in done]
                if missing:
                    raise SystemExit("differential: psql output lacks traces %s:\n%s" % (missing, p.stderr))
                break
            # the statement that failed: an ERROR, or the server going away under it
            m = (re.search(r"psql:[^:\n]*:(\d+): (ERROR|FATAL):\s*(.*(?:\n(?!psql:).*)*)", p.stderr)
                 or re.search(r"psql:[^:\n]*:(\d+): ()(server closed the connection.*(?:\n(?!psql:).*)*)",
                              p.stderr))
            if not m or not 0 < int(m.group(1)) <= len(owner) or owner[int(m.group(1)) - 1] is None:
                raise SystemExit("differential: psql failed (exit %d):\n%s" % (p.returncode, p.stderr.strip()))
            line = int(m.group(1))
            bad = owner[line - 1]
            at = script.split("\n")[line - 1]
            if len(at) > 300:
                at = at[:300] + "..."
            for tr in bad:
                results[tr.n] = PgError("%s\n    at: %s" % (m.group(3).strip(), at))
            if not m.group(2):
                time.sleep(3)  # the server restarts after a crash
            k = chunk.index(bad)
            chunk = chunk[k + 1:]
    return results


def check_server():
    p = subprocess.run(psql_cmd()[:-2] + ["-c", "SELECT 'rrd.fetch'::regproc"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("differential: cannot use the database (set PGHOST, PGPORT, PGUSER, PGDATABASE; "
                         "is pg_rrd installed?):\n" + p.stderr.strip())


# ---------------------------------------------------------------------------
# comparing and reporting

def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(b, float) and math.isnan(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) and not EXACT


def compare(exp, got):
    """Indices of rows that differ (None in the list: the counts differ)."""
    bad = []
    for i in range(max(len(exp), len(got))):
        if i >= len(exp) or i >= len(got):
            bad.append(i)
            continue
        (le, ve), (lg, vg) = exp[i], got[i]
        if le != lg or not close(ve, vg):
            bad.append(i)
    return bad


def fmt_v(v):
    if v is None:
        return "NaN/NULL"
    return repr(v)


def fetch_cli(tr, f, path="/tmp/t.rrd"):
    cf, res, start, end, _ = f
    r = " -r %d" % res if res is not None else ""
    return "rrdtool fetch %s %s%s -s %d -e %d" % (path, cf, r, start, end)


def checks(tr):
    """Every read of tr to compare: (result key, fetch, rrdtool's rows, when)."""
    out = [(i, f, e, "") for i, (f, e) in enumerate(zip(tr.fetches, tr.expected))]
    if PATH != "point":
        out += [(("after", i), f, e, " (after the final rrd.flush())")
                for i, (f, e) in enumerate(zip(tr.fetches, tr.expected))]
        for j, ((k, f), e) in enumerate(zip(getattr(tr, "mids", []), getattr(tr, "mids_expected", []))):
            out.append((("mid", j), f, e, " (read halfway, after %d of %d updates; rrdtool fed those only)"
                        % (k, len(tr.updates))))
    return out


def unit_problems(tr, results):
    """What the journal's counts of tr contradict: none of its points may be
    pending after the final rrd.flush(), which folds at least all the points
    of the unit that were pending before it."""
    res = results.get(tr.n)
    if PATH == "point" or isinstance(res, PgError) or res is None:
        return []
    out = []
    if res.get("pending after") != 0:
        out.append("rrd.pending(%s) after the final rrd.flush() is %s, not 0"
                   % (q(tr.name), res.get("pending after")))
    if tr.n == tr.unit[0]:
        before = [results.get(n, {}) for n in tr.unit]
        if all(not isinstance(r, PgError) and "pending" in r for r in before):
            want = sum(r["pending"] for r in before)
            if res.get("flushed", -1) < want:
                out.append("the final rrd.flush() folded %s points, but the unit's series had %d pending"
                           % (res.get("flushed"), want))
    return out


def dump_trace(tr, keys, out):
    """A trace as a script that reproduces it, rrdtool then SQL; keys: its failing reads."""
    w = out.write
    path = "" if PATH == "point" else " --path %s" % PATH
    if getattr(tr, "companion_of", None) is not None:
        w("# ---- the companion of trace %d of seed %s (rerun: --seed %s%s --only %d)\n"
          % (tr.companion_of, tr.seed, tr.seed, path, tr.companion_of))
    else:
        w("# ---- trace %d of seed %s (rerun: --seed %s%s --only %d)\n" % (tr.n, tr.seed, tr.seed, path, tr.n))
    w("# %s, %d updates, last update %d\n" % (tr.kind, len(tr.updates), tr.last_up()))
    w("# rrdtool:\n")
    w("rm -f /tmp/t.rrd; rrdtool create /tmp/t.rrd --start %d --step %s %s %s\n"
      % (tr.start, tr.step_text(), tr.ds_text(), " ".join(tr.rra_texts())))
    args = ["%s:%s" % (u[0], "U" if u[3] is None else u[3]) for u in tr.updates]
    for i in range(0, len(args), 8):
        w("rrdtool update /tmp/t.rrd %s\n" % " ".join(args[i:i + 8]))
    fis = sorted({k if isinstance(k, int) else k[1] for k in keys if not isinstance(k, tuple) or k[0] == "after"})
    for i in fis:
        w(fetch_cli(tr, tr.fetches[i]) + "\n")
    for k in keys:
        if isinstance(k, tuple) and k[0] == "mid":
            n, f = tr.mids[k[1]]
            w("# halfway: after the first %d updates only, %s\n" % (n, fetch_cli(tr, f)))
    auto = tr.mode == "autocommit"
    sent = getattr(tr, "sent", None)
    if PATH == "point" or sent is None:
        w("# SQL (%s):\n" % tr.mode)
        w(("" if auto else "BEGIN;\n") + sql_create(tr) + "\n")
        for u in tr.updates:
            w(sql_update(tr, u) + "\n")
    else:
        others = [n for n in tr.unit if n != tr.n]
        rerun = [n for n in tr.unit if n < COMPANION]
        w("# SQL (%s, --path %s%s):\n" % (tr.mode, PATH, ", with traces %s (rerun: --seed %s --path %s --only %s)"
                                         % (others, tr.seed, PATH, ",".join(map(str, rerun))) if others else ""))
        w("" if auto else "BEGIN;\n")
        for n in tr.unit:
            w("-- SELECT rrd.create(...) of trace %d\n" % n if n != tr.n else sql_create(tr) + "\n")
        for st in sent:
            if not st.startswith("\\"):
                w(st + "\n")
    for i in fis:
        w(sql_fetch(tr, tr.fetches[i]) + "\n")
    if PATH != "point":
        w("SELECT rrd.pending(%s);\nSELECT rrd.flush();\nSELECT rrd.pending(%s);\n" % (q(tr.name), q(tr.name)))
        for i in fis:
            w(sql_fetch(tr, tr.fetches[i]) + "\n")
    w(("SELECT rrd.drop(%s);" % q(tr.name) if auto else "ROLLBACK;") + "\n")


def dump_rows(exp, got, bad, out, full):
    out.write("#   %-12s %-26s %-26s\n" % ("label", "rrdtool", "pg_rrd"))
    badset = set(bad)
    show = range(max(len(exp), len(got)))
    if not full:
        near = set()
        for i in bad:
            near.update(range(i - 2, i + 3))
        show = [i for i in show if i in near]
    prev = None
    for i in show:
        if prev is not None and i != prev + 1:
            out.write("#   ...\n")
        prev = i
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        out.write("#   %-12s %-26s %-26s%s\n" % (
            e[0] if e else "-",
            fmt_v(e[1]) if e else "(no row)",
            ("%s%s" % ("" if g[0] == (e[0] if e else None) else "@%s " % g[0], fmt_v(g[1]))) if g else "(no row)",
            "   <-- differs" if i in badset else ""))


def report_trace(tr, res, out, full, problems=()):
    """Prints a failing trace: in full (every update, every row) or as one line a read."""
    if isinstance(res, PgError):
        if full:
            dump_trace(tr, [c[0] for c in checks(tr)], out)
        out.write("# trace %d (%s): pg_rrd raised an error:\n#   %s\n"
                  % (tr.n, tr.kind, str(res).replace("\n", "\n#   ")))
        return
    bad_checks = [c for c in checks(tr) if compare(c[2], res.get(c[0], []))]
    if full:
        dump_trace(tr, [c[0] for c in bad_checks], out)
    for p in problems:
        out.write("# trace %d (%s): %s\n" % (tr.n, tr.kind, p))
    for key, f, exp, when in bad_checks:
        got = res.get(key, [])
        bad = compare(exp, got)
        i = key if isinstance(key, int) else "%s %d" % key
        if full:
            out.write("# trace %d (%s) fetch %s%s: %s\n#   %d rows expected, %d got, %d differ\n"
                      % (tr.n, tr.kind, i, when, fetch_cli(tr, f), len(exp), len(got), len(bad)))
            dump_rows(exp, got, bad, out, len(exp) + len(got) <= 400)
        else:
            j = bad[0]
            e = exp[j] if j < len(exp) else ("-", "(no row)")
            g = got[j] if j < len(got) else ("-", "(no row)")
            out.write("# trace %d (%s) fetch %s%s: %s: %d/%d rows differ (got %d), first at %s: "
                      "rrdtool %s, pg_rrd %s%s\n"
                      % (tr.n, tr.kind, i, when, fetch_cli(tr, f), len(bad), len(exp), len(got), e[0],
                         fmt_v(e[1]) if j < len(exp) else e[1], fmt_v(g[1]) if j < len(got) else g[1],
                         "" if g[0] == e[0] else " labelled %s" % g[0]))


def count_mismatches(exp, got):
    """Differing rows of exp, plus one if the row counts differ."""
    return sum(1 for i in compare(exp, got) if i < len(exp)) + (len(exp) != len(got))


def trace_failed(tr, res):
    if isinstance(res, PgError):
        return True
    return any(compare(e, res.get(k, [])) for k, _, e, _ in checks(tr))


# ---------------------------------------------------------------------------
# shrinking a failing trace

def shrink(tr, fi, res0, files, batch, out):
    """Cuts trace tr down (updates, archives, other fetches) while fetch fi still fails."""
    base = tr.copy()
    base.fetches = [tr.fetches[fi]]
    base.ckey = getattr(tr, "ckey", tr.n)  # the companion of a unit of one, as it ran
    err0 = isinstance(res0, PgError)
    counter = [0]

    def fails_many(cands):
        named = []
        for c in cands:
            counter[0] += 1
            c.name = "diff.%s.shrink.%d" % (tr.seed, counter[0])
            c.n = 10**6 + counter[0]
            try:
                run_rrdtool(files, c)
            except rrdtool.OperationalError:
                continue
            named.append(c)
        if not named:
            return []
        results = run_pg(named, batch, grouped=False)
        ok = []
        for c in named:
            r = results.get(c.n)
            if r is None:
                continue
            if err0:
                if isinstance(r, PgError):
                    ok.append(c)
            elif not isinstance(r, PgError) and (trace_failed(c, r) or unit_problems(c, results)):
                ok.append(c)
        return ok

    if not fails_many([base.copy()]):
        out.write("# shrink: the single fetch does not fail on its own; not shrinking\n")
        return None
    cur = base
    # archives first: fewer archives make the fetch easier to read
    changed = True
    while changed and len(cur.rras) > 1:
        changed = False
        cands = []
        for j in range(len(cur.rras)):
            c = cur.copy()
            c.rras = cur.rras[:j] + cur.rras[j + 1:]
            cf = c.fetches[0][0]
            if any(r[0] == cf or r[2] == 1 for r in c.rras):
                cands.append(c)
        got = fails_many(cands)
        if got:
            cur, changed = got[0], True
    # then updates, ddmin style
    n = 2
    while len(cur.updates) >= 2:
        size = max(1, len(cur.updates) // n)
        parts = [(i, min(len(cur.updates), i + size)) for i in range(0, len(cur.updates), size)]
        cands = []
        for a, b in parts:
            c = cur.copy()
            c.updates = cur.updates[:a] + cur.updates[b:]
            cands.append(c)
        got = fails_many(cands)
        if got:
            cur = min(got, key=lambda c: len(c.updates))
            n = max(2, n - 1)
        else:
            if size == 1:
                break
            n = min(len(cur.updates), 2 * n)
    if len(cur.updates) == 1:
        c = cur.copy()
        c.updates = []
        got = fails_many([c])
        if got:
            cur = got[0]
    final = fails_many([cur.copy()])
    if not final:
        out.write("# shrink: the cut-down trace does not fail when run again; not shrinking\n")
        return None
    cur = final[0]
    res = run_pg([cur], batch, grouped=False)[cur.n]
    cur.n = tr.n
    if PATH == "point":  # the batch paths' statements, printed as sent, name the series as it ran
        cur.name = "diff.%s.%d" % (tr.seed, tr.n)
    out.write("# shrunk trace %d fetch %d to %d updates, %d archives:\n"
              % (tr.n, fi, len(cur.updates), len(cur.rras)))
    report_trace(cur, res, out, True)
    return cur


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--traces", type=int, default=int(os.environ.get("PG_RRD_DIFF_TRACES", "200")))
    ap.add_argument("--seed", default="1")
    ap.add_argument("--only", default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--rrdtool-only", action="store_true")
    ap.add_argument("--shrink", action="store_true")
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--path", choices=PATHS, default="point")
    ap.add_argument("--heavy", action="store_true", default=os.environ.get("PG_RRD_DIFF_HEAVY", "") not in ("", "0"))
    ap.add_argument("--rollbacks", action="store_true",
                    default=os.environ.get("PG_RRD_DIFF_ROLLBACKS", "") not in ("", "0"))
    args = ap.parse_args()
    global EXACT, PATH, SEED, HEAVY, LENGTH, FILES, ROLLBACKS
    ROLLBACKS = args.rollbacks
    EXACT = args.exact
    PATH = args.path
    SEED = args.seed
    HEAVY = args.heavy
    LENGTH = 8 if HEAVY else 1

    t0 = time.time()
    ids = [int(x) for x in args.only.split(",")] if args.only else list(range(args.traces))
    files = FILES = Files()
    try:
        traces = [make_trace(args.seed, n, files) for n in ids]
        t_rrd = time.time() - t0
        nrows = sum(len(e) for tr in traces for e in tr.expected)
        nupd = sum(len(tr.updates) for tr in traces)
        if args.rrdtool_only:
            print_stats(traces, t_rrd)
            print("differential: %d traces, %d updates, %d rows from rrdtool (rrdtool only, %.1fs)"
                  % (len(traces), nupd, nrows, t_rrd))
            return 0
        check_server()
        t1 = time.time()
        results = run_pg(traces, args.batch)
        t_pg = time.time() - t1

        everyone = traces + [COMPANIONS[tr.name] for tr in traces if tr.name in COMPANIONS]
        mismatches = 0
        failed = []
        compared = known = identical = 0
        first = True
        for tr in everyone:
            res = results.get(tr.n)
            if res is None:
                res = PgError("no result")
            problems = []
            if isinstance(res, PgError):
                mismatches += 1
                bad_here = 1
            else:
                bad_here = 0
                for key, _, exp, _ in checks(tr):
                    got = res.get(key, [])
                    compared += len(exp)
                    for (le, ve), (lg, vg) in zip(exp, got):
                        if ve is not None and vg is not None and le == lg:
                            known += 1
                            identical += ve == vg
                    bad_here += count_mismatches(exp, got)
                problems = unit_problems(tr, results)
                bad_here += len(problems)
                mismatches += bad_here
            if bad_here:
                failed.append(tr)
                report_trace(tr, res, sys.stdout, first or args.only is not None, problems)
                first = False
            if args.verbose:
                print("trace %4d %-8s step %3d hb %4d %d archive(s) %4d updates: %s"
                      % (tr.n, tr.kind, tr.step, tr.hb, len(tr.rras), len(tr.updates),
                         "ok" if not bad_here else ("ERROR" if isinstance(res, PgError) else
                                                    "%d rows differ" % bad_here)))
        if failed and args.shrink:
            tr = failed[0]
            res = results.get(tr.n)
            fi = 0
            if not isinstance(res, PgError):
                fi = next((k if isinstance(k, int) else k[1] for k, _, e, _ in checks(tr)
                           if (isinstance(k, int) or k[0] == "after") and compare(e, res.get(k, []))), 0)
            shrink(tr, fi, res, files, args.batch, sys.stdout)
        ncomp = len(everyone) - len(traces)
        nupd += sum(len(tr.updates) for tr in everyone[len(traces):])
        print("differential: %d updates; %d known values compared, %d of them bit-identical; "
              "rrdtool %.1fs, pg_rrd %.1fs" % (nupd, known, identical, t_rrd, t_pg))
        if PATH != "point":
            print("differential: --path %s%s%s: %s" % (PATH, " --heavy" if HEAVY else "",
                                                      " --rollbacks" if ROLLBACKS else "", path_stats(everyone)))
            print("differential: journal: %s" % journal_stats(everyone, results))
        print("differential: %d traces%s, %d rows compared, %d mismatches"
              % (len(traces), " (and %d companions)" % ncomp if ncomp else "", compared, mismatches))
        print("%d passed, %d failed" % (len(everyone) - len(failed), len(failed)))
        test = "differential --path %s%s%s" % (PATH, " --heavy" if HEAVY else "", " --rollbacks" if ROLLBACKS else "")
        reliability.record("differential", test, len(everyone), len(failed),
                           "random histories into rrdtool 1.7.2 and pg_rrd (%s), every fetched row compared: "
                           "%d traces%s of seed %s, %d updates, %d rows compared, %d known values of which %d "
                           "bit-identical, %d mismatches"
                           % ({"point": "one rrd.update per update", "array": "arrays of one series",
                               "many": "rrd.update(names[]) through the journal", "points": "INSERT and COPY "
                               "into rrd.points", "mixed": "every form, folds at random points"}.get(PATH, PATH)
                              + (", histories eight times longer" if HEAVY else "")
                              + (", statements rolled back and sent again" if ROLLBACKS else "")
                              + (", values bit for bit" if EXACT else ""),
                              len(traces), " and %d companions" % ncomp if ncomp else "", args.seed, nupd,
                              compared, known, identical, mismatches))
        return 1 if failed else 0
    finally:
        files.close()


def stmt_names(form, st):
    """The distinct series an update statement of `form` names."""
    if form == "many":
        return set(st.split("'")[1][1:-1].split('","'))
    if form == "insert":
        return set(re.findall(r"\('((?:[^']|'')*)', '", st))
    if form == "copy":
        return {line.split("\t")[0] for line in st.split("\n")[1:-1]}
    return {st.split("'")[1]}


def path_stats(traces):
    """How the updates were sent: statements of each form, updates in them,
    those naming several series (which journal), and the journal events."""
    from collections import Counter
    stmts, points, several, events = Counter(), Counter(), Counter(), Counter()
    seen = set()
    for tr in traces:
        sent = getattr(tr, "sent", None)
        if sent is None or id(sent) in seen:
            continue
        seen.add(id(sent))
        for st in sent:
            if st.startswith(("SET ", "RESET ", "\\", "COMMIT", "ROLLBACK TO", "SELECT rrd.pending")):
                continue
            if st.startswith("SELECT rrd.flush("):
                events["flush(name)" if st != "SELECT rrd.flush();" else "flush()"] += 1
                continue
            if st.startswith(("SAVEPOINT", "BEGIN", "ROLLBACK")):
                events[st.split()[0].rstrip(";")] += 1
                continue
            if st.startswith("SELECT extract"):
                events["read halfway"] += 1
                continue
            if st.startswith("COPY"):
                form, k = "copy", st.count("\n") - 1
            elif st.startswith("INSERT"):
                form, k = "insert", st.count("), (") + 1
            elif st.startswith("SELECT rrd.update('{"):
                form, k = "many", st.split("'")[3].count('","') + 1
            elif "'::timestamptz[]" in st:
                form, k = "array", st.split("'")[3].count('","') + 1
            else:
                form, k = "point", 1
            stmts[form] += 1
            points[form] += k
            several[form] += form in ("many", "insert", "copy") and len(stmt_names(form, st)) > 1
    text = ", ".join("%s %d statements (%d updates%s)"
                     % (f, stmts[f], points[f], ", %d of several series" % several[f] if several[f] else "")
                     for f in ("point", "array", "many", "insert", "copy") if stmts[f])
    # BEGIN: blocks of an autocommit unit and runs undone there; SAVEPOINT: runs undone in a transaction
    ev = ", ".join("%s %d" % (k, events[k]) for k in ("flush()", "flush(name)", "BEGIN", "ROLLBACK", "SAVEPOINT",
                                                      "read halfway") if events[k])
    return text + ("; events: " + ev if ev else "")


def journal_stats(traces, results):
    """What the reads before the final flush merged from the journal."""
    journaled = pending = with_pending = most = mids = mids_pending = 0
    units = {}
    for tr in traces:
        journaled += getattr(tr, "journaled", 0)
        r = results.get(tr.n)
        if isinstance(r, dict) and "pending" in r:
            pending += r["pending"]
            with_pending += r["pending"] > 0
            most = max(most, r["pending"])
            units[tr.unit[0]] = units.get(tr.unit[0], 0) + r["pending"]
            for j in range(len(getattr(tr, "mids", []))):
                mids += 1
                mids_pending += r.get(("mid pending", j), 0) > 0
    return ("%d updates sent in statements of several series; at the final reads %d points pending "
            "in %d of %d series (at most %d in one, %d in one unit); %d of %d reads halfway with points pending"
            % (journaled, pending, with_pending, len(traces), most, max(units.values(), default=0),
               mids_pending, mids))


def print_stats(traces, secs):
    from collections import Counter
    kinds = Counter(tr.kind for tr in traces)
    cfs = Counter(r[0] for tr in traces for r in tr.rras)
    steps = Counter(tr.step for tr in traces)
    nrows = sum(len(e) for tr in traces for e in tr.expected)
    known = sum(1 for tr in traces for e in tr.expected for _, v in e if v is not None)
    unk_in = sum(1 for tr in traces for u in tr.updates if u[3] is None)
    subsec = sum(1 for tr in traces for u in tr.updates if u[2])
    nupd = sum(len(tr.updates) for tr in traces)
    wraps = sum(1 for tr in traces if tr.kind == "COUNTER"
                for a, b in zip(tr.updates, tr.updates[1:])
                if a[3] is not None and b[3] is not None and int(b[3]) < int(a[3]))
    neg = sum(1 for tr in traces if tr.kind in ("DERIVE", "DDERIVE", "DCOUNTER")
              for a, b in zip(tr.updates, tr.updates[1:])
              if a[3] is not None and b[3] is not None and float(b[3]) < float(a[3]))
    big = sum(1 for tr in traces if tr.kind == "COUNTER" for u in tr.updates
              if u[3] is not None and int(u[3]) >= 2**63)
    laps = 0
    for tr in traces:
        if tr.updates:
            span = tr.last_up() - tr.start
            laps = max(laps, max(span // (tr.step * r[2] * r[3]) for r in tr.rras))
    print("kinds: %s" % dict(sorted(kinds.items())))
    print("cfs: %s   base steps: %s" % (dict(sorted(cfs.items())), dict(sorted(steps.items()))))
    print("updates: %d (%d U, %d with microseconds); counter decreases (wraps/resets): %d; "
          "COUNTER inputs >= 2^63: %d; derive/dcounter decreases: %d"
          % (nupd, unk_in, subsec, wraps, big, neg))
    print("fetches: %d, rows: %d (%d known, %d NaN); most ring laps in one trace: %d"
          % (sum(len(tr.fetches) for tr in traces), nrows, known, nrows - known, laps))
    for tr in traces:
        for e, f in zip(tr.expected, tr.fetches):
            if e:
                step = e[1][0] - e[0][0] if len(e) > 1 else None
                assert all(b[0] - a[0] == step for a, b in zip(e, e[1:])), (tr.n, f)
    print("self-check: labels evenly spaced in every fetch; rrdtool side %.1fs" % secs)


if __name__ == "__main__":
    sys.exit(main())
