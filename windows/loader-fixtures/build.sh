#!/usr/bin/env bash
# Build the loader fixtures with mingw-w64 into $1 (default: target/win/loader-fixtures).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../target/win/loader-fixtures}"
mkdir -p "$out/new" "$out/old"
CC="${CC:-x86_64-w64-mingw32-gcc}"
CFLAGS="-O2 -s -Wall -Werror"
# The openssl the prefix records ("new") and a foreign build with fewer exports ("old").
$CC $CFLAGS -shared -DFIXTURE_VERSION='"fixture libcrypto 3.0.15"' -o "$out/new/libcrypto-3-x64.dll" "$here/libcrypto.c" -Wl,--out-implib,"$out/new/libcrypto.a"
$CC $CFLAGS -shared -o "$out/new/libssl-3-x64.dll" "$here/libssl.c" "$out/new/libcrypto.a" -Wl,--out-implib,"$out/new/libssl.a"
$CC $CFLAGS -shared -DFIXTURE_VERSION='"foreign libcrypto 3.1.4"' -o "$out/old/libcrypto-3-x64.dll" "$here/libcrypto.c" -Wl,--out-implib,"$out/old/libcrypto.a"
$CC $CFLAGS -shared -DFEWER_EXPORTS -o "$out/old/libssl-3-x64.dll" "$here/libssl.c" "$out/old/libcrypto.a"
$CC $CFLAGS -shared -o "$out/_ssl.pyd" "$here/ssl_pyd.c" "$out/new/libssl.a" "$out/new/libcrypto.a"
$CC $CFLAGS -municode -DALTERED -o "$out/python-altered.exe" "$here/python.c"
$CC $CFLAGS -municode -o "$out/python-default.exe" "$here/python.c"
rm -f "$out"/new/*.a "$out"/old/*.a
echo "loader fixtures in $out"
