#!/usr/bin/env bash
# Stops the local stack started by up.sh: services first (SIGTERM, so they
# drain, flush producers and commit offsets; SIGKILL after a timeout), then
# Kafka, then PostgreSQL. Keeps all data; idempotent.
#
#   deploy/local/down.sh [--wipe]
#
#   --wipe   also delete the dev data (.local/pg, Kafka data, logs), keeping the
#            downloaded Kafka jars; the next `up` starts from scratch
# Environment: LEADPIPE_STOP_TIMEOUT (seconds per service, default 30).
set -euo pipefail
LP_SCRIPT="down.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WIPE=0
while (($#)); do
  case "$1" in
    --wipe) WIPE=1; shift ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) lp_die "unknown option '$1'" ;;
  esac
done
STOP_TIMEOUT="${LEADPIPE_STOP_TIMEOUT:-30}"

mkdir -p "$LP_LOCAL"
lp_lock "$LP_LOCAL/stack.lock" 300

# SIGTERM to all services at once (they shut down in parallel), then wait.
declare -A pids=()
for svc in "${LP_SERVICES[@]}"; do
  if pid="$(lp_service_pid "$svc")"; then
    lp_info "stopping $svc (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids[$svc]="$pid"
  else
    rm -f "$LP_RUN/$svc.pid" # stale: the process is gone (crashed or killed)
  fi
done
for svc in "${!pids[@]}"; do
  pid="${pids[$svc]}"
  if ! lp_wait_until "$STOP_TIMEOUT" lp_pid_gone "$pid"; then
    lp_warn "$svc (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    lp_wait_until 10 lp_pid_gone "$pid" || lp_warn "$svc (pid $pid) survived SIGKILL"
  fi
  rm -f "$LP_RUN/$svc.pid"
done

KAFKA_DIR="$LP_LOCAL/kafka" "$LP_DEPLOY/kafka.sh" stop 9>&-
PG_DIR="$LP_LOCAL/pg" "$LP_DEPLOY/pg.sh" stop 9>&-

if ((WIPE)); then
  rm -rf "$LP_LOCAL/pg" "$LP_LOCAL/kafka/data" "$LP_LOCAL/kafka/logs" "$LP_LOGS" "$LP_RUN"
  lp_info "dev data wiped (Kafka jars kept in $LP_LOCAL/kafka/libs)"
fi
lp_info "stack stopped"
