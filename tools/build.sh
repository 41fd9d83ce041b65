#!/usr/bin/env bash
# Compiles apps, libs, tests, benchmarks and the docs generators (tools/docs) with SWC into $KEYWARD_DIST (default dist/), copying
# templates and other assets. Type checking is separate: npm run typecheck.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${KEYWARD_DIST:-dist}
rm -rf "$out"
npx swc apps libs test bench tools/docs --out-dir "$out" --copy-files --quiet
