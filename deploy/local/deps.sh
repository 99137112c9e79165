#!/usr/bin/env bash
# Installs what building, testing and running Leadpipe locally needs on
# Debian 12, then fetches the pinned Kafka jars. Idempotent: when everything
# is present it only runs one dpkg-query and a stamp check (well under 1 s).
#
#   deploy/local/deps.sh [--no-jars]
#
# Uses sudo for apt-get when not root. LEADPIPE_DEPS_EXTRA="pkg ..." adds
# packages; LEADPIPE_SKIP_DEPS=1 skips everything (machines managed otherwise).
set -euo pipefail
LP_SCRIPT="deps.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JARS=1
while (($#)); do
  case "$1" in
    --no-jars) JARS=0; shift ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) lp_die "unknown option '$1'" ;;
  esac
done

if [[ "${LEADPIPE_SKIP_DEPS:-0}" == 1 ]]; then
  exit 0
fi

# Build toolchain and libraries (versions: see the shared TOOLCHAIN notes).
PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  libboost-dev librdkafka-dev libpqxx-dev rapidjson-dev catch2 prometheus-cpp-dev
  libphonenumber-dev libssl-dev libcurl4-openssl-dev libre2-dev libicu-dev libjwt-dev libmimalloc-dev
  # local servers and their clients
  postgresql kcat
  # benchmarks, formatting, linting, fuzzing / sanitizers
  wrk clang-format clang-tidy clang libclang-rt-14-dev
  # make and the scripts; ca-certificates so Maven can reach Maven Central over TLS
  make curl openssl python3 python3-yaml ca-certificates
)
[[ -n "${LEADPIPE_DEPS_EXTRA:-}" ]] && read -r -a extra <<<"$LEADPIPE_DEPS_EXTRA" && PACKAGES+=("${extra[@]}")
# Any JRE will do (Kafka 3.9 runs on 11+); install Debian's default only when none is there.
lp_have java || PACKAGES+=(default-jre-headless)
lp_have mvn || PACKAGES+=(maven)

missing_packages() {
  # One dpkg-query for all: lists installed ones with status "ii"; names it
  # does not know are reported on stderr (exit 1) and absent from the output.
  local installed
  installed=" $({ dpkg-query -W -f='${Package}:${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true; } |
    sed -n 's/^\([^:]*\):ii *$/\1/p' | tr '\n' ' ') "
  local p
  for p in "${PACKAGES[@]}"; do
    [[ "$installed" == *" $p "* ]] || echo "$p"
  done
}

lp_have dpkg-query || lp_die "this script supports Debian/Ubuntu (dpkg) only; install the packages listed in it by hand"

mapfile -t missing < <(missing_packages)
if ((${#missing[@]})); then
  SUDO=()
  if ! lp_is_root; then
    lp_have sudo || lp_die "missing packages (${missing[*]}) and not root, and sudo is not installed"
    SUDO=(sudo)
  fi
  mkdir -p "$LP_LOCAL"
  # Two `make test` at once must not race on apt's lock with a confusing error.
  exec 9>"$LP_LOCAL/deps.lock"
  flock -w 1800 9 || lp_die "timed out waiting for another deps.sh"
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]})); then
    lp_info "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    "${SUDO[@]}" apt-get "${apt_opts[@]}" update
    "${SUDO[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
    mapfile -t still < <(missing_packages)
    ((${#still[@]} == 0)) || lp_die "still missing after apt-get install: ${still[*]}"
    lp_info "system packages installed"
  fi
  exec 9>&-
fi

if ((JARS)); then
  "$LP_DEPLOY/kafka.sh" fetch
fi
