# shellcheck shell=bash
# Shared helpers for the deploy/local scripts. Source it; do not run it.
#
# Everything here is plain bash + coreutils so it works on a bare Debian 12
# image before deps.sh has installed anything (no ss/ps/nc needed: ports are
# probed with bash's /dev/tcp, processes through /proc).

# Repository root and the state directory every script keeps its runtime files in.
LP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LP_LOCAL="${LP_LOCAL:-$LP_ROOT/.local}"
LP_DEPLOY="$LP_ROOT/deploy/local"

# Name used as the prefix of every message (set by the sourcing script).
LP_SCRIPT="${LP_SCRIPT:-$(basename "$0")}"

lp_info() { printf '%s: %s\n' "$LP_SCRIPT" "$*" >&2; }
lp_warn() { printf '%s: warning: %s\n' "$LP_SCRIPT" "$*" >&2; }
lp_die() {
  printf '%s: error: %s\n' "$LP_SCRIPT" "$*" >&2
  exit 1
}

lp_have() { command -v "$1" >/dev/null 2>&1; }

lp_is_root() { [[ "$(id -u)" == 0 ]]; }

# Prints the last lines of a log file to stderr (for start-up failures).
lp_log_tail() {
  local file="$1" lines="${2:-40}"
  if [[ -r "$file" ]]; then
    printf '%s: ---- last %s lines of %s ----\n' "$LP_SCRIPT" "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf '%s: ----\n' "$LP_SCRIPT" >&2
  else
    printf '%s: (no log at %s)\n' "$LP_SCRIPT" "$file" >&2
  fi
}

# True when something accepts TCP connections on 127.0.0.1:<port>.
lp_port_open() {
  local port="$1"
  # The subshell owns fd 3, so nothing leaks even if the connect succeeds.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Best-effort description of who listens on a port (for error messages).
lp_port_owner() {
  local port="$1"
  if lp_have ss; then
    ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1
  fi
}

# Fails with a clear message if a port we are about to bind is taken.
lp_require_free_port() {
  local port="$1" what="$2"
  if lp_port_open "$port"; then
    local owner
    owner="$(lp_port_owner "$port")"
    lp_die "port $port ($what) is already in use by another process${owner:+ ($owner)}; stop it or choose another port"
  fi
}

# Process start time (jiffies since boot, field 22 of /proc/<pid>/stat): with
# the pid it identifies a process even after the pid is recycled.
lp_proc_starttime() {
  local pid="$1" stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  # Field 2 (comm) may contain spaces; cut after the closing parenthesis.
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# True if <pid> is alive and its command line contains <pattern> (fixed
# string). Guards against stale pid files whose pid now belongs to another
# program.
lp_pid_matches() {
  local pid="$1" pattern="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# Reads a pid file; prints the pid if that process is alive and matches.
lp_pidfile_alive() {
  local file="$1" pattern="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(head -n1 "$file" 2>/dev/null)"
  lp_pid_matches "$pid" "$pattern" || return 1
  echo "$pid"
}

# Polls `cmd...` every 100 ms until it succeeds or <seconds> pass.
# Usage: lp_wait_until <seconds> cmd args...
lp_wait_until() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  while true; do
    "$@" && return 0
    ((SECONDS >= deadline)) && return 1
    sleep 0.1
  done
}

# Sends SIGTERM, waits up to <seconds> for the process to exit, then SIGKILL.
lp_terminate() {
  local pid="$1" seconds="${2:-30}" what="${3:-process}"
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! lp_wait_until "$seconds" lp_pid_gone "$pid"; then
    lp_warn "$what (pid $pid) did not stop within ${seconds}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    lp_wait_until 10 lp_pid_gone "$pid" || lp_warn "$what (pid $pid) survived SIGKILL"
  fi
}

lp_pid_gone() {
  # A zombie still answers kill -0; treat state Z as gone.
  [[ ! -e "/proc/$1" ]] && return 0
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)"
  [[ -z "$state" || "$state" == Z ]]
}

# Makes every parent of <dir> traversable (o+x) for <user>, so that a service
# account (postgres) can reach a data directory inside the checkout even when
# the checkout sits below a private home such as /root. Only adds the search
# bit where it is missing, never read permission, and says so.
lp_ensure_traversable() {
  local user="$1" dir="$2" p
  p="$(dirname "$dir")"
  while [[ "$p" != "/" && -n "$p" ]]; do
    if ! runuser -u "$user" -- test -x "$p" 2>/dev/null; then
      lp_info "granting search permission (o+x) on $p so that '$user' can reach $dir"
      chmod o+x "$p"
    fi
    p="$(dirname "$p")"
  done
}

# Runs an exclusive section: lp_lock <file> sets fd 9 to a flock'ed file.
# Callers must start long-lived children with `9>&-` so the daemon does not
# keep holding the lock after the script exits.
lp_lock() {
  local file="$1" seconds="${2:-600}"
  mkdir -p "$(dirname "$file")"
  exec 9>"$file"
  if ! flock -w "$seconds" 9; then
    lp_die "could not take lock $file within ${seconds}s (another deploy/local script is stuck?)"
  fi
}

lp_unlock() { exec 9>&-; }

# ------------------------------------------------------- the dev stack ----
# Services in start order (producers of a topic before its consumers does not
# matter for correctness, Kafka buffers; this order just reads like the flow).
# shellcheck disable=SC2034  # used by the scripts that source this file
LP_SERVICES=(ingest-gateway contact-extractor lead-store outreach analytics)
LP_BIN="${LEADPIPE_BIN:-$LP_ROOT/build/bin}"
LP_RUN="$LP_LOCAL/run"
# shellcheck disable=SC2034
LP_LOGS="$LP_LOCAL/logs"

# Name of the dev.env variable holding a service's HTTP port.
lp_service_port_var() {
  case "$1" in
    ingest-gateway) echo INGEST_PORT ;;
    lead-store) echo LEADSTORE_PORT ;;
    outreach) echo OUTREACH_PORT ;;
    analytics) echo ANALYTICS_PORT ;;
    contact-extractor) echo EXTRACTOR_PORT ;;
    *) return 1 ;;
  esac
}

# Exports everything in dev.env (values already in the environment win).
lp_load_dev_env() {
  set -a
  # shellcheck source=deploy/local/dev.env
  . "$LP_DEPLOY/dev.env"
  set +a
}

# Prints the pid of a running service started by up.sh.
lp_service_pid() {
  lp_pidfile_alive "$LP_RUN/$1.pid" "$LP_BIN/$1"
}
