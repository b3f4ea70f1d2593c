#!/usr/bin/python3
"""Late points against rrdtool fed in order (docs/late.md).

    PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... /usr/bin/python3 pgrx-tests/late_differential.py
        [--traces 100] [--seed 5]

Makes the random traces of differential.py (every data source kind, gaps
beyond the heartbeat, U, values out of range, counters, sub-second times)
and feeds each to rrdtool in time order. pg_rrd gets the same updates for a
series with a lateness window W (random, up to the finest archive's span),
in a shuffled order: each update is sent at its time plus a random delay
shorter than W, so that every one arrives no more than W after a newer one.
They go one a call (`rrd.update(name, t, v)`) or in runs of a call
(`rrd.update(name, t[], v[])`, `INSERT INTO rrd.points`, or
`rrd.update(names[], t[], v[])` with a point of a companion series, which
takes the path of many series), some traces in one transaction, with
`rrd.flush()` and `rrd.flush(name)` at random moments between them (each
fold holding back the window). Then every fetch of the trace must give
rrdtool's rows, to the bit:

- with points still pending (the reads sort them),
- after a final `rrd.flush()` (the window still held back),
- after `rrd.tune(name, lateness => '0')`, which settles the window and
  folds everything.

Each trace also checks the edge of the window: a point just older than the
newest minus W (before the last fold settles it) is refused with 22008 and
changes nothing, and rrd.verify(name) is clean.

Writes a line to $RELIABILITY_DIR/late.json when that is set.
"""

import argparse
import os
import random
import sys

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import differential as d  # noqa: E402
from reliability import record  # noqa: E402


DEBUG = False
COMPANION = "late.companion"
COMPANION_T0 = 1_000_000_000


def finest_span(tr):
    """The span in seconds of the archive with the fewest steps (of those, the longest)."""
    steps = min(st for _, _, st, _ in tr.rras)
    return max(tr.step * st * rows for _, _, st, rows in tr.rras if st == steps)


def float_elem(v):
    if v is None:
        return "NULL"
    return d.FLOAT_ELEM.get(v, v)


def send(cur, tr, rng, deliveries, counts):
    """Sends the updates in delivery order, one a call or runs in one call, with folds between."""
    i = 0
    while i < len(deliveries):
        r = rng.random()
        if r < 0.04:
            cur.execute("SELECT rrd.flush()")
            counts["folds"] += 1
        elif r < 0.08:
            cur.execute("SELECT rrd.flush(%s)", (tr.name,))
            counts["folds"] += 1
        n = 1 if rng.random() < 0.5 else rng.randint(2, 20)
        run = []
        while len(run) < n and i < len(deliveries) and d.float_safe(deliveries[i][3]):
            run.append(deliveries[i])
            i += 1
        if not run:
            cur.execute(d.sql_update(tr, deliveries[i]))
            i += 1
            continue
        if len(run) == 1:
            cur.execute(d.sql_update(tr, run[0]))
            continue
        times = ", ".join(d.sql_time(sec, usec) for _, sec, usec, _ in run)
        values = ",".join(float_elem(u[3]) for u in run)
        form = rng.random()
        if form < 0.3:
            # Many series in one statement: a point of the companion series
            # (another lane mate) goes with them.
            counts["companion"] += 1
            cur.execute("SELECT rrd.update(ARRAY[%s, %s], ARRAY[%s, to_timestamp(%d)], '{%s,1}'::float8[])"
                        % (", ".join([d.q(tr.name)] * len(run)), d.q(COMPANION), times,
                           COMPANION_T0 + counts["companion"], values))
        elif form < 0.5:
            cur.execute("INSERT INTO rrd.points (name, t, v) VALUES %s"
                        % ", ".join("(%s, %s, %s)" % (d.q(tr.name), d.sql_time(sec, usec),
                                                     "NULL" if v is None else "'%s'::float8" % float_elem(v))
                                    for _, sec, usec, v in run))
        else:
            cur.execute("SELECT rrd.update(%s, ARRAY[%s], '{%s}'::float8[])" % (d.q(tr.name), times, values))


def fetch_all(cur, tr):
    out = []
    for f in tr.fetches:
        cur.execute(d.sql_fetch(tr, f).replace("extract(epoch from t)", "extract(epoch from t)::numeric"))
        rows = []
        for label, v in cur.fetchall():
            label = int(label) if label == int(label) else label
            rows.append((label, v))
        out.append(rows)
    return out


def compare(tr, got, what, problems, counts):
    for f, exp, rows in zip(tr.fetches, tr.expected, got):
        counts["rows"] += len(exp)
        bad = d.compare(exp, rows)
        if bad:
            i = bad[0]
            problems.append("%s %s %s: %d rows differ, first at %d: rrdtool %r, pg_rrd %r"
                            % (tr.name, what, f[:4], len(bad), i, exp[i] if i < len(exp) else None,
                               rows[i] if i < len(rows) else None))
            return


def check_trace(conn, tr, rng, problems, counts):
    span = finest_span(tr)
    w = rng.choice([1, 2, 5, tr.step, 2 * tr.step, 10 * tr.step, span])
    w = max(1, min(w, span))
    counts["updates"] += len(tr.updates)
    delayed = sorted(((sec * 10**6 + usec + rng.randrange(w * 10**6), k) for k, (_, sec, usec, _)
                      in enumerate(tr.updates)))
    deliveries = [tr.updates[k] for _, k in delayed]
    counts["late"] += sum(1 for a, b in zip(deliveries, deliveries[1:]) if (b[1], b[2]) < (a[1], a[2]))
    cur = conn.cursor()
    cur.execute("SELECT rrd.drop(name) FROM rrd.series WHERE name = %s", (tr.name,))
    in_tx = rng.random() < 0.3
    if in_tx:
        cur.execute("BEGIN")
    cur.execute("SELECT rrd.create(%s, %s, to_timestamp(%s), lateness => make_interval(secs => %s))",
                (tr.name, tr.def_text(), tr.start, w))
    try:
        send(cur, tr, rng, deliveries, counts)
    except psycopg.Error as e:
        sent = (cur._query.query or b"").decode()[:300] if getattr(cur, "_query", None) else ""
        problems.append("%s (window %d s): %s\n    at: %s" % (tr.name, w, str(e).strip().split("\n")[0], sent))
        if in_tx:
            cur.execute("ROLLBACK")
        if DEBUG:
            print(sent)
            for q in ("SELECT st.last_up, st.last_ds FROM rrd.state st JOIN rrd.series s ON s.id = st.series_id "
                      "WHERE s.name = %s",
                      "SELECT l.tips[(s.id & 127) + 1] / 4, l.pending, l.held FROM rrd.lane l JOIN rrd.series s "
                      "ON l.lane = s.id >> 7 WHERE s.name = %s"):
                print(cur.execute(q, (tr.name,)).fetchall())
            print(sorted(cur.execute("SELECT j.t, j.slots FROM rrd.journal j JOIN rrd.series s ON j.lane = s.id >> 7 "
                                     "WHERE s.name = %s", (tr.name,)).fetchall()))
        return
    compare(tr, fetch_all(cur, tr), "pending", problems, counts)
    if tr.updates:
        # Just outside the window: refused, nothing changes.
        newest = max((sec * 10**6 + usec for _, sec, usec, _ in tr.updates))
        early = newest - w * 10**6 - 1
        if early > tr.start * 10**6:
            if in_tx:
                cur.execute("SAVEPOINT edge")
            try:
                cur.execute("SELECT rrd.update(%s, to_timestamp(%s::numeric / 1e6), 1)", (tr.name, early))
                problems.append("%s: a point %d us older than the window was taken" % (tr.name, 1))
            except psycopg.Error as e:
                if e.sqlstate != "22008":
                    problems.append("%s: the point outside the window gave %s: %s" % (tr.name, e.sqlstate, e))
                counts["refused"] += 1
            if in_tx:
                cur.execute("ROLLBACK TO SAVEPOINT edge")
    cur.execute("SELECT rrd.flush()")
    compare(tr, fetch_all(cur, tr), "after rrd.flush()", problems, counts)
    cur.execute("SELECT problem FROM rrd.verify(%s)", (tr.name,))
    for (p,) in cur.fetchall():
        problems.append("%s: rrd.verify: %s" % (tr.name, p))
    cur.execute("SELECT rrd.tune(%s, lateness => '0')", (tr.name,))
    cur.execute("SELECT rrd.pending(%s)", (tr.name,))
    left = cur.fetchone()[0]
    if left:
        problems.append("%s: %d points pending after the window was settled" % (tr.name, left))
    compare(tr, fetch_all(cur, tr), "settled", problems, counts)
    if in_tx:
        cur.execute("COMMIT")
    cur.execute("SELECT rrd.drop(%s)", (tr.name,))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--only", type=int, help="run only this trace, printing what pg_rrd holds at a failure")
    args = ap.parse_args()
    d.EXACT = True
    global DEBUG
    DEBUG = args.only is not None
    conn = psycopg.connect(autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    files = d.Files()
    problems = []
    counts = {"rows": 0, "updates": 0, "late": 0, "folds": 0, "refused": 0, "companion": 0}
    conn.execute("SELECT rrd.drop(name) FROM rrd.series WHERE name = %s", (COMPANION,))
    conn.execute("SELECT rrd.create(%s, '--step 10 DS:x:GAUGE:20:U:U RRA:AVERAGE:0.5:1:10', "
                 "to_timestamp(%s), lateness => '10 s')", (COMPANION, COMPANION_T0))
    try:
        for n in range(args.traces) if args.only is None else [args.only]:
            tr = d.make_trace(args.seed, n, files)
            tr.name = "late.%d.%d" % (args.seed, n)
            files.current = tr.name
            rng = random.Random("pg_rrd-late:%d:%d" % (args.seed, n))
            before = len(problems)
            check_trace(conn, tr, rng, problems, counts)
            if len(problems) > before:
                print("late: trace %d: %s" % (n, problems[before]))
        conn.execute("SELECT rrd.drop(%s)", (COMPANION,))
    finally:
        files.close()
    print("late: %d traces, %d updates (%d delivered before an older one, %d statements of many series), "
          "%d folds between them, %d rows compared three times, %d points outside the window refused; "
          "%d problems" % (args.traces, counts["updates"], counts["late"], counts["companion"], counts["folds"],
                           counts["rows"], counts["refused"], len(problems)))
    for p in problems[:20]:
        print("  " + p)
    record("late", "late points against rrdtool in order", counts["updates"], len(problems),
           "%d traces delivered shuffled inside a lateness window, every fetch compared with rrdtool's "
           "to the bit, pending, folded and settled" % args.traces)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
