#!/usr/bin/env bash
# The local stack: Apache Kafka (KRaft, one node), FerretDB v1 (MongoDB wire protocol on SQLite)
# and Mailpit (SMTP + HTTP API), installed from Maven Central and the Go module proxy and run
# as plain processes. Everything lives under $KEYWARD_STACK_DIR (git-ignored).
#
#   stack.sh install             download and build what is missing (cached)
#   stack.sh start               install, then start whatever is not already answering; waits for
#                                readiness; prints the names of the servers it started on stdout
#   stack.sh stop [NAME...]      stop the processes this script started (by pid file), or only those named
#   stack.sh status [--quiet]    what answers on each port; exit 0 only when all three do
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR=${KEYWARD_STACK_DIR:-$ROOT/.stack}
KAFKA_VERSION=3.9.1
FERRETDB_VERSION=v1.24.2 # pinned in tools/stack/ferretdb/go.mod
MAILPIT_VERSION=v1.33.1

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx512m}
MONGO_PORT=${MONGO_PORT:-27017}
SMTP_PORT=${SMTP_PORT:-1025}
MAILPIT_HTTP_PORT=${MAILPIT_HTTP_PORT:-8025}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-90}

BIN=$STACK_DIR/bin
RUN=$STACK_DIR/run
LOGS=$STACK_DIR/logs
DATA=$STACK_DIR/data
KAFKA_LIBS=$STACK_DIR/kafka-$KAFKA_VERSION/libs

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required: $2"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {
  local f=$RUN/$1.pid
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_until() { # name, command...
  local name=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    if ! pid_alive "$name"; then die "$name exited during start-up; see $LOGS/$name.log"; fi
    if ((SECONDS > deadline)); then die "$name not ready after ${READY_TIMEOUT}s; see $LOGS/$name.log"; fi
    sleep 0.2
  done
}

built() { [[ -x $BIN/$1 && -f $BIN/$1.version && $(cat "$BIN/$1.version") == "$2" ]]; }

install_ferretdb() {
  # Built from our wrapper (tools/stack/ferretdb) around FerretDB's embeddable package.
  local src=$ROOT/tools/stack/ferretdb stamp
  stamp="$FERRETDB_VERSION $(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | cksum)"
  built ferretdb "$stamp" && return
  need go "install Go 1.22+ (Debian: apt-get install golang-go)"
  log "building FerretDB $FERRETDB_VERSION (first run only, about a minute)"
  (cd "$src" && CGO_ENABLED=0 go build -o "$BIN/ferretdb" .)
  echo "$stamp" >"$BIN/ferretdb.version"
}

install_mailpit() {
  local module=github.com/axllent/mailpit@$MAILPIT_VERSION
  built mailpit "$module" && return
  need go "install Go 1.22+ (Debian: apt-get install golang-go)"
  log "building $module (first run only, about a minute)"
  GOBIN=$BIN CGO_ENABLED=0 go install "$module"
  echo "$module" >"$BIN/mailpit.version"
}

install_kafka() {
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] && return
  need java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
  need mvn "install Apache Maven (Debian: apt-get install maven)"
  log "resolving Kafka $KAFKA_VERSION from Maven Central (first run only)"
  mvn -q -B -f "$ROOT/tools/stack/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS.partial"
  rm -rf "$KAFKA_LIBS" && mv "$KAFKA_LIBS.partial" "$KAFKA_LIBS"
}

install() {
  mkdir -p "$BIN" "$RUN" "$LOGS" "$DATA"
  install_kafka
  install_ferretdb
  install_mailpit
}

spawn() { # name, command...
  local name=$1; shift
  # Functions that exec (kafka_java) leave $! as the server's own pid.
  "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

kafka_java() { exec java $KAFKA_HEAP -Dlog4j.configuration="file:$ROOT/tools/stack/kafka/log4j.properties" -cp "$KAFKA_LIBS/*" "$@"; }

start_kafka() {
  if port_open "$KAFKA_PORT"; then log "kafka: already answering on $KAFKA_PORT"; return; fi
  local dir=$DATA/kafka props=$DATA/kafka/server.properties
  mkdir -p "$dir/logs"
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
  if [[ ! -f $dir/logs/meta.properties ]]; then
    local cluster_id
    cluster_id=$( (kafka_java kafka.tools.StorageTool random-uuid) 2>/dev/null | tail -n 1)
    (kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$props") >>"$LOGS/kafka.log" 2>&1
  fi
  log "kafka: starting on $KAFKA_PORT"
  local offset; offset=$(($(stat -c %s "$LOGS/kafka.log" 2>/dev/null || echo 0) + 1))
  spawn kafka kafka_java kafka.Kafka "$props"
  wait_until kafka kafka_started "$offset"
  echo kafka
}

kafka_started() { tail -c "+$1" "$LOGS/kafka.log" | grep -q "Kafka Server started"; }

start_ferretdb() {
  if port_open "$MONGO_PORT"; then log "ferretdb: already answering on $MONGO_PORT"; return; fi
  mkdir -p "$DATA/ferretdb"
  log "ferretdb: starting on $MONGO_PORT"
  spawn ferretdb "$BIN/ferretdb" -sqlite-url="file:$DATA/ferretdb/" -listen-addr="127.0.0.1:$MONGO_PORT"
  wait_until ferretdb port_open "$MONGO_PORT"
  echo ferretdb
}

start_mailpit() {
  if port_open "$SMTP_PORT"; then log "mailpit: already answering on $SMTP_PORT"; return; fi
  mkdir -p "$DATA/mailpit"
  log "mailpit: starting, SMTP $SMTP_PORT, HTTP $MAILPIT_HTTP_PORT"
  spawn mailpit "$BIN/mailpit" -s "127.0.0.1:$SMTP_PORT" -l "127.0.0.1:$MAILPIT_HTTP_PORT" \
    --database "$DATA/mailpit/mailpit.db" --max 100000 --smtp-auth-accept-any --smtp-auth-allow-insecure
  wait_until mailpit curl -fs -o /dev/null "http://127.0.0.1:$MAILPIT_HTTP_PORT/readyz"
  echo mailpit
}

start() {
  install >&2
  local t0=$SECONDS
  start_ferretdb
  start_mailpit
  start_kafka
  log "ready in $((SECONDS - t0))s (kafka 127.0.0.1:$KAFKA_PORT, mongodb 127.0.0.1:$MONGO_PORT, smtp 127.0.0.1:$SMTP_PORT, mailpit http://127.0.0.1:$MAILPIT_HTTP_PORT)"
}

stop_one() {
  local name=$1 f=$RUN/$1.pid
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

stop() {
  local names=("$@")
  ((${#names[@]})) || names=(kafka mailpit ferretdb)
  # In parallel, so stopping all takes as long as the slowest (at most 10 s each, then killed).
  for name in "${names[@]}"; do stop_one "$name" & done
  wait
}

status() {
  local quiet=${1:-} ok=0 line
  for entry in "kafka:$KAFKA_PORT" "ferretdb:$MONGO_PORT" "mailpit:$SMTP_PORT"; do
    local name=${entry%%:*} port=${entry##*:}
    if port_open "$port"; then
      line="$name: up on $port"; pid_alive "$name" && line+=" (started here, pid $(cat "$RUN/$name.pid"))"
    else
      line="$name: down ($port)"; ok=1
    fi
    [[ $quiet == --quiet ]] || echo "$line"
  done
  return $ok
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) shift; stop "$@" ;;
  status) status "${2:-}" ;;
  *) echo "usage: $0 install|start|stop|status [--quiet]" >&2; exit 2 ;;
esac
