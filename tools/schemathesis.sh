#!/usr/bin/env bash
# Runs Schemathesis (the OpenAPI fuzzer of test/openapi-contract.e2e-spec.ts), installing the pinned
# version from PyPI once into a Python venv cached beside the local stack (about 30 s).
#   tools/schemathesis.sh run <schema URL> …   (any `st` arguments)
set -euo pipefail
version=4.32.5
cache=${KEYWARD_STACK_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.stack}
venv=$cache/schemathesis-$version
mkdir -p "$cache"
# Two test runs may start at once: one installs, the other waits for it.
exec 9>"$venv.lock"
flock 9
if [[ ! -f $venv/installed ]]; then
  command -v python3 >/dev/null || { echo "the OpenAPI contract test needs python3 (3.10+) on PATH" >&2; exit 1; }
  echo "installing schemathesis $version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
  touch "$venv/installed"
fi
flock -u 9
exec "$venv/bin/st" "$@"
