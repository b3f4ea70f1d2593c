#!/usr/bin/python3
"""What the suites tried and found, as the table of docs/reliability.md.

    RELIABILITY_DIR=DIR /usr/bin/python3 pgrx-tests/reliability.py [--dir DIR] [--page docs/reliability.md]

Each suite, when RELIABILITY_DIR is set, writes one JSON line per test into
$RELIABILITY_DIR/<suite>.json:

    {"test": "journal crash", "cases": 5, "failures": 0, "detail": "what was tried"}

(record() below does it for the suites of this folder; others write the
same format themselves). This script reads every *.json of the folder and
rewrites the table of the page between the markers
<!-- reliability-table-start --> and <!-- reliability-table-end -->: one row
per line, a total row, and the date and commit it was made at. Exit status
1 if a line reports failures, or if the folder holds no line or a line it
cannot read (the table is written all the same).
"""

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
START = "<!-- reliability-table-start -->"
END = "<!-- reliability-table-end -->"
# The order of the suites in the table (make test's order); others after them by name.
ORDER = ["regress", "doctest", "differential", "alter_differential", "explain", "late", "holes", "journal", "listener",
         "grafana", "graph", "graphite", "interop", "pgbench", "upgrade", "plproxy", "sqlfuzz", "fuzz"]


def record(suite, test, cases, failures, detail):
    """Writes the line of `test` into $RELIABILITY_DIR/<suite>.json when the
    variable is set, in place of an earlier line of the same test (so a rerun
    replaces its line), after the lines of other tests."""
    out_dir = os.environ.get("RELIABILITY_DIR")
    if not out_dir:
        return
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{suite}.json")
    kept = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    if json.loads(line).get("test") != test:
                        kept.append(line.rstrip("\n"))
                except ValueError:
                    kept.append(line.rstrip("\n"))
    except OSError:
        pass
    kept.append(json.dumps({"test": test, "cases": int(cases), "failures": int(failures), "detail": str(detail)}))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in kept))
    os.replace(tmp, path)


def text_of(detail):
    """A detail as one line of text (some suites write an object)."""
    if isinstance(detail, str):
        s = detail
    else:
        s = json.dumps(detail, sort_keys=True)
    return " ".join(s.split())


def cell(s, limit=500):
    s = text_of(s).replace("|", "\\|")
    return s if len(s) <= limit else s[:limit - 3] + "..."


def read_lines(out_dir):
    """(suite, line) for every line of every *.json, and the lines that do not read."""
    rows, bad = [], []
    for path in sorted(glob.glob(os.path.join(out_dir, "*.json"))):
        suite = os.path.basename(path)[:-len(".json")]
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    d["cases"] = int(d["cases"])
                    d["failures"] = int(d["failures"])
                    d.setdefault("test", suite)
                    d.setdefault("detail", "")
                    rows.append((suite, d))
                except (ValueError, KeyError, TypeError) as e:
                    bad.append(f"{os.path.basename(path)}:{n}: {type(e).__name__}: {e}: {line.strip()[:200]}")
    rank = {s: i for i, s in enumerate(ORDER)}
    rows.sort(key=lambda r: (rank.get(r[0], len(ORDER)), r[0] if r[0] not in rank else ""))
    return rows, bad


def commit():
    """The commit the tree is at, with "+ changes" when the tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def table(rows, when, at):
    out = ["| test | what was tried | cases | failures |", "|---|---|---:|---:|"]
    for _, d in rows:
        out.append(f"| {cell(d['test'], 80)} | {cell(d['detail'])} | {d['cases']:,} | {d['failures']:,} |")
    cases = sum(d["cases"] for _, d in rows)
    failures = sum(d["failures"] for _, d in rows)
    suites = len({s for s, _ in rows})
    out.append(f"| **total** | {len(rows)} tests of {suites} suites | **{cases:,}** | **{failures:,}** |")
    out.append("")
    out.append(f"Produced by `pgrx-tests/reliability.py` on {when} at {at}.")
    return "\n".join(out)


def rewrite(page, text):
    with open(page, encoding="utf-8") as f:
        body = f.read()
    i, j = body.find(START), body.find(END)
    if i < 0 or j < i:
        raise SystemExit(f"reliability: {page} has no {START} ... {END}")
    new = body[:i + len(START)] + "\n" + text + "\n" + body[j:]
    if new != body:
        with open(page, "w", encoding="utf-8") as f:
            f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.environ.get("RELIABILITY_DIR"), help="the folder of *.json (RELIABILITY_DIR)")
    ap.add_argument("--page", default=os.path.join(ROOT, "docs", "reliability.md"))
    args = ap.parse_args()
    if not args.dir:
        ap.error("no folder: set RELIABILITY_DIR or give --dir")
    rows, bad = read_lines(args.dir)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rewrite(args.page, table(rows, when, commit()))
    failed = [(s, d) for s, d in rows if d["failures"] > 0]
    cases = sum(d["cases"] for _, d in rows)
    for s, d in failed:
        print(f"reliability: {s}: {d['test']}: {d['failures']} failures: {text_of(d['detail'])[:300]}")
    for b in bad:
        print(f"reliability: unreadable line {b}")
    print(f"reliability: {len(rows)} tests, {cases} cases, {sum(d['failures'] for _, d in rows)} failures; "
          f"table written to {os.path.relpath(args.page, os.getcwd())}")
    if not rows:
        print(f"reliability: no lines in {args.dir}")
    sys.exit(1 if failed or bad or not rows else 0)


if __name__ == "__main__":
    main()
