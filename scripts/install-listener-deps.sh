#!/usr/bin/env bash
# Installs what pgrx-tests/listener.py needs beyond scripts/install-deps.sh, and only what is
# missing, so a second run installs nothing: collectd-core from Debian (a real collectd, whose
# write_graphite plugin sends to the listener). When scripts/install-interop.sh is there, it
# installs collectd-core with the rest of what the interoperability tests need, and is used.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if installed collectd-core; then
  exit 0
fi
if [ -f "$root/scripts/install-interop.sh" ]; then
  exec bash "$root/scripts/install-interop.sh"
fi
echo "install-listener-deps: apt-get install collectd-core"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: the daemon alone; the test runs it in the foreground with its own
# configuration, and the package starts none.
apt-get install -y -qq --no-install-recommends collectd-core >/dev/null
