# Shared by bench/ingest/run.sh and ab.sh (sourced): the test infra, a fresh
# database, pre-signed webhook bodies, gateways on free ports, and one wrk run
# with the CPU each process used during it.
#
# Expects: root (repository), here (this directory), work (a temp dir),
# leadctl, duration (seconds per wrk run). Sets pg_admin, kafka, pg_url, secret.
# Clean up with ingest_bench_delete_topics and ingest_bench_drop_db.

# shellcheck source=bench/machine.sh
source "$(dirname "${BASH_SOURCE[0]}")/../machine.sh"  # machine_model, machine_ticks, steal_pct

ingest_bench_setup() {  # db_name
  local db="$1"
  if [[ -z "${BENCH_PG_ADMIN_URL:-}" || -z "${BENCH_KAFKA:-}" ]]; then
    "$root/deploy/local/test-infra.sh" start >/dev/null
  fi
  pg_admin="${BENCH_PG_ADMIN_URL:-host=127.0.0.1 port=25532 user=postgres dbname=postgres}"
  kafka="${BENCH_KAFKA:-127.0.0.1:29192}"
  secret="bench-app-secret-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
  pg_url="${pg_admin/dbname=postgres/dbname=$db}"
  export LEADPIPE_CONFIG_FILE=/dev/null KAFKA_BROKERS="$kafka" INGEST_PG_URL="$pg_url" \
    WHATSAPP_APP_SECRET="$secret" WHATSAPP_VERIFY_TOKEN=bench INGEST_ACCESS_LOG=false LOG_LEVEL=warn
  "$leadctl" migrate --schema ingest >/dev/null
  "$leadctl" whatsapp map --phone-number-id 109876543210987 --tenant bench >/dev/null

  # 2000 signed bodies (the sample message, each with its own wamid).
  python3 - "$root/../shared/samples/whatsapp/inbound_text.json" "$secret" > "$work/bodies.tsv" <<'PY'
import hashlib, hmac, json, sys
doc = json.load(open(sys.argv[1]))
for i in range(2000):
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.BENCH{i:06d}"
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    sig = hmac.new(sys.argv[2].encode(), body, hashlib.sha256).hexdigest()
    sys.stdout.write(f"sha256={sig}\t{body.decode()}\n")
PY
  export BODIES_FILE="$work/bodies.tsv"
}

ingest_bench_drop_db() {  # db_name
  [[ -n "${pg_admin:-}" ]] || return 0  # setup never got that far
  psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1 || true
}

# The topics of every gateway start_gateway started, and their data: a run
# writes ~1 GB per minute of webhooks into the test broker, which is never
# stopped.
bench_topic_prefixes=()
ingest_bench_delete_topics() {
  local prefix
  for prefix in "${bench_topic_prefixes[@]}"; do
    KAFKA_TOPIC_PREFIX="$prefix" "$leadctl" topics delete --file "$work/topics.txt" >/dev/null 2>&1 ||
      echo "could not delete the topics ${prefix}*" >&2
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a gateway (binary, then env assignments for it alone) on a free port
# with its own topic prefix, and waits until it is ready. Sets gw_pid, gw_url.
start_gateway() {  # topic_prefix log_file binary [VAR=value ...]
  local prefix="$1" log="$2" bin="$3" port
  shift 3
  port=$(free_port)
  printf 'PARTITIONS=1\ningest.whatsapp.inbound\ningest.whatsapp.status\n' > "$work/topics.txt"
  bench_topic_prefixes+=("$prefix")
  KAFKA_TOPIC_PREFIX="$prefix" "$leadctl" topics create --file "$work/topics.txt" >/dev/null
  env KAFKA_TOPIC_PREFIX="$prefix" INGEST_PORT="$port" INGEST_IO_THREADS="${INGEST_IO_THREADS:-2}" "$@" \
    "$bin" 2>"$log" &
  gw_pid=$!
  gw_url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fs "$gw_url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$log" >&2
  echo "gateway $bin not ready" >&2
  return 1
}

# CPU ticks (user+system, all threads) of a pid; 0 if unknown.
ticks() { [[ -n "$1" && -r /proc/$1/stat ]] && awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# One wrk run → "rps p50_ms p99_ms errors requests gw% kafka% wrk% machine% steal% load1":
# CPU of the gateway, the broker JVM and wrk over the run (100% = one core),
# the whole machine's busy share and the part of it stolen by the VM's host
# (100% = all cores), the 1-min load average.
measure() {  # script connections url gateway_pid
  local script="$1" conns="$2" url="$3" gpid="$4" threads=2 out="$work/wrk.out"
  ((conns < threads)) && threads="$conns"
  local kafka_pid g0 k0 m0 mt0 s0 g1 k1 m1 mt1 s1 w
  kafka_pid=$(pgrep -f 'kafka\.Kafka' | head -1 || true)
  g0=$(ticks "$gpid"); k0=$(ticks "$kafka_pid"); read -r m0 mt0 s0 < <(machine_ticks)
  wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 5s -s "$here/$script" "$url" > "$out" &
  local wrk_pid=$!
  sleep 0.5; w=$(ticks "$wrk_pid"); [[ -n "$w" ]] || w=0
  local v
  while kill -0 "$wrk_pid" 2>/dev/null; do  # last reading before wrk exits (its /proc entry goes with it)
    v=$(ticks "$wrk_pid" 2>/dev/null); [[ -n "$v" && "$v" != 0 ]] && w="$v"
    sleep 0.2
  done
  wait "$wrk_pid"
  g1=$(ticks "$gpid"); k1=$(ticks "$kafka_pid"); read -r m1 mt1 s1 < <(machine_ticks)
  local hz; hz=$(getconf CLK_TCK)
  python3 - "$(sed -n 's/^RESULT //p' "$out")" "$((g1 - g0))" "$((k1 - k0))" "$w" "$((m1 - m0))" "$((mt1 - mt0))" \
    "$((s1 - s0))" "$hz" "$duration" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import sys
res, g, k, w, busy, total, steal, hz, dur, load = sys.argv[1:]
pct = lambda t: 100.0 * int(t) / (int(hz) * float(dur))
share = lambda t: 100.0 * int(t) / max(1, int(total))
print(res, f"{pct(g):.0f} {pct(k):.0f} {pct(w):.0f} {share(busy):.0f} {share(steal):.0f} {load}")
PY
}
