#!/usr/bin/env bash
# Run every fuzz target for a fixed time (default 10 s each) and print executions and crashes.
# Crashing inputs go to target/fuzz-crashes/<target>/. Exit 1 on any crash.
# Usage: bash scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
shift || true
cargo run --quiet --release -p condafix-suite --bin fuzz -- --seconds "$secs" "$@"
