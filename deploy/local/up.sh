#!/usr/bin/env bash
# Starts the local stack in the background and returns when it is ready:
# deps → build → PostgreSQL (+ roles/schemas) → Kafka (+ topics) → migrations →
# demo tenant mapping → every service binary present in build/bin.
#
#   deploy/local/up.sh [--no-build] [--no-deps]
#
# Idempotent: whatever already runs is left alone (a second `up` only checks).
# State under .local/: pg/, kafka/, logs/<service>.log, run/<service>.pid.
# Configuration and dev secrets: deploy/local/dev.env.
# Environment: LEADPIPE_READY_TIMEOUT (seconds per service, default 60).
set -euo pipefail
LP_SCRIPT="up.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD=1
DEPS=1
while (($#)); do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --no-deps) DEPS=0; shift ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) lp_die "unknown option '$1'" ;;
  esac
done
READY_TIMEOUT="${LEADPIPE_READY_TIMEOUT:-60}"

cd "$LP_ROOT"
((DEPS)) && "$LP_DEPLOY/deps.sh"
if ((BUILD)); then
  lp_info "building (build/)"
  [[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja >/dev/null
  ninja -C build
fi

lp_load_dev_env
mkdir -p "$LP_RUN" "$LP_LOGS"
lp_lock "$LP_LOCAL/stack.lock" 300

# Dev servers: default ports and dirs of pg.sh / kafka.sh (55432, 59092).
PG_DIR="$LP_LOCAL/pg" PG_PORT=55432 "$LP_DEPLOY/pg.sh" start 9>&-
PG_PORT=55432 "$LP_DEPLOY/db-init.sh"
KAFKA_DIR="$LP_LOCAL/kafka" KAFKA_PORT=59092 KAFKA_CONTROLLER_PORT=59093 KAFKA_AUTO_CREATE=false \
  "$LP_DEPLOY/kafka.sh" start 9>&-
"$LP_DEPLOY/topics.sh" --brokers "$KAFKA_BROKERS"

LEADCTL="$LP_BIN/leadctl"
if [[ -x "$LEADCTL" ]]; then
  lp_info "applying migrations (leadctl migrate --all)"
  "$LEADCTL" migrate --all 9>&- || lp_die "leadctl migrate --all failed"
  "$LEADCTL" whatsapp map --phone-number-id "$DEV_WHATSAPP_PHONE_NUMBER_ID" --tenant "$DEV_TENANT" 9>&- ||
    lp_die "leadctl whatsapp map failed"
  # The demo vendor key of dev.env (stored hashed; an existing one is kept).
  "$LEADCTL" vendor key create --tenant "$DEV_TENANT" --vendor demo-vendor --key "$VENDOR_DEMO_API_KEY" 9>&- >/dev/null ||
    lp_die "leadctl vendor key create failed"
else
  lp_info "note: $LEADCTL not built yet; skipping migrations and the demo tenant mapping"
fi

started=()
for svc in "${LP_SERVICES[@]}"; do
  bin="$LP_BIN/$svc"
  port_var="$(lp_service_port_var "$svc")"
  port="${!port_var}"
  if [[ ! -x "$bin" ]]; then
    lp_info "note: $svc not built ($bin missing); skipping it"
    continue
  fi
  if pid="$(lp_service_pid "$svc")"; then
    if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == *" (deleted)" ]]; then
      lp_warn "$svc (pid $pid) runs an older build; 'make down && make up' restarts it"
    fi
    lp_info "$svc already running (pid $pid, port $port)"
    continue
  fi
  rm -f "$LP_RUN/$svc.pid"
  lp_require_free_port "$port" "$svc, $port_var"
  printf '\n==== %s: starting %s ====\n' "$(date -u +%FT%TZ)" "$svc" >>"$LP_LOGS/$svc.log"
  # Own session (setsid): a Ctrl-C in the terminal reaches run.sh, which stops
  # services with SIGTERM in order, instead of interrupting all at once.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$LP_RUN/$svc.pid" "$bin" \
    </dev/null >>"$LP_LOGS/$svc.log" 2>&1 9>&- &
  disown 2>/dev/null || true
  started+=("$svc")
done

ready() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; }

for svc in "${started[@]}"; do
  port_var="$(lp_service_port_var "$svc")"
  port="${!port_var}"
  deadline=$((SECONDS + READY_TIMEOUT))
  until ready "$port"; do
    pid="$(cat "$LP_RUN/$svc.pid" 2>/dev/null || true)"
    if [[ -z "$pid" ]] || lp_pid_gone "$pid"; then
      lp_log_tail "$LP_LOGS/$svc.log"
      lp_die "$svc exited during start-up (log: $LP_LOGS/$svc.log)"
    fi
    if ((SECONDS >= deadline)); then
      lp_log_tail "$LP_LOGS/$svc.log"
      lp_die "$svc (pid $pid) not ready on http://127.0.0.1:$port/readyz within ${READY_TIMEOUT}s; 'deploy/local/down.sh' stops the stack"
    fi
    sleep 0.2
  done
  lp_info "$svc ready on port $port"
done

echo
echo "Leadpipe dev stack is up."
echo "  PostgreSQL  127.0.0.1:55432  database leadpipe (psql -h 127.0.0.1 -p 55432 -U postgres leadpipe)"
echo "  Kafka       $KAFKA_BROKERS    (kcat -b $KAFKA_BROKERS -L)"
for svc in "${LP_SERVICES[@]}"; do
  port_var="$(lp_service_port_var "$svc")"
  if lp_service_pid "$svc" >/dev/null; then
    printf '  %-18s http://127.0.0.1:%s   (log .local/logs/%s.log)\n' "$svc" "${!port_var}" "$svc"
  fi
done
echo "  Dev config and secrets: deploy/local/dev.env"
if [[ -x "$LEADCTL" ]]; then
  echo "  CRM token:  TOKEN=\$(build/bin/leadctl token --tenant $DEV_TENANT --role admin)"
else
  echo "  CRM token:  build/bin/leadctl token --tenant $DEV_TENANT --role admin   (once leadctl is built)"
fi
echo "  Stop with deploy/local/down.sh (make down); status: deploy/local/status.sh"
