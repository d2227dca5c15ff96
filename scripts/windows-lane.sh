#!/usr/bin/env bash
# The Windows lane: cross-build the workspace for x86_64-pc-windows-gnu with Debian's
# rustc-web/cargo-web (+ rust-web-src, -Z build-std) and the mingw-w64 linker, run the whole test
# suite under Wine, build the loader fixtures from C and check detect's loader model against Wine's
# real loader, and build a release condafix.exe.
#
# Usage (as root): bash scripts/windows-lane.sh
# Everything it sets (build-std, RUSTC_BOOTSTRAP, the Windows target dir) is scoped to this script;
# the normal rustup toolchain and target/ are untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
t0=$(date +%s)

# 1. Packages.
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s rustc-web rust-web-src cargo-web wine64 gcc-mingw-w64-x86-64-win32 >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    gcc-mingw-w64-x86-64-win32 wine64 wine rustc-web cargo-web rust-web-src >/dev/null
fi
[ "$(dpkg-query -W -f='${Version}' rustc-web)" = "$(dpkg-query -W -f='${Version}' rust-web-src)" ]

# 2. Toolchain: Debian's, called explicitly; rustup's cargo stays the default elsewhere.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
CARGO=/usr/bin/cargo
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$ROOT/scripts/wine-runner.sh"
export CARGO_TARGET_DIR="${CONDAFIX_WIN_TARGET_DIR:-$ROOT/target/win}"
export CARGO_TERM_COLOR=never
# Line tables are enough for the backtraces of a failing test; full debug info made the lane's
# target folder about 30 GB and its links slow.
export CARGO_PROFILE_DEV_DEBUG=line-tables-only
T=x86_64-pc-windows-gnu

# 3. Wine prefix (64-bit), made once.
export WINEPREFIX="${WINEPREFIX:-/tmp/condafix-wineprefix}" WINEARCH=win64
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
wine wineboot --init >/dev/null 2>&1 || true
SYS32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -f "$SYS32/bcryptprimitives.dll" ]; then
  # Wine 8.0 lacks bcryptprimitives.dll (ProcessPrng), which Rust >= 1.78 std imports; without
  # it every Rust exe exits 53 with no output.
  x86_64-w64-mingw32-gcc -O2 -shared -s -o "$SYS32/bcryptprimitives.dll" \
    windows/bcryptprimitives/bcryptprimitives.c windows/bcryptprimitives/bcryptprimitives.def -ladvapi32
fi
wineserver -k 2>/dev/null || true; wineserver -w; wineserver -p
trap 'wineserver -k 2>/dev/null || true' EXIT
export CONDAFIX_WINE_SYSTEM32="$SYS32"
# Wine's desktop process, started with its output on /dev/null and kept for the whole lane (see
# the C file: without it, the first test whose condafix broadcasts WM_SETTINGCHANGE hangs).
mkdir -p "$CARGO_TARGET_DIR"
x86_64-w64-mingw32-gcc -O2 -s -o "$CARGO_TARGET_DIR/desktop-holder.exe" windows/desktop-holder/desktop-holder.c -luser32
(setsid wine "$CARGO_TARGET_DIR/desktop-holder.exe" </dev/null >/dev/null 2>&1 &)
for _ in $(seq 100); do pgrep -f 'explorer.exe /desktop' >/dev/null && break; sleep 0.2; done
pgrep -f 'explorer.exe /desktop' >/dev/null || { echo "windows lane: Wine's desktop process did not start"; exit 1; }

# 4. Loader fixtures (C, mingw-w64) for the model check.
export CONDAFIX_LOADER_FIXTURES="$CARGO_TARGET_DIR/loader-fixtures"
export CONDAFIX_REQUIRE_LOADER_FIXTURES=1
bash windows/loader-fixtures/build.sh "$CONDAFIX_LOADER_FIXTURES"

# 5. The whole suite under Wine (every test binary, failures listed at the end), then the
# release exe. The runner's one rule (a second start only for an exe Wine ended before it printed
# anything) is checked first: a silent exit is started twice, one that printed is not.
runner_check() { # <expected starts> <cmd line after the start is counted>
  local log="$CARGO_TARGET_DIR/runner-check.txt" code
  rm -f "$log"
  code=0
  scripts/wine-runner.sh cmd /c "echo started>>$(winepath -w "$log") $2" >/dev/null 2>&1 || code=$?
  [ "$code" = 3 ] && [ "$(grep -c started "$log")" = "$1" ] || {
    echo "wine-runner: expected $1 start(s) and exit 3 for '$2', got $(grep -c started "$log") and $code"; exit 1; }
  rm -f "$log"
}
runner_check 2 "& exit 3"
runner_check 1 "& echo printed & exit 3"
t1=$(date +%s)
$CARGO test --workspace --target $T --no-fail-fast
t2=$(date +%s)
$CARGO build --release -p condafix --target $T
ls -l "$CARGO_TARGET_DIR/$T/release/condafix.exe"
sha256sum "$CARGO_TARGET_DIR/$T/release/condafix.exe"
t3=$(date +%s)
echo "windows lane: setup $((t1 - t0)) s, tests $((t2 - t1)) s, release build $((t3 - t2)) s, total $((t3 - t0)) s"
