#!/usr/bin/env bash
# Installs graphite-web 1.1.10 and the pg_rrd finder (integrations/graphite) into a virtual
# environment for pgrx-tests/graphite.py, and only what is missing, so a second run installs
# nothing but the finder again:
#   install-graphite.sh [VENV]     (default .venv)
# From Debian: libcairo2 (cairocffi loads it), python3-venv, and python3-psycopg, which the
# environment sees (it is made with --system-site-packages). From PyPI: graphite-web and its
# dependencies at the versions of integrations/graphite/requirements.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=$(realpath -m "${1:-$root/.venv}")
req=$root/integrations/graphite/requirements.txt

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
apt_missing install-graphite libcairo2 python3-venv python3-psycopg
make_venv install-graphite "$venv"

pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
# The requirements installed last, kept to tell whether they changed.
if ! cmp -s "$req" "$venv/.graphite-requirements"; then
  echo "install-graphite: pip install -r integrations/graphite/requirements.txt"
  # Without GRAPHITE_NO_PREFIX, graphite-web installs itself under /opt/graphite.
  GRAPHITE_NO_PREFIX=1 "${pip[@]}" install -r "$req"
  cp "$req" "$venv/.graphite-requirements"
fi

# The finder itself, built from a copy so that no build files land in the work tree.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/integrations/graphite/." "$tmp/"
"${pip[@]}" install --no-deps --no-build-isolation --force-reinstall "$tmp"
