#!/usr/bin/env bash
# The local stack: Apache Kafka (KRaft: one node, or a cluster of KAFKA_NODES=3), FerretDB v1
# (MongoDB wire protocol on SQLite) and Mailpit (SMTP + HTTP API), installed from Maven Central and
# the Go module proxy and run as plain processes. Everything lives under $KEYWARD_STACK_DIR
# (git-ignored); a Kafka cluster's data, logs and pid files under $KAFKA_STATE_DIR when it is set.
#
#   stack.sh install             download and build what is missing (cached)
#   stack.sh start [NAME...]     install (what it starts), then start whatever is not already answering (or only those
#                                named: kafka, kafka-2, ferretdb, mailpit); waits for readiness; prints
#                                the names of the servers it started on stdout
#   stack.sh stop [NAME...]      stop the processes this script started (by pid file), or only those named
#   stack.sh status [--quiet]    what answers on each port; exit 0 only when all do
#   stack.sh env                 the services' Kafka settings for this stack (KAFKA_BROKERS=..., one a line)
#
# Kafka nodes: KAFKA_NODES=1 (default) runs one broker+controller named `kafka` on KAFKA_PORT and
# KAFKA_CONTROLLER_PORT. KAFKA_NODES=3 runs `kafka-1`..`kafka-3`, each broker and controller in one
# process (a combined node: half the JVMs of a separate quorum, and any two of three keep both a
# controller majority and min.insync.replicas), on KAFKA_PORT + 2(i-1) and KAFKA_CONTROLLER_PORT + 2(i-1),
# with replication factor 3 and min.insync.replicas 2.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR=${KEYWARD_STACK_DIR:-$ROOT/.stack}
KAFKA_VERSION=3.9.1
FERRETDB_VERSION=v1.24.2 # pinned in tools/stack/ferretdb/go.mod
MAILPIT_VERSION=v1.33.1

KAFKA_NODES=${KAFKA_NODES:-1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
if ((KAFKA_NODES == 1)); then
  KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx512m}
else
  KAFKA_HEAP=${KAFKA_HEAP:--Xms256m -Xmx384m} # per node
fi
MONGO_PORT=${MONGO_PORT:-27017}
SMTP_PORT=${SMTP_PORT:-1025}
MAILPIT_HTTP_PORT=${MAILPIT_HTTP_PORT:-8025}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-90}

BIN=$STACK_DIR/bin
RUN=$STACK_DIR/run
LOGS=$STACK_DIR/logs
DATA=$STACK_DIR/data
KAFKA_LIBS=$STACK_DIR/kafka-$KAFKA_VERSION/libs
# A private Kafka (a test's own cluster) keeps its state apart from the shared stack's.
KAFKA_RUN=${KAFKA_STATE_DIR:-$STACK_DIR}/run
KAFKA_LOGS=${KAFKA_STATE_DIR:-$STACK_DIR}/logs
KAFKA_DATA=${KAFKA_STATE_DIR:-$STACK_DIR}/data
[[ $KAFKA_NODES == 1 || $KAFKA_NODES == 3 ]] || { echo "[stack] error: KAFKA_NODES must be 1 or 3" >&2; exit 2; }

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required: $2"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Where a server's pid file and log live: Kafka nodes under KAFKA_STATE_DIR when it is set.
pid_file() { if [[ $1 == kafka* ]]; then echo "$KAFKA_RUN/$1.pid"; else echo "$RUN/$1.pid"; fi; }
log_file() { if [[ $1 == kafka* ]]; then echo "$KAFKA_LOGS/$1.log"; else echo "$LOGS/$1.log"; fi; }

pid_alive() {
  local f; f=$(pid_file "$1")
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_until() { # name, command...
  local name=$1; shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@"; do
    if ! pid_alive "$name"; then die "$name exited during start-up; see $(log_file "$name")"; fi
    if ((SECONDS > deadline)); then die "$name not ready after ${READY_TIMEOUT}s; see $(log_file "$name")"; fi
    sleep 0.2
  done
}

built() { [[ -x $BIN/$1 && -f $BIN/$1.version && $(cat "$BIN/$1.version") == "$2" ]]; }

install_ferretdb() {
  # Built from our wrapper (tools/stack/ferretdb) around FerretDB's embeddable package, with
  # id-index.patch applied to a copy of the module: v1.24.2's SQLite backend looks documents up by
  # an expression its own _id index does not match, so every _id lookup read the whole table.
  local src=$ROOT/tools/stack/ferretdb work stamp module
  stamp="$FERRETDB_VERSION $(cat "$src/go.mod" "$src/go.sum" "$src/main.go" "$src/id-index.patch" | cksum)"
  built ferretdb "$stamp" && return
  need go "install Go 1.22+ (Debian: apt-get install golang-go)"
  need patch "install patch (Debian: apt-get install patch)"
  log "building FerretDB $FERRETDB_VERSION (first run only, about a minute)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-ferretdb.XXXXXX")
  cp "$src/go.mod" "$src/go.sum" "$src/main.go" "$work/"
  module=$(cd "$work" && go mod download -json github.com/FerretDB/FerretDB | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp -R "$module" "$work/FerretDB" && chmod -R u+w "$work/FerretDB"
  patch -s -p1 -d "$work/FerretDB" <"$src/id-index.patch"
  (cd "$work" && go mod edit -replace github.com/FerretDB/FerretDB=./FerretDB &&
    CGO_ENABLED=0 go build -mod=mod -o "$BIN/ferretdb" .)
  rm -rf "$work"
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
  mkdir -p "$BIN" "$RUN" "$LOGS" "$DATA" "$KAFKA_RUN" "$KAFKA_LOGS" "$KAFKA_DATA"
  install_kafka
  install_ferretdb
  install_mailpit
}

spawn() { # name, command...
  local name=$1; shift
  # Functions that exec (kafka_java) leave $! as the server's own pid.
  "$@" </dev/null >>"$(log_file "$name")" 2>&1 &
  echo $! >"$(pid_file "$name")"
}

kafka_java() { exec java $KAFKA_HEAP -Dlog4j.configuration="file:$ROOT/tools/stack/kafka/log4j.properties" -cp "$KAFKA_LIBS/*" "$@"; }

# Kafka node i (1-based): its name, client port and controller port.
kafka_name() { if ((KAFKA_NODES == 1)); then echo kafka; else echo "kafka-$1"; fi; }
kafka_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
kafka_replication() { if ((KAFKA_NODES == 1)); then echo 1; else echo 3; fi; }
kafka_brokers() {
  local i list=()
  for ((i = 1; i <= KAFKA_NODES; i++)); do list+=("127.0.0.1:$(kafka_port "$i")"); done
  (IFS=,; echo "${list[*]}")
}

kafka_properties() { # node, log dir
  local i=$1 voters=() n
  for ((n = 1; n <= KAFKA_NODES; n++)); do voters+=("$n@127.0.0.1:$(kafka_controller_port "$n")"); done
  local replicas min_isr
  replicas=$(kafka_replication)
  min_isr=$((replicas > 1 ? 2 : 1))
  cat <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$i"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$i")
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$2
num.partitions=3
auto.create.topics.enable=false
default.replication.factor=$replicas
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replicas
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
}

# Writes node i's configuration and formats its storage once, with the cluster's one id.
prepare_kafka_node() {
  local i=$1 name dir
  name=$(kafka_name "$i")
  dir=$KAFKA_DATA/$name
  mkdir -p "$dir/logs"
  kafka_properties "$i" "$dir/logs" >"$dir/server.properties"
  [[ -f $dir/logs/meta.properties ]] && return
  local id_file=$KAFKA_DATA/kafka-cluster.id
  if ((KAFKA_NODES == 1)); then id_file=$dir/cluster.id; fi
  [[ -s $id_file ]] || (kafka_java kafka.tools.StorageTool random-uuid) 2>/dev/null | tail -n 1 >"$id_file"
  (kafka_java kafka.tools.StorageTool format -t "$(cat "$id_file")" -c "$dir/server.properties") \
    >>"$(log_file "$name")" 2>&1
}

# Starts the named Kafka nodes that do not answer yet, then waits for all of them: a node of a
# cluster is ready only once a majority of controllers is up, so they must start together.
start_kafka() { # node numbers...
  local i name port started=()
  for i in "$@"; do
    name=$(kafka_name "$i") port=$(kafka_port "$i")
    if port_open "$port"; then
      if ((KAFKA_NODES > 1)) && pid_alive kafka; then
        die "the single-node kafka answers on $port; stop it first (KAFKA_NODES=1 $0 stop kafka)"
      fi
      log "$name: already answering on $port"
      continue
    fi
    prepare_kafka_node "$i"
    log "$name: starting on $port (controller $(kafka_controller_port "$i"))"
    local logf; logf=$(log_file "$name")
    echo $(($(stat -c %s "$logf" 2>/dev/null || echo 0) + 1)) >"$KAFKA_RUN/$name.offset"
    spawn "$name" kafka_java kafka.Kafka "$KAFKA_DATA/$name/server.properties"
    started+=("$name")
  done
  for name in "${started[@]}"; do
    wait_until "$name" kafka_started "$name"
    rm -f "$KAFKA_RUN/$name.offset"
    echo "$name"
  done
}

kafka_started() { tail -c "+$(cat "$KAFKA_RUN/$1.offset")" "$(log_file "$1")" | grep -q "Kafka Server started"; }

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

# Expands `kafka` to every node of this mode; other names stand for themselves.
expand_start_names() {
  local name i
  for name in "$@"; do
    if [[ $name == kafka ]]; then
      for ((i = 1; i <= KAFKA_NODES; i++)); do kafka_name "$i"; done
    else
      echo "$name"
    fi
  done
}

start() {
  local names=() name nodes=()
  (($#)) || set -- ferretdb mailpit kafka
  mapfile -t names < <(expand_start_names "$@")
  mkdir -p "$BIN" "$RUN" "$LOGS" "$DATA" "$KAFKA_RUN" "$KAFKA_LOGS" "$KAFKA_DATA"
  # Only what is being started is installed: restarting a test's own Kafka builds no FerretDB.
  local t0=$SECONDS
  for name in "${names[@]}"; do
    case $name in
      ferretdb) install_ferretdb >&2; start_ferretdb ;;
      mailpit) install_mailpit >&2; start_mailpit ;;
      kafka) nodes+=(1) ;;
      kafka-[0-9]) ((KAFKA_NODES > 1 && ${name#kafka-} <= KAFKA_NODES)) || die "no $name with KAFKA_NODES=$KAFKA_NODES"; nodes+=("${name#kafka-}") ;;
      *) die "unknown server $name" ;;
    esac
  done
  ((${#nodes[@]} == 0)) || { install_kafka >&2; start_kafka "${nodes[@]}"; }
  log "ready in $((SECONDS - t0))s (kafka $(kafka_brokers), mongodb 127.0.0.1:$MONGO_PORT, smtp 127.0.0.1:$SMTP_PORT, mailpit http://127.0.0.1:$MAILPIT_HTTP_PORT)"
}

# Stops the named servers together (a Kafka cluster's nodes must go down at once: the last of
# them would otherwise wait for a controller majority that is gone), each within 10 s.
stop() {
  local names=("$@") name f pid pids=() waiting=()
  ((${#names[@]})) || names=(kafka mailpit ferretdb)
  for name in "${names[@]}"; do
    if [[ $name == kafka ]]; then
      for f in "$KAFKA_RUN"/kafka.pid "$KAFKA_RUN"/kafka-*.pid; do [[ -f $f ]] && waiting+=("$f"); done
    else
      f=$(pid_file "$name"); [[ -f $f ]] && waiting+=("$f")
    fi
  done
  for f in "${waiting[@]}"; do
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      log "$(basename "$f" .pid): stopping (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
  for f in "${waiting[@]}"; do rm -f "$f"; done
  return 0
}

status() {
  local quiet=${1:-} ok=0 line i entries=()
  for ((i = 1; i <= KAFKA_NODES; i++)); do entries+=("$(kafka_name "$i"):$(kafka_port "$i")"); done
  entries+=("ferretdb:$MONGO_PORT" "mailpit:$SMTP_PORT")
  for entry in "${entries[@]}"; do
    local name=${entry%%:*} port=${entry##*:}
    if port_open "$port"; then
      line="$name: up on $port"; pid_alive "$name" && line+=" (started here, pid $(cat "$(pid_file "$name")"))"
    else
      line="$name: down ($port)"; ok=1
    fi
    [[ $quiet == --quiet ]] || echo "$line"
  done
  return $ok
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  status) status "${2:-}" ;;
  env) printf 'KAFKA_BROKERS=%s\nKAFKA_REPLICATION_FACTOR=%s\n' "$(kafka_brokers)" "$(kafka_replication)" ;;
  *) echo "usage: $0 install|start [NAME...]|stop [NAME...]|status [--quiet]|env" >&2; exit 2 ;;
esac
