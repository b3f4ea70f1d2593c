"""Private PostgreSQL clusters for the suites in this folder, and the
bookkeeping of their cases.

A cluster lives in a folder of scripts/cluster.sh's layout (data/, sock/,
server.log); its server runs as the postgres user, and sessions reach it
on its socket as the postgres user. The suites run as root or as postgres
and import this module from their own folder (sys.path[0] when they are
run as `python3 pgrx-tests/NAME.py`).
"""

import os
import re
import signal
import subprocess
import threading
import time
import traceback

import psycopg

import reliability

PGBIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")


def as_pg():
    """The prefix that runs a command as the postgres user: sudo when root."""
    return [] if os.geteuid() != 0 else ["sudo", "-u", "postgres"]


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """The fields of /proc/PID/stat after the command's name (state, parent
    pid, ...), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()


def alive(pid):
    """True if the process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def children(pid):
    """The pids of the processes whose parent is `pid`."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None and int(st[1]) == pid:
                out.append(int(d))
    return out


# ---------------------------------------------------------------- clusters

class Cluster:
    """A private cluster in the folder `path` on `port`, started (initdb on
    first use) and stopped by scripts/cluster.sh. `name`, when given, begins
    the messages of its errors."""

    def __init__(self, path, port, name=None):
        self.name = name
        self.dir = os.path.abspath(path)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "server.log")
        self.port = port

    def _who(self):
        return f"{self.name}: " if self.name else ""

    def connect(self, dbname="postgres", autocommit=True, **kw):
        """A session as the postgres user, on the cluster's socket."""
        return psycopg.connect(host=self.sock, port=self.port, user="postgres", dbname=dbname,
                               autocommit=autocommit, **kw)

    def start(self):
        """Starts the server (makes the cluster if there is none)."""
        p = subprocess.run(["bash", CLUSTER_SH, "start", self.dir, str(self.port)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{self._who()}cluster.sh start: {p.stderr.strip()[-800:]}")

    def stop(self):
        """Stops the server if there is a cluster; kill -9 if that fails or
        leaves the postmaster alive."""
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            return
        p = subprocess.run(["bash", CLUSTER_SH, "stop", self.dir], capture_output=True, text=True)
        if p.returncode != 0 or self.postmaster_pid() is not None:
            self.kill9()

    def restart(self):
        """A clean stop (an error if it fails), then a start."""
        subprocess.run(["bash", CLUSTER_SH, "stop", self.dir], check=True)
        self.start()

    def postmaster_pid(self):
        """The postmaster's pid if it is alive."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def kill9(self):
        """kill -9 of the postmaster and every process it started, all at
        once (the postmaster is stopped first, so that it starts no more).
        Returns how many processes were killed."""
        pid = self.postmaster_pid()
        if pid is None:
            return 0
        os.kill(pid, signal.SIGSTOP)
        victims = children(pid) + [pid]
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Gone, and reaped: pg_ctl takes a zombie postmaster for a running one.
        deadline = time.time() + 20
        while any(proc_stat(p) is not None for p in victims):
            if time.time() > deadline:
                raise RuntimeError(f"{self._who()}processes {victims} survived kill -9")
            time.sleep(0.02)
        return len(victims)

    def log_size(self):
        """The size of server.log, where log(since=...) can start later."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log(self, since=0):
        """server.log from byte `since` on ("" if there is none)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def base_backup(data, host, port, **run):
    """pg_basebackup of the server at host:port into the folder `data`, as
    the postgres user, set up as its standby (-R); `run` goes to
    subprocess.run."""
    subprocess.run([*as_pg(), f"{PGBIN}/pg_basebackup", "-D", data, "-R", "-c", "fast",
                    "-h", host, "-p", str(port), "-U", "postgres"], check=True, **run)


def fresh_db(cluster, name):
    """A new database `name` with pg_rrd in it (an old one dropped, its
    sessions ended first): a session on it."""
    base = cluster.connect("postgres")
    base.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    base.execute(f"CREATE DATABASE {name}")
    base.close()
    conn = cluster.connect(name)
    conn.execute("CREATE EXTENSION pg_rrd")
    return conn


def drop_db(cluster, name):
    """Drops database `name` if it is there, ending its sessions."""
    base = cluster.connect("postgres")
    base.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    base.close()


# ---------------------------------------------------------------- statements

def one(conn, sql, args=None):
    """The first column of the first row of `sql`."""
    return conn.execute(sql, args).fetchone()[0]


def sqlstate(conn, sql, args=None):
    """The SQLSTATE `sql` fails with, or None."""
    try:
        conn.execute(sql, args)
        return None
    except psycopg.Error as e:
        return e.sqlstate or f"({type(e).__name__}: {e})"


# ---------------------------------------------------------------- cases

class Case:
    """What one case tried and the failures it found; the first 25 are
    printed as they are found. Each suite gives it its summary()."""

    def __init__(self, name):
        self.name = name
        self.tried = {}
        self.notes = []
        self.failures = []
        # Checks made (a failure reported without a check is one more).
        self.checks = 0
        # rrd.verify() runs, and those that listed no problem.
        self.verify_runs = self.verify_clean = 0
        self.lock = threading.Lock()

    def count(self, what, n=1):
        with self.lock:
            self.tried[what] = self.tried.get(what, 0) + n

    def fail(self, msg, checked=False):
        with self.lock:
            self.failures.append(msg)
            shown = len(self.failures)
            if not checked:
                self.checks += 1
        if shown <= 25:
            print(f"  {self.name}: FAIL {msg}", flush=True)
        elif shown == 26:
            print(f"  {self.name}: (more failures not shown)", flush=True)

    def check(self, cond, msg):
        with self.lock:
            self.checks += 1
        if not cond:
            self.fail(msg, checked=True)
        return cond

    def verify(self, conn, what, name=None):
        """rrd.verify() (of series `name`, when given) on `conn` must list
        no problem; counted in verify_runs and verify_clean. True if clean."""
        rows = conn.execute("SELECT series, problem FROM rrd.verify(%s)", (name,)).fetchall()
        with self.lock:
            self.verify_runs += 1
            self.verify_clean += not rows
        shown = "; ".join(f"{s or '(all)'}: {p}" for s, p in rows[:8])
        more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
        return self.check(not rows, f"{what}: rrd.verify() lists {len(rows)} problems: {shown}{more}")

    def verified(self):
        """"verify: N clean of M" for a summary line, or "" when verify never ran."""
        return f"verify: {self.verify_clean} clean of {self.verify_runs}" if self.verify_runs else ""


def run_case(fn, ctx, case, suite=None, what=None):
    """fn(ctx, case), an exception being one more failure of the case, then
    the case's summary line printed, and, with `suite`, its line for
    docs/reliability.md (reliability.record: the checks made, the failures,
    `what` the case tries and its summary). True if the case failed."""
    t0 = time.time()
    try:
        fn(ctx, case)
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the next case runs
        case.fail(f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}")
    line = case.summary(time.time() - t0)
    print(line, flush=True)
    if suite:
        record_case(suite, case, line, what)
    return len(case.failures) > 0


def record_case(suite, case, line, what=None):
    """The reliability line of a case: its checks, failures, what it tries
    and its summary line (and the first failure, when there is one)."""
    detail = re.sub(r"; \d+ failures \([\d.]+ s\)$", "", line.split(": ", 1)[-1])
    if what:
        detail = f"{what}: {detail}"
    if case.failures:
        detail += f"; first failure: {case.failures[0].splitlines()[0][:300]}"
    reliability.record(suite, f"{suite} {case.name}", max(case.checks, 1), len(case.failures), detail)
