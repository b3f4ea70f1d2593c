#!/usr/bin/python3
"""ALTER EXTENSION pg_rrd UPDATE from each released version, on a cluster of its own.

    /usr/bin/python3 pgrx-tests/upgrade.py [--dir .pgdata] [--port 55485]

For each released version (sql/released/pg_rrd--V.sql), in a database of
its own: CREATE EXTENSION pg_rrd VERSION 'V', series of every kind written
through every write path of V (one point at a time, arrays, many series at
once with points left pending in the journal, rrd.points), a fold of some
of them; then ALTER EXTENSION pg_rrd UPDATE. A second database gets the
current version and the same writes. The two must then hold the same
objects (every function with its signature, result, volatility,
strictness, security and settings; every table, column, constraint,
index, trigger, view and sequence; the privileges on them; the tables
pg_dump keeps), read the same (every archive of every series, rrd.pending,
rrd.info), and take the same new writes, the new version's own included
(update strings, rrd.dump, rrd.import_rrdtool of that dump, a series with
a lateness window, which the library refuses with 0A000 before the
update), with
rrd.verify clean on both. With RELIABILITY_DIR set, writes upgrade.json.
"""

import argparse
import datetime
import glob
import json
import os
import re
import sys

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgcluster import ROOT, Cluster, drop_db  # noqa: E402

DEFS = [
    ("u.gauge.{}", "--step 10 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100 RRA:MAX:0.5:6:50"),
    ("u.counter.{}", "--step 10 DS:v:COUNTER:20:0:U RRA:AVERAGE:0.5:1:100 RRA:LAST:0:3:40"),
    ("u.derive.{}", "--step 60 DS:v:DERIVE:120:U:U RRA:MIN:0.5:1:60"),
]
T0 = 1_767_225_600  # 2026-01-01
LATE_DEF = "--step 10 --lateness 30 DS:v:GAUGE:20:U:U RRA:AVERAGE:0.5:1:100"

OBJECTS = {
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid), p.provolatile, p.proisstrict,
               p.prosecdef, p.proconfig::text, p.prosrc, p.proretset, coalesce(p.proacl::text, '')
        FROM pg_proc p WHERE p.pronamespace = 'rrd'::regnamespace ORDER BY 1""",
    "relations": """
        SELECT c.relname, c.relkind, coalesce(c.relacl::text, ''), c.reloptions::text
        FROM pg_class c WHERE c.relnamespace = 'rrd'::regnamespace ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attstorage, coalesce(a.attacl::text, '')
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'rrd'::regnamespace ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'rrd'::regnamespace ORDER BY 1, 2""",
    "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'rrd' ORDER BY 1",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN
              (SELECT oid FROM pg_class WHERE relnamespace = 'rrd'::regnamespace) ORDER BY 1, 2""",
    "views": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'rrd' ORDER BY 1",
    "types": "SELECT typname, typtype FROM pg_type WHERE typnamespace = 'rrd'::regnamespace ORDER BY 1",
    "casts": """
        SELECT castsource::regtype::text, casttarget::regtype::text, castmethod FROM pg_cast
        WHERE castsource IN (SELECT oid FROM pg_type WHERE typnamespace = 'rrd'::regnamespace) ORDER BY 1, 2""",
    "dumped": """
        SELECT array(SELECT c::regclass::text FROM unnest(extconfig) c ORDER BY 1)::text
        FROM pg_extension WHERE extname = 'pg_rrd'""",
    "roles": """
        SELECT r.rolname, array(SELECT m.rolname FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.roleid
                                WHERE am.member = r.oid ORDER BY 1)::text
        FROM pg_roles r WHERE r.rolname LIKE 'rrd\\_%' ORDER BY 1""",
}


def plain_db(cluster, name):
    """A new, empty database `name`: a session on it."""
    drop_db(cluster, name)
    base = cluster.connect("postgres")
    base.execute(f"CREATE DATABASE {name}")
    base.close()
    return cluster.connect(name)


def rows(conn, sql, args=None):
    return [tuple(r) for r in conn.execute(sql, args).fetchall()]


def write_all(conn, names, k0, k1, text=False):
    """Steps k0..k1 of every series: the first kind one point a call, the
    second arrays, the third many series a statement (to the journal) and
    rrd.points, alternately."""
    for k in range(k0, k1):
        t = T0 + 10 * (k + 1)
        for i, n in enumerate(names["u.gauge"]):
            v = f"{t}:{(k * 7 + i) % 13}" if text else None
            if text:
                conn.execute("SELECT rrd.update(%s, %s)", (n, v))
            else:
                conn.execute("SELECT rrd.update(%s, to_timestamp(%s), %s)", (n, t, float((k * 7 + i) % 13)))
        for i, n in enumerate(names["u.counter"]):
            conn.execute("SELECT rrd.update(%s, ARRAY[to_timestamp(%s)], ARRAY[%s]::float8[])",
                         (n, t, float(k * 100 + i)))
        if k % 6 == 5:
            ds = names["u.derive"]
            tt = T0 + 60 * (k // 6 + 1)
            vals = [float(k * 3 + i) for i in range(len(ds))]
            if k % 12 == 5:
                conn.execute("SELECT rrd.update(%s::text[], array_fill(to_timestamp(%s), ARRAY[%s]), %s::float8[])",
                             (ds, tt, len(ds), vals))
            else:
                stamp = datetime.datetime.fromtimestamp(tt, datetime.timezone.utc).isoformat()
                with conn.cursor().copy("COPY rrd.points (name, t, v) FROM STDIN") as cp:
                    for n, v in zip(ds, vals):
                        cp.write_row((n, stamp, v))


def load(conn, version):
    if version:
        conn.execute(f"CREATE EXTENSION pg_rrd VERSION '{version}'")
    else:
        conn.execute("CREATE EXTENSION pg_rrd")
    names = {}
    for pattern, definition in DEFS:
        key = pattern.rsplit(".", 1)[0]
        names[key] = [pattern.format(i) for i in range(12)]
        for n in names[key]:
            conn.execute("SELECT rrd.create(%s, %s, to_timestamp(%s))", (n, definition, T0))
    conn.execute("SET TimeZone = 'UTC'")
    return names


def reads(conn, names):
    out = {}
    for group in names.values():
        for n in group:
            arch = rows(conn, "SELECT cf, resolution FROM rrd.archives(rrd.definition(%s))", (n,))
            for cf, res in arch:
                out[(n, cf, res)] = rows(
                    conn, "SELECT t, v FROM rrd.fetch(%s, %s, to_timestamp(%s), to_timestamp(%s), "
                          "resolution => %s)", (n, cf, T0, T0 + 40000, res))
            out[(n, "last")] = rows(conn, "SELECT * FROM rrd.lastupdate(%s)", (n,))
    out["pending"] = rows(conn, "SELECT rrd.pending()")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata"))
    ap.add_argument("--port", type=int, default=55485)
    args = ap.parse_args()
    released = sorted(re.search(r"pg_rrd--(.+)\.sql$", p).group(1)
                      for p in glob.glob(os.path.join(ROOT, "sql", "released", "pg_rrd--*.sql")))
    cl = Cluster(os.path.join(args.dir, "upgrade"), args.port)
    cl.start()
    failures, checks, detail = 0, 0, []

    def check(cond, msg):
        nonlocal failures, checks
        checks += 1
        if not cond:
            failures += 1
            print("upgrade: FAIL " + msg)
        return cond

    try:
        for version in released:
            old = plain_db(cl, "up_old")
            new = plain_db(cl, "up_new")
            try:
                n_old = load(old, version)
                n_new = load(new, None)
                check(rows(old, "SELECT extversion FROM pg_extension WHERE extname = 'pg_rrd'") == [(version,)],
                      f"installed {version}")
                for conn, names in ((old, n_old), (new, n_new)):
                    write_all(conn, names, 0, 60)
                    conn.execute("SELECT rrd.flush(%s)", (names["u.derive"][0],))
                    write_all(conn, names, 60, 90)
                before = reads(old, n_old)
                check(before["pending"][0][0] > 0, "points are pending in the journal before the update")
                # A lateness window needs the new tables: refused before the update, nothing made.
                try:
                    old.execute("SELECT rrd.create('u.late', %s, to_timestamp(%s))", (LATE_DEF, T0))
                    check(False, f"{version}: a lateness window was taken before the update")
                except psycopg.Error as e:
                    check(e.sqlstate == "0A000", f"{version}: a lateness window before the update gave "
                                                 f"{e.sqlstate}: {e}")
                old.execute("ALTER EXTENSION pg_rrd UPDATE")
                target = rows(new, "SELECT extversion FROM pg_extension WHERE extname = 'pg_rrd'")[0][0]
                check(rows(old, "SELECT extversion FROM pg_extension WHERE extname = 'pg_rrd'") == [(target,)],
                      f"{version} updated to {target}")
                for what, sql in OBJECTS.items():
                    a, b = rows(old, sql), rows(new, sql)
                    if not check(a == b, f"{version} -> {target}: {what} differ from a fresh {target}"):
                        for x in sorted(set(a) ^ set(b))[:10]:
                            print("  ", "updated only" if x in a else "fresh only", x)
                check(reads(old, n_old) == before, f"{version}: reads changed by the update")
                check(reads(old, n_old) == reads(new, n_new), f"{version}: reads differ from a fresh {target}")
                for conn, names in ((old, n_old), (new, n_new)):
                    write_all(conn, names, 90, 120, text=True)
                    # Late points, through the new lateness argument.
                    conn.execute("SELECT rrd.create('u.late', %s, to_timestamp(%s), lateness => '30 s')",
                                 (LATE_DEF.replace("--lateness 30 ", ""), T0))
                    for dt in (10, 30, 20, 50, 40, 45):
                        conn.execute("SELECT rrd.update('u.late', to_timestamp(%s), %s)", (T0 + dt, float(dt)))
                    names["late"] = ["u.late"]
                    dump = conn.execute("SELECT rrd.dump(%s)", (names["u.counter"][1],)).fetchone()[0]
                    conn.execute("SELECT rrd.import_rrdtool('u.copy', %s)", (dump,))
                    names["copy"] = ["u.copy"]
                check(reads(old, n_old) == reads(new, n_new), f"{version}: new writes differ")
                for conn, names in ((old, n_old), (new, n_new)):
                    conn.execute("SELECT rrd.flush()")
                check(reads(old, n_old) == reads(new, n_new), f"{version}: reads differ after rrd.flush()")
                for label, conn in (("updated", old), ("fresh", new)):
                    try:
                        problems = rows(conn, "SELECT * FROM rrd.verify()")
                    except psycopg.Error as e:
                        problems = [str(e).strip()]
                    check(problems == [], f"{version}: rrd.verify() on the {label} database: {problems[:5]}")
                series = sum(len(v) for v in n_old.values())
                detail.append(f"{version} -> {target}: {series} series, {len(before) - 1} reads, "
                              f"{len(OBJECTS)} catalog comparisons")
            finally:
                old.close()
                new.close()
                drop_db(cl, "up_old")
                drop_db(cl, "up_new")
    finally:
        cl.stop()
    if not released:
        print("upgrade: FAIL no released version in sql/released")
        failures += 1
    print(f"upgrade: {len(released)} released version(s) updated ({'; '.join(detail)}), "
          f"{checks} checks, {failures} failed")
    if os.environ.get("RELIABILITY_DIR"):
        os.makedirs(os.environ["RELIABILITY_DIR"], exist_ok=True)
        with open(os.path.join(os.environ["RELIABILITY_DIR"], "upgrade.json"), "w") as f:
            f.write(json.dumps({"test": "upgrade (ALTER EXTENSION pg_rrd UPDATE)", "cases": checks,
                                "failures": failures, "detail": "; ".join(detail)}) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
