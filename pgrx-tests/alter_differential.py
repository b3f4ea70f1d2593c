#!/usr/bin/python3
"""Differential test of the functions that change a series, against rrdtool 1.7.2.

Each trace is a random history of differential.py, cut in two. Between the
halves one change is made, on both sides:

  tune    rrd.tune (heartbeat, min, max, kind) and `rrdtool tune -h/-i/-a/-d`;
  resize  rrd.resize and `rrdtool resize ... GROW|SHRINK`;
  add     rrd.add_archive, against an rrdtool file created with that archive
          from the start: the archive must hold what it would have held had
          it always been there, for every row whose PDPs the finest one-step
          archive still held when it was added or that came after (rrdtool's
          own `tune RRA:` fills rows differently: it ignores xff, see
          docs/series.md);
  drop    rrd.drop_archive, against an rrdtool file created without it
          (rrdtool's `tune DELRRA:` scrambles the archives after the one it
          removes).

Then the second half goes to both, and every archive is fetched whole, plus
random windows, and compared: the same double (AVERAGE rows of an added
archive within 1e-12 relative, the order of their sums being free).

Usage (PG* variables as for differential.py):
    /usr/bin/python3 pgrx-tests/alter_differential.py [--traces N] [--seed S] [--verbose]

With RELIABILITY_DIR set, the run's line (traces, failed traces, rows
compared) goes to $RELIABILITY_DIR/alter_differential.json.
"""

import argparse
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential as d  # noqa: E402
import reliability  # noqa: E402
import rrdtool  # noqa: E402

OPS = ("tune", "resize", "add", "drop")


def kinds_for(kind):
    """Kinds that read every value generated for `kind` the same way rrdtool does."""
    return {"GAUGE": ["GAUGE", "ABSOLUTE"], "ABSOLUTE": ["GAUGE", "ABSOLUTE"],
            "COUNTER": ["GAUGE", "ABSOLUTE", "COUNTER", "DERIVE"], "DERIVE": ["GAUGE", "ABSOLUTE", "DERIVE"],
            "DCOUNTER": ["GAUGE", "ABSOLUTE", "DCOUNTER", "DDERIVE"],
            "DDERIVE": ["GAUGE", "ABSOLUTE", "DDERIVE"]}[kind]


def plan_op(tr, rng):
    """The change of a trace: (op, details); mutates nothing."""
    ops = list(OPS)
    if tr.kind in ("DCOUNTER", "DDERIVE"):
        ops.remove("resize")  # rrdtool resize refuses the files these make (version 0005)
    if len(tr.rras) == 1:
        ops.remove("drop")
    op = rng.choice(ops)
    if op == "tune":
        t = {}
        while not t:
            if rng.random() < 0.5:
                t["hb"] = rng.randint(1, 3 * tr.hb)
            if rng.random() < 0.3:
                t["min"] = rng.choice(["U", "0", "-5", "1"])
            if rng.random() < 0.3:
                t["max"] = rng.choice(["U", "100", "100000", "5"])
            if rng.random() < 0.4:
                t["kind"] = rng.choice(kinds_for(tr.kind))
        lo = t.get("min", tr.vmin)
        hi = t.get("max", tr.vmax)
        if lo != "U" and hi != "U" and float(lo) >= float(hi):
            t["max"] = "U"
        return op, t
    if op == "resize":
        i = rng.randrange(len(tr.rras))
        rows = tr.rras[i][3]
        new = rng.choice([max(1, rows - rng.randint(1, rows)), rows + rng.randint(1, 2 * rows), 1])
        if new == rows:
            new += 1
        return op, (i, new)
    if op == "add":
        have = {(r[0], r[2]) for r in tr.rras}
        while True:
            cf = rng.choice(d.CFS)
            steps = rng.choice([1, 2, 3, 4, 5, 6, 10, 12, 24])
            if (cf, steps) not in have:
                break
        rows = rng.randint(3, 150)
        return op, (cf, rng.choice(["0", "0.25", "0.5", "0.9"]), steps, rows)
    return op, rng.randrange(len(tr.rras))


def rrd_create(path, tr, rras):
    rrdtool.create(path, "--start", str(tr.start), "--step", str(tr.step), tr.ds_text(),
                   *["RRA:%s:%s:%d:%d" % r for r in rras])


def run_rrdtool(files, tr, op, arg, cut):
    """Builds the rrdtool side; returns the final archive list and the file's path."""
    path = files.path
    first, second = tr.updates[:cut], tr.updates[cut:]
    rras = list(tr.rras)
    if os.path.exists(path):
        os.unlink(path)
    if op == "add":
        rras.append(arg)
        rrd_create(path, tr, rras)
        d.rrd_feed(path, tr.updates)
        return rras
    if op == "drop":
        rras.pop(arg)
        rrd_create(path, tr, rras)
        d.rrd_feed(path, tr.updates)
        return rras
    rrd_create(path, tr, rras)
    d.rrd_feed(path, first)
    if op == "tune":
        args = []
        for key, flag in (("hb", "-h"), ("min", "-i"), ("max", "-a"), ("kind", "-d")):
            if key in arg:
                args += [flag, "%s:%s" % (tr.dsname, arg[key])]
        rrdtool.tune(path, *args)
    else:
        i, rows = arg
        old = rras[i][3]
        here = os.getcwd()
        os.chdir(files.dir)
        try:
            rrdtool.resize(path, str(i), "GROW" if rows > old else "SHRINK", str(abs(rows - old)))
        finally:
            os.chdir(here)
        os.replace(os.path.join(files.dir, "resize.rrd"), path)
        rras[i] = rras[i][:3] + (rows,)
    d.rrd_feed(path, second)
    return rras


def op_sql(tr, op, arg):
    name = d.q(tr.name)
    if op == "tune":
        parts = []
        if "hb" in arg:
            parts.append("heartbeat => make_interval(secs => %d)" % arg["hb"])
        for key, inf in (("min", "-Infinity"), ("max", "Infinity")):
            if key in arg:
                v = inf if arg[key] == "U" else arg[key]
                parts.append("%s => '%s'::float8" % (key, v))
        if "kind" in arg:
            parts.append("kind => '%s'" % arg["kind"])
        return "SELECT rrd.tune(%s, %s);" % (name, ", ".join(parts))
    if op == "resize":
        return "SELECT rrd.resize(%s, %d, %d);" % (name, arg[0], arg[1])
    if op == "add":
        return "SELECT rrd.add_archive(%s, 'RRA:%s:%s:%d:%d');" % ((name,) + arg)
    return "SELECT rrd.drop_archive(%s, %d);" % (name, arg)


def make_case(seed, n, files):
    tr, rng = d.gen_trace(seed, n)
    rng = random.Random("pg_rrd-alter:%s:%d" % (seed, n))
    tr.mode = "transaction"
    cut = rng.randint(0, len(tr.updates))
    op, arg = plan_op(tr, rng)
    final = run_rrdtool(files, tr, op, arg, cut)
    case = tr.copy()
    case.rras = final
    case.fetches = []
    files.current = case.name
    d.gen_windows(case, rng, files)
    if op == "add":  # only whole archives: an added archive has rows that may not compare
        case.fetches = case.fetches[:len(final)]
    case.expected = [d.rrd_fetch(files, case, f[0], f[1], f[2], f[3]) for f in case.fetches]
    stmts = ["\\echo @T %d" % n, "BEGIN;", "\\o /dev/null", d.sql_create(tr)]
    stmts += [d.sql_update(tr, u) for u in tr.updates[:cut]]
    stmts.append(op_sql(tr, op, arg))
    stmts += [d.sql_update(case, u) for u in tr.updates[cut:]]
    stmts.append("\\o")
    for i, f in enumerate(case.fetches):
        stmts += ["\\echo @F %d %d" % (n, i), d.sql_fetch(case, f)]
    stmts += ["ROLLBACK;", "\\echo @E %d" % n]
    # Rows of an added archive that must be as if it was always there.
    comparable = None
    if op == "add":
        cut_last = tr.updates[cut - 1][1] if cut else tr.start
        pdp_at = cut_last // tr.step
        fine = max([r[3] for r in tr.rras if r[2] == 1], default=0)
        steps = arg[2]
        comparable = (tr.step * steps, lambda label: (label // (tr.step * steps) - 1) * steps + 1 > pdp_at - fine)
    return case, op, arg, stmts, comparable


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--traces", type=int, default=int(os.environ.get("PG_RRD_ALTER_TRACES", "120")))
    ap.add_argument("--seed", default="1")
    ap.add_argument("--only", default=None)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    ids = [int(x) for x in args.only.split(",")] if args.only else list(range(args.traces))
    files = d.Files()
    cases = {}
    try:
        for n in ids:
            cases[n] = make_case(args.seed, n, files)
    finally:
        files.close()
    d.check_server()
    script = "\\pset null NULL\n" + "\n".join(s for c in cases.values() for s in c[3]) + "\n"
    p = subprocess.run(d.psql_cmd(), input=script, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("alter_differential: psql failed:\n%s" % p.stderr[-3000:])
    got = d.parse_output(p.stdout)
    bad = 0
    rows = skipped = 0
    per_op = {op: 0 for op in OPS}
    failed = set()
    for n, (case, op, arg, _, comparable) in cases.items():
        per_op[op] += 1
        for i, f in enumerate(case.fetches):
            exp = case.expected[i]
            res = got.get(n, {}).get(i)
            if res is None or len(res) != len(exp):
                failed.add(n)
                bad += 1
                print("trace %d (%s %s) fetch %s: %s rows from rrdtool, %s from pg_rrd"
                      % (n, op, arg, f, len(exp), None if res is None else len(res)))
                continue
            step = exp[1][0] - exp[0][0] if len(exp) > 1 else None
            for (le, ve), (lg, vg) in zip(exp, res):
                loose = comparable is not None and step == comparable[0]
                if loose and not comparable[1](le):
                    skipped += 1
                    continue
                rows += 1
                ok = le == lg and (ve == vg or (ve is None and vg is None)
                                   or (loose and f[0] == "AVERAGE" and ve is not None and vg is not None
                                       and abs(ve - vg) <= 1e-12 * max(abs(ve), abs(vg))))
                if not ok:
                    failed.add(n)
                    bad += 1
                    print("trace %d (%s %s) fetch %s: at %s rrdtool %r pg_rrd %s %r"
                          % (n, op, arg, f, le, ve, lg, vg))
                    break
        if args.verbose:
            print("trace %d: %s %s" % (n, op, arg))
    print("alter_differential: %d traces (%s), %d rows compared, %d rows of added archives not comparable, "
          "%d mismatches, %.1fs" % (len(cases), ", ".join("%s %d" % kv for kv in per_op.items()), rows, skipped,
                                    bad, time.time() - t0))
    reliability.record("alter_differential", "alter_differential", len(cases), len(failed),
                       "histories cut in two by rrd.tune, rrd.resize, rrd.add_archive or rrd.drop_archive, against "
                       "rrdtool tune, resize and files made with or without the archive: %d traces of seed %s (%s), "
                       "%d rows compared, %d mismatches" % (len(cases), args.seed, ", ".join("%s %d" % kv for kv in
                                                                                           per_op.items()), rows, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
