#!/usr/bin/env bash
# A coverage-guided fuzzing campaign: libFuzzer (cargo-fuzz, address sanitizer, debug assertions)
# on every target of `condafix_suite::fuzz::targets()` (or the ones named) for a fixed time each,
# starting from the target's seeds (built from the fixtures), its committed corpus and its
# regressions. Prints executions and coverage per target.
#
# New inputs that add coverage are merged into fuzz/corpus/<target>/ and the corpus is minimized
# (`cargo fuzz cmin`): commit what changed. A crashing input is copied to
# fuzz/regressions/<target>/ and the run ends with exit 1: fix the bug, add a regression test
# next to the fix, and commit the input (tests/fuzz.rs replays every one in `cargo test`).
#
# CI never runs this (what a time budget finds depends on the machine's speed): .ci/run replays
# the committed inputs and runs the in-tree runner for a fixed number of executions instead.
#
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo run --quiet --release -p condafix-suite --bin fuzz -- --write-seeds "$@"
cargo fuzz build -a
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
out=target/fuzz-campaign
mkdir -p "$out"
summary="$out/summary.txt"
printf '%-18s %12s %9s %7s %8s %8s %8s\n' target executions "exec/s" cov features corpus crashes >"$summary"
crashed=0
for t in "${targets[@]}"; do
  work="$out/$t/new"
  artifacts="$out/$t/artifacts/"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts" "fuzz/corpus/$t" "fuzz/regressions/$t"
  log="$out/$t/fuzz.log"
  # New units go to $work; the committed corpus, the seeds and the regressions are read.
  status=0
  cargo fuzz run -a "$t" "$work" "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" -- \
    -max_total_time="$secs" -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  crashes=0
  for a in "$artifacts"*; do
    [ -f "$a" ] || continue
    crashes=$((crashes + 1))
    cp "$a" "fuzz/regressions/$t/$(basename "$a")"
    echo "$t: crash saved as fuzz/regressions/$t/$(basename "$a") (log: $log)" >&2
  done
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    echo "$t: libFuzzer exited $status without an artifact (log: $log)" >&2
    crashes=1
  fi
  [ "$crashes" -eq 0 ] || crashed=1
  # Merge what was found into the committed corpus and minimize it.
  cp -n "$work"/* "fuzz/corpus/$t/" 2>/dev/null || true
  cp -n "fuzz/seeds/$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  cargo fuzz cmin -a "$t" "fuzz/corpus/$t" >"$out/$t/cmin.log" 2>&1 ||
    echo "$t: cmin failed (log: $out/$t/cmin.log)" >&2
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%-18s %12s %9s %7s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$corpus" "$crashes" | tee -a "$summary"
done
echo
cat "$summary"
du -sh fuzz/corpus
exit "$crashed"
