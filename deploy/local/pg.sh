#!/usr/bin/env bash
# Local throwaway PostgreSQL cluster (Debian's PostgreSQL 15 binaries, no
# system service involved).
#
#   deploy/local/pg.sh start|stop|status [--dir DIR] [--port PORT] [--fresh]
#
# Environment (flags win):
#   PG_DIR      state directory (default .local/pg): data/, run/ (socket), server.log
#   PG_PORT     TCP port on 127.0.0.1 (default 55432)
#   PG_FRESH=1  start from an empty data directory (only when not running)
#   PG_OPTS     extra server options, e.g. "-c fsync=off"
#   PG_BINDIR   PostgreSQL bin directory (default: /usr/lib/postgresql/15/bin)
#   PG_STOP_MODE  pg_ctl shutdown mode for `stop`: fast (default) or immediate
#               (no checkpoint; for clusters that are deleted right after)
#
# Authentication is `trust` for everyone on 127.0.0.1; the superuser is
# `postgres`. As root, initdb/postgres run as the `postgres` account (they
# refuse root), so the state directory is owned by it.
#
# Exit status: 0 ok; 1 error; `status` returns 3 when stopped (LSB style).
set -euo pipefail
LP_SCRIPT="pg.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
PG_DIR="${PG_DIR:-$LP_LOCAL/pg}"
PG_PORT="${PG_PORT:-55432}"
PG_FRESH="${PG_FRESH:-0}"
PG_OPTS="${PG_OPTS:-}"
while (($#)); do
  case "$1" in
    --dir) PG_DIR="$2"; shift 2 ;;
    --dir=*) PG_DIR="${1#*=}"; shift ;;
    --port) PG_PORT="$2"; shift 2 ;;
    --port=*) PG_PORT="${1#*=}"; shift ;;
    --fresh) PG_FRESH=1; shift ;;
    -h | --help) usage ;;
    *) lp_die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || lp_die "PG_PORT must be a number, got '$PG_PORT'"
mkdir -p "$(dirname "$PG_DIR")"
PG_DIR="$(cd "$(dirname "$PG_DIR")" && pwd)/$(basename "$PG_DIR")"
DATA="$PG_DIR/data"
RUN="$PG_DIR/run"
LOG="$PG_DIR/server.log"
STAMP="$PG_DIR/initialized"

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
    return
  fi
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
    return
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  if [[ -n "$d" ]]; then
    echo "$d"
  elif lp_have pg_config; then
    pg_config --bindir
  fi
}
BIN="$(find_bindir)"
[[ -n "$BIN" && -x "$BIN/initdb" ]] ||
  lp_die "PostgreSQL server binaries not found (install package 'postgresql': deploy/local/deps.sh)"

# Runs a PostgreSQL program as the account that owns the cluster. From / so
# that an unreadable current directory does not produce warnings.
as_owner() {
  if lp_is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Prints the postmaster pid if this cluster is running.
running_pid() {
  local pid
  [[ -f "$DATA/postmaster.pid" ]] || return 1
  pid="$(head -n1 "$DATA/postmaster.pid" 2>/dev/null)"
  lp_pid_matches "$pid" "$DATA" || return 1
  echo "$pid"
}

ready() { as_owner "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 -U postgres -d postgres; }

prepare_dirs() {
  if lp_is_root; then
    getent passwd postgres >/dev/null || lp_die "user 'postgres' does not exist (install package 'postgresql')"
    install -d -o postgres -g postgres -m 700 "$PG_DIR"
    install -d -o postgres -g postgres -m 755 "$RUN"
    lp_ensure_traversable postgres "$PG_DIR"
  else
    install -d -m 700 "$PG_DIR"
    install -d -m 755 "$RUN"
  fi
}

do_start() {
  local pid
  if pid="$(running_pid)"; then
    lp_wait_until 30 ready || {
      lp_log_tail "$LOG"
      lp_die "PostgreSQL (pid $pid) runs but does not accept connections on 127.0.0.1:$PG_PORT"
    }
    lp_info "PostgreSQL already running on 127.0.0.1:$PG_PORT (pid $pid, $PG_DIR)"
    return 0
  fi
  # Left over from a crash or a killed machine: postgres itself would refuse
  # to start if the recorded pid happened to be reused by another process.
  if [[ -f "$DATA/postmaster.pid" ]]; then
    lp_info "removing stale $DATA/postmaster.pid"
    rm -f "$DATA/postmaster.pid"
  fi
  lp_require_free_port "$PG_PORT" "PostgreSQL"

  prepare_dirs
  local initdb_opts=()
  if [[ "$PG_FRESH" == 1 ]]; then
    rm -rf "$DATA" "$STAMP"
    # A throwaway cluster does not need initdb to fsync every file.
    initdb_opts+=(--no-sync)
  fi
  if [[ -d "$DATA" && ! -f "$STAMP" ]]; then
    lp_info "removing half-initialised data directory $DATA"
    rm -rf "$DATA"
  fi
  if [[ ! -d "$DATA" ]]; then
    lp_info "initialising cluster in $DATA"
    if ! as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      "${initdb_opts[@]}" >"$PG_DIR/initdb.log" 2>&1; then
      lp_log_tail "$PG_DIR/initdb.log"
      lp_die "initdb failed"
    fi
    touch "$STAMP"
  fi

  lp_info "starting PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)"
  # -w: pg_ctl returns once the server reports ready (or failed) in postmaster.pid.
  if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o \
    "-p $PG_PORT -k '$RUN' -c listen_addresses=127.0.0.1 $PG_OPTS" start >/dev/null; then
    lp_log_tail "$LOG"
    lp_die "PostgreSQL failed to start on port $PG_PORT"
  fi
  if ! lp_wait_until 30 ready; then
    lp_log_tail "$LOG"
    lp_die "PostgreSQL started but does not accept connections on 127.0.0.1:$PG_PORT"
  fi
  lp_info "PostgreSQL ready on 127.0.0.1:$PG_PORT (pid $(running_pid || echo '?'))"
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$DATA/postmaster.pid" 2>/dev/null || true
    lp_info "PostgreSQL ($PG_DIR) is not running"
    return 0
  fi
  local mode="${PG_STOP_MODE:-fast}"
  [[ "$mode" == fast || "$mode" == immediate ]] || lp_die "PG_STOP_MODE must be fast or immediate"
  lp_info "stopping PostgreSQL (pid $pid, $mode)"
  # fast = roll back open transactions and shut down cleanly; if even that
  # hangs, immediate (crash-like, recovered on next start), then SIGKILL.
  if ! as_owner "$BIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 30 stop >/dev/null 2>&1; then
    lp_warn "fast shutdown failed; trying immediate"
    as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w -t 15 stop >/dev/null 2>&1 || true
  fi
  if ! lp_pid_gone "$pid"; then
    lp_terminate "$pid" 5 "postgres"
  fi
  lp_info "PostgreSQL stopped"
}

do_status() {
  local pid
  if pid="$(running_pid)"; then
    if ready; then
      echo "postgres: running on 127.0.0.1:$PG_PORT (pid $pid, $PG_DIR)"
    else
      echo "postgres: process $pid alive but not accepting connections on 127.0.0.1:$PG_PORT"
    fi
    return 0
  fi
  echo "postgres: stopped ($PG_DIR)"
  return 3
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
