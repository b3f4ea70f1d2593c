#!/usr/bin/env bash
# Starts or stops a private PostgreSQL 15 cluster owned by the postgres user,
# with its own port and socket directory under DIR.
#   cluster.sh start DIR PORT    (idempotent; initdb on first use)
#   cluster.sh stop DIR
#   cluster.sh prepare DIR       (a folder the postgres user can own and reach)
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
cmd=$1 dir=$(realpath -m "$2") port=${3:-}
as_pg() { if [ "$(id -un)" = postgres ]; then "$@"; else sudo -u postgres "$@"; fi; }

# The server runs as postgres: it must be able to walk down to DIR and own it.
prepare() {
  mkdir -p "$1"
  local p
  p=$(dirname "$1")
  while [ "$p" != / ]; do
    if ! as_pg test -x "$p"; then chmod o+x "$p"; fi
    p=$(dirname "$p")
  done
  chown -R postgres:postgres "$1"
}

case "$cmd" in
prepare)
  prepare "$dir"
  ;;
start)
  mkdir -p "$dir/sock"
  prepare "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  fi
  if ! as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir/sock -c listen_addresses='' -c timezone=UTC" start >/dev/null
  fi
  ;;
stop)
  if [ -f "$dir/data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
  ;;
*)
  echo "usage: $0 start DIR PORT | stop DIR | prepare DIR" >&2
  exit 2
  ;;
esac
