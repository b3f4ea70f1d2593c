"""Imports a folder of RRDtool (.rrd) or Whisper (.wsp) files into pg_rrd (docs/import.md).

The code behind scripts/import-rrd and scripts/import-whisper. Each file becomes the series
named after its path below DIR, slashes turned into dots and the suffix dropped
(web01/cpu/load.rrd is web01.cpu.load), with --prefix P prepended as "P."; an .rrd file of
several data sources becomes one series per data source (web01.if.eth0.rx, ...tx). Each file
is imported in a transaction of its own, so one that fails leaves nothing behind and stops
no other. An existing series is skipped (a second run is safe), or replaced with --replace.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

try:
    import psycopg
except ImportError:  # pragma: no cover
    sys.exit("import: the psycopg module is missing: apt-get install -y python3-psycopg "
             "and run with /usr/bin/python3")

KINDS = {
    "rrd": {"suffix": ".rrd", "what": "RRDtool", "function": "rrd.import_rrdtool"},
    "whisper": {"suffix": ".wsp", "what": "Whisper", "function": "rrd.import_whisper"},
}


def series_name(root, path, suffix, prefix):
    """The series name of the file at `path` below `root`."""
    rel = os.path.relpath(path, root)
    rel = rel[: -len(suffix)]
    name = ".".join(p for p in rel.split(os.sep) if p)
    return prefix + "." + name if prefix else name


def find_files(root, suffix):
    """Every file below root whose name ends in suffix, in a stable order."""
    found = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(suffix) and len(f) > len(suffix):
                found.append(os.path.join(d, f))
    return found


def rrdtool_dump(path, rrdtool):
    """The `rrdtool dump` XML of the file at path."""
    try:
        p = subprocess.run([rrdtool, "dump", path], capture_output=True)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (rrdtool, e))
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip() or "exit status %d" % p.returncode
        raise RuntimeError("rrdtool dump failed: %s" % msg)
    try:
        return p.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RuntimeError("rrdtool dump printed text that is not UTF-8: %s" % e)


def error_text(e):
    """One line for a database error: SQLSTATE and message."""
    diag = getattr(e, "diag", None)
    state = getattr(e, "sqlstate", None) or ""
    msg = (diag.message_primary if diag is not None and diag.message_primary else str(e)).strip()
    return ("%s %s" % (state, msg)).strip().replace("\n", " ")


def import_one(conn, kind, args, path, name):
    """Imports one file in a transaction of its own; returns [(series, action)]."""
    if kind == "rrd":
        payload = rrdtool_dump(path, args.rrdtool)
    else:
        with open(path, "rb") as f:
            payload = f.read()
    mode = "replace" if args.replace else "skip"
    with conn.transaction():
        with conn.cursor() as cur:
            if kind == "rrd":
                cur.execute("SELECT series, action FROM rrd.import_rrdtool(%s, %s, %s, %s)",
                            (name, payload, args.skip_unsupported, mode))
            else:
                cur.execute("SELECT series, action FROM rrd.import_whisper(%s, %s, %s, %s)",
                            (name, payload, args.heartbeat, mode))
            return cur.fetchall()


def parse_args(kind, argv):
    k = KINDS[kind]
    ap = argparse.ArgumentParser(
        prog="import-" + kind,
        description="Imports every %s file (*%s) below DIR into pg_rrd with %s, one series per "
                    "file%s, named after its path below DIR (slashes become dots, the suffix "
                    "goes). Existing series are skipped unless --replace. Connection settings "
                    "come from --dsn or the libpq environment (PGHOST, PGPORT, PGUSER, "
                    "PGDATABASE, ...)." % (k["what"], k["suffix"], k["function"],
                                           " (one per data source)" if kind == "rrd" else ""))
    ap.add_argument("dir", metavar="DIR", help="the folder to walk")
    ap.add_argument("--prefix", default="", help="prepended to every name, with a dot")
    ap.add_argument("--replace", action="store_true",
                    help="replace series that exist (default: skip them)")
    ap.add_argument("--dsn", default="", help="a libpq connection string (default: the environment)")
    ap.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    if kind == "rrd":
        ap.add_argument("--skip-unsupported", action="store_true",
                        help="import files with COMPUTE data sources or Holt-Winters archives "
                             "without those parts (default: such files fail)")
        ap.add_argument("--rrdtool", default="rrdtool", help="the rrdtool program (default: rrdtool)")
    else:
        ap.add_argument("--heartbeat", type=int, default=None,
                        help="heartbeat of the series in seconds (default: twice the finest step)")
    args = ap.parse_args(argv)
    args.prefix = args.prefix.strip(".")
    return args


def main(kind, argv=None):
    # Piped into head or less: stop quietly when the reader goes.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = parse_args(kind, sys.argv[1:] if argv is None else argv)
    suffix = KINDS[kind]["suffix"]
    if not os.path.isdir(args.dir):
        print("import-%s: %s is not a folder" % (kind, args.dir), file=sys.stderr)
        return 2
    files = find_files(args.dir, suffix)
    if not files:
        print("import-%s: no *%s file below %s" % (kind, suffix, args.dir))
        return 0
    try:
        conn = psycopg.connect(args.dsn)
    except psycopg.Error as e:
        print("import-%s: cannot connect: %s" % (kind, str(e).strip()), file=sys.stderr)
        return 2
    counts = {"created": 0, "replaced": 0, "skipped": 0}
    failed = []
    t0 = time.time()
    width = len(str(len(files)))
    # What the server says on the way (skip_unsupported names what it left out).
    conn.add_notice_handler(lambda d: print("    NOTICE: %s" % d.message_primary, flush=True))
    with conn:
        for i, path in enumerate(files, 1):
            name = series_name(args.dir, path, suffix, args.prefix)
            rel = os.path.relpath(path, args.dir)
            try:
                rows = import_one(conn, kind, args, path, name)
            except (RuntimeError, OSError) as e:
                failed.append((rel, str(e)))
                print("[%*d/%d] %s: FAILED: %s" % (width, i, len(files), rel, e), flush=True)
                continue
            except psycopg.Error as e:
                if conn.closed:
                    failed.append((rel, error_text(e)))
                    print("[%*d/%d] %s: FAILED: %s (connection lost; stopping)"
                          % (width, i, len(files), rel, error_text(e)), flush=True)
                    break
                failed.append((rel, error_text(e)))
                print("[%*d/%d] %s: FAILED: %s" % (width, i, len(files), rel, error_text(e)), flush=True)
                continue
            for series, action in rows:
                counts[action] = counts.get(action, 0) + 1
            if not args.quiet:
                shown = ", ".join("%s %s" % (s, a) for s, a in rows)
                print("[%*d/%d] %s: %s" % (width, i, len(files), rel, shown), flush=True)
    done = len(files) - len(failed)
    print("import-%s: %d files, %d imported, %d failed; series: %d created, %d replaced, %d skipped "
          "(%.1fs)" % (kind, len(files), done, len(failed), counts["created"], counts["replaced"],
                       counts["skipped"], time.time() - t0))
    if failed:
        print("failed:")
        for rel, why in failed:
            print("  %s: %s" % (rel, why))
        return 1
    return 0
