#!/usr/bin/env bash
# `make run`: starts the local stack (up.sh, same options), then follows the
# service logs in the foreground. Ctrl-C (or SIGTERM) stops everything with
# down.sh and exits once it is down.
#
#   deploy/local/run.sh [--no-build] [--no-deps]
set -euo pipefail
LP_SCRIPT="run.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stopping=0
follower=""
shutdown() {
  ((stopping)) && return
  stopping=1
  trap '' INT TERM
  [[ -n "$follower" ]] && kill "$follower" 2>/dev/null
  echo >&2
  lp_info "stopping the stack"
  "$LP_DEPLOY/down.sh"
  exit 0
}
# A failed or interrupted start-up also stops whatever it already started.
trap shutdown INT TERM
if ! "$LP_DEPLOY/up.sh" "$@"; then
  lp_warn "start-up failed; stopping what was started"
  "$LP_DEPLOY/down.sh" || true
  exit 1
fi

mkdir -p "$LP_LOGS"
logs=()
for svc in "${LP_SERVICES[@]}"; do
  [[ -f "$LP_LOGS/$svc.log" ]] && lp_service_pid "$svc" >/dev/null && logs+=("$LP_LOGS/$svc.log")
done
echo
if ((${#logs[@]})); then
  lp_info "following ${#logs[@]} service log(s); Ctrl-C stops the stack"
  # Background + wait, so the trap runs as soon as the signal arrives.
  tail -n 0 -F "${logs[@]}" &
else
  lp_info "no services running (none built yet); PostgreSQL and Kafka are up. Ctrl-C stops them"
  sleep infinity &
fi
follower=$!
wait "$follower" || true
# The follower only ends on its own if someone killed it: stop like Ctrl-C.
shutdown
