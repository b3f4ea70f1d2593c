#!/usr/bin/env bash
# Builds pg_rrd and installs it into PostgreSQL 15's directories.
#   install-ext.sh [--debug]
# Each file is written beside its target and renamed over it, so a server
# that has the old pg_rrd.so mapped keeps running on the old file instead of
# crashing on a library rewritten under it (what an in-place copy does).
set -euo pipefail
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$out" "$log"' EXIT
if ! cargo pgrx package --manifest-path "$here/Cargo.toml" --pg-config "$PG_CONFIG" --out-dir "$out" "$@" >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
(cd "$out" && find . -type f) | while read -r f; do
  dest="/${f#./}"
  mkdir -p "$(dirname "$dest")"
  cp "$out/$f" "$dest.new.$$"
  chmod 0644 "$dest.new.$$"
  case "$dest" in *.so) chmod 0755 "$dest.new.$$" ;; esac
  mv -f "$dest.new.$$" "$dest"
done
# The install scripts of released versions, kept so that a database made
# with one of them can be updated (ALTER EXTENSION pg_rrd UPDATE).
extdir=$("$PG_CONFIG" --sharedir)/extension
for f in "$here"/sql/released/pg_rrd--*.sql; do
  [ -e "$f" ] || continue
  dest="$extdir/$(basename "$f")"
  cp "$f" "$dest.new.$$"
  chmod 0644 "$dest.new.$$"
  mv -f "$dest.new.$$" "$dest"
done
