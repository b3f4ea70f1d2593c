#!/usr/bin/env bash
# Installs what pg_rrd needs to build and test, and only what is missing
# (libssl-dev and pkg-config are for building cargo-pgrx itself),
# so a second run installs nothing. Safe to run as root on Debian 12.
set -euo pipefail

PGRX_VERSION=0.18.0
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

apt_pkgs=(postgresql-15 postgresql-server-dev-15 libclang-dev sudo rrdtool python3-rrdtool pkg-config libssl-dev make python3-psycopg)
missing=()
for p in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  echo "install-deps: cargo install cargo-pgrx $PGRX_VERSION"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  echo "install-deps: cargo pgrx init --pg15"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
