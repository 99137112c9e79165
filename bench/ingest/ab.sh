#!/usr/bin/env bash
# A/B of ingest-gateway variants (binaries and/or settings) in one run. The
# machine's speed drifts by ±30% within minutes, so two run.sh runs a few
# minutes apart cannot tell a 10% change from the noise. Here every variant
# runs at once against the same Kafka and database, each idle while another is
# measured, and the rounds alternate /healthz and the webhook over the
# variants, so a slow minute hits them alike. Prints every round and, per
# variant, the medians over the rounds of: webhook/healthz throughput ratio,
# gateway CPU per webhook and per /healthz request, and machine time per
# webhook and per /healthz request (µs, both cores' busy time / requests).
#
#   bench/ingest/ab.sh 'NAME=BINARY [VAR=value ...]' ...
#
#   bench/ingest/ab.sh base=/tmp/ingest-gateway.old new=build/bin/ingest-gateway
#   bench/ingest/ab.sh 'l5=build/bin/ingest-gateway INGEST_KAFKA_LINGER_MS=5' \
#                      'l2=build/bin/ingest-gateway INGEST_KAFKA_LINGER_MS=2'
#
# ROUNDS (default 4), DURATION seconds per wrk run (4), HEALTHZ_CONNS (64),
# WEBHOOK_CONNS (512); BENCH_PG_ADMIN_URL / BENCH_KAFKA as for run.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${LEADPIPE_BUILD_DIR:-$root/build}"
leadctl="$build/bin/leadctl"
rounds="${ROUNDS:-4}"
duration="${DURATION:-4}"
healthz_conns="${HEALTHZ_CONNS:-64}"
webhook_conns="${WEBHOOK_CONNS:-512}"
(($# >= 1)) || { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ -x "$leadctl" ]] || { echo "missing $leadctl: build first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

# shellcheck source=bench/ingest/lib.sh
. "$here/lib.sh"
run_id="bench_ingest_ab_$(date +%s)_$$"
work="$(mktemp -d)"
names=() pids=() urls=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  ingest_bench_delete_topics
  ingest_bench_drop_db "$run_id"
  rm -rf "$work"
}
trap cleanup EXIT

ingest_bench_setup "$run_id"
for spec in "$@"; do
  read -r -a words <<<"$spec"
  name="${words[0]%%=*}" bin="${words[0]#*=}"
  [[ -n "$name" && "$name" != "${words[0]}" && -x "$bin" ]] || { echo "bad variant '$spec' (NAME=BINARY [VAR=value ...])" >&2; exit 2; }
  start_gateway "$run_id.${#names[@]}." "$work/$name.log" "$bin" "${words[@]:1}"
  names+=("$name") pids+=("$gw_pid") urls+=("$gw_url")
done

# Warm-up: connections, producers, page cache, for each variant.
saved="$duration"; duration=3
for i in "${!names[@]}"; do measure whatsapp.lua "$webhook_conns" "${urls[$i]}/webhooks/whatsapp" "${pids[$i]}" >/dev/null; done
duration="$saved"

# "name round healthz_rps webhook_rps gw_healthz% gw_webhook% busy_healthz% busy_webhook%"
: > "$work/rounds.txt"
for r in $(seq 1 "$rounds"); do
  for i in "${!names[@]}"; do
    read -r h_rps _ _ _ _ h_gw _ _ h_busy _ _ < <(measure healthz.lua "$healthz_conns" "${urls[$i]}/healthz" "${pids[$i]}")
    read -r w_rps _ _ _ _ w_gw _ _ w_busy _ _ < <(measure whatsapp.lua "$webhook_conns" "${urls[$i]}/webhooks/whatsapp" "${pids[$i]}")
    echo "${names[$i]} $r $h_rps $w_rps $h_gw $w_gw $h_busy $w_busy" | tee -a "$work/rounds.txt" >/dev/null
    python3 - "${names[$i]}" "$r" "$h_rps" "$w_rps" "$h_gw" "$w_gw" "$h_busy" "$w_busy" "$(nproc)" <<'PY'
import sys
n, r, hr, wr, hg, wg, hb, wb, cores = sys.argv[1:]
hr, wr, hg, wg, hb, wb, cores = map(float, (hr, wr, hg, wg, hb, wb, cores))
us = lambda pct, rps: pct / 100 * 1e6 / max(rps, 1)  # % of one core -> µs per request
print(f"{n:12s} round {r}: healthz {hr:8.0f} req/s  webhook {wr:8.0f} req/s  ratio {wr / hr:.3f}  "
      f"gateway µs {us(hg, hr):5.1f} / {us(wg, wr):5.1f}  machine µs {us(hb * cores, hr):5.1f} / {us(wb * cores, wr):5.1f}")
PY
  done
done

echo
python3 - "$work/rounds.txt" "$(nproc)" "$healthz_conns" "$webhook_conns" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
cores = float(sys.argv[2])
by = {}
for r in rows:
    by.setdefault(r[0], []).append([float(x) for x in r[2:]])
print(f"medians over {len(rows) // max(1, len(by))} rounds (healthz at {sys.argv[3]} connections, webhook at {sys.argv[4]}):")
print(f"{'variant':12s} {'ratio':>6s} {'min':>6s} {'max':>6s} {'gw µs/webhook':>14s} {'gw µs/healthz':>14s} {'machine µs/webhook':>19s} {'machine µs/healthz':>19s}")
for name, v in by.items():
    ratio = [w / h for h, w, *_ in v]
    gw_w = [wg / 100 * 1e6 / w for h, w, hg, wg, hb, wb in v]
    gw_h = [hg / 100 * 1e6 / h for h, w, hg, wg, hb, wb in v]
    m_w = [wb * cores / 100 * 1e6 / w for h, w, hg, wg, hb, wb in v]
    m_h = [hb * cores / 100 * 1e6 / h for h, w, hg, wg, hb, wb in v]
    print(f"{name:12s} {st.median(ratio):6.3f} {min(ratio):6.3f} {max(ratio):6.3f} {st.median(gw_w):14.1f} "
          f"{st.median(gw_h):14.1f} {st.median(m_w):19.1f} {st.median(m_h):19.1f}")
PY
