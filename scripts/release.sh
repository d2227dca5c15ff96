#!/usr/bin/env bash
# Assemble a release into target/dist/v<version>/: the zip per target (condafix.exe, README,
# licenses, changelog), install.ps1, a CycloneDX SBOM per target (checked strictly by
# scripts/sbom-check.py), SHA256SUMS over all of them, the winget and Scoop manifests, and the
# release notes; then check the zip against SHA256SUMS the way install.ps1 does, and print what a
# tag would publish.
#
#   bash scripts/release.sh --dry-run
#
# --dry-run (the only mode here; tags publish through .github/workflows/release.yml): the exe is
# the Windows lane's x86_64-pc-windows-gnu release build (scripts/windows-lane.sh builds it;
# this script runs the lane when it is missing), standing in for the MSVC builds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--dry-run" ] || { echo "usage: bash scripts/release.sh --dry-run (tags publish through release.yml)" >&2; exit 2; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
target=x86_64-pc-windows-gnu
exe="${CONDAFIX_WIN_TARGET_DIR:-target/win}/$target/release/condafix.exe"
if [ ! -f "$exe" ]; then
  echo "release: no $exe yet: building it through the Windows lane"
  bash scripts/windows-lane.sh
fi

dist="target/dist/v$version"
rm -rf "$dist"
mkdir -p "$dist"
name="condafix-$version-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name"
cp "$exe" README.md LICENSE-MIT LICENSE-APACHE CHANGELOG.md "$stage/$name/"
# The zip holds the files at its root, as Compress-Archive makes it in release.yml.
(cd "$stage/$name" && python3 -m zipfile -c "$OLDPWD/$dist/$name.zip" condafix.exe README.md LICENSE-MIT LICENSE-APACHE CHANGELOG.md)
cp scripts/install.ps1 "$dist/install.ps1"
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)" cargo run --locked --quiet -p condafix-suite --bin dist -- \
  sbom --version "$version" --target "$target" > "$dist/$name.cdx.json"
py=$(bash scripts/ci-venv.sh)
"$py" scripts/sbom-check.py validate --forbid insta,insta-cmd,rcgen,jsonschema,rustls,condafix-fixtures,condafix-suite "$dist/$name.cdx.json"
(cd "$dist" && sha256sum ./*.zip ./*.cdx.json ./install.ps1 | sed 's| \./| |' > SHA256SUMS)
cargo run --locked --quiet -p condafix-suite --bin dist -- manifests --version "$version" \
  --sums "$dist/SHA256SUMS" --out "$dist/manifests" --target "$target:x64:64bit"
if ! cargo run --locked --quiet -p condafix-suite --bin dist -- notes --version "$version" > "$dist/NOTES.md" 2>/dev/null; then
  cargo run --locked --quiet -p condafix-suite --bin dist -- notes --version Unreleased > "$dist/NOTES.md"
  echo "release: CHANGELOG.md has no section for $version yet: the notes are [Unreleased]'s"
fi

# install.ps1's check, here: the zip's SHA-256 must be the one SHA256SUMS lists, and a
# tampered copy must fail it.
(cd "$dist" && sha256sum --check --quiet SHA256SUMS)
tampered="$stage/tampered"; mkdir -p "$tampered"
cp "$dist/SHA256SUMS" "$dist/$name.zip" "$tampered/"
printf 'x' >> "$tampered/$name.zip"
if (cd "$tampered" && sha256sum --check --quiet --ignore-missing SHA256SUMS >/dev/null 2>&1); then
  echo "release: a tampered zip passed the checksum check" >&2; exit 1
fi
# The exe in the zip describes itself.
(cd "$stage" && python3 -m zipfile -e "$OLDPWD/$dist/$name.zip" unzipped >/dev/null)
python3 - "$stage/unzipped/condafix.exe" "$version" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
assert data[:2] == b"MZ", "not a PE image"
needle = "ProductVersion".encode("utf-16-le")
assert needle in data and sys.argv[2].encode("utf-16-le") in data, "no VERSIONINFO with the version"
PY

echo "== a tag v$version would publish:"
(cd "$dist" && ls -l --time-style=+ ./*.zip ./*.cdx.json install.ps1 SHA256SUMS | awk '{print "  " $NF "  (" $5 " bytes)"}')
echo "== SHA256SUMS"; sed 's/^/  /' "$dist/SHA256SUMS"
echo "== after the release, .github/workflows/pin-release.yml opens the pull request that pins its MSVC zips in"
echo "   .github/actions/condafix/checksums.txt (dist pin --version $version --sums SHA256SUMS)"
echo "== manifests: $dist/manifests (winget/$version/*.yaml, scoop/condafix.json)"
echo "== notes: $(head -c 200 "$dist/NOTES.md" | head -3 | tr '\n' ' ')..."
echo "release: rehearsal done in $dist (nothing published)"
