#!/usr/bin/env bash
# Installs what pgrx-tests/graph.py needs beyond scripts/install-deps.sh, and only what is
# missing: Debian's chromium, which renders rrd.graph's SVG to PNG headless as a browser
# would show it, and a font for its text (chromium only recommends one, and the install
# leaves recommendations out; DejaVu is what the generic monospace and sans-serif become).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
apt_missing install-graph chromium fonts-dejavu-core
