#!/usr/bin/env bash
# Throwaway PostgreSQL + Kafka for the [pg]/[kafka]/[e2e] tests: the CTest
# fixture `infra` (tests/CMakeLists.txt) runs `start` before and `stop` after
# those tests. Test-only ports, so a developer's stack (55432/59092) is never
# touched:
#
#   PostgreSQL 15  127.0.0.1:25532  superuser postgres, trust auth  .local/test/pg
#   Kafka (KRaft)  127.0.0.1:29192  controller 29193, auto-create   .local/test/kafka
#
#   deploy/local/test-infra.sh start    idempotent; starts what is not running
#                                       (from empty data dirs) and waits until
#                                       both accept connections
#   deploy/local/test-infra.sh stop [--force]
#                                       stops both and removes .local/test,
#                                       unless another user still holds a lease
#   deploy/local/test-infra.sh status
#
# Leases: several ctest runs (and a developer's shell) may share the servers.
# `start` records who asked: a ctest process (its pid, dropped automatically
# when that ctest is gone) or, when run by hand, a manual pin. `stop` drops the
# caller's lease and only shuts the servers down when no live lease is left,
# so one engineer's ctest teardown never kills another's running tests, and
# servers started by hand stay up across ctest runs until stopped by hand.
# `stop --force` ignores leases.
#
# Environment: LEADPIPE_INFRA_TIMEOUT (seconds to wait for each server, default
# 120); LEADPIPE_TEST_PG_PORT, LEADPIPE_TEST_KAFKA_PORT,
# LEADPIPE_TEST_KAFKA_CONTROLLER_PORT move the servers; LP_LOCAL moves .local.
set -euo pipefail
LP_SCRIPT="test-infra.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_DIR="$LP_LOCAL/test"
LEASES="$TEST_DIR/leases"
TIMEOUT="${LEADPIPE_INFRA_TIMEOUT:-120}"

# Ports can move (e.g. a second checkout on the same machine); the tests then
# need LEADPIPE_TEST_PG_URL / LEADPIPE_TEST_KAFKA to match (libs/testing).
export PG_DIR="$TEST_DIR/pg" PG_PORT="${LEADPIPE_TEST_PG_PORT:-25532}"
# Durability is worthless for a cluster deleted after the run; speed is not.
export PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
export KAFKA_DIR="$TEST_DIR/kafka" KAFKA_PORT="${LEADPIPE_TEST_KAFKA_PORT:-29192}"
export KAFKA_CONTROLLER_PORT="${LEADPIPE_TEST_KAFKA_CONTROLLER_PORT:-29193}"
export KAFKA_AUTO_CREATE=true KAFKA_PARTITIONS=1 KAFKA_START_TIMEOUT="$TIMEOUT"
export KAFKA_LIBS="$LP_LOCAL/kafka/libs"
# C1-only JIT: the broker is up seconds sooner (12 s vs 17 s on a busy 2-core
# machine) and test traffic never needs C2's peak throughput.
export KAFKA_JVM_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true"

usage() {
  sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- leases ----
# The lease of whoever runs this script: "ctest-<pid>" when the parent is
# ctest (which spawns fixture tests directly), "manual" otherwise.
caller_lease() {
  local comm
  comm="$(cat "/proc/$PPID/comm" 2>/dev/null || true)"
  if [[ "$comm" == ctest ]]; then
    echo "ctest-$PPID"
  else
    echo manual
  fi
}

add_lease() {
  local name="$1"
  mkdir -p "$LEASES"
  if [[ "$name" == ctest-* ]]; then
    lp_proc_starttime "${name#ctest-}" >"$LEASES/$name"
  else
    date -u +%FT%TZ >"$LEASES/$name"
  fi
}

# A ctest lease is live while that very process (pid + start time) exists.
lease_live() {
  local name="$1"
  [[ "$name" == ctest-* ]] || return 0
  local pid="${name#ctest-}" recorded now
  recorded="$(cat "$LEASES/$name" 2>/dev/null || true)"
  now="$(lp_proc_starttime "$pid" 2>/dev/null || true)"
  [[ -n "$now" && "$now" == "$recorded" ]]
}

# Drops dead leases and prints the remaining ones.
live_leases() {
  [[ -d "$LEASES" ]] || return 0
  local f name
  for f in "$LEASES"/*; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f")"
    if lease_live "$name"; then
      echo "$name"
    else
      rm -f "$f"
    fi
  done
}

# ---------------------------------------------------------------- checks ----
ensure_tools() {
  local missing=()
  lp_have java || missing+=(java)
  lp_have kcat || missing+=(kcat)
  lp_have flock || missing+=(flock)
  [[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql-15)
  if ((${#missing[@]})); then
    lp_info "missing: ${missing[*]}; running deploy/local/deps.sh"
    "$LP_DEPLOY/deps.sh" 9>&-
  fi
}

pg() { "$LP_DEPLOY/pg.sh" "$@" 9>&-; }
kafka() { "$LP_DEPLOY/kafka.sh" "$@" 9>&-; }

# ----------------------------------------------------------------- start ----
do_start() {
  local lease
  lease="$(caller_lease)"
  ensure_tools
  mkdir -p "$LP_LOCAL"
  lp_lock "$LP_LOCAL/test-infra.lock" 900

  local pg_up=0 kafka_up=0
  pg status >/dev/null 2>&1 && pg_up=1
  kafka status >/dev/null 2>&1 && kafka_up=1

  local t0=$SECONDS kafka_job="" kafka_log
  kafka_log="$(mktemp)"
  # Kafka's JVM start dominates; run it next to PostgreSQL's initdb.
  if ((kafka_up)); then
    kafka start
  else
    kafka start --fresh >"$kafka_log" 2>&1 &
    kafka_job=$!
  fi
  local pg_rc=0 kafka_rc=0
  if ((pg_up)); then
    pg start || pg_rc=$?
  else
    pg start --fresh || pg_rc=$?
  fi
  if [[ -n "$kafka_job" ]]; then
    wait "$kafka_job" || kafka_rc=$?
    cat "$kafka_log" >&2
  fi
  rm -f "$kafka_log"
  ((pg_rc == 0)) || lp_die "test PostgreSQL did not start (see above)"
  ((kafka_rc == 0)) || lp_die "test Kafka did not start (see above)"

  add_lease "$lease"
  if ((pg_up && kafka_up)); then
    lp_info "test infra already running (lease '$lease' added)"
  else
    lp_info "test infra ready in $((SECONDS - t0))s: PostgreSQL 127.0.0.1:$PG_PORT, Kafka 127.0.0.1:$KAFKA_PORT (lease '$lease')"
  fi
}

# ------------------------------------------------------------------ stop ----
do_stop() {
  local force="${1:-0}" lease
  lease="$(caller_lease)"
  mkdir -p "$LP_LOCAL"
  lp_lock "$LP_LOCAL/test-infra.lock" 900
  rm -f "$LEASES/$lease"
  if [[ "$force" != 1 ]]; then
    local others
    others="$(live_leases | tr '\n' ' ')"
    if [[ -n "$others" ]]; then
      lp_info "test infra still in use (leases: ${others% }); leaving it running (stop --force to override)"
      return 0
    fi
  fi
  kafka stop --kill
  PG_STOP_MODE=immediate pg stop
  rm -rf "$TEST_DIR"
  lp_info "test infra stopped and $TEST_DIR removed"
}

do_status() {
  local rc=0
  pg status || rc=$?
  kafka status || rc=$?
  local leases
  leases="$(live_leases 2>/dev/null | tr '\n' ' ')"
  echo "leases: ${leases:-none}"
  return "$rc"
}

case "${1:-}" in
  start) do_start ;;
  stop)
    case "${2:-}" in
      "") do_stop 0 ;;
      --force) do_stop 1 ;;
      *) usage ;;
    esac
    ;;
  status) do_status ;;
  *) usage ;;
esac
