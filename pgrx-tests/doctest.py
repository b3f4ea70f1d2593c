#!/usr/bin/python3
"""Runs the SQL examples of docs/*.md and compares their output.

In a page, every ```sql block runs through psql, in order, in one session
on a fresh database with pg_rrd created. When a ```text block follows it,
psql's output (errors included) must equal that block exactly; a ```sql
block without one must print nothing. Connection settings come from the
libpq environment (PGHOST, PGPORT, PGUSER); PGTZ is forced to UTC.
With --bless, the pages' text blocks are rewritten from what psql printed
(review the diff before committing it). With RELIABILITY_DIR set, the
run's line (blocks, failed blocks) goes to $RELIABILITY_DIR/doctest.json.
"""
import os
import re
import subprocess
import sys

import reliability

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = "@@doctest-block-{}@@"


def blocks(path):
    """Yields (sql, expected or None, line) for each sql block of a page."""
    lines = open(path, encoding="utf-8").read().split("\n")
    parsed, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            lang, start, body = m.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            parsed.append((lang, "\n".join(body), start))
        i += 1
    out = []
    for n, (lang, body, line) in enumerate(parsed):
        if lang != "sql":
            continue
        nxt = parsed[n + 1] if n + 1 < len(parsed) else None
        expected = nxt[1] if nxt and nxt[0] == "text" else None
        out.append((body, expected, line))
    return out


def psql(db, script):
    env = dict(os.environ, PGTZ="UTC", PGDATABASE=db)
    return subprocess.run(
        ["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=0"],
        input=script, capture_output=True, text=True, env=env,
    )


def bless(path, outputs):
    """Rewrites the text blocks after each sql block with `outputs`."""
    lines = open(path, encoding="utf-8").read().split("\n")
    result, i, n = [], 0, 0
    while i < len(lines):
        result.append(lines[i])
        m = FENCE.match(lines[i])
        if m and m.group(1) == "sql":
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                result.append(lines[i])
                i += 1
            result.append(lines[i])
            i += 1
            j = i
            while j < len(lines) and lines[j].strip() == "":
                j += 1
            if j < len(lines) and lines[j].startswith("```text"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("```"):
                    k += 1
                i = k + 1
            out = outputs[n]
            n += 1
            if out:
                result += ["```text"] + out.split("\n") + ["```"]
            continue
        i += 1
    open(path, "w", encoding="utf-8").write("\n".join(result))


def run_page(path, write=False):
    db = "doctest_" + re.sub(r"\W", "_", os.path.basename(path))
    admin = [f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}"]
    for stmt in admin:
        r = psql("postgres", stmt + ";")
        if r.returncode != 0:
            sys.exit(f"doctest: {stmt}: {r.stderr}")
    r = psql(db, "CREATE EXTENSION pg_rrd;")
    if r.returncode != 0 or r.stderr:
        sys.exit(f"doctest: CREATE EXTENSION: {r.stderr}")
    bs = blocks(path)
    script = "".join(f"\\echo {MARK.format(n)}\n{sql}\n" for n, (sql, _, _) in enumerate(bs))
    env = dict(os.environ, PGTZ="UTC", PGDATABASE=db)
    proc = subprocess.run(
        ["/usr/lib/postgresql/15/bin/psql", "-X", "-q"],
        input=script, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    chunks = re.split(r"^@@doctest-block-\d+@@\n", proc.stdout, flags=re.M)[1:]
    psql("postgres", f"DROP DATABASE IF EXISTS {db};")
    failures = 0
    if write:
        outs = [re.sub(r"^psql:<stdin>:\d+: ", "", g, flags=re.M).rstrip("\n") for g in chunks]
        bless(path, outs + [""] * (len(bs) - len(outs)))
        return len(bs), 0
    for (sql, expected, line), got in zip(bs, chunks + [""] * (len(bs) - len(chunks))):
        got = re.sub(r"^psql:<stdin>:\d+: ", "", got, flags=re.M).rstrip("\n")
        want = (expected or "").rstrip("\n")
        if got != want:
            failures += 1
            print(f"--- {path}:{line}: output differs\n{sql}\n--- expected\n{want}\n--- got\n{got}\n")
    return len(bs), failures


def main():
    write = "--bless" in sys.argv
    pages = [a for a in sys.argv[1:] if a != "--bless"]
    total = failed = 0
    for page in pages:
        n, f = run_page(page, write)
        total += n
        failed += f
        print(f"doctest: {page}: {n} blocks, {f} failed")
    print(f"{total - failed} passed, {failed} failed")
    if not write:
        reliability.record("doctest", "doctest", total, failed,
                           f"every SQL block of {len(pages)} pages of docs/ run by psql, its output compared with "
                           f"the text block after it")
    sys.exit(1 if failed or total == 0 else 0)


if __name__ == "__main__":
    main()
