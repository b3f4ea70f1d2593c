#!/usr/bin/env bash
# Installs what pg_rrd needs to build and test, and only what is missing
# (libssl-dev and pkg-config are for building cargo-pgrx itself),
# so a second run installs nothing. Safe to run as root on Debian 12.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

# shellcheck source=scripts/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
apt_missing install-deps postgresql-15 postgresql-server-dev-15 libclang-dev sudo rrdtool \
  python3-rrdtool pkg-config libssl-dev make python3-psycopg

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  echo "install-deps: cargo install cargo-pgrx $PGRX_VERSION"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  echo "install-deps: cargo pgrx init --pg15"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
