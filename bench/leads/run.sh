#!/usr/bin/env bash
# Lead-store benchmark (issue 5): the CRM list API over 1,000,000 generated
# leads, compared with the same SQL run directly by pgbench in the same run;
# then a 100,000-row CSV import compared with PostgreSQL COPY of the same file.
#
#   bench/leads/run.sh          # LEADS=1000000 IMPORT_ROWS=100000 DURATION=10 CONCURRENCY=8
#
#   KEEP_DB=1      keep the generated database (its name is printed) for REUSE_DB
#   REUSE_DB=name  skip the generation and use that kept database; the CSV's new
#                  phones get a prefix per earlier import (0857, 0858, …) so each
#                  run imports new people again (the tenant grows by their count)
#   EMPTY_IMPORT=1 also import the same file into a new, empty tenant
#   SKIP_LIST=1    import only (no list measurements)
#   SKIP_IMPORT=1  list measurements only (no import: a kept database stays as it is)
#
# On failure the tail of the lead-store log is printed and the log is kept.
#
# 1. A fresh database, migrations (leadctl), 1M leads for tenant `bench`
#    generated in SQL (gen_leads.sql: stages, tiers, tags, assignees, names,
#    phones, e-mails, created_at over two years), VACUUM ANALYZE.
# 2. The real lead-store on a free port. Each query shape's request paths are
#    sent twice with log_min_duration_statement = 0 on the bench database;
#    capture_sql.py turns the statements of the second request (the page, the
#    search's word expansion, a count; the total's EXPLAIN only when the
#    estimate cache does not answer it; parameters inlined) into a pgbench script.
# 3. Per shape: wrk (CONCURRENCY connections, DURATION s) against the API, then
#    pgbench (same connections, same duration) with the captured scripts;
#    p50 / p99 / req/s of both and the ratio API p99 / SQL p99.
# 4. Import: gen_csv.py rows → POST /api/v1/leads/import (wall time of the
#    request) vs `\copy` of the same file into a plain table of text columns.
#
# Targets: API p99 ≤ 25 ms and API p99 / SQL p99 ≤ 1.5 for every shape;
# import well under a minute. Uses the test PostgreSQL/Kafka of
# deploy/local/test-infra.sh (started if needed, never stopped) unless
# BENCH_PG_ADMIN_URL / BENCH_KAFKA / BENCH_PG_LOG are given. Writes
# $LEADPIPE_BENCH_RESULTS/leads.txt (default bench/results/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${LEADPIPE_BUILD_DIR:-$root/build}"
results="${LEADPIPE_BENCH_RESULTS:-$root/bench/results}"
leads="${LEADS:-1000000}"
import_rows="${IMPORT_ROWS:-100000}"
duration="${DURATION:-10}"
conns="${CONCURRENCY:-8}"
service="$build/bin/lead-store"
leadctl="$build/bin/leadctl"
for b in "$service" "$leadctl"; do [[ -x "$b" ]] || { echo "missing $b: build first" >&2; exit 2; }; done
for t in wrk pgbench psql curl python3; do
  command -v "$t" >/dev/null || { echo "$t is not installed" >&2; exit 2; }
done

if [[ -z "${BENCH_PG_ADMIN_URL:-}" || -z "${BENCH_KAFKA:-}" ]]; then
  "$root/deploy/local/test-infra.sh" start >/dev/null
fi
pg_admin="${BENCH_PG_ADMIN_URL:-host=127.0.0.1 port=25532 user=postgres dbname=postgres}"
kafka="${BENCH_KAFKA:-127.0.0.1:29192}"
pg_log="${BENCH_PG_LOG:-$root/.local/test/pg/server.log}"
run_id="bench_leads_$(date +%s)_$$"
db="${REUSE_DB:-$run_id}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work="$(mktemp -d)"
svc_pid=""
stop_service() {
  if [[ -n "$svc_pid" ]]; then kill "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null || true; fi
  svc_pid=""
}
cleanup() {
  local rc=$?
  stop_service
  if [[ -n "${REUSE_DB:-}" || -n "${KEEP_DB:-}" ]]; then
    echo "database kept: REUSE_DB=$db" >&2
  else
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if ((rc != 0)) && [[ -s "$work/lead-store.log" ]]; then
    # Keep the service log of a failed run: it holds the cause of a 5xx.
    local kept="${TMPDIR:-/tmp}/leads-bench-$run_id.log"
    cp "$work/lead-store.log" "$kept"
    echo "---- lead-store log (tail; all of it in $kept) ----" >&2
    tail -n 40 "$kept" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
# shellcheck source=bench/machine.sh
source "$here/../machine.sh"  # machine_model, machine_ticks, steal_pct
list_steal=-; import_steal=-
started_load="$(load)"

[[ -n "${REUSE_DB:-}" ]] || psql "$pg_admin" -qc "CREATE DATABASE $db" >/dev/null
pg_url="${pg_admin/dbname=postgres/dbname=$db}"
psql_db() { psql "$pg_url" -X -v ON_ERROR_STOP=1 "$@"; }
jwt_secret="bench-jwt-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export LEADPIPE_CONFIG_FILE=/dev/null KAFKA_BROKERS="$kafka" KAFKA_TOPIC_PREFIX="$run_id." LEADSTORE_PG_URL="$pg_url" \
  JWT_SECRET="$jwt_secret" LEADSTORE_PORT="$port" LEADSTORE_MIGRATE_ON_START=false LOG_LEVEL=warn \
  LEADSTORE_CONSUMER_GROUP="$run_id"
# The service's own defaults unless given (LEADSTORE_IO_THREADS, LEADSTORE_PG_POOL_SIZE, …: exported as they are).
"$leadctl" migrate --schema leads >/dev/null
token="$("$leadctl" token --tenant bench --role admin --sub bench-admin --ttl 7200)"

if [[ -z "${REUSE_DB:-}" ]]; then
  echo "generating $leads leads (load average $(load))..."
  t0=$(date +%s.%N)
  psql_db -q -v tenant=bench -v n="$leads" -f "$here/gen_leads.sql" >/dev/null
  gen_s=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  echo "generated in ${gen_s}s: $(psql_db -Atc "SELECT pg_size_pretty(pg_total_relation_size('leads.leads'))") with indexes"
else
  leads=$(psql_db -Atc "SELECT count(*) FROM leads.leads WHERE tenant = 'bench' AND deleted_at IS NULL")
  echo "reusing $db: $leads leads in tenant bench"
fi

start_service() {
  "$service" >>"$work/lead-store.log" 2>&1 &
  svc_pid=$!
  for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$work/lead-store.log" >&2
  echo "lead-store not ready" >&2
  exit 1
}
url="http://127.0.0.1:$port"
api() {  # GET path: the body; on a non-2xx answer the status and body on stderr, exit 1
  local out code
  out="$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $token" "$url$1")" || return 1
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  [[ "$code" == 2?? ]] || { echo "GET $1 answered $code: ${out:0:500}" >&2; return 1; }
  printf '%s\n' "$out"
}
psql_db -qc "ALTER DATABASE $db RESET log_min_duration_statement" >/dev/null
worst_p99=-; worst_ratio=-; all_errors=0; list_verdict=SKIPPED; measure_load=-
if [[ -z "${SKIP_LIST:-}" ]]; then

# ---- query shapes: request paths (URL-encoded) per shape ----------------------
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
shapes="default stage_tier tag phone name cursor"
echo "/api/v1/leads?limit=50" > "$work/paths.default"
for s in new contacted qualified; do for t in hot warm cold; do
  echo "/api/v1/leads?stage=$s&tier=$t&limit=50"
done; done > "$work/paths.stage_tier"
for t in expo-jakarta expo-surabaya nursing scholarship open-day webinar-2026 tiktok transfer vip no-answer; do
  echo "/api/v1/leads?tag=$t&limit=50"
done > "$work/paths.tag"
# Six digits from the middle of existing numbers, typed as "0812-3…" would be.
psql_db -Atc "SELECT substr(phone, 6, 6) FROM leads.leads TABLESAMPLE SYSTEM (1) REPEATABLE (7)
              WHERE phone IS NOT NULL LIMIT 10" | while read -r d; do echo "/api/v1/leads?q=$d&limit=50"; done \
  > "$work/paths.phone"
# A first name and the start of a last name ("budi sant").
psql_db -Atc "SELECT DISTINCT lower(split_part(name, ' ', 1)) || ' ' || left(lower(split_part(name, ' ', 2)), 4)
              FROM leads.leads TABLESAMPLE SYSTEM (1) REPEATABLE (11) WHERE name LIKE '% %' LIMIT 10" |
  while read -r n; do echo "/api/v1/leads?q=$(enc "$n")&limit=50"; done > "$work/paths.name"

# ---- capture the SQL of every path (logging on, then a clean restart) ---------
[[ -r "$pg_log" ]] || { echo "cannot read the PostgreSQL log $pg_log (BENCH_PG_LOG)" >&2; exit 2; }
psql_db -qc "ALTER DATABASE $db SET log_min_duration_statement = 0" >/dev/null
start_service
# Cursor pages 2–4 of the default sort, the score sort and a stage filter.
for base in "/api/v1/leads?limit=50" "/api/v1/leads?sort=score&limit=50" "/api/v1/leads?stage=new&limit=50"; do
  p="$base"
  for _ in 1 2 3; do
    cur=$(api "$p" | python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])')
    p="$base&cursor=$cur"
    echo "$p"
  done
done > "$work/paths.cursor"
for shape in $shapes; do
  i=0
  while read -r p; do
    i=$((i + 1))
    # The request before the captured one fills lead-store's estimate cache
    # (LEADSTORE_ESTIMATE_CACHE_MS): the captured statements are what every
    # request runs in the measurement, not the first one's extra EXPLAIN.
    api "$p" >/dev/null
    sleep 0.3   # its statements logged before the offset is taken
    offset=$(stat -c %s "$pg_log")
    api "$p" >/dev/null
    sleep 0.3   # the log is written asynchronously by the server
    python3 "$here/capture_sql.py" "$pg_log" "$offset" "$work/sql.$shape.$i" ||
      { echo "no list statements logged for $p" >&2; exit 1; }
  done < "$work/paths.$shape"
done
stop_service
psql_db -qc "ALTER DATABASE $db RESET log_min_duration_statement" >/dev/null
start_service
echo "captured SQL, e.g. ($shapes → $work/sql.*):"
sed -n '3,4p' "$work/sql.tag.1" | cut -c1-400

# ---- measure -------------------------------------------------------------------
threads=2; ((conns < threads)) && threads="$conns"
wrk_measure() {  # paths_file → "rps p50 p99 errors n"
  PATHS_FILE="$1" TOKEN="$token" wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 5s -s "$here/list.lua" "$url" |
    sed -n 's/^RESULT //p'
}
pgbench_measure() {  # shape → "tps p50 p99 failed n"
  local shape="$1" files=()
  for f in "$work"/sql."$shape".*; do files+=(-f "$f"); done
  rm -f "$work"/pgb_"$shape"*
  (cd "$work" && pgbench -n -M simple -c "$conns" -j "$threads" -T "$duration" -l --log-prefix="pgb_$shape" \
     "${files[@]}" -h "$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"$pg_url")" \
     -p "$(sed -n 's/.*port=\([^ ]*\).*/\1/p' <<<"$pg_url")" -U "$(sed -n 's/.*user=\([^ ]*\).*/\1/p' <<<"$pg_url")" \
     "$db" >"$work/pgbench.$shape.out" 2>&1) || { cat "$work/pgbench.$shape.out" >&2; return 1; }
  python3 - "$work" "$shape" "$duration" <<'PY'
import glob, sys
work, shape, dur = sys.argv[1], sys.argv[2], float(sys.argv[3])
lat = sorted(int(l.split()[2]) for f in glob.glob(f"{work}/pgb_{shape}*") for l in open(f) if l.strip())
pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] / 1000
print(f"{len(lat) / dur:.1f} {pct(50):.3f} {pct(99):.3f} 0 {len(lat)}")
PY
}

# Warm-up: every path once more through the API, and the table in the page cache.
psql_db -qAtc "SELECT count(*) FROM leads.leads" >/dev/null
for shape in $shapes; do while read -r p; do api "$p" >/dev/null; done < "$work/paths.$shape"; done

measure_load="$(load)"
read -r _ list_total0 list_steal0 < <(machine_ticks)
printf '%-11s %8s %9s %9s %9s %7s   %8s %9s %9s   %6s\n' shape api_rps api_p50 api_p99 errors n sql_tps sql_p50 \
  sql_p99 ratio | tee "$work/table.txt"
worst_p99=0; worst_ratio=0; all_errors=0
for shape in $shapes; do
  read -r rps p50 p99 errs n < <(wrk_measure "$work/paths.$shape")
  read -r tps sp50 sp99 _ sn < <(pgbench_measure "$shape")
  ratio=$(python3 -c "print(f'{$p99 / $sp99:.2f}')")
  printf '%-11s %8s %9s %9s %9s %7s   %8s %9s %9s   %6s\n' "$shape" "$rps" "$p50" "$p99" "$errs" "$n" "$tps" "$sp50" \
    "$sp99" "$ratio" | tee -a "$work/table.txt"
  worst_p99=$(python3 -c "print(max($worst_p99, $p99))")
  worst_ratio=$(python3 -c "print(max($worst_ratio, $ratio))")
  all_errors=$((all_errors + errs))
done
list_verdict=$(python3 -c "print('PASS' if $worst_p99 <= 25 and $worst_ratio <= 1.5 and $all_errors == 0 else 'FAIL')")
read -r _ list_total1 list_steal1 < <(machine_ticks)
list_steal="$(steal_pct "$list_total0" "$list_steal0" "$list_total1" "$list_steal1")%"
else
  start_service
fi

# ---- CSV import vs COPY ----------------------------------------------------------
if [[ -n "${SKIP_IMPORT:-}" ]]; then
  summary="RESULT leads: ${leads} leads, ${conns} connections, ${duration}s per run: worst API p99 ${worst_p99} ms (target <= 25), worst API/SQL p99 ratio ${worst_ratio} (target <= 1.5), errors ${all_errors}: ${list_verdict}; import skipped; load average at start ${started_load}, at measure ${measure_load}; CPU stolen by the VM's host during the list runs ${list_steal}; $(nproc) cores ($(machine_model)) shared with other builds"
  echo "$summary"
  mkdir -p "$results" 2>/dev/null && { cat "$work/table.txt"; echo "$summary"; } > "$results/leads.txt" || true
  exit 0
fi
# New people's numbers: 0857… on a fresh database, another operator prefix per
# earlier import batch when the database is reused.
prev_batches=$(psql_db -Atc "SELECT count(*) FROM leads.import_batches WHERE tenant = 'bench'")
prefixes=(0857 0858 0859 0852 0853 0813 0815 0816 0817 0818 0819 0821 0822 0823 0831 0832 0838 0877 0878 0895)
prefix="${prefixes[$((prev_batches % ${#prefixes[@]}))]}"
# Existing leads the file updates: another 3,000 per earlier import (the first
# ones already have what the file adds: they would only be duplicates).
psql_db -Atc "SELECT phone FROM leads.leads WHERE tenant = 'bench' AND phone LIKE '+62812%' ORDER BY id
              LIMIT 3000 OFFSET $((prev_batches * 3000))" \
  > "$work/existing.txt"
python3 "$here/gen_csv.py" "$import_rows" "$work/existing.txt" "$prefix" > "$work/import.csv"
import_file() {  # token → "seconds counts"
  local code secs
  read -r code secs < <(curl -sS -o "$work/import.json" -w '%{http_code} %{time_total}\n' -X POST \
    -H "Authorization: Bearer $1" -H 'Content-Type: text/csv' --data-binary @"$work/import.csv" \
    "$url/api/v1/leads/import")
  [[ "$code" == 200 || "$code" == 201 ]] || { echo "import answered $code: $(head -c 500 "$work/import.json")" >&2; return 1; }
  echo "$secs $(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(",".join(f"{k}={d[k]}" for k in ("inserted", "updated", "duplicates", "invalid")))' "$work/import.json")"
}
# The import logs its phases (parse, prepare, load_existing, write_* …) at info.
stop_service
LOG_LEVEL=info start_service
phases() { grep '"msg":"import"' "$work/lead-store.log" | tail -n 1 | sed -n 's/.*"phases_ms":"\([^"]*\)".*/\1/p'; }
import_load="$(load)"
read -r _ import_total0 import_steal0 < <(machine_ticks)
read -r secs counts < <(import_file "$token")
read -r _ import_total1 import_steal1 < <(machine_ticks)
import_steal="$(steal_pct "$import_total0" "$import_steal0" "$import_total1" "$import_steal1")%"
[[ -n "${secs:-}" ]] || exit 1
psql_db -qc "DROP TABLE IF EXISTS public.bench_copy"
psql_db -qc "CREATE TABLE public.bench_copy (name text, phone text, email text, session_year text, program text,
             source text, tags text, city text)"
t0=$(date +%s.%N)
psql_db -qc "\\copy public.bench_copy FROM '$work/import.csv' WITH (FORMAT csv, HEADER true)"
copy_secs=$(python3 -c "import time; print(f'{time.time() - $t0:.3f}')")
import_rps=$(python3 -c "print(f'{$import_rows / $secs:.0f}')")
copy_rps=$(python3 -c "print(f'{$import_rows / $copy_secs:.0f}')")
import_ratio=$(python3 -c "print(f'{$copy_secs / $secs:.3f}')")
import_verdict=$(python3 -c "print('PASS' if $secs < 30 else 'FAIL')")
printf 'import %s rows into the %s-lead tenant: %.2f s (%s rows/s; %s) vs COPY %.3f s (%s rows/s): import/COPY throughput %s (load average %s)\n' \
  "$import_rows" "$leads" "$secs" "$import_rps" "$counts" "$copy_secs" "$copy_rps" "$import_ratio" "$import_load" | tee -a "$work/table.txt"
echo "  phases (ms): $(phases)" | tee -a "$work/table.txt"
empty_note=""
if [[ -n "${EMPTY_IMPORT:-}" ]]; then
  empty_token="$("$leadctl" token --tenant "empty_$run_id" --role admin --sub bench-admin --ttl 7200)"
  empty_load="$(load)"
  read -r esecs ecounts < <(import_file "$empty_token")
  [[ -n "${esecs:-}" ]] || exit 1
  printf 'import %s rows into an empty tenant: %.2f s (%s rows/s; %s) (load average %s)\n' "$import_rows" "$esecs" \
    "$(python3 -c "print(f'{$import_rows / $esecs:.0f}')")" "$ecounts" "$empty_load" | tee -a "$work/table.txt"
  echo "  phases (ms): $(phases)" | tee -a "$work/table.txt"
  empty_note="; into an empty tenant ${esecs}s"
fi

summary="RESULT leads: ${leads} leads, ${conns} connections, ${duration}s per run: worst API p99 ${worst_p99} ms (target <= 25), worst API/SQL p99 ratio ${worst_ratio} (target <= 1.5), errors ${all_errors}: ${list_verdict}; CSV import ${import_rows} rows in ${secs}s = ${import_rps} rows/s vs COPY ${copy_rps} rows/s (ratio ${import_ratio}; target well under 60 s: ${import_verdict})${empty_note}; load average at start ${started_load}, at measure ${measure_load}, at import ${import_load}; CPU stolen by the VM's host during the list runs ${list_steal}, the import ${import_steal}; $(nproc) cores ($(machine_model)) shared with other builds"
echo "$summary"
mkdir -p "$results" 2>/dev/null && { cat "$work/table.txt"; echo "$summary"; } > "$results/leads.txt" || true
