#!/usr/bin/env bash
# The Python tools the checks use, from PyPI wheels, in target/ci-venv (made once, then reused):
# zizmor (the GitHub Actions audit) and cyclonedx-python-lib with its JSON-schema validator (the
# strict SBOM check, scripts/sbom-check.py). Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/ci-venv
if ! "$venv/bin/python" -c 'import cyclonedx.validation.json' 2>/dev/null || [ ! -x "$venv/bin/zizmor" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check zizmor==1.32.0 "cyclonedx-python-lib[json-validation]==11.12.0" >&2
fi
echo "$venv/bin/python"
