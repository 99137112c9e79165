#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft: one process is broker and controller,
# static quorum, no ZooKeeper), run from the official jars with the machine's JDK.
#
#   deploy/local/kafka.sh fetch|start|stop|status [options]
#
#   fetch   copy the pinned Kafka jars (deploy/local/kafka/pom.xml) into KAFKA_LIBS;
#           a no-op when the stamp there matches the pom (start does it too)
#   start   start the broker (idempotent) and wait until it answers metadata requests
#   stop    stop it (SIGTERM, controlled shutdown; --kill for a throwaway broker)
#   status  exit 0 running, 3 stopped
#
# Options / environment (flags win):
#   --dir DIR               KAFKA_DIR              state dir (default .local/kafka): data/, logs/, server.properties
#   --port P                KAFKA_PORT             client listener on 127.0.0.1 (default 59092)
#   --controller-port P     KAFKA_CONTROLLER_PORT  KRaft controller listener (default 59093)
#   --auto-create BOOL      KAFKA_AUTO_CREATE      auto.create.topics.enable (default false)
#   --partitions N          KAFKA_PARTITIONS       num.partitions for auto-created topics (default 1)
#   --fresh                 KAFKA_FRESH=1          start from an empty data dir (only when not running)
#   --kill                  (stop) SIGKILL at once, for brokers whose data is discarded anyway
#                           KAFKA_LIBS             jar directory (default .local/kafka/libs, shared)
#                           KAFKA_HEAP_OPTS        default "-Xms64m -Xmx512m"
#                           KAFKA_JVM_OPTS         default "-XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError"
#                           KAFKA_EXTRA_PROPS      extra server.properties lines (newline separated)
#                           KAFKA_START_TIMEOUT    seconds to wait for readiness (default 120)
set -euo pipefail
LP_SCRIPT="kafka.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
KAFKA_DIR="${KAFKA_DIR:-$LP_LOCAL/kafka}"
KAFKA_PORT="${KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_AUTO_CREATE="${KAFKA_AUTO_CREATE:-false}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-1}"
KAFKA_FRESH="${KAFKA_FRESH:-0}"
KAFKA_LIBS="${KAFKA_LIBS:-$LP_LOCAL/kafka/libs}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms64m -Xmx512m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
KAFKA_EXTRA_PROPS="${KAFKA_EXTRA_PROPS:-}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KILL=0
while (($#)); do
  case "$1" in
    --dir) KAFKA_DIR="$2"; shift 2 ;;
    --dir=*) KAFKA_DIR="${1#*=}"; shift ;;
    --port) KAFKA_PORT="$2"; shift 2 ;;
    --port=*) KAFKA_PORT="${1#*=}"; shift ;;
    --controller-port) KAFKA_CONTROLLER_PORT="$2"; shift 2 ;;
    --controller-port=*) KAFKA_CONTROLLER_PORT="${1#*=}"; shift ;;
    --auto-create) KAFKA_AUTO_CREATE="$2"; shift 2 ;;
    --auto-create=*) KAFKA_AUTO_CREATE="${1#*=}"; shift ;;
    --partitions) KAFKA_PARTITIONS="$2"; shift 2 ;;
    --partitions=*) KAFKA_PARTITIONS="${1#*=}"; shift ;;
    --fresh) KAFKA_FRESH=1; shift ;;
    --kill) KILL=1; shift ;;
    -h | --help) usage ;;
    *) lp_die "unknown option '$1' (see --help)" ;;
  esac
done
for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_PARTITIONS KAFKA_START_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || lp_die "$v must be a number, got '${!v}'"
done
[[ "$KAFKA_AUTO_CREATE" == true || "$KAFKA_AUTO_CREATE" == false ]] ||
  lp_die "KAFKA_AUTO_CREATE must be true or false, got '$KAFKA_AUTO_CREATE'"

mkdir -p "$KAFKA_DIR"
KAFKA_DIR="$(cd "$KAFKA_DIR" && pwd)"
DATA="$KAFKA_DIR/data"
PROPS="$KAFKA_DIR/server.properties"
PIDFILE="$KAFKA_DIR/kafka.pid"
OUT="$KAFKA_DIR/kafka.out"
LOGDIR="$KAFKA_DIR/logs"
POM="$LP_DEPLOY/kafka/pom.xml"
# The process is recognised by its main class plus its own config path, so a
# recycled pid or another local broker is never mistaken for this one.
MATCH="kafka.Kafka $PROPS"

# ---------------------------------------------------------------- jars ----
jars_current() {
  [[ -f "$KAFKA_LIBS/.pom.sha256" ]] &&
    [[ "$(cat "$KAFKA_LIBS/.pom.sha256")" == "$(sha256sum "$POM" | cut -d' ' -f1)" ]] &&
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}

do_fetch() {
  jars_current && return 0
  lp_have mvn || lp_die "'mvn' not found; run deploy/local/deps.sh (installs maven and a JRE)"
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  # Shared by the dev broker and the test broker: one download at a time.
  exec 8>"$(dirname "$KAFKA_LIBS")/.libs.lock"
  flock -w 900 8 || lp_die "timed out waiting for another jar download"
  if jars_current; then
    exec 8>&-
    return 0
  fi
  local tmp="$KAFKA_LIBS.tmp.$$" log
  log="$(dirname "$KAFKA_LIBS")/mvn.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local mvn_args=(-B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies
    -DincludeScope=runtime -DoutputDirectory="$tmp")
  # Offline first: after the first download everything is in ~/.m2.
  if ! mvn -o "${mvn_args[@]}" >"$log" 2>&1; then
    lp_info "fetching Kafka jars from Maven Central (first run only)"
    if ! mvn "${mvn_args[@]}" >"$log" 2>&1; then
      rm -rf "$tmp"
      lp_log_tail "$log"
      lp_die "could not fetch the Kafka jars with Maven"
    fi
  fi
  sha256sum "$POM" | cut -d' ' -f1 >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  exec 8>&-
  lp_info "Kafka jars ready in $KAFKA_LIBS ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
}

# -------------------------------------------------------------- broker ----
running_pid() { lp_pidfile_alive "$PIDFILE" "$MATCH"; }

ready() {
  if lp_have kcat; then
    # A metadata request listing the broker itself: the socket server only
    # serves requests once the broker finished starting up and is unfenced.
    kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 2 2>/dev/null | grep -Eq '^ *[1-9][0-9]* brokers:'
  else
    lp_port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$LOGDIR/server.log" 2>/dev/null
  fi
}

write_config() {
  mkdir -p "$LOGDIR"
  cat >"$PROPS" <<EOF
# Generated by deploy/local/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA

# One broker: every replication factor and ISR is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Few internal partitions: created on first use, and 50 of each cost seconds.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4

auto.create.topics.enable=$KAFKA_AUTO_CREATE
num.partitions=$KAFKA_PARTITIONS
delete.topic.enable=true
# Consumers join immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Sized for a laptop / 2-core CI machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=168
$KAFKA_EXTRA_PROPS
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOGDIR/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

java_cp() { echo "$KAFKA_LIBS/*"; }

format_storage() {
  # KRaft needs meta.properties + the bootstrap metadata before the first
  # start. A cluster id is 16 random bytes, base64url without padding.
  if [[ -d "$DATA" && ! -f "$DATA/meta.properties" ]]; then
    rm -rf "$DATA"
  fi
  [[ -f "$DATA/meta.properties" ]] && return 0
  local id=""
  # One id in 64 starts with '-', which the tool's argument parser reads as
  # an option ("--cluster-id: expected one argument"): draw again.
  until [[ -n "$id" && "$id" != -* ]]; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  if ! java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$(java_cp)" \
    kafka.tools.StorageTool format -t "$id" -c "$PROPS" --ignore-formatted \
    >"$KAFKA_DIR/format.log" 2>&1; then
    lp_log_tail "$KAFKA_DIR/format.log"
    lp_die "kafka storage format failed"
  fi
}

do_start() {
  local pid
  if pid="$(running_pid)"; then
    if ! lp_wait_until "$KAFKA_START_TIMEOUT" ready; then
      lp_log_tail "$LOGDIR/server.log"
      lp_die "Kafka (pid $pid) runs but does not answer on 127.0.0.1:$KAFKA_PORT"
    fi
    lp_info "Kafka already running on 127.0.0.1:$KAFKA_PORT (pid $pid, $KAFKA_DIR)"
    return 0
  fi
  rm -f "$PIDFILE"
  lp_have java || lp_die "'java' not found; run deploy/local/deps.sh"
  lp_require_free_port "$KAFKA_PORT" "Kafka broker"
  lp_require_free_port "$KAFKA_CONTROLLER_PORT" "Kafka controller"
  do_fetch

  [[ "$KAFKA_FRESH" == 1 ]] && rm -rf "$DATA" "$LOGDIR"
  write_config
  format_storage

  lp_info "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT, $KAFKA_DIR)"
  : >"$OUT"
  # The option variables hold several words on purpose (like JAVA_OPTS).
  local heap_opts jvm_opts
  read -r -a heap_opts <<<"$KAFKA_HEAP_OPTS"
  read -r -a jvm_opts <<<"$KAFKA_JVM_OPTS"
  # setsid: own session, so a Ctrl-C in the caller's terminal or ctest's
  # process-group kill does not take the broker down mid-write. stdin/out/err
  # and the callers' lock fds are detached so nobody waits on them.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDFILE" \
    java "${heap_opts[@]}" "${jvm_opts[@]}" \
    -Dkafka.logs.dir="$LOGDIR" -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
    -cp "$(java_cp)" kafka.Kafka "$PROPS" \
    </dev/null >>"$OUT" 2>&1 8>&- 9>&- &
  disown 2>/dev/null || true

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ! ready; do
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && lp_pid_gone "$pid"; then
      lp_log_tail "$OUT" 20
      lp_log_tail "$LOGDIR/server.log"
      lp_die "Kafka exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      lp_log_tail "$OUT" 20
      lp_log_tail "$LOGDIR/server.log"
      lp_die "Kafka did not become ready on 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s (still running as pid ${pid:-?}; '$0 stop' stops it)"
    fi
    sleep 0.2
  done
  lp_info "Kafka ready on 127.0.0.1:$KAFKA_PORT (pid $(cat "$PIDFILE"))"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    lp_info "Kafka ($KAFKA_DIR) is not running"
    return 0
  fi
  if [[ "$KILL" == 1 ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    lp_wait_until 10 lp_pid_gone "$pid" || lp_warn "Kafka (pid $pid) survived SIGKILL"
  else
    lp_info "stopping Kafka (pid $pid)"
    lp_terminate "$pid" "${KAFKA_STOP_TIMEOUT:-30}" "Kafka"
  fi
  rm -f "$PIDFILE"
  lp_info "Kafka stopped"
}

do_status() {
  local pid
  if pid="$(running_pid)"; then
    if ready; then
      echo "kafka: running on 127.0.0.1:$KAFKA_PORT (pid $pid, $KAFKA_DIR)"
    else
      echo "kafka: process $pid alive but not answering on 127.0.0.1:$KAFKA_PORT"
    fi
    return 0
  fi
  echo "kafka: stopped ($KAFKA_DIR)"
  return 3
}

case "$cmd" in
  fetch) do_fetch ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
