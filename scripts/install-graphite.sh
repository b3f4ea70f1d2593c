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

apt_pkgs=(libcairo2 python3-venv python3-psycopg)
missing=()
for p in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-graphite: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "install-graphite: python3 -m venv --system-site-packages $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
# The environment is no part of the repository.
[ -f "$venv/.gitignore" ] || echo '*' >"$venv/.gitignore"

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
