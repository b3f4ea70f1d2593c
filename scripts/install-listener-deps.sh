#!/usr/bin/env bash
# Installs what pgrx-tests/listener.py needs beyond scripts/install-deps.sh, and only what is
# missing, so a second run installs nothing: collectd-core from Debian (a real collectd, whose
# write_graphite plugin sends to the listener; the package starts no daemon, the test runs its
# own in the foreground).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
apt_missing install-listener-deps collectd-core
