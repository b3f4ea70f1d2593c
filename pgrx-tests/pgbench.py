#!/usr/bin/python3
"""pg_rrd's writers under load from pgbench, replayed and compared.

    /usr/bin/python3 pgrx-tests/pgbench.py [--dir .pgdata/pgbench] [--port 55490] [--seconds 60]

On a cluster of its own (DIR, made afresh on PORT, stopped at the end, left
behind on a failure for a look at server.log), two cases.

waits: a write waits for another transaction's rrd.rename, rrd.drop, drop
and create, or rrd.tune of its series, in each form (rrd.update of one
point as float8 and numeric, its array, update-string and text[] forms,
INSERT into rrd.points of one series and of two, rrd.update(names[])).
When that one commits, the write must see the series as the commit left
it, as PostgreSQL finds a relation by its name again after waiting for its
lock: the old name is gone (42704), a new series of the name takes the
point, a tuned series takes it under its new definition.

load: four pgbench runs
(/usr/lib/postgresql/15/bin/pgbench -n -M prepared --max-tries=1
--failures-detailed, custom scripts with weights) at the same time for
--seconds:

- same: 8 clients on ONE series, one point of clock_timestamp() a
  statement (rrd.update(name, t, v), also its array form and INSERT into
  rrd.points with two or three points). Two writers racing on the series
  is refused with 22008 (the later time committed first): those are
  counted, and each must be explained by a point committed on the series
  at or after the refused point's time and before the refusal.
- distinct: 8 clients, each on a series of its own (same forms): nothing
  may be refused.
- batch: 6 clients sending rrd.update(names[], t[], v[]) and INSERT into
  rrd.points of 20 to 80 of 300 series in shuffled orders (overlapping,
  across three lanes of the journal, a fifth of them with a second point),
  so 22008 races as above; and a stray writer of single points into the
  series the admin client changes, which gets 42704 when its series has
  just been dropped or renamed away.
- admin: 1 client renaming (and back), tuning the heartbeat of, dropping
  (and re-creating, in the same transaction or later) and writing points
  into 10 other series, and folding (rrd.flush(), rrd.flush(name)).

Every statement goes through a PL/pgSQL wrapper (schema bench) that logs
each point it wrote, or the operation it made, in the same transaction
(after the write, so a failed one logs nothing); any error but a deadlock
(40P01) or a serialization failure (40001), which reach pgbench and count
as failed transactions (not retried), is caught and logged with its
SQLSTATE. Afterwards: no deadlock, no failed transaction, no client
aborted, no error but the 22008 races and the stray writer's 42704; then
the committed points are replayed into a fresh database, per series in
time order through rrd.update(name, t[], v[]), and the admin client's
series by the log's sequence (its operations and the points of those
series, one session); every archive of every series (rrd.fetch at each
archive's resolution), rrd.fetch_array, rrd.lastupdate, rrd.last,
rrd.first of each archive, rrd.info (without the id) and rrd.definition
must be the same in both, before and after rrd.flush() in both; and
rrd.verify() lists no problem in either, before and after.

Prints the transactions of each script, the errors by SQLSTATE, the
points replayed and the reads compared, a summary line per case; the last
line is "pgbench: N transactions, N failures". With RELIABILITY_DIR set,
each case's line goes to $RELIABILITY_DIR/pgbench.json (docs/reliability.md).
Exit status 1 on a failure.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import psycopg

import pgcluster
import reliability
from pgcluster import PGBIN, ROOT, fresh_db, one

KINDS = ["GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"]


def definition(kind, heartbeat=10):
    # One archive per (CF, resolution), each holding far more than a run.
    return (f"--step 1 DS:x:{kind}:{heartbeat}:U:U RRA:AVERAGE:0.5:1:3600 RRA:MAX:0.5:5:720 "
            f"RRA:LAST:0.5:1:3600 RRA:MIN:0.5:10:360")


BATCH_SERIES = 300
DISTINCT = 8
ADMIN_SERIES = 10

SCHEMA = r"""
CREATE SCHEMA bench;
CREATE SEQUENCE bench.seq;
-- Every point committed: by whom, and its place in the order of the log.
CREATE UNLOGGED TABLE bench.log (
    seq bigint NOT NULL DEFAULT nextval('bench.seq'), grp text, script text, client int,
    name text, t timestamptz, v float8);
-- Every error a wrapper caught (its transaction then commits this row).
CREATE TABLE bench.errors (
    seq bigint NOT NULL DEFAULT nextval('bench.seq'), grp text, script text, client int,
    sqlstate text, message text, names text[], t timestamptz, at timestamptz);
-- The series as created, and the admin client's operations.
CREATE TABLE bench.def (name text PRIMARY KEY, def text, start timestamptz);
CREATE TABLE bench.events (
    seq bigint NOT NULL DEFAULT nextval('bench.seq'), op text, name text, arg text, start timestamptz);
-- The admin client's series: current name, dropped or not, heartbeat.
CREATE TABLE bench.adm (k int PRIMARY KEY, name text, gone bool, hb int);

-- A value of each point, known from its series and time (NULL now and then).
CREATE FUNCTION bench.val(name text, t timestamptz) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN (extract(epoch FROM t) * 1000000)::bigint % 89 = 0 THEN NULL
                ELSE ((extract(epoch FROM t) * 1000)::bigint % 1000000 + length(name))::float8 END $$;

-- n times, a microsecond apart, from now.
CREATE FUNCTION bench.ticks(n int) RETURNS timestamptz[] LANGUAGE sql VOLATILE AS $$
    SELECT array_agg(c + make_interval(secs => i / 1e6) ORDER BY i)
    FROM (SELECT clock_timestamp() AS c) x, generate_series(0, n - 1) i $$;

-- Writes the points (names[i], ts[i]) in one statement of `form`, and logs them.
CREATE FUNCTION bench.put(grp text, script text, client int, names text[], ts timestamptz[], form text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    vs float8[] := ARRAY(SELECT bench.val(u.n, u.t) FROM unnest(names, ts) WITH ORDINALITY u(n, t, o) ORDER BY u.o);
BEGIN
    BEGIN
        IF form = 'many' THEN
            PERFORM rrd.update(names, ts, vs);
        ELSIF form = 'one' THEN
            PERFORM rrd.update(names[1], ts[1], vs[1]);
        ELSIF form = 'array' THEN
            PERFORM rrd.update(names[1], ts, vs);
        ELSIF form = 'insert' THEN
            INSERT INTO rrd.points (name, t, v)
            SELECT u.n, u.t, u.v FROM unnest(names, ts, vs) WITH ORDINALITY u(n, t, v, o) ORDER BY u.o;
        ELSE
            RAISE 'bench.put: no form %', form;
        END IF;
        INSERT INTO bench.log (grp, script, client, name, t, v)
        SELECT grp, script, client, u.n, u.t, u.v FROM unnest(names, ts, vs) u(n, t, v);
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure THEN RAISE;
        WHEN OTHERS THEN
            INSERT INTO bench.errors (grp, script, client, sqlstate, message, names, t, at)
            VALUES (grp, script, client, SQLSTATE, SQLERRM, names,
                    (SELECT min(x) FROM unnest(ts) x), clock_timestamp());
    END;
END $$;

-- A batch of n of the batch series in a random order, a fifth of them
-- with a second point a microsecond later.
CREATE FUNCTION bench.batch(script text, client int, n int, form text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    names text[] := ARRAY(SELECT 'bat.' || lpad(i::text, 3, '0') FROM generate_series(0, %(batch)s - 1) i
                          ORDER BY random() LIMIT n);
    again text[] := ARRAY(SELECT x FROM unnest(names) x ORDER BY random() LIMIT n / 5);
    c timestamptz := clock_timestamp();
BEGIN
    PERFORM bench.put('batch', script, client, names || again,
                      array_fill(c, ARRAY[n]) || array_fill(c + interval '1 microsecond',
                                                           ARRAY[cardinality(again)]), form);
END $$;

-- One operation of the admin client on its series k: a dropped series is
-- created again, whatever the operation.
CREATE FUNCTION bench.admin(k int, op text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    a bench.adm;
    base text := 'adm.' || k;
    newname text;
    s timestamptz;
    t timestamptz;
    v float8;
BEGIN
    SELECT * INTO a FROM bench.adm WHERE bench.adm.k = admin.k FOR UPDATE;
    BEGIN
        IF a.gone THEN
            s := date_trunc('second', clock_timestamp()) - interval '10 s';
            PERFORM rrd.create(base, %(def)L, start => s);
            INSERT INTO bench.events (op, name, arg, start) VALUES ('create', base, %(def)L, s);
            UPDATE bench.adm SET name = base, gone = false, hb = 10 WHERE bench.adm.k = admin.k;
        ELSIF op = 'rename' THEN
            newname := CASE WHEN a.name = base THEN base || '.r' ELSE base END;
            PERFORM rrd.rename(a.name, newname);
            INSERT INTO bench.events (op, name, arg) VALUES ('rename', a.name, newname);
            UPDATE bench.adm SET name = newname WHERE bench.adm.k = admin.k;
        ELSIF op = 'tune' THEN
            PERFORM rrd.tune(a.name, heartbeat => make_interval(secs => 30 - a.hb));
            INSERT INTO bench.events (op, name, arg) VALUES ('tune', a.name, (30 - a.hb)::text);
            UPDATE bench.adm SET hb = 30 - a.hb WHERE bench.adm.k = admin.k;
        ELSIF op = 'drop' THEN
            PERFORM rrd.drop(a.name);
            INSERT INTO bench.events (op, name) VALUES ('drop', a.name);
            UPDATE bench.adm SET gone = true WHERE bench.adm.k = admin.k;
            IF random() < 0.5 THEN
                s := date_trunc('second', clock_timestamp()) - interval '10 s';
                PERFORM rrd.create(base, %(def)L, start => s);
                INSERT INTO bench.events (op, name, arg, start) VALUES ('create', base, %(def)L, s);
                UPDATE bench.adm SET name = base, gone = false, hb = 10 WHERE bench.adm.k = admin.k;
            END IF;
        ELSIF op = 'point' THEN
            t := clock_timestamp();
            v := bench.val(a.name, t);
            PERFORM rrd.update(a.name, t, v);
            INSERT INTO bench.log (grp, script, client, name, t, v) VALUES ('admin', 'admin_point', 0, a.name, t, v);
        ELSE
            RAISE 'bench.admin: no operation %', op;
        END IF;
    EXCEPTION
        WHEN deadlock_detected OR serialization_failure THEN RAISE;
        WHEN OTHERS THEN
            INSERT INTO bench.errors (grp, script, client, sqlstate, message, names, t, at)
            VALUES ('admin', 'admin_' || op, 0, SQLSTATE, SQLERRM, ARRAY[a.name], coalesce(t, clock_timestamp()),
                    clock_timestamp());
    END;
END $$;
"""


def put(script, names, ticks, form, grp):
    return f"SELECT bench.put('{grp}', '{script}', :client_id, {names}, bench.ticks({ticks}), '{form}');\n"


# Each group: pgbench's clients, threads and scripts (file name, weight, text).
GROUPS = {
    "same": (8, 2, [
        ("same_one", 6, put("same_one", "ARRAY['one.0']", 1, "one", "same")),
        ("same_array", 2, put("same_array", "ARRAY['one.0', 'one.0', 'one.0']", 3, "array", "same")),
        ("same_insert", 2, put("same_insert", "ARRAY['one.0', 'one.0']", 2, "insert", "same")),
    ]),
    "distinct": (DISTINCT, 2, [
        ("distinct_one", 6, put("distinct_one", "ARRAY['dist.' || :client_id]", 1, "one", "distinct")),
        ("distinct_array", 2, put("distinct_array", "array_fill('dist.' || :client_id, ARRAY[3])", 3, "array",
                                  "distinct")),
        ("distinct_insert", 2, put("distinct_insert", "array_fill('dist.' || :client_id, ARRAY[2])", 2, "insert",
                                   "distinct")),
    ]),
    "batch": (6, 2, [
        ("batch_update", 5, "\\set n random(20, 80)\nSELECT bench.batch('batch_update', :client_id, :n, 'many');\n"),
        ("batch_insert", 2, "\\set n random(20, 80)\nSELECT bench.batch('batch_insert', :client_id, :n, 'insert');\n"),
        ("stray", 1, f"\\set k random(0, {ADMIN_SERIES - 1})\n"
                     "SELECT bench.put('batch', 'stray', :client_id, ARRAY['adm.' || :k], bench.ticks(1), 'one');\n"),
        ("stray_batch", 1, f"\\set k random(0, {ADMIN_SERIES - 1})\n"
                           "SELECT bench.put('batch', 'stray_batch', :client_id, ARRAY['adm.' || :k] || ARRAY(SELECT "
                           f"'bat.' || lpad(i::text, 3, '0') FROM generate_series(0, {BATCH_SERIES - 1}) i "
                           "ORDER BY random() LIMIT 5), array_fill(clock_timestamp(), ARRAY[6]), 'many');\n"),
    ]),
    "admin": (1, 1, [
        ("admin_rename", 2, f"\\set k random(0, {ADMIN_SERIES - 1})\nSELECT bench.admin(:k, 'rename');\n"),
        ("admin_tune", 2, f"\\set k random(0, {ADMIN_SERIES - 1})\nSELECT bench.admin(:k, 'tune');\n"),
        ("admin_drop", 1, f"\\set k random(0, {ADMIN_SERIES - 1})\nSELECT bench.admin(:k, 'drop');\n"),
        ("admin_point", 6, f"\\set k random(0, {ADMIN_SERIES - 1})\nSELECT bench.admin(:k, 'point');\n"),
        ("flush_all", 1, "SELECT rrd.flush();\n"),
        ("flush_one", 1, "\\set k random(0, 299)\nSELECT rrd.flush('bat.' || lpad(:k::text, 3, '0'));\n"),
    ]),
}
# The errors each script may catch: 22008 where writers race on a series,
# 42704 for the stray writer whose series was just dropped or renamed.
ALLOWED = {"same_one": {"22008"}, "same_array": {"22008"}, "same_insert": {"22008"},
           "batch_update": {"22008"}, "batch_insert": {"22008"}, "stray": {"22008", "42704"},
           "stray_batch": {"22008", "42704"},
           "admin_point": {"22008"}}


class Case(pgcluster.Case):
    def summary(self, secs):
        tried = ", ".join(f"{v} {k}" for k, v in self.tried.items()) or "nothing"
        notes = "".join(f"; {n}" for n in self.notes + ([self.verified()] if self.verify_runs else []))
        return f"pgbench {self.name}: {tried}{notes}; {len(self.failures)} failures ({secs:.1f} s)"


# ---------------------------------------------------------------- setup

def setup(conn, start):
    conn.execute(SCHEMA.replace("%(batch)s", str(BATCH_SERIES)).replace("%(def)L", "'" + definition("GAUGE") + "'"))
    series = []
    for i in range(BATCH_SERIES):
        series.append((f"bat.{i:03d}", definition(KINDS[i % 4])))
    series.append(("one.0", definition("GAUGE")))
    for i in range(DISTINCT):
        series.append((f"dist.{i}", definition(KINDS[i % 4])))
    for k in range(ADMIN_SERIES):
        series.append((f"adm.{k}", definition("GAUGE")))
    for name, d in series:
        conn.execute("SELECT rrd.create(%s, %s, start => to_timestamp(%s))", (name, d, start))
        conn.execute("INSERT INTO bench.def VALUES (%s, %s, to_timestamp(%s))", (name, d, start))
    conn.execute(f"INSERT INTO bench.adm SELECT k, 'adm.' || k, false, 10 "
                 f"FROM generate_series(0, {ADMIN_SERIES - 1}) k")
    lanes = one(conn, "SELECT count(DISTINCT id >> 7) FROM rrd.series WHERE name LIKE 'bat.%'")
    return len(series), lanes


# ---------------------------------------------------------------- pgbench

PER_SCRIPT = re.compile(r"SQL script \d+: (\S+)\n - weight: \d+.*\n - (\d+) transactions.*\n"
                        r"(?: - number of failed transactions: (\d+))?")


def run_pgbench(cl, seconds, tmp):
    """The four groups at once; per group its return code, output and
    errors, and per script its transactions."""
    procs = {}
    for grp, (clients, jobs, scripts) in GROUPS.items():
        args = [f"{PGBIN}/pgbench", "-n", "-M", "prepared", "-T", str(int(seconds)), "-c", str(clients),
                "-j", str(jobs), "--max-tries=1", "--failures-detailed", "--verbose-errors",
                "-h", cl.sock, "-p", str(cl.port), "-U", "postgres"]
        for name, weight, text in scripts:
            path = os.path.join(tmp, f"{name}.sql")
            with open(path, "w") as f:
                f.write(text)
            args += ["-f", f"{path}@{weight}"]
        args.append("bench")
        procs[grp] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for grp, p in procs.items():
        try:
            stdout, stderr = p.communicate(timeout=seconds + 300)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, stderr = p.communicate()
            stderr += "\n(pgbench killed: still running 300 s after its end)"
        out[grp] = (p.returncode, stdout, stderr)
    return out


def field(text, label):
    m = re.search(rf"^{re.escape(label)}: (\d+)", text, flags=re.M)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- replay

READS = """
SELECT s.name || ' ' || a.archive || ' fetch ' || a.cf || ' ' || a.resolution,
       (SELECT string_agg(extract(epoch FROM f.t) || '=' || coalesce(f.v::text, '-'), ' ' ORDER BY f.t)
        FROM rrd.fetch(s.name, a.cf, %(a)s, %(b)s, resolution => a.resolution) f)
FROM rrd.series s, rrd.archives(s.def) a
UNION ALL
SELECT s.name || ' ' || a.archive || ' fetch_array',
       (SELECT extract(epoch FROM f.start) || '/' || f.step || '/' || f.v::text
        FROM rrd.fetch_array(s.name, a.cf, %(a)s, %(b)s, a.resolution) f)
FROM rrd.series s, rrd.archives(s.def) a
UNION ALL
SELECT s.name || ' ' || a.archive || ' first', extract(epoch FROM rrd.first(s.name, a.archive))::text
FROM rrd.series s, rrd.archives(s.def) a
UNION ALL
SELECT s.name || ' lastupdate', (SELECT extract(epoch FROM l.t) || '=' || coalesce(l.value, '-')
                                 FROM rrd.lastupdate(s.name) l)
FROM rrd.series s
UNION ALL
SELECT s.name || ' last', extract(epoch FROM rrd.last(s.name))::text FROM rrd.series s
UNION ALL
SELECT s.name || ' info', (rrd.info(s.name) - 'id')::text FROM rrd.series s
UNION ALL
SELECT s.name || ' definition', rrd.definition(s.name)::text FROM rrd.series s
ORDER BY 1"""


def reads(conn, window):
    return dict(conn.execute(READS, {"a": window[0], "b": window[1]}).fetchall())


def compare(case, got, want, what):
    keys = sorted(set(got) | set(want))
    bad = [k for k in keys if got.get(k) != want.get(k)]
    with case.lock:
        case.checks += len(keys)
    case.count("reads compared", len(keys))
    for k in bad[:5]:
        a, b = str(got.get(k)), str(want.get(k))
        i = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
        lo = max(0, i - 100)
        case.fail(f"{what}: {k}: loaded ...{a[lo:i + 150]}... / replayed ...{b[lo:i + 150]}...", checked=True)
    if len(bad) > 5:
        case.fail(f"{what}: {len(bad)} reads differ in all", checked=True)
    return not bad


def replay(case, src, dst):
    """The committed points into `dst`: per series in time order, the admin
    client's series by the log's order with its operations."""
    for name, d, start in src.execute("SELECT name, def, start FROM bench.def ORDER BY name").fetchall():
        dst.execute("SELECT rrd.create(%s, %s, start => %s)", (name, d, start))
    points = 0
    cur = src.cursor(name="points")
    cur.itersize = 50_000
    cur.execute("SELECT name, array_agg(t ORDER BY t), array_agg(v ORDER BY t) FROM bench.log "
                "WHERE name NOT LIKE 'adm.%' GROUP BY name ORDER BY name")
    for name, ts, vs in cur:
        for lo in range(0, len(ts), 20_000):
            dst.execute("SELECT rrd.update(%s, %s::timestamptz[], %s::float8[])",
                        (name, ts[lo:lo + 20_000], vs[lo:lo + 20_000]))
        points += len(ts)
    cur.close()
    src.commit()
    stream = src.execute("""
        SELECT seq, 'point', name, script, NULL, t, v FROM bench.log WHERE name LIKE 'adm.%'
        UNION ALL SELECT seq, op, name, arg, start, NULL, NULL FROM bench.events ORDER BY 1""").fetchall()
    src.commit()
    ops = collections.Counter()
    run = []  # consecutive points of one series, sent as one array
    gone = {}  # name: the event that took it away

    def send_run():
        nonlocal points
        if run:
            try:
                dst.execute("SELECT rrd.update(%s, %s::timestamptz[], %s::float8[])",
                            (run[0][0], [r[1] for r in run], [r[2] for r in run]))
            except Exception as e:  # noqa: BLE001 - a replay that fails is a finding
                why = gone.get(run[0][0])
                why = (f" ({run[0][4]} committed it by that name after {why[1]} of {run[0][0]} had committed, "
                       f"log entry {why[0]}{', which made it ' + why[2] if why[2] else ''})" if why else "")
                case.fail(f"replay: points {run[0][3]}..{run[-1][3]} of {run[0][0]} refused: {e}{why}")
            points += len(run)
            run.clear()

    for seq, op, name, arg, start, t, v in stream:
        if op == "point":
            if run and run[0][0] != name:
                send_run()
            run.append((name, t, v, seq, arg))
            continue
        send_run()
        ops[op] += 1
        if op in ("rename", "drop"):
            gone[name] = (seq, op, arg if op == "rename" else None)
        gone.pop(arg if op == "rename" else name if op == "create" else None, None)
        sql = {"create": ("SELECT rrd.create(%s, %s, start => %s)", (name, arg, start)),
               "rename": ("SELECT rrd.rename(%s, %s)", (name, arg)),
               "tune": ("SELECT rrd.tune(%s, heartbeat => make_interval(secs => %s::int))", (name, arg)),
               "drop": ("SELECT rrd.drop(%s)", (name,))}[op]
        try:
            dst.execute(*sql)
        except Exception as e:  # noqa: BLE001
            case.fail(f"replay: {op} {name} (seq {seq}) refused: {e}")
    send_run()
    return points, ops


# ---------------------------------------------------------------- waits

# A write that waits for a rename, drop, drop and create, or tune of its
# series in another transaction, then goes on when that one commits: it
# must see the series as that commit left it, as PostgreSQL resolves a
# relation's name again after waiting for its lock (and as the journal
# writes of pg_rrd do for a rename): the old name is gone (42704), a new
# series of the name takes the point, a tuned series takes it under its
# new definition. The write puts a point at 20 s on W.a (and on W.c, for
# the forms of several series); the series were written at 10 s.
WAIT_DEF = "--step 10 DS:x:GAUGE:600:U:U RRA:LAST:0.5:1:100"
WAIT_OPS = {
    "rename": ["SELECT rrd.rename('{w}.a', '{w}.b')"],
    "drop": ["SELECT rrd.drop('{w}.a')"],
    "drop and create": ["SELECT rrd.drop('{w}.a')",
                        f"SELECT rrd.create('{{w}}.a', '{WAIT_DEF}', to_timestamp(1600000000))"],
    "tune": ["SELECT rrd.tune('{w}.a', heartbeat => interval '5 s')"],
}
T20 = "to_timestamp(1600000020)"
WAIT_FORMS = {
    "update(name, t, float8)": (False, f"SELECT rrd.update('{{w}}.a', {T20}, 2::float8)"),
    "update(name, t, numeric)": (False, f"SELECT rrd.update('{{w}}.a', {T20}, 2::numeric)"),
    "update(name, t[], v[])": (False, f"SELECT rrd.update('{{w}}.a', ARRAY[{T20}], ARRAY[2::float8])"),
    "update(name, 'T:V')": (False, "SELECT rrd.update('{w}.a', '1600000020:2')"),
    "update(name, text[])": (False, "SELECT rrd.update('{w}.a', ARRAY['1600000020:2'])"),
    "INSERT INTO rrd.points, one series": (False, f"INSERT INTO rrd.points VALUES ('{{w}}.a', {T20}, 2)"),
    "update(names[], t[], v[])": (True, f"SELECT rrd.update(ARRAY['{{w}}.a', '{{w}}.c'], ARRAY[{T20}, {T20}], "
                                        "ARRAY[2, 2]::float8[])"),
    "INSERT INTO rrd.points, two series": (True, f"INSERT INTO rrd.points VALUES ('{{w}}.a', {T20}, 2), "
                                                 f"('{{w}}.c', {T20}, 2)"),
}
# What each operation must leave: the error (None: none), then LAST at
# 20 s of the series named W.a and W.b (None: no such series; '-':
# unknown). W.c has the point when the write has no error, if it names W.c.
WAIT_WANT = {
    "rename": ("42704", {"a": None, "b": "-"}),
    "drop": ("42704", {"a": None, "b": None}),
    "drop and create": (None, {"a": "2", "b": None}),
    "tune": (None, {"a": "-", "b": None}),
}


def waits(cl, case):
    conn = fresh_db(cl, "bench_waits")
    holder, writer = cl.connect("bench_waits"), cl.connect("bench_waits")
    wpid = one(writer, "SELECT pg_backend_pid()")
    k = 0
    for op, op_sql in WAIT_OPS.items():
        for form, (two, sql) in WAIT_FORMS.items():
            k += 1
            w = f"w{k}"
            for n in ("a", "c"):
                conn.execute(f"SELECT rrd.create('{w}.{n}', %s, to_timestamp(1600000000))", (WAIT_DEF,))
                conn.execute(f"SELECT rrd.update('{w}.{n}', to_timestamp(1600000010), 1::float8)")
            holder.execute("BEGIN")
            for q in op_sql:
                holder.execute(q.format(w=w))
            out = {}

            def write():
                try:
                    writer.execute(sql.format(w=w))
                    out["state"] = None
                except psycopg.Error as e:
                    out["state"], out["msg"] = e.sqlstate, str(e).splitlines()[0]

            th = threading.Thread(target=write)
            th.start()
            waited = False
            for _ in range(500):
                if one(conn, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (wpid,)):
                    waited = True
                    break
                if not th.is_alive():
                    break
                time.sleep(0.01)
            holder.execute("COMMIT")
            th.join(60)
            want_state, want_rows = WAIT_WANT[op][0], dict(WAIT_WANT[op][1])
            want_rows["c"] = "2" if two and want_state is None else "-"
            got = {}
            for n in ("a", "b", "c"):
                exists = one(conn, "SELECT count(*) FROM rrd.series WHERE name = %s", (f"{w}.{n}",))
                got[n] = one(conn, f"SELECT coalesce((SELECT coalesce(v::text, '-') FROM rrd.fetch('{w}.{n}', 'LAST', "
                                   f"to_timestamp(1600000010), to_timestamp(1600000030)) WHERE t = {T20}), "
                                   "'(no row)')") if exists else None
            case.count("waits")
            case.check(waited, f"{form} did not wait for {op} in another transaction")
            case.check(out.get("state") == want_state and got == want_rows,
                       f"{form} waiting for {op} of {w}.a: gave {out.get('state') or 'no error'}"
                       f"{': ' + out['msg'] if out.get('msg') else ''}, then LAST at 20 s of {w}.a, {w}.b, {w}.c "
                       f"(None: no such series): {[got[n] for n in 'abc']}; want {want_state or 'no error'}, "
                       f"{[want_rows[n] for n in 'abc']}")
    for c in (holder, writer, conn):
        c.close()


# ---------------------------------------------------------------- checks

def check_errors(case, conn):
    """Errors the wrappers caught: only those allowed, each 22008 a race."""
    by = conn.execute("SELECT script, sqlstate, count(*) FROM bench.errors GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    states = collections.Counter()
    for script, state, n in by:
        states[state] += n
        if state not in ALLOWED.get(script, set()):
            first = one(conn, "SELECT message || ' (' || array_to_string(names[1:5], ',') || ')' FROM bench.errors "
                              "WHERE script = %s AND sqlstate = %s ORDER BY seq LIMIT 1", (script, state))
            case.fail(f"{script}: {n} errors {state}, first: {first}")
        else:
            case.check(True, "")
    # A refused point had a later or equal point of one of its series
    # committed before the refusal, or its series was made anew after it.
    conn.execute("CREATE INDEX ON bench.log (name, t)")
    unexplained = conn.execute("""
        SELECT e.script, e.names[1:4], e.t, e.at, e.message FROM bench.errors e
        WHERE e.sqlstate = '22008'
          AND NOT EXISTS (SELECT 1 FROM bench.log l WHERE l.name = ANY(e.names) AND l.t >= e.t AND l.t <= e.at)
          AND NOT EXISTS (SELECT 1 FROM bench.events v WHERE v.op = 'create' AND v.name = ANY(e.names)
                          AND v.start >= e.t)
        ORDER BY e.seq""").fetchall()
    case.check(not unexplained, f"{len(unexplained)} statements refused 22008 with no point of their series "
                                f"committed at or after their time before the refusal, first: {unexplained[:2]}")
    strays = conn.execute("SELECT count(*) FILTER (WHERE NOT (names[1] LIKE 'adm.%')) FROM bench.errors "
                          "WHERE sqlstate = '42704'").fetchone()[0]
    case.check(strays == 0, f"{strays} errors 42704 on series the admin client does not change")
    return states


def load(cl, case, args, tmp):
    """The four pgbench runs at once, their checks, the replay and the reads."""
    conn = fresh_db(cl, "bench")
    start = int(time.time()) - 20
    n_series, lanes = setup(conn, start)
    case.notes.append(f"{n_series} series, the batch series in {lanes} lanes")
    print(f"pgbench: cluster {cl.dir} on port {cl.port}; {n_series} series; {args.seconds:.0f} s of "
          f"pgbench, groups " + ", ".join(f"{g} ({c} clients)" for g, (c, _, _) in GROUPS.items()), flush=True)
    log0 = cl.log_size()
    t0 = time.time()
    results = run_pgbench(cl, args.seconds, tmp)
    print(f"pgbench: the runs took {time.time() - t0:.1f} s", flush=True)
    per_script = {}
    transactions = 0
    for grp, (rc, stdout, stderr) in results.items():
        tx = field(stdout, "number of transactions actually processed")
        failed = field(stdout, "number of failed transactions")
        deadlocks = field(stdout, "number of deadlock failures") or 0
        serial = field(stdout, "number of serialization failures") or 0
        for m in PER_SCRIPT.finditer(stdout):
            per_script[os.path.basename(m.group(1))[:-4]] = (int(m.group(2)), int(m.group(3) or 0))
        transactions += tx or 0
        tps = re.search(r"^tps = ([\d.]+)", stdout, flags=re.M)
        print(f"  {grp}: {tx} transactions ({tps.group(1) if tps else '?'} tps), {failed} failed "
              f"({deadlocks} deadlocks, {serial} serialization failures), exit {rc}", flush=True)
        case.check(rc == 0, f"{grp}: pgbench exited {rc}: {stderr.strip()[-1500:]}")
        case.check(tx is not None and tx > 0, f"{grp}: no transactions: {stdout[-800:]} {stderr[-800:]}")
        case.check(deadlocks == 0, f"{grp}: {deadlocks} deadlocks (40P01): "
                                   + "; ".join(line for line in stderr.splitlines() if "deadlock" in line)[:1500])
        case.check(not failed, f"{grp}: {failed} failed transactions ({serial} serialization failures): "
                               f"{stderr.strip()[-1500:]}")
    case.count("transactions", transactions)
    errors = dict(((s, st), n) for s, st, n in conn.execute(
        "SELECT script, sqlstate, count(*) FROM bench.errors GROUP BY 1, 2").fetchall())
    for grp, (_, _, scripts) in GROUPS.items():
        for name, _, _ in scripts:
            tx, failed = per_script.get(name, (0, 0))
            errs = {st: n for (s, st), n in errors.items() if s == name}
            print(f"    {name}: {tx} transactions, {failed} failed, caught: "
                  + (", ".join(f"{n} {st}" for st, n in sorted(errs.items())) or "none"), flush=True)
            case.check(tx > 0, f"{name}: no transactions")
    states = check_errors(case, conn)
    case.notes.append("errors by SQLSTATE: " + (", ".join(f"{n} {st}" for st, n in sorted(states.items()))
                                                or "none"))
    print(f"pgbench: errors by SQLSTATE: {dict(states) or 'none'}", flush=True)
    log = cl.log(log0)
    for pat in [r"deadlock detected", r"terminated by signal", r"PANIC", r"TRAP:", r"left out"]:
        hits = [line for line in log.splitlines() if re.search(pat, line)]
        case.check(not hits, f"server.log: {len(hits)} lines like {hits[:1]}")
    waits = len(re.findall(r"still waiting for", log))
    case.notes.append(f"{waits} lock waits over deadlock_timeout logged")
    committed = one(conn, "SELECT count(*) FROM bench.log")
    pending = one(conn, "SELECT rrd.pending()")
    case.count("points committed", committed)
    same = one(conn, "SELECT count(*) FROM bench.log WHERE name = 'one.0'")
    case.check(same > 100, f"only {same} points committed on the one series")
    case.check(states.get("22008", 0) > 0, "no 22008 race at all: the writers of one series never met")
    print(f"pgbench: {committed} points committed ({same} on one.0), {pending} pending at the end", flush=True)

    # The replay, and every read on both.
    dst = fresh_db(cl, "bench_replay")
    conn.autocommit = False
    t1 = time.time()
    points, ops = replay(case, conn, dst)
    conn.autocommit = True
    case.count("points replayed", points)
    case.check(points == committed, f"{points} points replayed of {committed} committed")
    print(f"pgbench: {points} points replayed, admin operations {dict(ops)} ({time.time() - t1:.1f} s)",
          flush=True)
    end = one(conn, "SELECT max(t) FROM bench.log")
    window = (one(conn, "SELECT to_timestamp(%s) - interval '20 s'", (start,)), one(
        conn, "SELECT %s::timestamptz + interval '20 s'", (end,)))
    names = [sorted(r[0] for r in c.execute("SELECT name FROM rrd.series").fetchall()) for c in (conn, dst)]
    case.check(names[0] == names[1], f"series: loaded {len(names[0])}, replayed {len(names[1])}: "
                                     f"{sorted(set(names[0]) ^ set(names[1]))[:10]}")
    compare(case, reads(conn, window), reads(dst, window), "before rrd.flush()")
    case.verify(conn, "loaded, before rrd.flush()")
    case.verify(dst, "replayed, before rrd.flush()")
    folded = one(conn, "SELECT rrd.flush()")
    case.check(folded == pending, f"rrd.flush() folded {folded} of {pending} pending")
    one(dst, "SELECT rrd.flush()")
    compare(case, reads(conn, window), reads(dst, window), "after rrd.flush()")
    case.verify(conn, "loaded, after rrd.flush()")
    case.verify(dst, "replayed, after rrd.flush()")
    print(f"pgbench: {case.tried.get('reads compared', 0)} reads compared", flush=True)
    conn.close()
    dst.close()
    return transactions


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(ROOT, ".pgdata", "pgbench"), help="the cluster's folder")
    ap.add_argument("--port", type=int, default=55490)
    ap.add_argument("--seconds", type=float, default=60, help="length of the pgbench runs (all at once)")
    ap.add_argument("--keep", action="store_true", help="leave the cluster's folder behind")
    args = ap.parse_args()
    t_all = time.time()
    cl = pgcluster.Cluster(args.dir, args.port, name="pgbench")
    cases = [Case("waits"), Case("load")]
    tmp = tempfile.mkdtemp(prefix="pg_rrd-pgbench-")
    os.chmod(tmp, 0o755)
    transactions = [0]
    try:
        cl.stop()
        shutil.rmtree(cl.dir, ignore_errors=True)
        cl.start()
        with open(os.path.join(cl.data, "postgresql.conf"), "a") as f:
            f.write("\n# pgrx-tests/pgbench.py\nmax_connections = 60\nmax_wal_size = '2GB'\n"
                    "log_lock_waits = on\n")
        cl.restart()
        details = {
            "waits": "a write waiting for a rename, drop, drop and create, or tune of its series in another "
                     "transaction, in each form of rrd.update and INSERT into rrd.points, against what the "
                     "commit left",
            "load": f"{args.seconds:.0f} s of pgbench at once: 8 clients on one series, 8 on a series each, "
                    "6 sending overlapping batches in shuffled orders and stray writers, 1 renaming, tuning, "
                    "dropping and re-creating other series and folding; the committed points replayed and "
                    "every read compared",
        }

        def run_load(_, case):
            transactions[0] = load(cl, case, args, tmp)

        for case, fn in zip(cases, [lambda _, c: waits(cl, c), run_load]):
            t0 = time.time()
            try:
                fn(None, case)
            except Exception as e:  # noqa: BLE001 - reported as a failure of the case
                case.fail(f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
            line = case.summary(time.time() - t0)
            print(line, flush=True)
            summary = re.sub(r"; \d+ failures \([\d.]+ s\)$", "", line.split(": ", 1)[-1])
            detail = f"{details[case.name]}: {summary}"
            if case.failures:
                detail += f"; first failure: {case.failures[0].splitlines()[0][:300]}"
            reliability.record("pgbench", f"pgbench {case.name}",
                               transactions[0] if case.name == "load" else case.tried.get("waits", 0),
                               len(case.failures), detail)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            cl.stop()
        except Exception as e:  # noqa: BLE001
            print(f"pgbench: stopping {cl.dir}: {e}", file=sys.stderr)
        failures = sum(len(c.failures) for c in cases)
        if not failures and not args.keep:
            shutil.rmtree(cl.dir, ignore_errors=True)
    print(f"pgbench: {transactions[0]} transactions, {failures} failures ({time.time() - t_all:.1f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
