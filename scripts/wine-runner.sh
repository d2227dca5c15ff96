#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu in the Windows lane: `wine <exe> <args>`, with one
# exception. When Wine ends a test exe with a status other than 0 or 101 before the exe wrote a
# single byte to stdout, the exe never reached its `main` (a libtest harness prints
# "running N tests" first, and a failing test exits 101 after that). That is Wine failing to
# start the process, not a test result: the runner prints what it can see of Wine's state and
# starts the exe once more. A harness that printed anything is never re-run, so a failing or
# crashing test fails the lane exactly as it would without this script.
set -uo pipefail

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# A hang guard, not a speed limit: the slowest test exe takes about 3 minutes under Wine; one that
# is still running after 30 is stuck (CI would otherwise die at its own limit without naming it).
# It is ended, Wine's processes are printed, and the lane fails.
limit=${CONDAFIX_WINE_HANG_SECS:-1800}
attempt() {
  timeout --kill-after=30 "$limit" wine "$@" | tee "$out"
  local code=${PIPESTATUS[0]}
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
    {
      echo "wine-runner: $(basename "$1") still running after $limit s: stopped (a hang; see the processes below)"
      ps -eo pid,ppid,etimes,args | grep -iE '[w]ine|\.exe' | head -40 || true
    } >&2
  fi
  return "$code"
}

attempt "$@"
code=$?
if [ "$code" -eq 0 ] || [ "$code" -eq 101 ] || [ "$code" -eq 124 ] || [ "$code" -eq 137 ] || [ -s "$out" ]; then
  exit "$code"
fi

{
  echo "wine-runner: wine exited $code before $(basename "$1") printed anything (Wine did not start it)"
  echo "wine-runner: wine processes now:"
  ps -eo pid,etimes,rss,args | grep -iE '[w]ine|\.exe' | head -40 || true
  echo "wine-runner: memory (MiB):"
  free -m 2>/dev/null || true
  echo "wine-runner: starting it once more"
} >&2
attempt "$@"
code=$?
[ "$code" -eq 0 ] || echo "wine-runner: second start of $(basename "$1") also failed (exit $code)" >&2
exit "$code"
