#!/usr/bin/python3
"""rrd.explain over the differential traces, against rrdtool.

    PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... /usr/bin/python3 pgrx-tests/explain_differential.py
        [--traces 60] [--seed 7]

Makes the random traces of differential.py (every data source kind, gaps
beyond the heartbeat, U, values out of range, counters, sub-second times),
feeds each to rrdtool and, one update a call, to pg_rrd, then for each of
the trace's fetches reads rrd.explain and checks:

- its rows are rrdtool's rows: the same times, NULL exactly where rrdtool
  has NaN, the same values elsewhere (to the bit, as differential.py);
- every NULL gets a reason (not `known` or `unrecorded`; `unexplained`,
  which blames an infinite rate, only after an input of inf), and every
  known value says `known`;
- the reason is true of the trace: a `gap` cause spans two consecutive
  updates (or the start and the first) further apart than the heartbeat;
  an `input` cause ends at an update whose value was U; a `range` cause of
  a GAUGE ends at an update whose value is outside min and max; the
  `pending` rows end after the last update and `ring` rows are outside
  what the archive keeps; an `xff` reason's counts are at most the row's
  PDPs.

Writes a line to $RELIABILITY_DIR/explain.json when that is set.
"""

import argparse
import math
import os
import re
import sys

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import differential as d  # noqa: E402
from reliability import record  # noqa: E402


def updates_by_time(tr):
    """Accepted update times (microseconds) in order, with each one's value."""
    out = [(tr.start * 1_000_000, "start")]
    for _, sec, usec, v in tr.updates:
        out.append((sec * 1_000_000 + usec, v))
    return out


def us(ts):
    return None if ts is None else round(ts * 1_000_000)


def check_trace(conn, tr, files, problems, counts):
    cur = conn.cursor()
    cur.execute(d.sql_create(tr))
    for u in tr.updates:
        cur.execute(d.sql_update(tr, u))
    times = updates_by_time(tr)
    index = {t: i for i, (t, _) in enumerate(times)}
    last_us = times[-1][0]
    for f, exp in zip(tr.fetches, tr.expected):
        cf, res, start, end, _ = f
        r = "" if res is None else ", resolution => make_interval(secs => %d)" % res
        cur.execute(
            "SELECT extract(epoch FROM t)::float8, v, kind, cause, extract(epoch FROM cause_from)::float8, "
            "extract(epoch FROM cause_to)::float8, reason FROM rrd.explain(%s, '%s', to_timestamp(%d), "
            "to_timestamp(%d)%s)" % (d.q(tr.name), cf, start, end, r))
        got = cur.fetchall()
        where = "%s %s %s..%s res %s" % (tr.name, cf, start, end, res)
        if [int(g[0]) for g in got] != [e[0] for e in exp]:
            problems.append("%s: rows at %s, rrdtool's at %s" % (where, [int(g[0]) for g in got][:5],
                                                                [e[0] for e in exp][:5]))
            continue
        for (t, v, kind, cause, c_from, c_to, reason), (_, want) in zip(got, exp):
            counts["rows"] += 1
            want_null = want is None or (isinstance(want, float) and math.isnan(want))
            if (v is None) != want_null or (v is not None and v != want):
                problems.append("%s at %d: value %r, rrdtool %r" % (where, t, v, want))
                continue
            if v is not None:
                if kind != "known":
                    problems.append("%s at %d: known value %r explained as %s" % (where, t, v, kind))
                continue
            counts["nulls"] += 1
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "unexplained":
                # Its text blames an infinite rate: true only if an input
                # of inf (or -inf) covers time before the row's end.
                # An update's input covers the time since the one before.
                if any(str(val).lower().lstrip("-") == "inf" and times[i - 1][0] < t * 1_000_000
                       for i, (_, val) in enumerate(times) if i > 0):
                    counts["causes checked"] += 1
                    continue
            if kind in ("known", "unrecorded", "unexplained"):
                problems.append("%s at %d: NULL explained as %s: %s" % (where, t, kind, reason))
                continue
            if kind == "pending" and t * 1_000_000 <= last_us:
                problems.append("%s at %d: pending, but the last update is at %d us" % (where, t, last_us))
            if kind == "xff":
                m = re.search(r"(\d+) of (\d+) PDPs known", reason or "")
                if not m or int(m.group(1)) >= int(m.group(2)):
                    problems.append("%s at %d: xff reason %r" % (where, t, reason))
            if cause is None:
                continue
            counts["causes checked"] += 1
            to_i = index.get(us(c_to))
            if cause == "gap":
                fr = index.get(us(c_from))
                if fr is None or to_i is None or to_i != fr + 1 or (us(c_to) - us(c_from)) <= tr.hb * 1_000_000:
                    problems.append("%s at %d: gap %s..%s is no gap of the trace (heartbeat %d): %s"
                                    % (where, t, c_from, c_to, tr.hb, reason))
            elif cause == "input":
                # U, or a NaN double (which the float8 argument carries as unknown).
                val = None if to_i is None else times[to_i][1]
                if to_i is None or not (val is None or str(val).lower().lstrip("-").startswith("nan")):
                    problems.append("%s at %d: unknown input at %s, which the trace has as %r: %s"
                                    % (where, t, c_to, None if to_i is None else times[to_i][1], reason))
            elif cause == "range" and tr.kind == "GAUGE":
                val = None if to_i is None else times[to_i][1]
                try:
                    x = float(val) if str(val).lower().lstrip("-") == "inf" else d.rrd_strtod(val)
                except Exception:
                    x = None
                lo = None if tr.vmin == "U" else d.rrd_strtod(tr.vmin)
                hi = None if tr.vmax == "U" else d.rrd_strtod(tr.vmax)
                if x is None or not ((lo is not None and x < lo) or (hi is not None and x > hi)):
                    problems.append("%s at %d: value %r at %s is within %s..%s: %s"
                                    % (where, t, val, c_to, tr.vmin, tr.vmax, reason))
            elif to_i is None and cause != "start":
                problems.append("%s at %d: cause %s ends at %s, no update of the trace: %s"
                                % (where, t, cause, c_to, reason))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    conn = psycopg.connect(autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    files = d.Files()
    problems, counts = [], {"rows": 0, "nulls": 0, "causes checked": 0}
    try:
        for n in range(args.traces):
            tr = d.make_trace(args.seed, n, files)
            tr.name = "xd.%d.%d" % (args.seed, n)
            files.current = tr.name
            conn.execute("SELECT rrd.drop(name) FROM rrd.series WHERE name = %s", (tr.name,))
            before = len(problems)
            check_trace(conn, tr, files, problems, counts)
            if len(problems) > before:
                print("explain: trace %d: %s" % (n, problems[before]))
    finally:
        files.close()
    kinds = ", ".join("%s %d" % (k, v) for k, v in sorted(counts.items())
                      if k not in ("rows", "nulls", "causes checked"))
    print("explain: %d traces, %d rows, %d NULLs explained (%s), %d causes checked against the trace; "
          "%d problems" % (args.traces, counts["rows"], counts["nulls"], kinds, counts["causes checked"],
                           len(problems)))
    for p in problems[:20]:
        print("  " + p)
    record("explain", "explain against rrdtool", counts["nulls"], len(problems),
           "%d traces, every NULL of rrd.explain's rows given a reason and checked against the trace"
           % args.traces)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
