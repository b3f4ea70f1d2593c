#!/usr/bin/env bash
# Installs what pgrx-tests/plproxy.py and the scale-out layer of sql/plproxy/ need beyond
# scripts/install-deps.sh, and only what is missing: PL/Proxy for PostgreSQL 15 from Debian
# (2.10 or later, for the modular_mapping option that allows three shards).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
apt_missing install-plproxy postgresql-15-plproxy
