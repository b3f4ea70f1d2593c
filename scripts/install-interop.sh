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

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
# collectd-core: the daemon alone, without its recommended extras.
apt_missing install-interop rrdtool python3-rrdtool collectd-core python3-psycopg python3-venv
# collectd-core's package starts no daemon (collectd does); make sure none runs from an
# earlier install, since the test runs its own in the foreground.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet collectd 2>/dev/null; then
  systemctl stop collectd || true
fi

make_venv install-interop "$venv"

if ! "$venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('whisper') != '$WHISPER_VERSION')" 2>/dev/null; then
  echo "install-interop: pip install whisper==$WHISPER_VERSION"
  "$venv/bin/python" -m pip -q --disable-pip-version-check install "whisper==$WHISPER_VERSION"
fi
