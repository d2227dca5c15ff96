#!/usr/bin/env bash
# A fuzzing campaign: every target (or the ones named) for a fixed time each, printing executions
# and crashes. Crashing inputs go to target/fuzz-crashes/<target>/. Exit 1 on any crash.
# CI does not run this (a time budget finds more on a faster machine): it runs a fixed number of
# executions from a fixed seed instead (`--executions`, see .ci/run).
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
shift || true
cargo run --quiet --release -p condafix-suite --bin fuzz -- --seconds "$secs" "$@"
