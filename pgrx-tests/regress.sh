#!/usr/bin/env bash
# Runs the SQL regression files (pgrx-tests/sql/*.sql against
# pgrx-tests/expected/*.out) with PostgreSQL's own pg_regress, on the
# private test cluster in DIR listening on PORT.
set -euo pipefail
dir=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
out="$dir/regress"
rm -rf "$out" && mkdir -p "$out"
tests=$(cd "$here/sql" && ls *.sql | sed 's/\.sql$//' | sort)
export PGTZ=UTC PGDATESTYLE='ISO, YMD'
if ! "$PG_REGRESS" --inputdir="$here" --outputdir="$out" --bindir=/usr/lib/postgresql/15/bin \
    --host="$dir/sock" --port="$port" --user=postgres --dbname=pg_rrd_regress \
    --load-extension=pg_rrd $tests; then
  cat "$out/regression.diffs" 2>/dev/null | head -200
  exit 1
fi
