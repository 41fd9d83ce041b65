#!/usr/bin/env bash
# Compiles apps, libs, tests, benchmarks and the docs generators (tools/docs) with SWC into $KEYWARD_DIST (default dist/), copying
# templates and other assets. Type checking is separate: npm run typecheck.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${KEYWARD_DIST:-dist}
rm -rf "$out"
# Path aliases are written once, in tsconfig.json: swc gets .swcrc with them added.
config=$(mktemp --suffix=.swcrc)
trap 'rm -f "$config"' EXIT
node tools/swc-config.mjs >"$config"
public=apps/key-service/src/web/public
npx swc apps libs test bench tools/docs --out-dir "$out" --copy-files --quiet --config-file "$config" --ignore "$public/**"
# The Settings web app: browser ES modules, by that folder's own .swcrc.
npx swc "$public" --out-dir "$out" --copy-files --quiet
