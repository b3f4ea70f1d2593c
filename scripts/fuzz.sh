#!/usr/bin/env bash
# make fuzz: coverage-guided fuzzing of rrd-core's parsers with AFL++ (afl.rs, stable Rust).
#
# Each target (crates/rrd-core/fuzz/src/checks.rs) runs FUZZ_SECONDS (default 60) under
# afl-fuzz, niced, one after the other, from the committed corpus plus fresh seeds (the
# definitions, patterns and update strings of docs/*.md, rrd-core's test dumps and Whisper
# files). Then the corpus and the fuzzer's queue are minimized by coverage, at most
# FUZZ_CORPUS_MAX (40) files per target, and written back to
# crates/rrd-core/fuzz/corpus/TARGET/, named by content. Crashes, and hangs that still hang for
# 10 s outside the fuzzer, are copied to crates/rrd-core/fuzz/crashes/TARGET/, where the replay
# of `cargo test -p rrd-core` fails on them until they are fixed. Prints executions, speed and
# edges per target; exits 1 if anything crashed or hung.
#
# FUZZ_TARGETS="def glob ..." runs only those; FUZZ_MAX_BYTES (16384) bounds an input;
# FUZZ_NICE (10) is the fuzzers' niceness.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-def glob stored rrdxml whisper line spec}
keep=${FUZZ_CORPUS_MAX:-40}
max_bytes=${FUZZ_MAX_BYTES:-16384}
niceness=${FUZZ_NICE:-10}
# Milliseconds before afl-fuzz calls a run a hang: generous, since under another build's load a
# niced process may wait seconds for a core; a hang is then checked alone (10 s).
timeout=${FUZZ_TIMEOUT_MS:-5000}
fuzz=$root/crates/rrd-core/fuzz
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=$root/target-fuzz
work=$CARGO_TARGET_DIR/afl

bash "$root/scripts/install-fuzz.sh"
(cd "$fuzz" && nice -n "$niceness" cargo afl build --release --locked --quiet)
bin=$CARGO_TARGET_DIR/release/rrd-fuzz

rm -rf "$work"
mkdir -p "$work/out"
"$bin" seed "$root" "$work/seeds"

# No screen, no CPU binding: other builds on the machine keep their cores.
export AFL_NO_UI=1 AFL_FAST_CAL=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_IGNORE_SEED_PROBLEMS=1

# copy_small SRC... DIR: the files of SRC folders of at most max_bytes, named by content.
copy_small() {
  local dir=${*: -1} f sum
  mkdir -p "$dir"
  for src in "${@:1:$#-1}"; do
    [ -d "$src" ] || continue
    find "$src" -maxdepth 1 -type f ! -name '.*' ! -name README.md ! -name '*.txt' -size -"$((max_bytes + 1))"c -print0 |
      while IFS= read -r -d '' f; do
        sum=$(sha1sum <"$f")
        cp "$f" "$dir/${sum:0:16}"
      done
  done
}

# cover_cap DIR OUT TARGET: the corpus minimized, at most $keep files of DIR into OUT: each
# chosen for the most coverage tuples (edge and hit-count bucket, from afl-showmap) that the
# files chosen before it lack, the smaller first on a tie, until none adds any. (afl-cmin does
# the same without the cap.)
cover_cap() {
  local dir=$1 out=$2 t=$3
  rm -rf "$work/maps"
  cargo afl showmap -q -i "$dir" -o "$work/maps" -t "$timeout" -- "$bin" "$t" >/dev/null 2>&1 || true
  python3 - "$dir" "$work/maps" "$out" "$keep" <<'PY'
import os, shutil, sys
src, maps, out, keep = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cover = {f: set(open(os.path.join(maps, f)).read().split()) for f in os.listdir(maps)}
size = {f: os.path.getsize(os.path.join(src, f)) for f in cover}
seen, chosen = set(), []
while len(chosen) < keep:
    best = max((f for f in cover if f not in chosen), key=lambda f: (len(cover[f] - seen), -size[f], f), default=None)
    if best is None or not cover[best] - seen:
        break
    chosen.append(best)
    seen |= cover[best]
os.makedirs(out, exist_ok=True)
for f in chosen:
    shutil.copy(os.path.join(src, f), os.path.join(out, f))
PY
}

stat() { sed -n "s/^$1 *: *//p" "$2"; }

status=0
summary=$work/summary.txt
printf '%-8s %6s %12s %9s %7s %16s %7s %5s %7s\n' target seconds execs execs/s paths edges crashes hangs kept |
  tee "$summary"
for t in $targets; do
  copy_small "$fuzz/corpus/$t" "$work/seeds/$t" "$work/in/$t"
  dict=()
  [ -f "$fuzz/dict/$t.dict" ] && dict=(-x "$fuzz/dict/$t.dict")
  if ! nice -n "$niceness" cargo afl fuzz -V "$seconds" -i "$work/in/$t" -o "$work/out/$t" -t "$timeout" \
      -G "$max_bytes" "${dict[@]}" -- "$bin" "$t" >"$work/$t.log" 2>&1; then
    echo "fuzz: afl-fuzz failed on $t (see $work/$t.log):" >&2
    tail -20 "$work/$t.log" >&2
    status=1
    continue
  fi
  out=$work/out/$t/default
  found=0
  for f in "$out"/crashes/id:* "$out"/hangs/id:*; do
    [ -f "$f" ] || continue
    kind=crash
    case $f in
      */hangs/*)
        kind=hang
        # A hang under load may be a slow run: keep only what still hangs alone.
        if timeout 10 "$bin" "$t" <"$f" >/dev/null 2>&1; then continue; fi
        ;;
    esac
    sum=$(sha1sum <"$f")
    mkdir -p "$fuzz/crashes/$t"
    cp "$f" "$fuzz/crashes/$t/$kind-${sum:0:16}"
    found=$((found + 1))
  done
  if ((found)); then
    echo "fuzz: $t: $found crashing or hanging inputs, in crates/rrd-core/fuzz/crashes/$t/" >&2
    status=1
  fi

  copy_small "$work/in/$t" "$out/queue" "$work/all/$t"
  rm -rf "$work/kept/$t"
  cover_cap "$work/all/$t" "$work/kept/$t" "$t"
  rm -rf "$fuzz/corpus/$t"
  mkdir -p "$fuzz/corpus/$t"
  cp "$work/kept/$t"/* "$fuzz/corpus/$t/"

  s=$out/fuzzer_stats
  printf '%-8s %6s %12s %9s %7s %16s %7s %5s %7s\n' "$t" "$(stat run_time "$s")" \
    "$(stat execs_done "$s")" "$(stat execs_per_sec "$s")" "$(stat corpus_count "$s")" \
    "$(stat edges_found "$s")/$(stat total_edges "$s")" "$(stat saved_crashes "$s")" \
    "$(stat saved_hangs "$s")" "$(find "$fuzz/corpus/$t" -type f | wc -l)" | tee -a "$summary"
done
echo "fuzz: corpus $(find "$fuzz/corpus" -type f | wc -l) files, $(du -sh "$fuzz/corpus" | cut -f1); summary in $summary"
exit $status
