#!/usr/bin/env bash
# Installs what `make fuzz` needs, and only what is missing, so a second run installs nothing:
# cargo-afl (afl.rs) from crates.io, whose install builds AFL++ from the source it ships with
# the machine's C compiler and make. No LLVM plugin is built: rustc's own SanitizerCoverage
# instruments the fuzz targets, on the stable toolchain. scripts/fuzz.sh minimizes the corpus
# with Python.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
apt_missing install-fuzz gcc make python3

export PATH="$HOME/.cargo/bin:$PATH"
AFL_RS=0.18.2
if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $AFL_RS "; then
  echo "install-fuzz: cargo install cargo-afl --version $AFL_RS --locked"
  nice cargo install cargo-afl --version "$AFL_RS" --locked --quiet
fi
# AFL++ and its runtime are built once per rustc version; --version names AFL++ once built.
if ! cargo afl --version 2>/dev/null | grep -q "AFL++ version"; then
  echo "install-fuzz: cargo afl config --build"
  nice cargo afl config --build --force
fi
