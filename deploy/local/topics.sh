#!/usr/bin/env bash
# Creates the topics of deploy/local/topics.txt on a broker, idempotently.
#
#   deploy/local/topics.sh [--brokers HOST:PORT] [--file FILE]
#       env KAFKA_BROKERS (default 127.0.0.1:59092), TOPICS_FILE,
#       KAFKA_TOPIC_PREFIX (prepended to every name, as the services do)
#
# 1. A metadata request (kcat) shows whether every topic already exists with
#    the catalogue's partition count; then nothing else runs (the usual `up`).
# 2. Otherwise `build/bin/leadctl topics create` (librdkafka Admin API) when
#    leadctl is built and has that command (env LEADCTL overrides the path),
# 3. else deploy/local/kafka/CreateTopics.java with Kafka's AdminClient: one
#    JVM for all topics instead of one kafka-topics call per topic.
set -euo pipefail
LP_SCRIPT="topics.sh"
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BROKERS="${KAFKA_BROKERS:-127.0.0.1:59092}"
FILE="${TOPICS_FILE:-$LP_DEPLOY/topics.txt}"
LEADCTL="${LEADCTL:-$LP_ROOT/build/bin/leadctl}"
KAFKA_LIBS="${KAFKA_LIBS:-$LP_LOCAL/kafka/libs}"
PREFIX="${KAFKA_TOPIC_PREFIX:-}"
while (($#)); do
  case "$1" in
    --brokers) BROKERS="$2"; shift 2 ;;
    --brokers=*) BROKERS="${1#*=}"; shift ;;
    --file) FILE="$2"; shift 2 ;;
    --file=*) FILE="${1#*=}"; shift ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) lp_die "unknown option '$1'" ;;
  esac
done
[[ -r "$FILE" ]] || lp_die "topic catalogue $FILE not readable"

# The catalogue as "<topic>" lines, and its partition count.
PARTITIONS="$(sed -n 's/^[[:space:]]*PARTITIONS=[[:space:]]*\([0-9][0-9]*\)[[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$FILE" | tail -n1)"
[[ -n "$PARTITIONS" ]] || lp_die "$FILE has no PARTITIONS=<n> line"
mapfile -t TOPICS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' -e '/^PARTITIONS=/d' "$FILE")
((${#TOPICS[@]})) || lp_die "$FILE lists no topics"

# Prints catalogue topics that are missing or have fewer partitions than asked.
lacking() {
  local meta
  meta="$(kcat -b "$BROKERS" -L -m 10 2>/dev/null)" || return 2
  # kcat: `  topic "name" with N partitions:`
  declare -A have=()
  local name n
  while read -r name n; do
    have["$name"]="$n"
  done < <(sed -n 's/^ *topic "\([^"]*\)" with \([0-9]*\) partitions:.*/\1 \2/p' <<<"$meta")
  local t
  for t in "${TOPICS[@]}"; do
    t="$PREFIX$t"
    if [[ -z "${have[$t]:-}" ]] || ((have[$t] < PARTITIONS)); then echo "$t"; fi
  done
}

lp_have kcat || lp_die "kcat not found; run deploy/local/deps.sh"
if ! todo="$(lacking)"; then
  lp_die "cannot reach Kafka at $BROKERS (start it: deploy/local/kafka.sh start)"
fi
if [[ -z "$todo" ]]; then
  lp_info "all ${#TOPICS[@]} topics present on $BROKERS ($PARTITIONS partitions)"
  exit 0
fi
lp_info "$(wc -l <<<"$todo") of ${#TOPICS[@]} topics to create or grow on $BROKERS"

leadctl_can_create() {
  [[ -x "$LEADCTL" ]] || return 1
  "$LEADCTL" topics create --help >/dev/null 2>&1 ||
    "$LEADCTL" --help 2>&1 | grep -q 'topics create'
}

if leadctl_can_create; then
  # leadctl reads the brokers and the prefix from the environment.
  KAFKA_BROKERS="$BROKERS" KAFKA_TOPIC_PREFIX="$PREFIX" "$LEADCTL" topics create --file "$FILE"
else
  lp_have java || lp_die "java not found; run deploy/local/deps.sh"
  "$LP_DEPLOY/kafka.sh" fetch
  # Source-file launcher: compiles the small program in memory, no build step.
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j.configuration="file:$LP_DEPLOY/kafka/log4j-tools.properties" \
    -cp "$KAFKA_LIBS/*" "$LP_DEPLOY/kafka/CreateTopics.java" \
    --bootstrap-server "$BROKERS" --file "$FILE" --prefix "$PREFIX"
fi

todo="$(lacking)" || lp_die "cannot reach Kafka at $BROKERS"
[[ -z "$todo" ]] || lp_die "topics still missing after creation: $(tr '\n' ' ' <<<"$todo")"
lp_info "all ${#TOPICS[@]} topics present on $BROKERS ($PARTITIONS partitions)"
