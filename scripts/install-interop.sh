#!/usr/bin/env bash
# Installs what pgrx-tests/interop.py and scripts/import-rrd, scripts/import-whisper need, and only
# what is missing, so a second run installs nothing:
#   install-interop.sh [VENV]     (default .venv, shared with scripts/install-graphite.sh)
# From Debian: rrdtool and its Python module (the oracle), collectd-core (a real collectd that
# writes .rrd files), python3-psycopg and python3-venv. From PyPI, into the virtual environment
# (made with --system-site-packages, so it sees the Debian modules): whisper 1.1.10, Graphite's
# own reader and writer of .wsp files.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=$(realpath -m "${1:-$root/.venv}")
WHISPER_VERSION=1.1.10

apt_pkgs=(rrdtool python3-rrdtool collectd-core python3-psycopg python3-venv)
missing=()
for p in "${apt_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-interop: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: collectd-core alone, without the daemon's recommended extras.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# collectd-core's package starts no daemon (collectd does); make sure none runs from an
# earlier install, since the test runs its own in the foreground.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet collectd 2>/dev/null; then
  systemctl stop collectd || true
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "install-interop: python3 -m venv --system-site-packages $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
# The environment is no part of the repository.
[ -f "$venv/.gitignore" ] || echo '*' >"$venv/.gitignore"

if ! "$venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('whisper') != '$WHISPER_VERSION')" 2>/dev/null; then
  echo "install-interop: pip install whisper==$WHISPER_VERSION"
  "$venv/bin/python" -m pip -q --disable-pip-version-check install "whisper==$WHISPER_VERSION"
fi
