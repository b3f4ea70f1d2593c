#!/usr/bin/python3
"""Interoperability test: pg_rrd's imports and dumps against the real rrdtool 1.7.2,
collectd 5.12 and Graphite's whisper 1.1.10.

Parts (all by default; --parts picks some):

  import    random files made by rrdtool (every DS kind but COMPUTE, one to three archives
            of the four consolidation functions, one to three data sources) and fed a random
            history, cut at a random point, `rrdtool dump`ed and imported with
            rrd.import_rrdtool; `rrdtool restore` of the same dump is the oracle (a dump keeps
            11 significant digits and whole seconds, so the original file is not). Every row
            of every archive is compared right after the import, then both are continued with
            the same updates (U, fractional times in the text form, gaps past the heartbeat)
            through rrd.update(name, t, v), rrd.update(name, 'T:V') or rrd.update(name, text[])
            and compared again. Also on_exists, and COMPUTE / Holt-Winters refused or skipped.
  dump      the reverse: random histories written to pg_rrd, rrd.dump, `rrdtool restore`,
            every row compared, then both continued and compared again.
  spec      one history sent as rrdtool update strings ('T:V', fractional times) to both;
            the text[] form with skip_bad; 'N' checked loosely against the clock.
  collectd  a real collectd (load, interface, df, cpu, memory and its rrdtool plugin) runs for
            a while; scripts/import-rrd imports its files (then again: all skipped; then with
            --replace); every row of every archive is compared with rrdtool restore of a dump
            of each file (bit for bit) and with the file itself (to 11 digits).
  whisper   files made by whisper 1.1.10 (several retentions; average, max, min, last),
            update_many with gaps, imported with rrd.import_whisper; every archive's points
            as whisper.fetch gives them against rrd.fetch of that archive, labels shifted by
            one interval. Also sum (0A000), truncated and mutated files (22P03), nothing
            written by a refused file.
  bad       truncated and mutated dumps, random bytes and mutated headers for whisper: each
            is refused with a data error's SQLSTATE (never XX000, never a crash) and leaves
            rrd.series as it was, or, when the mutation still reads, imports.

Usage (the whisper part needs the whisper module: scripts/install-interop.sh puts it in
.venv, which sees Debian's rrdtool and psycopg modules):

    .venv/bin/python pgrx-tests/interop.py [--dir .pgdata/interop] [--port 55444]
        [--traces N] [--seed S] [--parts import,dump,...] [--verbose]

By default it starts a cluster of its own (scripts/cluster.sh, DIR and PORT), makes a fresh
database there and stops the cluster at the end; --dsn CONNINFO uses a server already running
instead (its database must have pg_rrd available). --traces N: traces of the import part
(default $PG_RRD_INTEROP_TRACES, else 100); the dump and spec parts run half as many each.
Values are compared as doubles, bit for bit (NaN and SQL NULL both mean unknown), except
against collectd's original files, where a dump's 11 significant digits are all there is.
With RELIABILITY_DIR set, each part's line (traces, mismatches, summary) goes to
$RELIABILITY_DIR/interop.json (docs/reliability.md).
"""

import argparse
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import reliability

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import differential as D  # noqa: E402  (its trace generator and rrdtool's parsing rules)

try:
    import psycopg
except ImportError:  # pragma: no cover
    sys.exit("interop: the psycopg module is missing: apt-get install -y python3-psycopg")
import rrdtool  # noqa: E402  (differential has checked it is there)

try:
    import whisper
except ImportError:
    whisper = None

PGBIN = "/usr/lib/postgresql/15/bin"
CFS = D.CFS
INT_KINDS = D.INT_KINDS
# SQLSTATEs a refused file or value may give: bad XML or file, unsupported, bad parameter,
# time out of range, bad text of a definition or value.
DATA_ERRORS = ("2200N", "22P03", "0A000", "22023", "22008", "22P02")
VERBOSE = False
TOLERANCE = None  # --tolerance: compare within this relative difference, not bit for bit


# ---------------------------------------------------------------------------
# counting and reporting

class Tally:
    """Traces, rows and mismatches of one part; prints the first few mismatches in full."""

    SHOWN = 8

    def __init__(self, part):
        self.part = part
        self.traces = 0
        self.failed_traces = 0
        self.rows = 0
        self.known = 0
        self.mismatches = 0
        self.notes = []
        self.shown = 0
        self.extra = {}

    def fail(self, what, detail=""):
        self.mismatches += 1
        if self.shown < self.SHOWN:
            print("interop %s: MISMATCH: %s" % (self.part, what))
            if detail:
                print("    " + detail.replace("\n", "\n    "))
        elif self.shown == self.SHOWN:
            print("interop %s: (further mismatches counted, not shown)" % self.part)
        self.shown += 1

    def check(self, ok, what, detail=""):
        if not ok:
            self.fail(what, detail)
        return ok

    def add(self, key, n=1):
        self.extra[key] = self.extra.get(key, 0) + n

    def summary(self):
        extra = "".join(", %d %s" % (v, k) for k, v in self.extra.items())
        return ("interop %s: %d traces (%d failed), %d rows compared (%d known values), "
                "%d mismatches%s" % (self.part, self.traces, self.failed_traces, self.rows,
                                     self.known, self.mismatches, extra))


def bits(v):
    """A value as compared: None for unknown (NULL or NaN), else its 8 bytes."""
    if isinstance(v, str):  # a note in place of a row: never equal to a value
        return v
    if v is None or v != v:
        return None
    return struct.pack("<d", v)


def show(v):
    return "NaN" if v is None or v != v else repr(v)


def ulps_apart(a, b):
    """Units in the last place between two finite doubles of one sign."""
    ia, ib = struct.unpack("<q", struct.pack("<d", a))[0], struct.unpack("<q", struct.pack("<d", b))[0]
    return abs(ia - ib) if (a < 0) == (b < 0) else None


def compare_rows(tally, what, exp, got, tol=None, ulps=0):
    """Compares [(label, value)] rows of rrdtool (exp) and pg_rrd (got): same labels, same
    doubles (or, with tol, within tol relative; with ulps, at most that many units in the last
    place apart, each counted). Returns True when all agree."""
    if tol is None:
        tol = TOLERANCE
    tally.rows += len(exp)
    tally.known += sum(1 for _, v in exp if bits(v) is not None)
    bad = []
    for i in range(max(len(exp), len(got))):
        e = exp[i] if i < len(exp) else None
        g = got[i] if i < len(got) else None
        if e is None or g is None or e[0] != g[0]:
            bad.append(i)
            continue
        be, bg = bits(e[1]), bits(g[1])
        if be == bg:
            continue
        if isinstance(be, bytes) and isinstance(bg, bytes) and e[1] == 0 and g[1] == 0:
            # -0.0 against 0.0: equal as numbers, as the other differential tests compare them.
            tally.add("zeros of another sign")
            continue
        if tol is not None and isinstance(be, bytes) and isinstance(bg, bytes):
            if abs(e[1] - g[1]) <= tol * max(abs(e[1]), abs(g[1])):
                continue
        if ulps and isinstance(be, bytes) and isinstance(bg, bytes):
            d = ulps_apart(e[1], g[1])
            if d is not None and d <= ulps:
                tally.add("values %d ulp off" % d)
                continue
        bad.append(i)
    if not bad:
        return True
    i = bad[0]
    e = exp[i] if i < len(exp) else ("-", "(no row)")
    g = got[i] if i < len(got) else ("-", "(no row)")
    tally.fail("%s: %d of %d rows differ (pg_rrd gave %d rows); first at row %d: rrdtool %s %s, "
               "pg_rrd %s %s" % (what, len(bad), len(exp), len(got), i, e[0],
                                 e[1] if isinstance(e[1], str) else show(e[1]), g[0],
                                 g[1] if isinstance(g[1], str) else show(g[1])))
    return False


# ---------------------------------------------------------------------------
# the database

class Pg:
    """One autocommit session; a lost connection is reported and made again."""

    def __init__(self, conninfo):
        self.conninfo = conninfo
        self.notices = []
        self.connect()

    def connect(self):
        last = None
        for _ in range(20):  # the extension may be being reinstalled: retry for a while
            try:
                self.conn = psycopg.connect(self.conninfo, autocommit=True)
                self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary))
                self.conn.execute("SET TIME ZONE 'UTC'")
                return
            except psycopg.OperationalError as e:
                last = e
                time.sleep(1)
        raise SystemExit("interop: cannot connect: %s" % last)

    def lost(self):
        """True if the session is gone (the server crashed or ended it)."""
        return self.conn.closed or self.conn.broken

    def run(self, sql, params=None):
        """Executes sql (several statements when there are no params); returns the rows of
        the last statement, if any."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def batch(self, stmts, per=400):
        """Statements in groups of `per`, each group one round trip (and one implicit
        transaction). Raises the first error."""
        for i in range(0, len(stmts), per):
            self.run("\n".join(stmts[i:i + per]))

    def fetch(self, name, cf, res, start, end):
        """rrd.fetch rows as [(label seconds, value or None)]."""
        rows = self.run("SELECT extract(epoch FROM t)::bigint, v FROM rrd.fetch(%s, %s, to_timestamp(%s), "
                        "to_timestamp(%s), resolution => make_interval(secs => %s))",
                        (name, cf, start, end, res))
        return [(int(t), v) for t, v in rows]

    def count_series(self):
        return self.run("SELECT count(*) FROM rrd.series")[0][0]

    def drop_like(self, prefix):
        self.run("SELECT count(rrd.drop(name)) FROM rrd.series WHERE starts_with(name, %s)", (prefix,))


def sqlstate(e):
    return getattr(e, "sqlstate", None)


def q(s):
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# the rrdtool side

def rrd_fetch(path, cf, res, start, end):
    """rrdtool fetch: ([labels], [row tuples])."""
    (fs, fe, fstep), _, rows = rrdtool.fetch(path, cf, "-r", str(res), "-s", str(start), "-e", str(end))
    return [fs + (i + 1) * fstep for i in range(len(rows))], rows


def rrd_dump(path, xml_path):
    """`rrdtool dump` of the file at path, kept at xml_path too."""
    xml = subprocess.run(["rrdtool", "dump", path], check=True, capture_output=True, text=True).stdout
    with open(xml_path, "w", encoding="utf-8") as f:
        f.write(xml)
    return xml


def rrd_restore(xml_path, path):
    """`rrdtool restore` (the Python module has no restore); raises RestoreError."""
    if os.path.exists(path):
        os.unlink(path)
    p = subprocess.run(["rrdtool", "restore", xml_path, path], capture_output=True, text=True)
    if p.returncode != 0:
        raise RestoreError(p.stderr.strip() or p.stdout.strip())


class RestoreError(Exception):
    pass


def rrd_layout(path):
    """(step, last update, [ds names], [(cf, pdp per row, rows)]) from rrdtool info."""
    info = rrdtool.info(path)
    ds = {}
    rras = {}
    for k, v in info.items():
        if k.startswith("ds[") and k.endswith("].index"):
            ds[v] = k[3:k.index("]")]
        elif k.startswith("rra["):
            i = int(k[4:k.index("]")])
            field = k[k.index("]") + 2:]
            rras.setdefault(i, {})[field] = v
    return (info["step"], info["last_update"], [ds[i] for i in sorted(ds)],
            [(rras[i]["cf"], rras[i]["pdp_per_row"], rras[i]["rows"]) for i in sorted(rras)])


def windows(step, last, rras):
    """One fetch per archive that covers its whole ring: (cf, resolution, start, end). The
    start is the oldest row the ring holds, so that rrdtool (and pg_rrd) answer from it."""
    out = []
    for cf, steps, rows in rras:
        if cf not in CFS:
            continue
        st = step * steps
        end = last - last % st
        out.append((cf, st, end - st * rows, last))
    return out


def compare_file(tally, pg, what, path, names, tol=None, layout=None, ulps=0):
    """Every archive of the rrd file at `path` against the series `names` (one per data
    source, in order): rrd.fetch against rrdtool fetch. Returns True when all agree."""
    step, last, dsn, rras = layout or rrd_layout(path)
    ok = True
    for cf, res, start, end in windows(step, last, rras):
        labels, rows = rrd_fetch(path, cf, res, start, end)
        if len(labels) > 1 and labels[1] - labels[0] != res:
            tally.add("fetches answered by another archive")  # one of the same function, first
        for d, name in enumerate(names):
            exp = [(lab, row[d]) for lab, row in zip(labels, rows)]
            try:
                got = pg.fetch(name, cf, res, start, end)
            except psycopg.Error as e:
                tally.fail("%s: rrd.fetch(%s, %s, %d, %d, %d s) failed: %s %s"
                           % (what, name, cf, start, end, res, sqlstate(e), str(e).strip()))
                ok = False
                continue
            ok &= compare_rows(tally, "%s: %s %s -r %d -s %d -e %d" % (what, name, cf, res, start, end),
                               exp, got, tol, ulps)
    return ok


# ---------------------------------------------------------------------------
# histories of one to three data sources

class Source:
    def __init__(self, name, kind, hb, vmin, vmax, numeric):
        self.name, self.kind, self.hb, self.vmin, self.vmax = name, kind, hb, vmin, vmax
        self.numeric = numeric  # values through the numeric overload (else float8)

    def text(self):
        return "DS:%s:%s:%d:%s:%s" % (self.name, self.kind, self.hb, self.vmin, self.vmax)


class History:
    """A file's definition and updates: [(time text, sec, usec, [value text or None per DS])]."""

    def __init__(self, name, step, start, sources, rras, updates):
        self.name, self.step, self.start = name, step, start
        self.sources, self.rras, self.updates = sources, rras, updates

    def create_args(self):
        return (["--start", str(self.start), "--step", str(self.step)] + [s.text() for s in self.sources]
                + ["RRA:%s:%s:%d:%d" % r for r in self.rras])

    def def_text(self):
        return " ".join(self.create_args()[2:])

    def series(self):
        if len(self.sources) == 1:
            return [self.name]
        return ["%s.%s" % (self.name, s.name) for s in self.sources]

    def rrd_feed(self, path, updates):
        args = ["%s:%s" % (u[0], ":".join("U" if v is None else v for v in u[3])) for u in updates]
        for i in range(0, len(args), 500):
            rrdtool.update(path, *args[i:i + 500])

    def layout(self, last):
        return (self.step, last, [s.name for s in self.sources],
                [(cf, steps, rows) for cf, _, steps, rows in self.rras])


def sql_value(src, v):
    if v is None:
        return "NULL::float8"
    if v in D.SPECIAL_SQL:
        return D.SPECIAL_SQL[v]
    if src.kind in INT_KINDS or src.numeric:
        return "'%s'::numeric" % v
    return "'%s'::float8" % v


def pg_updates(hist, updates, form, rng):
    """Statements that send `updates` to the series of hist in the given form:
    point (rrd.update(name, t, v)), spec (rrd.update(name, 'T:V')) or specs (text[])."""
    stmts = []
    for d, (src, name) in enumerate(zip(hist.sources, hist.series())):
        if form == "point":
            for tt, sec, usec, vals in updates:
                stmts.append("SELECT rrd.update(%s, %s, %s);" % (q(name), D.sql_time(sec, usec),
                                                                  sql_value(src, vals[d])))
        elif form == "spec":
            for tt, sec, usec, vals in updates:
                stmts.append("SELECT rrd.update(%s, %s);" % (q(name), q("%s:%s" % (tt, vals[d] or "U"))))
        else:
            i = 0
            while i < len(updates):
                n = rng.choice([1, 5, 50, 300])
                part = updates[i:i + n]
                i += n
                arr = "ARRAY[%s]" % ", ".join(q("%s:%s" % (tt, vals[d] or "U")) for tt, _, _, vals in part)
                stmts.append("SELECT rrd.update(%s, %s);" % (q(name), arr))
    # the series' updates interleave as a collector's would; each series keeps its order
    if len(hist.sources) > 1 and form == "point":
        per = len(updates)
        stmts = [stmts[d * per + i] for i in range(per) for d in range(len(hist.sources))]
    return stmts


def gen_history(seed, n, part, multi=True):
    """A random history: differential.py's generator gives the step, the first data source,
    the archives and the update times; up to two more data sources get their own kinds."""
    tr, rng = D.gen_trace(seed, n, salt=":interop:" + part)
    rras = [(cf, xff, steps, rows) for cf, xff, steps, rows in tr.rras[:3]]
    first = Source(tr.dsname, tr.kind, tr.hb, tr.vmin, tr.vmax, tr.float_as_numeric)
    sources = [first]
    if multi and rng.random() < 0.3:
        for name in rng.sample(["rx", "tx", "shortterm", "b"], rng.choice([1, 2])):
            if name == first.name:
                continue
            kind = rng.choice(D.KINDS)
            hb = max(1, rng.choice([tr.hb, tr.hb // 2, tr.hb * 2, 2 * tr.step]))
            vg = D.ValueGen(rng, kind, tr.step, False)
            vmin, vmax = vg.vmin, vg.vmax
            if "U" not in (vmin, vmax) and float(vmin) >= float(vmax):
                vmax = "U"
            src = Source(name, kind, hb, vmin, vmax, False)
            src.gen = vg
            sources.append(src)
    updates = []
    last = (tr.start, 0)
    for tt, sec, usec, v in tr.updates:
        vals = [v]
        dt = (sec - last[0]) + (usec - last[1]) / 1e6
        for src in sources[1:]:
            vals.append(src.gen.next(dt))
        updates.append((tt, sec, usec, vals))
        last = (sec, usec)
    name = "interop.%s.%s.%d" % (part, seed, n)
    return History(name, tr.step, tr.start, sources, rras, updates), rng


def shift(updates, secs):
    """The updates `secs` seconds later (times as texts keep their fraction's digits)."""
    out = []
    for tt, sec, usec, vals in updates:
        whole, dot, frac = tt.partition(".")
        t2 = str(int(whole) + secs) + dot + frac
        s2, u2 = D.rrd_time(t2)
        out.append((t2, s2, u2, vals))
    return out


# ---------------------------------------------------------------------------
# part: import

NUMBER_TAGS = re.compile(r"<(v|value|min|max|primary_value|secondary_value|xff)>\s*([^<\s]+)\s*</\1>")


def as_restore_reads(xml):
    """The dump with each number rewritten as the shortest text of the double `rrdtool restore`
    reads from it (rrdtool's own strtod, not correctly rounded): for --look-past restore-rounding, which
    looks past that one difference for others."""
    def sub(m):
        v = D.rrd_strtod(m.group(2))
        if v is None or v != v or v in (float("inf"), float("-inf")):
            return m.group(0)
        return "<%s>%s</%s>" % (m.group(1), repr(v), m.group(1))
    return NUMBER_TAGS.sub(sub, xml)



def part_import(pg, args, tmp):
    tally = Tally("import")
    forms = {"point": 0, "spec": 0, "specs": 0}
    for n in range(args.traces):
        hist, rng = gen_history(args.seed, n, "import")
        tally.traces += 1
        if len(hist.sources) > 1:
            tally.add("files of several data sources")
        before = tally.mismatches
        a = os.path.join(tmp, "a.rrd")
        b = os.path.join(tmp, "b.rrd")
        xml_path = os.path.join(tmp, "a.xml")
        if os.path.exists(a):
            os.unlink(a)
        rrdtool.create(a, *hist.create_args())
        cut = rng.randint(0, len(hist.updates))
        hist.rrd_feed(a, hist.updates[:cut])
        xml = rrd_dump(a, xml_path)
        rrd_restore(xml_path, b)
        what = "trace %d (%s; %d updates, cut at %d)" % (n, hist.def_text(), len(hist.updates), cut)
        if "restore-rounding" in args.look_past:
            xml = as_restore_reads(xml)
        if "version-0005" in args.look_past:
            xml = xml.replace("<version>0005</version>", "<version>0004</version>", 1)
        try:
            got = pg.run("SELECT series, action FROM rrd.import_rrdtool(%s, %s)", (hist.name, xml))
        except psycopg.Error as e:
            tally.fail("%s: rrd.import_rrdtool failed: %s %s" % (what, sqlstate(e), str(e).strip()))
            tally.failed_traces += 1
            continue
        tally.check(got == [(s, "created") for s in hist.series()],
                    "%s: rrd.import_rrdtool returned %r" % (what, got))
        last = rrd_layout(b)[1]
        compare_file(tally, pg, what + ", after the import", b, hist.series(), layout=hist.layout(last))

        if n % 10 == 3:  # on_exists, on a copy of the same dump
            on_exists_checks(tally, pg, hist, xml, b, what)

        # continue both with the same updates; sometimes a gap past the heartbeat first
        rest = hist.updates[cut:]
        if rest and rng.random() < 0.3:
            hb = max(s.hb for s in hist.sources)
            gap = rng.randint(hb + 1, 3 * hb + 3 * hist.step)
            rest = shift(rest, gap)
            tally.add("continuations after a gap past the heartbeat")
        form = rng.choice(["point", "spec", "specs"])
        form = args.form or form
        if form != "point" and "spec-times" in args.look_past:
            rest = [(agreed_time(tt), s_, u_, v_) for tt, s_, u_, v_ in rest]
            rest = [(tt, *D.rrd_time(tt), v_) for tt, _, _, v_ in rest]
        forms[form] += 1
        err = None
        try:
            pg.batch(pg_updates(hist, rest, form, rng))
        except psycopg.Error as e:
            err = e
        try:
            hist.rrd_feed(b, rest)
        except rrdtool.OperationalError as e:
            tally.fail("%s: rrdtool refused the continuation: %s" % (what, e))
        if err is not None:
            tally.fail("%s: pg_rrd refused the continuation (%s form): %s %s"
                       % (what, form, sqlstate(err), str(err).strip()))
        else:
            last = rest[-1][1] if rest else last
            compare_file(tally, pg, "%s, continued by %d updates (%s form)" % (what, len(rest), form), b,
                         hist.series(), layout=hist.layout(last))
        pg.drop_like(hist.name)
        if tally.mismatches > before:
            tally.failed_traces += 1
        if VERBOSE:
            print("import trace %d: %d DS, %d archives, %d+%d updates, %s" % (
                n, len(hist.sources), len(hist.rras), cut, len(rest),
                "ok" if tally.mismatches == before else "FAILED"))
    tally.add("continued by rrd.update(name, t, v)", forms["point"])
    tally.add("by rrd.update(name, 'T:V')", forms["spec"])
    tally.add("by rrd.update(name, text[])", forms["specs"])
    unsupported_checks(tally, pg, tmp)
    return tally


def on_exists_checks(tally, pg, hist, xml, b, what):
    names = hist.series()
    try:
        pg.run("SELECT * FROM rrd.import_rrdtool(%s, %s)", (hist.name, xml))
        tally.fail("%s: a second import with on_exists 'error' succeeded" % what)
    except psycopg.Error as e:
        tally.check(sqlstate(e) == "42710", "%s: a second import gave %s, not 42710: %s"
                    % (what, sqlstate(e), str(e).strip()))
    got = pg.run("SELECT series, action FROM rrd.import_rrdtool(%s, %s, on_exists => 'skip')", (hist.name, xml))
    tally.check(got == [(s, "skipped") for s in names], "%s: on_exists 'skip' returned %r" % (what, got))
    # replace: first change the series, then the import must bring the dump's rows back
    for s in names:
        pg.run("SELECT rrd.drop(%s)", (s,))
        pg.run("SELECT rrd.create(%s, '--step 7 DS:x:GAUGE:14:U:U RRA:AVERAGE:0.5:1:3')", (s,))
    got = pg.run("SELECT series, action FROM rrd.import_rrdtool(%s, %s, false, 'replace')", (hist.name, xml))
    tally.check(got == [(s, "replaced") for s in names], "%s: on_exists 'replace' returned %r" % (what, got))
    compare_file(tally, pg, what + ", after on_exists 'replace'", b, names)
    try:
        pg.run("SELECT * FROM rrd.import_rrdtool(%s, %s, on_exists => 'overwrite')", (hist.name, xml))
        tally.fail("%s: on_exists 'overwrite' was taken" % what)
    except psycopg.Error as e:
        tally.check(sqlstate(e) == "22023", "%s: on_exists 'overwrite' gave %s" % (what, sqlstate(e)))
    tally.add("on_exists checks")


def unsupported_checks(tally, pg, tmp):
    """COMPUTE data sources and Holt-Winters archives: 0A000, or skipped with a NOTICE."""
    a = os.path.join(tmp, "u.rrd")
    b = os.path.join(tmp, "ub.rrd")
    xml_path = os.path.join(tmp, "u.xml")
    cases = [
        ("a COMPUTE data source", ["DS:x:GAUGE:20:U:U", "DS:y:COUNTER:20:0:U", "DS:c:COMPUTE:x,2,*"],
         ["RRA:AVERAGE:0.5:1:20", "RRA:MAX:0:3:10"], ["x", "y"], 2),
        ("Holt-Winters archives", ["DS:x:GAUGE:20:U:U"],
         ["RRA:AVERAGE:0.5:1:20", "RRA:HWPREDICT:30:0.1:0.0035:10", "RRA:LAST:0.5:2:10"], [None], 2),
    ]
    for what, ds, rra, kept, n_rra in cases:
        if os.path.exists(a):
            os.unlink(a)
        rrdtool.create(a, "--start", "1600000000", "--step", "10", *ds, *rra)
        # one value for each data source but the computed one
        rrdtool.update(a, *["%d:%s" % (1600000000 + 10 * i, ":".join(["%d" % (i * 7)] * len(kept)))
                            for i in range(1, 40)])
        xml = rrd_dump(a, xml_path)
        rrd_restore(xml_path, b)
        name = "interop.unsupported"
        before = pg.count_series()
        try:
            pg.run("SELECT * FROM rrd.import_rrdtool(%s, %s)", (name, xml))
            tally.fail("a dump with %s was imported" % what)
        except psycopg.Error as e:
            tally.check(sqlstate(e) == "0A000", "a dump with %s gave %s, not 0A000: %s"
                        % (what, sqlstate(e), str(e).strip()))
        tally.check(pg.count_series() == before, "a refused dump with %s left series behind" % what)
        pg.notices.clear()
        try:
            got = pg.run("SELECT series, action FROM rrd.import_rrdtool(%s, %s, skip_unsupported => true)",
                         (name, xml))
        except psycopg.Error as e:
            tally.fail("a dump with %s and skip_unsupported failed: %s %s" % (what, sqlstate(e), e))
            continue
        names = [name if k is None else "%s.%s" % (name, k) for k in kept]
        tally.check(got == [(s, "created") for s in names], "skip_unsupported on %s returned %r" % (what, got))
        tally.check(any("skips" in m for m in pg.notices), "skip_unsupported on %s: no NOTICE (%r)"
                    % (what, pg.notices))
        # the archives kept are rrdtool's, in order, less the Holt-Winters family
        step, last, _, rras = rrd_layout(b)
        kept_rras = [r for r in rras if r[0] in CFS]
        tally.check(len(kept_rras) == n_rra, "%s: %d archives kept" % (what, len(kept_rras)))
        arch = pg.run("SELECT count(*) FROM rrd.archives(rrd.definition(%s))", (names[0],))[0][0]
        tally.check(arch == n_rra, "%s: the series has %d archives, not %d" % (what, arch, n_rra))
        # compare the kept data sources column by column
        info = rrd_layout(b)
        ok = True
        for cf, res, start, end in windows(step, last, kept_rras):
            labels, rows = rrd_fetch(b, cf, res, start, end)
            for s, k in zip(names, kept):
                d = info[2].index(k) if k is not None else 0
                ok &= compare_rows(tally, "%s: %s %s -r %d" % (what, s, cf, res),
                                   [(lab, r[d]) for lab, r in zip(labels, rows)],
                                   pg.fetch(s, cf, res, start, end))
        pg.drop_like(name)
        tally.add("unsupported-part checks")


# ---------------------------------------------------------------------------
# part: dump

def part_dump(pg, args, tmp):
    tally = Tally("dump")
    b = os.path.join(tmp, "d.rrd")
    xml_path = os.path.join(tmp, "d.xml")
    for n in range(max(1, args.traces // 2)):
        tr, rng = D.gen_trace(args.seed, n, salt=":interop:dump")
        tr.rras = tr.rras[:3]
        tr.name = "interop.dump.%s.%d" % (args.seed, n)
        tally.traces += 1
        before = tally.mismatches
        # cut where the last update has no microseconds, which a dump cannot carry
        cuts = [k for k in range(len(tr.updates) + 1) if k == 0 or tr.updates[k - 1][2] == 0]
        cut = rng.choice(cuts)
        what = "trace %d (%s; %d updates, cut at %d)" % (n, tr.def_text(), len(tr.updates), cut)
        try:
            pg.batch([D.sql_create(tr)] + [D.sql_update(tr, u) for u in tr.updates[:cut]])
            xml = pg.run("SELECT rrd.dump(%s)", (tr.name,))[0][0]
        except psycopg.Error as e:
            tally.fail("%s: pg_rrd failed: %s %s" % (what, sqlstate(e), str(e).strip()))
            tally.failed_traces += 1
            pg.drop_like(tr.name)
            continue
        with open(xml_path, "w", encoding="utf-8") as f:
            f.write(xml)
        try:
            rrd_restore(xml_path, b)
        except RestoreError as e:
            tally.fail("%s: rrdtool restore refused rrd.dump's XML: %s" % (what, e),
                       "the XML begins:\n" + xml[:1500])
            tally.failed_traces += 1
            pg.drop_like(tr.name)
            continue
        names = [tr.name]
        step, last, _, rras = rrd_layout(b)
        lay = (tr.step, last, [tr.dsname], [(cf, st, rows) for cf, _, st, rows in tr.rras])
        tally.check(step == tr.step and [r for r in rras] == lay[3],
                    "%s: the restored file has step %d and archives %r" % (what, step, rras))
        expect_last = tr.updates[cut - 1][1] if cut else tr.start
        tally.check(last == expect_last, "%s: the restored file's last update is %d, not %d"
                    % (what, last, expect_last))
        # rrdtool's reader gives some doubles for no text at all: those come back one unit in
        # the last place off (counted), everything else to the bit.
        compare_file(tally, pg, what + ", restored", b, names, layout=lay, ulps=1)
        # the restored file takes the dump back unchanged: dump it and compare the texts' rows
        rest = tr.updates[cut:]
        err = None
        try:
            pg.batch([D.sql_update(tr, u) for u in rest])
        except psycopg.Error as e:
            err = e
        try:
            D.rrd_feed(b, rest)
        except rrdtool.OperationalError as e:
            tally.fail("%s: rrdtool refused the continuation: %s" % (what, e))
        if err is not None:
            tally.fail("%s: pg_rrd refused the continuation: %s %s" % (what, sqlstate(err), str(err).strip()))
        else:
            last = rest[-1][1] if rest else last
            compare_file(tally, pg, "%s, both continued by %d updates" % (what, len(rest)), b, names,
                         layout=(tr.step, last, lay[2], lay[3]), ulps=1)
        pg.drop_like(tr.name)
        if tally.mismatches > before:
            tally.failed_traces += 1
        if VERBOSE:
            print("dump trace %d: %d archives, %d+%d updates, %s" % (
                n, len(tr.rras), cut, len(rest), "ok" if tally.mismatches == before else "FAILED"))
    return tally


# ---------------------------------------------------------------------------
# part: spec

def correct_time(t):
    """(seconds, microseconds) of an update time read with a correctly rounded strtod and
    rrdtool's truncation: what differs from rrdtool's reading (D.rrd_time) is its strtod."""
    import math
    x = float(t)
    whole = math.floor(x)
    return int(whole), int((x - whole) * 1e6)


def agreed_time(t):
    """A text for the time rrdtool reads from t that both readings agree on, if one of a few
    candidates is (for --look-past spec-times)."""
    sec, usec = D.rrd_time(t)
    for c in [t, "%d.%06d" % (sec, usec), "%d.%06d5" % (sec, usec), "%d.%06d9" % (sec, usec),
              "%d.%06d1" % (sec, usec)]:
        if D.rrd_time(c) == (sec, usec) and correct_time(c) == (sec, usec):
            return c
    return t


def spec_time(rng, sec, usec):
    """An update time as rrdtool takes it: whole seconds, a few decimals, or an exponent."""
    x = rng.random()
    if usec == 0 and x < 0.5:
        return str(sec)
    if x < 0.6:
        return "%d.%d" % (sec, usec // 100000)
    if x < 0.75:
        return "%d.%03d" % (sec, usec // 1000)
    if x < 0.9:
        return "%d.%06d" % (sec, usec)
    if x < 0.95:
        return "%d.%06d%03d" % (sec, usec, rng.randint(0, 999))  # more digits than microseconds
    return "%.12e" % (sec + usec / 1e6)


def part_spec(pg, args, tmp):
    tally = Tally("spec")
    a = os.path.join(tmp, "s.rrd")
    for n in range(max(1, args.traces // 2)):
        tr, rng = D.gen_trace(args.seed, n, salt=":interop:spec")
        tr.name = "interop.spec.%s.%d" % (args.seed, n)
        tally.traces += 1
        before = tally.mismatches
        # the times rewritten in rrdtool's update syntax, still increasing as rrdtool reads them
        ups = []
        last = (tr.start, 0)
        for tt, sec, usec, v in tr.updates:
            t2 = spec_time(rng, sec, usec)
            if "spec-times" in args.look_past:
                t2 = agreed_time(t2)
            s2, u2 = D.rrd_time(t2)
            if (s2, u2) <= last:
                continue
            ups.append((t2, s2, u2, v))
            last = (s2, u2)
        tr.updates = ups
        form = "spec" if n % 2 == 0 else "specs"
        # some refused strings in the array form with skip_bad: a repeated time
        bad_at = set()
        if form == "specs" and ups and rng.random() < 0.5:
            bad_at = set(rng.sample(range(len(ups)), min(len(ups), rng.randint(1, 5))))
        specs = []
        for i, (tt, sec, usec, v) in enumerate(ups):
            specs.append("%s:%s" % (tt, "U" if v is None else v))
            if i in bad_at:
                specs.append("%s:%s" % (tt, "1"))  # the same time again: refused
        what = "trace %d (%s; %d updates, %s)" % (n, tr.def_text(), len(ups), form)
        if os.path.exists(a):
            os.unlink(a)
        rrdtool.create(a, "--start", str(tr.start), "--step", tr.step_text(), tr.ds_text(), *tr.rra_texts())
        try:
            for i in range(0, len(ups), 500):
                rrdtool.update(a, *["%s:%s" % (u[0], "U" if u[3] is None else u[3]) for u in ups[i:i + 500]])
        except rrdtool.OperationalError as e:
            tally.fail("%s: rrdtool refused: %s" % (what, e))
            continue
        try:
            pg.run(D.sql_create(tr))
            if form == "spec":
                pg.batch(["SELECT rrd.update(%s, %s);" % (q(tr.name), q(s)) for s in specs])
            else:
                skipped = 0
                for i in range(0, len(specs), 300):
                    skipped += pg.run("SELECT rrd.update(%s, %s::text[], skip_bad => true)",
                                      (tr.name, specs[i:i + 300]))[0][0]
                tally.check(skipped == len(bad_at), "%s: skip_bad skipped %d, not %d"
                            % (what, skipped, len(bad_at)))
                tally.add("refused strings skipped", skipped)
        except psycopg.Error as e:
            tally.fail("%s: pg_rrd refused: %s %s" % (what, sqlstate(e), str(e).strip()))
            pg.drop_like(tr.name)
            tally.failed_traces += 1
            continue
        tally.add("update strings", len(ups))
        tally.add("with a fraction", sum(1 for u in ups if "." in u[0]))
        lay = (tr.step, ups[-1][1] if ups else tr.start, [tr.dsname],
               [(cf, st, rows) for cf, _, st, rows in tr.rras])
        compare_file(tally, pg, what, a, [tr.name], layout=lay)
        # the time of the last update to the microsecond, as rrdtool read it
        if ups:
            got = pg.run("SELECT extract(epoch FROM rrd.last(%s))::numeric * 1000000", (tr.name,))[0][0]
            exp = ups[-1][1] * 10**6 + ups[-1][2]
            tally.check(int(got) == exp, "%s: rrd.last is %s us, rrdtool read %r as %d us"
                        % (what, got, ups[-1][0], exp))
        pg.drop_like(tr.name)
        if tally.mismatches > before:
            tally.failed_traces += 1
    # N: the clock, loosely; and the errors of strings that do not read
    name = "interop.spec.now"
    pg.run("SELECT rrd.create(%s, '--step 1 DS:x:GAUGE:10:U:U RRA:LAST:0.5:1:100', now() - interval '1 min')",
           (name,))
    pg.run("SELECT rrd.update(%s, 'N:42')", (name,))
    lag = pg.run("SELECT abs(extract(epoch FROM clock_timestamp() - rrd.last(%s)))", (name,))[0][0]
    tally.check(lag < 5, "'N:42' was written %s s away from the clock" % lag)
    row = pg.run("SELECT value FROM rrd.lastupdate(%s)", (name,))[0][0]
    tally.check(row == "42", "'N:42': the last input is %r" % row)
    for bad in ["42", "x:1", "1:2:3", "@now:1", ":1"]:
        try:
            pg.run("SELECT rrd.update(%s, %s)", (name, bad))
            tally.fail("update string %r was taken" % bad)
        except psycopg.Error as e:
            tally.check(sqlstate(e) in DATA_ERRORS, "update string %r gave %s: %s" % (bad, sqlstate(e), e))
    pg.drop_like(name)
    return tally


# ---------------------------------------------------------------------------
# part: collectd

COLLECTD_CONF = """\
Hostname "interop"
FQDNLookup false
Interval {interval}
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/collectd.log"
</Plugin>
LoadPlugin load
LoadPlugin interface
LoadPlugin df
LoadPlugin cpu
LoadPlugin memory
LoadPlugin rrdtool
<Plugin interface>
  Interface "lo"
</Plugin>
<Plugin df>
  MountPoint "/"
</Plugin>
<Plugin rrdtool>
  DataDir "{dir}/rrd"
  # Written as they come: no cache to flush at the end.
  CacheTimeout 0
</Plugin>
"""


def part_collectd(pg, args, tmp):
    tally = Tally("collectd")
    exe = shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)
    if exe is None:
        print("interop collectd: SKIPPED: collectd is not installed (scripts/install-interop.sh "
              "installs collectd-core)")
        tally.extra["skipped"] = 1
        return tally
    d = os.path.join(tmp, "collectd")
    os.makedirs(d)
    conf = os.path.join(d, "collectd.conf")
    with open(conf, "w") as f:
        f.write(COLLECTD_CONF.format(dir=d, interval=args.collectd_interval))
    rc = subprocess.run([exe, "-t", "-C", conf], capture_output=True, text=True)
    if rc.returncode != 0:
        print("interop collectd: SKIPPED: collectd -t refuses the configuration: %s"
              % (rc.stderr.strip() or rc.stdout.strip()))
        tally.extra["skipped"] = 1
        return tally
    proc = subprocess.Popen([exe, "-f", "-C", conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    print("interop collectd: running collectd for %d s (Interval %d)" % (args.collectd_seconds,
                                                                         args.collectd_interval))
    try:
        time.sleep(args.collectd_seconds)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    data = os.path.join(d, "rrd")
    files = []
    for root, _, fs in os.walk(data):
        files += [os.path.join(root, f) for f in fs if f.endswith(".rrd")]
    files.sort()
    if not files:
        log = open(os.path.join(d, "collectd.log")).read() if os.path.exists(os.path.join(d, "collectd.log")) else ""
        tally.fail("collectd wrote no .rrd file (exit %s)" % proc.returncode, log[-2000:])
        return tally
    prefix = "interop.collectd"
    pg.drop_like(prefix + ".")
    env = dict(os.environ, PGTZ="UTC")
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "import-rrd"), data, "--prefix", prefix,
           "--dsn", pg.conninfo]

    def run_script(extra, want):
        p = subprocess.run(cmd + extra, capture_output=True, text=True, env=env)
        tail = p.stdout.strip().split("\n")[-1] if p.stdout.strip() else ""
        print("interop collectd: (%s) %s" % (" ".join(["import-rrd"] + extra), tail))
        tally.check(p.returncode == 0, "scripts/import-rrd%s exited %d" % ("".join(" " + x for x in extra),
                                                                           p.returncode),
                    (p.stdout[-3000:] + p.stderr[-2000:]))
        tally.check(want in tail, "scripts/import-rrd%s: expected %r in %r" % ("".join(" " + x for x in extra),
                                                                              want, tail))
        return p

    layouts = {f: rrd_layout(f) for f in files}
    nseries = sum(len(lay[2]) for lay in layouts.values())
    run_script([], "%d created, 0 replaced, 0 skipped" % nseries)
    run_script(["--quiet"], "0 created, 0 replaced, %d skipped" % nseries)
    run_script(["--replace", "--quiet"], "0 created, %d replaced, 0 skipped" % nseries)

    xml_path = os.path.join(tmp, "c.xml")
    b = os.path.join(tmp, "c.rrd")
    multi = 0
    for f in files:
        rel = os.path.relpath(f, data)[:-4]
        base = prefix + "." + rel.replace(os.sep, ".")
        lay = layouts[f]
        names = [base] if len(lay[2]) == 1 else ["%s.%s" % (base, ds) for ds in lay[2]]
        multi += len(names) > 1
        have = [r[0] for r in pg.run("SELECT name FROM rrd.series WHERE name = ANY(%s) ORDER BY name", (names,))]
        tally.traces += 1
        before = tally.mismatches
        if not tally.check(sorted(have) == sorted(names), "%s: series %r, expected %r" % (rel, have, names)):
            tally.failed_traces += 1
            continue
        rrd_dump(f, xml_path)
        rrd_restore(xml_path, b)
        compare_file(tally, pg, rel + " (restored from its dump)", b, names, layout=lay)
        # the original file: the same rows to the 11 digits a dump keeps
        tol = Tally("collectd")
        compare_file(tol, pg, rel + " (the file itself, to 11 digits)", f, names, tol=1e-10, layout=lay)
        if tol.mismatches:
            tally.fail("%s: %d fetches differ from the original file beyond 11 digits" % (rel, tol.mismatches))
        tally.add("rows checked against the original files to 11 digits", tol.rows)
        if tally.mismatches > before:
            tally.failed_traces += 1
    # the multi-DS files collectd always writes
    for rel, dss in [("interop/load/load", ["shortterm", "midterm", "longterm"]),
                     ("interop/interface-lo/if_octets", ["rx", "tx"])]:
        names = ["%s.%s.%s" % (prefix, rel.replace("/", "."), ds) for ds in dss]
        have = pg.run("SELECT count(*) FROM rrd.series WHERE name = ANY(%s)", (names,))[0][0]
        tally.check(have == len(names), "%s.rrd did not become %s" % (rel, ", ".join(names)))
    tally.extra["files"] = len(files)
    tally.add("files of several data sources", multi)
    pg.drop_like(prefix + ".")
    return tally


# ---------------------------------------------------------------------------
# part: whisper

AGGREGATIONS = ["average", "max", "min", "last"]
CF_OF = {"average": "AVERAGE", "max": "MAX", "min": "MIN", "last": "LAST"}


def gen_whisper(rng, now):
    """(archive list, xff, aggregation, points) of a random Whisper file."""
    spp0 = rng.choice([1, 5, 10, 60])
    archives = [(spp0, rng.randint(10, 300))]
    for _ in range(rng.choice([0, 1, 1, 2, 2])):
        spp, pts = archives[-1]
        m = rng.choice([2, 3, 5, 6, 10])
        spp2 = spp * m
        # enough points to consolidate into the next archive, a longer retention
        pts2 = rng.randint(max(2, (spp * pts) // spp2 + 1), max(3, (spp * pts) // spp2 + 200))
        archives.append((spp2, pts2))
    xff = rng.choice([0.0, 0.3, 0.5, 1.0])
    agg = rng.choice(AGGREGATIONS)
    retention = archives[-1][0] * archives[-1][1]
    # points from the whole retention up to now, with gaps
    points = []
    t = now - retention + rng.randint(1, spp0 * 3)
    p_gap = rng.choice([0, 0.02, 0.1])
    style = rng.choice(["ints", "floats", "wide"])
    end_gap = rng.choice([0, 0, 0, spp0 * rng.randint(1, 5)])
    while t <= now - end_gap:
        if rng.random() < p_gap:
            t += spp0 * rng.randint(2, 40)
            continue
        if style == "ints":
            v = float(rng.randint(-50, 50))
        elif style == "floats":
            v = rng.uniform(-1000, 1000)
        else:
            v = rng.choice([-1, 1]) * 10 ** rng.uniform(-8, 12)
        points.append((t, v))
        t += spp0 * rng.choice([1, 1, 1, 2]) if rng.random() < 0.9 else rng.randint(1, spp0)
    return archives, xff, agg, points


def whisper_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def part_whisper(pg, args, tmp):
    tally = Tally("whisper")
    if whisper is None:
        print("interop whisper: SKIPPED: the whisper module is missing (scripts/install-interop.sh "
              "puts whisper 1.1.10 in .venv; run with .venv/bin/python)")
        tally.extra["skipped"] = 1
        return tally
    path = os.path.join(tmp, "w.wsp")
    folder = os.path.join(tmp, "whisper")
    kept = []
    for n in range(max(1, args.traces // 2)):
        rng = random.Random("pg_rrd-interop-whisper:%s:%d" % (args.seed, n))
        now = int(time.time())
        archives, xff, agg, points = gen_whisper(rng, now)
        if os.path.exists(path):
            os.unlink(path)
        whisper.create(path, archives, xFilesFactor=xff, aggregationMethod=agg)
        # most points at once, some one at a time (whisper's two write paths)
        k = rng.randint(0, len(points))
        whisper.update_many(path, points[:k], now=now)
        for t, v in points[k:k + 50]:
            whisper.update(path, v, timestamp=t, now=now)
        whisper.update_many(path, points[k + 50:], now=now)
        name = "interop.whisper.%s.%d" % (args.seed, n)
        hb = rng.choice([None, None, archives[0][0] * 3])
        what = "file %d (%s, xff %s, %s, %d points)" % (n, archives, xff, agg, len(points))
        tally.traces += 1
        before = tally.mismatches
        try:
            got = pg.run("SELECT series, action FROM rrd.import_whisper(%s, %s, %s)",
                         (name, whisper_bytes(path), hb))
        except psycopg.Error as e:
            tally.fail("%s: rrd.import_whisper failed: %s %s" % (what, sqlstate(e), str(e).strip()))
            tally.failed_traces += 1
            continue
        tally.check(got == [(name, "created")], "%s: rrd.import_whisper returned %r" % (what, got))
        compare_whisper(tally, pg, what, path, name, archives, agg)
        if n % 7 == 2:  # the same file again: skipped, then replaced
            got = pg.run("SELECT series, action FROM rrd.import_whisper(%s, %s, on_exists => 'skip')",
                         (name, whisper_bytes(path)))
            tally.check(got == [(name, "skipped")], "%s: on_exists 'skip' returned %r" % (what, got))
            got = pg.run("SELECT series, action FROM rrd.import_whisper(%s, %s, on_exists => 'replace')",
                         (name, whisper_bytes(path)))
            tally.check(got == [(name, "replaced")], "%s: on_exists 'replace' returned %r" % (what, got))
            compare_whisper(tally, pg, what + ", replaced", path, name, archives, agg)
        pg.drop_like(name)
        if len(kept) < 6:  # a few files for scripts/import-whisper
            rel = os.path.join("host%d" % (n % 2), "metric%d.wsp" % n)
            os.makedirs(os.path.join(folder, os.path.dirname(rel)), exist_ok=True)
            shutil.copy(path, os.path.join(folder, rel))
            kept.append((rel, archives, agg))
        if tally.mismatches > before:
            tally.failed_traces += 1
        if VERBOSE:
            print("whisper %s: %s" % (what, "ok" if tally.mismatches == before else "FAILED"))
    whisper_script(tally, pg, folder, kept)
    whisper_refusals(tally, pg, tmp)
    return tally


def whisper_script(tally, pg, folder, kept):
    """scripts/import-whisper over a folder of the files above: names from paths, then a rerun
    that skips them all; each series compared with whisper.fetch again."""
    prefix = "interop.graphite"
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "import-whisper"), folder, "--prefix", prefix,
           "--dsn", pg.conninfo]
    for extra, want in [([], "%d created, 0 replaced, 0 skipped" % len(kept)),
                        (["--quiet"], "0 created, 0 replaced, %d skipped" % len(kept))]:
        p = subprocess.run(cmd + extra, capture_output=True, text=True)
        tail = p.stdout.strip().split("\n")[-1] if p.stdout.strip() else ""
        print("interop whisper: (%s) %s" % (" ".join(["import-whisper"] + extra), tail))
        tally.check(p.returncode == 0 and want in tail, "scripts/import-whisper%s: exit %d, expected %r"
                    % ("".join(" " + x for x in extra), p.returncode, want), p.stdout[-2000:] + p.stderr[-2000:])
    for rel, archives, agg in kept:
        name = prefix + "." + rel[:-4].replace(os.sep, ".")
        compare_whisper(tally, pg, "scripts/import-whisper of " + rel, os.path.join(folder, rel), name,
                        archives, agg)
    pg.drop_like(prefix + ".")


def compare_whisper(tally, pg, what, path, name, archives, agg):
    """Each archive: whisper.fetch's points (labelled by their start) against rrd.fetch's rows of
    the same archive (labelled by their end)."""
    cf = CF_OF[agg]
    now = int(time.time())
    last = pg.run("SELECT extract(epoch FROM rrd.last(%s))::bigint", (name,))[0][0]
    for spp, pts in archives:
        (w_from, w_until, w_step), values = whisper.fetch(path, now - spp * pts, now, now=now,
                                                          archiveToSelect=spp)
        if w_step != spp:
            tally.fail("%s: whisper.fetch chose %d s for the %d s archive" % (what, w_step, spp))
            continue
        # the rows pg_rrd's ring of this archive holds: the pts intervals ending at the last update
        ring_end = last - last % spp
        ring_start = ring_end - pts * spp  # exclusive
        start = max(w_from, ring_start)
        got = dict(pg.fetch(name, cf, spp, start, max(start, w_until)))
        exp_rows, got_rows = [], []
        for j, v in enumerate(values):
            ts = w_from + j * spp
            end = ts + spp  # pg_rrd's label for the same interval
            if end > last:
                # the row in progress: whisper shows what it has so far, pg_rrd keeps it as the
                # open consolidated data point (rebuilt from the finer archives), as rrdtool would
                if v is not None:
                    tally.add("rows in progress not compared")
                continue
            if end <= ring_start or end > ring_end:
                # outside what the ring holds: whisper must show nothing there either
                if v is not None:
                    exp_rows.append((end, v))
                    got_rows.append((end, "(outside the ring %d..%d)" % (ring_start, ring_end)))
                continue
            exp_rows.append((end, v))
            got_rows.append((end, got[end]) if end in got else (end, "(no row)"))
        compare_rows(tally, "%s: archive %d s x %d, whisper.fetch(%d, %d) vs rrd.fetch(%s, %s, %d s)"
                     % (what, spp, pts, w_from, w_until, name, cf, spp), exp_rows, got_rows)


def whisper_refusals(tally, pg, tmp):
    """sum: 0A000; truncated or mangled files: 22P03; nothing written by a refused file."""
    path = os.path.join(tmp, "r.wsp")
    now = int(time.time())
    rng = random.Random("pg_rrd-interop-whisper-refusals")

    def expect(data, states, what):
        before = pg.count_series()
        try:
            pg.run("SELECT * FROM rrd.import_whisper('interop.refused', %s)", (data,))
            ok = None in states
            tally.check(ok, "%s was imported" % what)
        except psycopg.Error as e:
            if pg.lost():
                tally.fail("%s: the server went away: %s" % (what, e))
                pg.connect()
                return
            tally.check(sqlstate(e) in states, "%s gave %s, not %s: %s"
                        % (what, sqlstate(e), "/".join(s for s in states if s), str(e).strip()))
        after = pg.count_series()
        pg.drop_like("interop.refused")
        if None not in states:
            tally.check(after == before, "%s left %d series behind" % (what, after - before))
        tally.add("refused files")

    for agg in ["sum", "average"]:
        if os.path.exists(path):
            os.unlink(path)
        whisper.create(path, [(10, 60), (60, 30)], aggregationMethod=agg)
        whisper.update_many(path, [(now - 10 * i, float(i)) for i in range(50)], now=now)
        data = whisper_bytes(path)
        if agg == "sum":
            expect(data, ("0A000",), "a file of sum aggregation")
            continue
        for i in range(40):  # truncated anywhere
            cut = rng.randrange(0, len(data))
            expect(data[:cut], ("22P03",), "the file cut to %d of %d bytes" % (cut, len(data)))
        # bytes after the last archive: whisper ignores them, and so may pg_rrd
        expect(data + b"\0" * 12, (None, "22P03"), "the file with 12 bytes more")
        # header fields set to what no file has
        for off, val, what in [(12, 0, "no archive"), (12, 1000, "1000 archives"), (16, 7, "an offset inside the header"),
                               (16, 2**31, "an offset past the end"), (20, 0, "0 seconds per point"),
                               (24, 0, "0 points"), (24, 2**30, "2^30 points"), (0, 99, "aggregation type 99")]:
            bad = bytearray(data)
            bad[off:off + 4] = struct.pack(">I", val)
            expect(bytes(bad), ("22P03", "0A000"), "a file with %s" % what)


# ---------------------------------------------------------------------------
# part: bad input

def mutate(rng, text):
    """A dump changed in one random way."""
    lines = text.split("\n")
    x = rng.random()
    if x < 0.15:  # a character replaced
        i = rng.randrange(len(text))
        return text[:i] + rng.choice("<>/&;x9.-e \n") + text[i + 1:]
    if x < 0.25:  # a character removed
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1:]
    if x < 0.35:  # a line removed
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i] + lines[i + 1:])
    if x < 0.45:  # a line repeated
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i + 1] + lines[i:])
    if x < 0.55:  # a line moved
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        ln = lines.pop(i)
        lines.insert(j, ln)
        return "\n".join(lines)
    # an element's content replaced
    tags = ["step", "lastupdate", "type", "minimal_heartbeat", "min", "max", "last_ds", "value",
            "unknown_sec", "cf", "pdp_per_row", "xff", "primary_value", "secondary_value",
            "unknown_datapoints", "v", "name", "version"]
    tag = rng.choice(tags)
    open_t, close_t = "<%s>" % tag, "</%s>" % tag
    starts = [i for i in range(len(text)) if text.startswith(open_t, i)]
    if not starts:
        return text.replace("<rrd>", "<rrd><x>", 1)
    i = rng.choice(starts) + len(open_t)
    j = text.find(close_t, i)
    if j < 0:
        return text[:i]
    repl = rng.choice(["", "-1", "0", "1e308", "-1e308", "NaN", "inf", "18446744073709551616",
                       "99999999999999999999999", "3.5", "abc", "U", "&amp;", "&#0;", "&bogus;",
                       "COMPUTE", "HWPREDICT", "GAUGE", "AVERAGE", "  7  ", "1" * 400, "<a>"])
    return text[:i] + repl + text[j:]


def part_bad(pg, args, tmp):
    tally = Tally("bad")
    a = os.path.join(tmp, "bad.rrd")
    xml_path = os.path.join(tmp, "bad.xml")
    dumps = []
    n = 0
    while len(dumps) < 8:
        n += 1
        hist, rng = gen_history(args.seed, 1000 + n, "bad")
        # mostly files of the common kinds, whose dumps rrdtool labels version 0003
        if len(dumps) < 6 and any(s.kind in ("DCOUNTER", "DDERIVE") for s in hist.sources):
            continue
        hist.rras = hist.rras[:2]
        hist.rras = [(cf, xff, steps, min(rows, 30)) for cf, xff, steps, rows in hist.rras]
        if os.path.exists(a):
            os.unlink(a)
        rrdtool.create(a, *hist.create_args())
        hist.rrd_feed(a, hist.updates[:200])
        dumps.append(rrd_dump(a, xml_path))
    rng = random.Random("pg_rrd-interop-bad:%s" % args.seed)
    outcomes = {}
    cases = max(300, args.bad_cases)
    base = pg.count_series()

    def attempt(kind, fn, payload):
        pg.run("BEGIN")
        try:
            before = pg.count_series()
            pg.run("SAVEPOINT s")
            try:
                rows = pg.run("SELECT series, action FROM rrd.%s('interop.bad', %%s)" % fn, (payload,))
                state = "ok"
            except psycopg.Error as e:
                state = sqlstate(e)
                rows = None
                if pg.lost():
                    tally.fail("%s: the server went away: %s" % (kind, e))
                    pg.connect()
                    return
                pg.run("ROLLBACK TO SAVEPOINT s")
            after = pg.count_series()
        finally:
            if not pg.lost():
                pg.run("ROLLBACK")
        outcomes[(kind, state)] = outcomes.get((kind, state), 0) + 1
        tally.traces += 1
        if state == "ok":
            tally.check(after == before + len(rows), "%s: imported %d series but rrd.series grew by %d"
                        % (kind, len(rows), after - before))
        else:
            tally.check(state in DATA_ERRORS, "%s: SQLSTATE %s (%s)" % (kind, state, payload[:80] if
                                                                      isinstance(payload, str) else len(payload)))
            tally.check(after == before, "%s: a refused input changed rrd.series (%d -> %d)" % (kind, before, after))

    for i in range(cases):
        x = i % 3
        if x == 0:
            d = rng.choice(dumps)
            cut = rng.randrange(0, len(d))
            attempt("truncated dump", "import_rrdtool", d[:cut])
        elif x == 1:
            d = rng.choice(dumps)
            for _ in range(rng.choice([1, 1, 2, 3])):
                d = mutate(rng, d)
            attempt("mutated dump", "import_rrdtool", d)
        else:
            y = rng.random()
            if y < 0.5:
                data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 15, 16, 28, 40, 100, 1000])))
            else:  # a plausible header, random rest
                nar = rng.choice([1, 2, 3])
                hdr = struct.pack(">IIfI", rng.choice([1, 2, 3, 4, 5, 9]), rng.randrange(1, 10**6),
                                  rng.random(), nar)
                for k in range(nar):
                    hdr += struct.pack(">III", 16 + 12 * nar + rng.randrange(0, 100),
                                       rng.choice([0, 1, 10, 60, 7]), rng.choice([0, 1, 5, 100]))
                data = hdr + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))
            attempt("random whisper bytes", "import_whisper", data)
    tally.check(pg.count_series() == base, "the bad inputs changed rrd.series")
    tally.extra.update({"%s %s" % k: v for k, v in sorted(outcomes.items(), key=str)})
    tally.rows = 0
    return tally


# ---------------------------------------------------------------------------

PARTS = {"import": part_import, "dump": part_dump, "spec": part_spec, "collectd": part_collectd,
         "whisper": part_whisper, "bad": part_bad}


def start_cluster(d, port):
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "cluster.sh"), "start", d, str(port)], check=True)
    sock = os.path.join(os.path.realpath(d), "sock")
    admin = "host=%s port=%d user=postgres dbname=postgres" % (sock, port)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS interop")
        c.execute("CREATE DATABASE interop")
    return "host=%s port=%d user=postgres dbname=interop" % (sock, port)


# What each part tries, for its line in docs/reliability.md.
PART_WHAT = {
    "import": "random rrdtool files dumped and imported, against rrdtool restore of the dump, then both continued",
    "dump": "pg_rrd series dumped and restored by rrdtool, then both continued",
    "spec": "update strings against rrdtool update",
    "collectd": "a real collectd's rrdtool files through scripts/import-rrd (rerun, --replace)",
    "whisper": "whisper 1.1.10 files imported, against whisper.fetch",
    "bad": "truncated, mutated and random dumps and .wsp bytes: data errors, nothing written",
}


def main():
    global VERBOSE, TOLERANCE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "interop"))
    ap.add_argument("--port", type=int, default=55444)
    ap.add_argument("--dsn", default=None, help="use this server instead of a cluster of its own")
    ap.add_argument("--traces", type=int, default=int(os.environ.get("PG_RRD_INTEROP_TRACES", "100")))
    ap.add_argument("--seed", default="1")
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--bad-cases", type=int, default=300)
    ap.add_argument("--collectd-seconds", type=int, default=30)
    ap.add_argument("--collectd-interval", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--form", choices=["point", "spec", "specs"], default=None,
                    help="the import part continues every trace in this form (default: each at random)")
    ap.add_argument("--look-past", default="",
                    help="known differences to look past, to find others (never in make test): "
                         "restore-rounding (the import part gives pg_rrd each dump with its numbers "
                         "rewritten as rrdtool restore reads them), version-0005 (dumps of version 0005, "
                         "as rrdtool writes for DCOUNTER and DDERIVE, relabelled 0004), spec-times (update "
                         "strings only with times that rrdtool's strtod and a correctly rounded one "
                         "read alike)")
    ap.add_argument("--show", type=int, default=8, help="mismatches printed in full per part (default 8)")
    ap.add_argument("--tolerance", type=float, default=None,
                    help="compare values within this relative difference instead of bit for bit "
                         "(to look past one known difference for others; never in make test)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    TOLERANCE = args.tolerance
    args.look_past = [x.strip() for x in args.look_past.split(",") if x.strip()]
    Tally.SHOWN = args.show
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for p in parts:
        if p not in PARTS:
            ap.error("unknown part %r (parts: %s)" % (p, ", ".join(PARTS)))
    own = args.dsn is None
    conninfo = start_cluster(args.dir, args.port) if own else args.dsn
    tmp = tempfile.mkdtemp(prefix="pg_rrd-interop-")
    os.chmod(tmp, 0o755)
    t0 = time.time()
    tallies = []
    try:
        pg = Pg(conninfo)
        pg.run("CREATE EXTENSION IF NOT EXISTS pg_rrd")
        for p in parts:
            t1 = time.time()
            tally = PARTS[p](pg, args, tmp)
            print("%s (%.1fs)" % (tally.summary(), time.time() - t1), flush=True)
            tallies.append(tally)
            reliability.record("interop", "interop %s" % p, tally.traces or tally.rows, tally.mismatches,
                               "%s: %s" % (PART_WHAT.get(p, p), tally.summary().split(": ", 1)[-1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if own and not args.keep:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "cluster.sh"), "stop", args.dir])
    failed = sum(1 for t in tallies if t.mismatches)
    traces = sum(t.traces for t in tallies)
    rows = sum(t.rows for t in tallies)
    print("interop: %d parts, %d traces, %d rows compared, %d mismatches (%.1fs)"
          % (len(tallies), traces, rows, sum(t.mismatches for t in tallies), time.time() - t0))
    print("%d passed, %d failed" % (len(tallies) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
