#!/usr/bin/env bash
# Extractor throughput in CLI mode: messages/s on ONE core over a generated
# corpus (default 200,000 messages). Target (issue 4): >= 20,000 msg/s/core.
#
#   bench/extractor/run.sh [MESSAGES]
#   BIN=path/to/contact-extractor bench/extractor/run.sh      # default: build/bin/contact-extractor,
#                                                              # else build/bin/extract-cli
# Prints the figures and writes them to $LEADPIPE_BENCH_RESULTS/extractor.txt
# (default bench/results/). `make bench` sets LEADPIPE_BUILD_DIR and that.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
messages="${1:-200000}"
bin="${BIN:-}"
build="${LEADPIPE_BUILD_DIR:-$root/build}"   # set by `make bench`
results="${LEADPIPE_BENCH_RESULTS:-$root/bench/results}"
if [[ -z "$bin" ]]; then
  for cand in "$build/bin/contact-extractor" "$build/bin/extract-cli"; do
    if [[ -x "$cand" ]]; then bin="$cand"; break; fi
  done
fi
[[ -x "$bin" ]] || { echo "extractor binary not found; build it or set BIN=" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_corpus.py" "$messages" > "$work/corpus.jsonl"
conversations=$(wc -l < "$work/corpus.jsonl")
bytes=$(wc -c < "$work/corpus.jsonl")

# Pin to one core so the figure is per core; warm the page cache first.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
cat "$work/corpus.jsonl" > /dev/null
best=""
for run in 1 2 3; do
  start=$(date +%s.%N)
  "${pin[@]}" "$bin" extract --region ID < "$work/corpus.jsonl" > "$work/out.jsonl"
  end=$(date +%s.%N)
  secs=$(python3 -c "print(f'{$end - $start:.3f}')")
  if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $secs < $best else 1)"; then best=$secs; fi
done
lines=$(wc -l < "$work/out.jsonl")
errors=$(grep -c '"error"' "$work/out.jsonl" || true)
[[ "$lines" -eq "$conversations" ]] || { echo "expected $conversations output lines, got $lines" >&2; exit 1; }
rate=$(python3 -c "print(int($messages / $best))")
report="extractor CLI throughput: $messages messages in $conversations conversations ($bytes bytes), best of 3: ${best}s on one core = $rate msg/s (target 20000), errors: $errors, binary: ${bin#$root/}"
echo "$report"
mkdir -p "$results" 2>/dev/null && echo "$report" > "$results/extractor.txt" || true
[[ "$rate" -ge 20000 ]]
