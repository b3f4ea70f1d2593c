#!/usr/bin/env bash
# Runs the SQL regression files (pgrx-tests/sql/*.sql against
# pgrx-tests/expected/*.out) with PostgreSQL's own pg_regress, on the
# private test cluster in DIR listening on PORT. With RELIABILITY_DIR set,
# the files passed and failed go to $RELIABILITY_DIR/regress.json.
set -euo pipefail
dir=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
out="$dir/regress"
rm -rf "$out" && mkdir -p "$out"
tests=$(cd "$here/sql" && ls *.sql | sed 's/\.sql$//' | sort)
export PGTZ=UTC PGDATESTYLE='ISO, YMD'
status=0
"$PG_REGRESS" --inputdir="$here" --outputdir="$out" --bindir=/usr/lib/postgresql/15/bin \
    --host="$dir/sock" --port="$port" --user=postgres --dbname=pg_rrd_regress \
    --load-extension=pg_rrd $tests | tee "$out/pg_regress.out" || status=$?
# One line per file: "test NAME ... ok" (or FAILED) in PostgreSQL 15, "ok N - NAME" from 16 on.
passed=$(grep -cE '^(test +\S+ +\.\.\. +ok|ok [0-9]+ )' "$out/pg_regress.out" || true)
failed=$(grep -cE '^(test +\S+ +\.\.\. +FAILED|not ok [0-9]+ )' "$out/pg_regress.out" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import reliability
p, f, names = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
reliability.record("regress", "regress", p + f, f,
    "%d SQL files with expected output run by pg_regress: every function, every error with its SQLSTATE, "
    "storage claims, concurrency, the journal, imports, verify, privileges (%s); %d passed" % (len(names), ", ".join(names), p))' \
  "$here" "$passed" "$failed" "$(echo $tests)"
if [ "$status" -ne 0 ]; then
  cat "$out/regression.diffs" 2>/dev/null | head -200
  exit 1
fi
