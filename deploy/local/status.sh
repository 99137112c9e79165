#!/usr/bin/env bash
# Shows what of the local dev stack runs: PostgreSQL, Kafka, each service
# (pid, port, /readyz). Exit status 0 when everything built is running and
# ready, 3 otherwise.
#
#   deploy/local/status.sh
set -euo pipefail
LP_SCRIPT="status.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lp_load_dev_env
rc=0
PG_DIR="$LP_LOCAL/pg" PG_PORT=55432 "$LP_DEPLOY/pg.sh" status || rc=3
KAFKA_DIR="$LP_LOCAL/kafka" KAFKA_PORT=59092 "$LP_DEPLOY/kafka.sh" status || rc=3
for svc in "${LP_SERVICES[@]}"; do
  port_var="$(lp_service_port_var "$svc")"
  port="${!port_var}"
  if pid="$(lp_service_pid "$svc")"; then
    if curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
      echo "$svc: ready on http://127.0.0.1:$port (pid $pid)"
    else
      echo "$svc: running (pid $pid) but /readyz on port $port is not OK"
      rc=3
    fi
  elif [[ -x "$LP_BIN/$svc" ]]; then
    echo "$svc: stopped"
    rc=3
  else
    echo "$svc: not built"
  fi
done
exit "$rc"
