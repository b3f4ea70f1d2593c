#!/usr/bin/python3
"""What a hostile user found, checked on a real cluster with real sessions.

    PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... \\
        /usr/bin/python3 pgrx-tests/holes.py --cluster DIR [CHECK ...]

CHECK is any of deadlock, cancel, restore, standby, big (default: all).
DIR is the private test cluster's folder (scripts/cluster.sh layout): the
restore check makes databases in it, the standby check makes a hot standby
of it beside it, on the next port.

- deadlock: two sessions update the same 20 series through
  rrd.update(names[], ...), one in ascending and one in descending order,
  then both in one order, then in shuffled orders: no deadlock (40P01),
  and both make progress.
- cancel: a long batch update is cancelled by statement_timeout and by
  pg_cancel_backend, and ended by pg_terminate_backend, long before it
  would have finished.
- restore: pg_dump of 100 series restored with pg_restore -j 4 and
  serially gives the same rows and reads, and the series take updates.
- standby: reads work on a hot standby without a transaction id (none is
  spent on the primary either); writes fail with 25006.
- big: a resize to a ring of 67.2M slots (its rows written in parts), an
  added archive of 3M rows, the 100M-slot limit; statements of more
  points than one part of a batch.
Prints one line per check and a closing "N passed, N failed"; with
RELIABILITY_DIR set, each check's line goes to $RELIABILITY_DIR/holes.json
(docs/reliability.md).
"""

import argparse
import os
import random
import subprocess
import sys
import threading
import time

import psycopg

import reliability
from pgcluster import CLUSTER_SH, PGBIN, base_backup, one, sqlstate


def connect(dbname=None, port=None, autocommit=True):
    kw = {}
    if dbname:
        kw["dbname"] = dbname
    if port:
        kw["port"] = port
    return psycopg.connect(autocommit=autocommit, **kw)


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


# ---------------------------------------------------------------- deadlock

def deadlock(args):
    conn = connect()
    # Enough other series that the planner reaches state rows by index, in
    # the order a statement names them, as in any real database.
    conn.execute("""SELECT rrd.create('dl.filler.' || i, '--step 60 DS:x:GAUGE:600:U:U RRA:LAST:0:1:1')
                    FROM generate_series(1, 3000) i
                    WHERE NOT EXISTS (SELECT 1 FROM rrd.series WHERE name = 'dl.filler.' || i)""")
    conn.execute("ANALYZE rrd.series")
    conn.execute("ANALYZE rrd.state")
    names = [f"dl.s{i:02d}" for i in range(20)]
    for n in names:
        conn.execute("SELECT rrd.drop(%s) FROM rrd.series WHERE name = %s", (n, n))
        conn.execute("SELECT rrd.create(%s, '--step 1 DS:x:GAUGE:600:U:U RRA:LAST:0:1:100')", (n,))
    sql = ("SELECT rrd.update(%s::text[], array_fill(clock_timestamp(), ARRAY[20]), "
           "array_fill(1::float8, ARRAY[20]), skip_bad => true)")
    report = []
    for phase, orders in [
        ("opposite orders", [names, names[::-1]]),
        ("one order", [names, names]),
        ("shuffled orders", [None, None]),
    ]:
        stop = time.time() + args.seconds
        counts = [[0, 0, 0], [0, 0, 0]]  # statements, deadlocks, other errors

        def worker(k):
            c = connect()
            rng = random.Random(k)
            while time.time() < stop:
                order = orders[k] or rng.sample(names, len(names))
                try:
                    c.execute(sql, (order,))
                    counts[k][0] += 1
                except psycopg.errors.DeadlockDetected:
                    counts[k][1] += 1
                except psycopg.Error as e:
                    counts[k][2] += 1
                    print(f"  {phase}: session {k}: {e.sqlstate} {e}", file=sys.stderr)
            c.close()

        threads = [threading.Thread(target=worker, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report.append(f"{phase}: {counts[0][0]}+{counts[1][0]} statements, "
                      f"{counts[0][1] + counts[1][1]} deadlocks")
        check(counts[0][1] + counts[1][1] == 0, f"{phase}: deadlocks {counts}")
        check(counts[0][2] + counts[1][2] == 0, f"{phase}: errors {counts}")
        check(min(counts[0][0], counts[1][0]) > 20, f"{phase}: too little progress {counts}")
    # Every series took points from both sessions' statements.
    stored = one(conn, "SELECT count(*) FROM rrd.series s, rrd.lastupdate(s.name) "
                       "WHERE s.name LIKE 'dl.s%%' AND t > now() - interval '1 hour'")
    check(stored == 20, f"{stored} series updated")
    for n in names:
        conn.execute("SELECT rrd.drop(%s)", (n,))
    conn.execute("DELETE FROM rrd.series WHERE name LIKE 'dl.filler.%'")
    return "; ".join(report)


# ---------------------------------------------------------------- cancel

def cancel(args):
    conn = connect()
    n = args.points
    conn.execute("DROP TABLE IF EXISTS cancel_points")
    conn.execute("CREATE TABLE cancel_points AS SELECT "
                 "array(SELECT to_timestamp(1600000000 + i) FROM generate_series(1, %s) i) AS t, "
                 "array(SELECT (i %% 97)::float8 FROM generate_series(1, %s) i) AS v", (n, n))
    make = ("SELECT rrd.drop(%s) FROM rrd.series WHERE name = %s;"
            "SELECT rrd.create(%s, '--step 1 DS:x:GAUGE:10:U:U RRA:AVERAGE:0.5:1:1000 "
            "RRA:MAX:0.5:7:1000', to_timestamp(1600000000))")
    run = "SELECT rrd.update(%s, t, v) FROM cancel_points"

    def fresh(name):
        for stmt in make.split(";"):
            k = stmt.count("%s")
            conn.execute(stmt, (name,) * k)

    fresh("cancel.full")
    t0 = time.time()
    conn.execute(run, ("cancel.full",))
    full = time.time() - t0
    check(full > 2, f"the whole update took only {full:.2f} s; raise --points")
    results = [f"whole update of {n} points {full:.1f} s"]

    # A cancel must land within a few thousand points of its signal, not
    # when the batch's loop is done: at most this long after the signal.
    late = max(0.5, full / 20)

    # statement_timeout
    fresh("cancel.a")
    timeout = full / 10
    conn.execute("SET statement_timeout = %s" % int(timeout * 1000))
    t0 = time.time()
    state = sqlstate(conn, run, ("cancel.a",))
    after = time.time() - t0 - timeout
    conn.execute("RESET statement_timeout")
    check(state == "57014", f"statement_timeout gave {state}")
    check(after < late, f"statement_timeout honoured {after:.2f} s after it expired ({full:.2f} s whole)")
    check(one(conn, "SELECT rrd.last('cancel.a') = to_timestamp(1600000000)"), "cancelled update wrote")
    results.append(f"timeout honoured after {after:.2f} s")

    # pg_cancel_backend and pg_terminate_backend from another session
    for how, want in [("pg_cancel_backend", {"57014"}), ("pg_terminate_backend", {"57P01", None})]:
        fresh("cancel.b")
        victim = connect()
        pid = one(victim, "SELECT pg_backend_pid()")
        out = {}

        def go():
            try:
                victim.execute(run, ("cancel.b",))
                out["state"] = "finished"
            except psycopg.Error as e:
                out["state"] = e.sqlstate
            out["end"] = time.time()

        th = threading.Thread(target=go)
        th.start()
        time.sleep(full / 10)
        conn.execute(f"SELECT {how}(%s)", (pid,))
        sent = time.time()
        th.join()
        after = out["end"] - sent
        check(out["state"] in want, f"{how} gave {out['state']}")
        check(after < late, f"{how} honoured {after:.2f} s after it was sent ({full:.2f} s whole)")
        results.append(f"{how} after {after:.2f} s")
        try:
            victim.close()
        except psycopg.Error:
            pass
    for name in ("cancel.full", "cancel.a", "cancel.b"):
        conn.execute("SELECT rrd.drop(%s)", (name,))
    conn.execute("DROP TABLE cancel_points")
    return ", ".join(results)


# ---------------------------------------------------------------- restore

SNAPSHOT = """
SELECT md5(string_agg(format('%s|%s|%s|%s|%s', id, name, def, chunk_width, tags), ';' ORDER BY id))
  || md5(coalesce((SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s', series_id, last_up, last_ds, pdp_val,
        pdp_unknown_sec, cdp_val, cdp_unknown, holes), ';' ORDER BY series_id) FROM rrd.state), ''))
  || md5(coalesce((SELECT string_agg(format('%s|%s|%s|%s', series_id, archive, chunk, dp), ';'
        ORDER BY series_id, archive, chunk) FROM rrd.chunk), ''))
  || md5(coalesce((SELECT string_agg(format('%s|%s|%s', name, t, v), ';' ORDER BY name, t)
        FROM rrd.fetch_many('rs.*', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600003000))), ''))
FROM rrd.series
"""


def restore(args):
    base = connect("postgres")
    for db in ("rrd_restore_src", "rrd_restore_par", "rrd_restore_ser"):
        base.execute(f"DROP DATABASE IF EXISTS {db}")
    base.execute("CREATE DATABASE rrd_restore_src")
    src = connect("rrd_restore_src")
    src.execute("CREATE EXTENSION pg_rrd")
    src.execute("""
        SELECT rrd.create('rs.' || i, '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:300 RRA:MAX:0.5:6:100',
                          to_timestamp(1600000000), tags => jsonb_build_object('n', i::text))
        FROM generate_series(1, 100) i""")
    src.execute("""
        SELECT rrd.update(array_agg('rs.' || i ORDER BY k, i), array_agg(to_timestamp(1600000000 + 10 * k) ORDER BY k, i),
                          array_agg((i * k % 13)::float8 ORDER BY k, i))
        FROM generate_series(1, 100) i, generate_series(1, 250) k""")
    want = one(src, SNAPSHOT)
    src.close()
    dump = os.path.join(args.cluster, "restore.dump")
    subprocess.run(["rm", "-rf", dump], check=True)
    env = dict(os.environ)
    subprocess.run([f"{PGBIN}/pg_dump", "-Fd", "-j", "4", "-f", dump, "rrd_restore_src"], check=True, env=env)
    results = []
    for db, jobs in (("rrd_restore_par", ["-j", "4"]), ("rrd_restore_ser", [])):
        base.execute(f"CREATE DATABASE {db}")
        p = subprocess.run([f"{PGBIN}/pg_restore", "--exit-on-error", *jobs, "-d", db, dump],
                           capture_output=True, text=True, env=env)
        check(p.returncode == 0, f"pg_restore {' '.join(jobs)}: {p.stderr.strip()[:500]}")
        c = connect(db)
        got = one(c, SNAPSHOT)
        check(got == want, f"{db}: rows differ after restore")
        # The restored series take updates, and a new series a new id.
        c.execute("SELECT rrd.update('rs.7', to_timestamp(1600002510), 1)")
        newid = one(c, "SELECT rrd.create('rs.new', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:10')")
        check(newid > 100, f"{db}: new id {newid}")
        results.append(f"pg_restore {' '.join(jobs) or 'serial'}: same rows")
        c.close()
    for db in ("rrd_restore_src", "rrd_restore_par", "rrd_restore_ser"):
        base.execute(f"DROP DATABASE {db}")
    subprocess.run(["rm", "-rf", dump], check=True)
    return ", ".join(results)


# ---------------------------------------------------------------- standby

READS = [
    "SELECT rrd.info('sb.a')",
    "SELECT rrd.definition('sb.a')",
    "SELECT rrd.last('sb.a')",
    "SELECT rrd.first('sb.a', 1)",
    "SELECT * FROM rrd.lastupdate('sb.a')",
    "SELECT count(*) FROM rrd.fetch('sb.a', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.fetch('sb.a', 'MAX', to_timestamp(1600000000), to_timestamp(1600000600), points => 5)",
    "SELECT * FROM rrd.fetch_array('sb.a', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.fetch_many('sb.*', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.fetch_tagged('{\"k\": \"v\"}', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.fetch_stitched('sb.a', 'AVERAGE', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.find('sb.*')",
    "SELECT count(*) FROM rrd.find('sb.*', to_timestamp(1600000000), to_timestamp(1600000600))",
    "SELECT count(*) FROM rrd.children('sb')",
]

WRITES = [
    "SELECT rrd.create('sb.new', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:10')",
    "SELECT rrd.update('sb.a', to_timestamp(1600001000), 1)",
    "SELECT rrd.update('sb.a', ARRAY[to_timestamp(1600001000)], ARRAY[1::float8])",
    "SELECT rrd.update(ARRAY['sb.a'], ARRAY[to_timestamp(1600001000)], ARRAY[1::float8])",
    "INSERT INTO rrd.points VALUES ('sb.a', to_timestamp(1600001000), 1)",
    "SELECT rrd.set_tags('sb.a', '{\"k\": \"w\"}')",
    "SELECT rrd.set_meta('sb.a', '{}')",
    "SELECT rrd.rename('sb.a', 'sb.b')",
    "SELECT rrd.drop('sb.a')",
    "SELECT rrd.tune('sb.a', heartbeat => '40 s')",
    "SELECT rrd.resize('sb.a', 0, 20)",
    "SELECT rrd.add_archive('sb.a', 'RRA:MIN:0.5:1:10')",
    "SELECT rrd.drop_archive('sb.a', 1)",
]


def standby(args):
    primary = connect()
    primary.execute("SELECT rrd.drop(name) FROM rrd.series WHERE name LIKE 'sb.%'")
    primary.execute("""SELECT rrd.create('sb.a', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:6:10',
                       to_timestamp(1600000000), tags => '{"k": "v"}')""")
    primary.execute("""SELECT rrd.update('sb.a', array_agg(to_timestamp(1600000000 + 10 * k)), array_agg(k::float8))
                       FROM generate_series(1, 50) k""")
    # On the primary, a read spends no transaction id.
    for sql in READS:
        with primary.transaction():
            primary.execute(sql)
            xid = one(primary, "SELECT txid_current_if_assigned()")
        check(xid is None, f"primary: {sql} took transaction id {xid}")
    sdir = os.path.join(os.path.dirname(os.path.abspath(args.cluster)), "standby")
    sport = int(os.environ.get("PGPORT", "5432")) + 10
    subprocess.run(["bash", CLUSTER_SH, "stop", sdir], check=True)
    subprocess.run(["rm", "-rf", sdir], check=True)
    subprocess.run(["bash", CLUSTER_SH, "prepare", sdir], check=True)
    base_backup(os.path.join(sdir, "data"), os.environ["PGHOST"], os.environ["PGPORT"])
    subprocess.run(["bash", CLUSTER_SH, "start", sdir, str(sport)], check=True)
    try:
        sb = psycopg.connect(host=os.path.join(sdir, "sock"), port=sport, autocommit=True)
        check(one(sb, "SELECT pg_is_in_recovery()"), "not a standby")
        # Wait for the series to be replayed.
        for _ in range(200):
            if one(sb, "SELECT count(*) FROM rrd.series WHERE name = 'sb.a'") == 1:
                break
            time.sleep(0.05)
        bad = []
        for sql in READS:
            state = sqlstate(sb, sql)
            if state is not None:
                bad.append(f"{sql}: {state}")
        check(not bad, "reads on the standby: " + "; ".join(bad))
        for sql in WRITES:
            state = sqlstate(sb, sql)
            if state != "25006":
                bad.append(f"{sql}: {state}")
        check(not bad, "writes on the standby: " + "; ".join(bad))
        sb.close()
    finally:
        subprocess.run(["bash", CLUSTER_SH, "stop", sdir], check=True)
        subprocess.run(["rm", "-rf", sdir], check=True)
    # The same writes in a read-only transaction on the primary.
    bad = []
    for sql in WRITES:
        primary.execute("SET default_transaction_read_only = on")
        state = sqlstate(primary, sql)
        primary.execute("RESET default_transaction_read_only")
        if state != "25006":
            bad.append(f"{sql}: {state}")
    check(not bad, "writes in a read-only transaction: " + "; ".join(bad))
    primary.execute("SELECT rrd.drop('sb.a')")
    return f"{len(READS)} reads work on the standby with no transaction id, {len(WRITES)} writes give 25006"


# ---------------------------------------------------------------- big

def big(args):
    # A database of its own: the suites before leave the test database's
    # tables large, and 1 GB statements then slow down several times over.
    base = connect("postgres")
    base.execute("DROP DATABASE IF EXISTS rrd_big")
    base.execute("CREATE DATABASE rrd_big")
    conn = connect("rrd_big")
    conn.execute("CREATE EXTENSION pg_rrd")
    try:
        return big_checks(conn)
    finally:
        conn.close()
        base.execute("DROP DATABASE rrd_big")
        base.close()


def big_checks(conn):
    conn.execute("SELECT rrd.create('big.a', '--step 10 DS:x:GAUGE:30:U:U RRA:AVERAGE:0.5:1:100', "
                 "to_timestamp(1600000000))")
    conn.execute("SELECT rrd.update('big.a', to_timestamp(1600000010), 7)")
    t0 = time.time()
    conn.execute("SELECT rrd.resize('big.a', 0, 67200000)")
    t1 = time.time()
    conn.execute("SELECT rrd.add_archive('big.a', 'RRA:MAX:0.5:1:3000000')")
    t2 = time.time()
    got = one(conn, "SELECT string_agg(coalesce(v::text, '-'), ' ' ORDER BY t) FROM "
                    "rrd.fetch('big.a', 'MAX', to_timestamp(1600000000), to_timestamp(1600000020))")
    check(got == "7 - -", f"fetch after add_archive: {got}")
    slots = one(conn, "SELECT sum(cardinality(dp)) FROM rrd.chunk c JOIN rrd.series s ON s.id = c.series_id "
                      "WHERE s.name = 'big.a'")
    check(slots == 70_200_000, f"{slots} slots stored")
    state = sqlstate(conn, "SELECT rrd.add_archive('big.a', 'RRA:LAST:0.5:1:29800001')")
    check(state == "22023", f"past the limit: {state}")
    conn.execute("SELECT rrd.drop('big.a')")
    # Statements of more points than one part (ingest.rs PART_POINTS) are
    # applied in parts: the same rows as in one go, refused points numbered
    # from the statement's start, nothing written by a failed statement.
    part = 1 << 20
    n = part + 1000
    for name in ("big.p", "big.q", "big.r"):
        conn.execute("SELECT rrd.create(%s, '--step 1 DS:x:GAUGE:10:U:U RRA:AVERAGE:0.5:1:5000 "
                     "RRA:MAX:0.5:60:20000', to_timestamp(1600000000))", (name,))
    t3 = time.time()
    conn.execute("INSERT INTO rrd.points SELECT 'big.p', to_timestamp(1600000000 + i), i %% 1000 "
                 "FROM generate_series(1, %s) i", (n,))
    conn.execute("SELECT rrd.update('big.q', array_agg(to_timestamp(1600000000 + i) ORDER BY i), "
                 "array_agg((i %% 1000)::float8 ORDER BY i)) FROM generate_series(1, %s) i", (n,))
    t4 = time.time()
    # big.r in statements of fewer points than a part
    for lo in range(0, n, 400_000):
        hi = min(n, lo + 400_000)
        conn.execute("SELECT rrd.update('big.r', array_agg(to_timestamp(1600000000 + i) ORDER BY i), "
                     "array_agg((i %% 1000)::float8 ORDER BY i)) FROM generate_series(%s, %s) i", (lo + 1, hi))
    same = one(conn, """SELECT count(DISTINCT x) FROM (SELECT s, string_agg(coalesce(v::text, '-'), ' ' ORDER BY t) AS x
                        FROM unnest(ARRAY['big.p', 'big.q', 'big.r']) s,
                             rrd.fetch(s, 'MAX', to_timestamp(1600000000), to_timestamp(1600000000 + %s),
                                       resolution => '60 s') GROUP BY s) y""", (n,))
    check(same == 1, "parts gave other rows than smaller statements")
    conn.execute("SELECT rrd.update('big.q', to_timestamp(1600000000 + %s), 1)", (n + 1,))
    before = one(conn, "SELECT rrd.info('big.q')::text")
    msg = None
    try:
        conn.execute("SELECT rrd.update('big.q', array_agg(to_timestamp(1600000000 + %s + i + "
                     "CASE WHEN i = %s THEN -5 ELSE 0 END) ORDER BY i), array_agg(1::float8)) "
                     "FROM generate_series(1, %s) i", (n + 1, part + 10, part + 100))
    except psycopg.Error as e:
        msg = str(e)
    check(msg is not None and f"point {part + 10} of the batch" in msg, f"refused point: {msg}")
    check(one(conn, "SELECT rrd.info('big.q')::text") == before, "a failed statement wrote")
    # A series of the first part only, and one of both parts.
    for name in ("big.s", "big.t"):
        conn.execute("SELECT rrd.create(%s, '--step 1 DS:x:GAUGE:10:U:U RRA:LAST:0.5:1:5000', "
                     "to_timestamp(1600000000))", (name,))
    conn.execute("SELECT rrd.update(array_agg(CASE WHEN i <= 1000 THEN 'big.s' ELSE 'big.t' END ORDER BY i), "
                 "array_agg(to_timestamp(1600000000 + i) ORDER BY i), array_agg(i::float8 ORDER BY i)) "
                 "FROM generate_series(1, %s) i", (n,))
    got = one(conn, "SELECT string_agg(format('%s %s', extract(epoch FROM l.t)::bigint - 1600000000, l.value), ', ' "
                    "ORDER BY s) FROM unnest(ARRAY['big.s', 'big.t']) s, rrd.lastupdate(s) l")
    check(got == f"1000 1000, {n} {n}", f"last updates after parts: {got}")
    for name in ("big.p", "big.q", "big.r", "big.s", "big.t"):
        conn.execute("SELECT rrd.drop(%s)", (name,))
    return (f"resize to 67.2M rows {t1 - t0:.1f} s, add_archive of 3M rows {t2 - t1:.1f} s, "
            f"{n} points through rrd.points and an array in parts {t4 - t3:.1f} s")


# What each check tries, for its line in docs/reliability.md.
WHAT = {
    "deadlock": "two sessions on the same 20 series through rrd.update(names[]), in opposite, equal and "
                "shuffled orders",
    "cancel": "a long batch cancelled by statement_timeout, pg_cancel_backend and pg_terminate_backend",
    "restore": "pg_dump of 100 series, pg_restore -j 4 and serially, rows and reads compared, updates after",
    "standby": "a hot standby by pg_basebackup: reads without a transaction id, writes refused with 25006",
    "big": "rings at the 100M-slot limit: a 67.2M-slot resize, a 3M-row added archive, batches of many parts",
}
CHECKS = {"deadlock": deadlock, "cancel": cancel, "restore": restore, "standby": standby, "big": big}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each deadlock phase")
    ap.add_argument("--points", type=int, default=3_000_000, help="points of the cancelled update")
    ap.add_argument("checks", nargs="*", default=list(CHECKS))
    args = ap.parse_args()
    passed = failed = 0
    for name in args.checks:
        t0 = time.time()
        try:
            detail = CHECKS[name](args)
            passed += 1
            print(f"ok   {name} ({time.time() - t0:.1f} s): {detail}", flush=True)
            reliability.record("holes", f"holes {name}", 1, 0, f"{WHAT[name]}: {detail}")
        except (Failed, psycopg.Error, subprocess.CalledProcessError) as e:
            failed += 1
            print(f"FAIL {name} ({time.time() - t0:.1f} s): {e}", flush=True)
            reliability.record("holes", f"holes {name}", 1, 1, f"{WHAT[name]}: failed: {str(e)[:400]}")
    print(f"holes: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
