#!/usr/bin/env bash
# bench/serve_bench.sh — continuous batching through the server: aggregate
# decode tokens/s of 8 clients streaming at once against 1 client alone,
# same model, same server, same run (the issue's target: 8 streams >= 3x
# one stream). Reported, never asserted.
#
#   bash bench/serve_bench.sh                 # the Q4_0 Llama-3.2-1B-shaped bench model
#   SERVE_MODEL=x.gguf bash bench/serve_bench.sh
#
# Environment: HEARTH_BIN (build/hearth), SERVE_MODEL (default: the
# bench/out model `make bench` writes, made here if absent), SERVE_N
# (tokens per client, 64), SERVE_STREAMS (8), SERVE_REPS (pairs of runs,
# 3), BENCH_THREADS (all CPUs).
# Each client asks for SERVE_N tokens with temperature 0 and streams the
# NDJSON answer; a run's rate is the sum of eval_count over the wall time
# from the first request sent to the last answer finished, so queueing and
# prompt time count against it. Prints one line per run, each pair's
# ratio and their median.
set -euo pipefail
cd "$(dirname "$0")/.."
H=${HEARTH_BIN:-build/hearth}
N=${SERVE_N:-64}
K=${SERVE_STREAMS:-8}
R=${SERVE_REPS:-3}
TH=${BENCH_THREADS:-$(nproc)}
OUT=bench/out
mkdir -p "$OUT"
[ -x "$H" ] || { echo "serve_bench: $H not built (make)" >&2; exit 1; }
command -v curl >/dev/null || { echo "serve_bench: curl is needed" >&2; exit 1; }
M=${SERVE_MODEL:-}
if [ -z "$M" ]; then
	VOCAB=../shared/vocab/ggml-vocab-llama-spm.gguf
	if [ -f "$VOCAB" ]; then vflag=(--vocab "$VOCAB"); vtag=spm32k; else vflag=(); vtag=bytes; fi
	M=$OUT/llama-3.2-1b-$vtag-Q4_0.gguf
	[ -f "$M" ] || "$H" mkmodel --shape llama-3.2-1b "${vflag[@]}" --type Q4_0 --seed 1 -o "$M" >&2
fi
name=$(basename "$M" .gguf)

T=$(mktemp -d)
HEARTH_HOME=$T "$H" serve --port 0 --quiet -m "$M" -t "$TH" --parallel "$K" --queue 64 \
	--ctx $((N + 64)) 2>"$T/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 300); do grep -q listening "$T/log" && break; sleep 0.1; done
port=$(grep -o '127.0.0.1:[0-9]*' "$T/log" | cut -d: -f2)
[ -n "$port" ] || { echo "serve_bench: the server did not start: $(cat "$T/log")" >&2; exit 1; }
U=http://127.0.0.1:$port/api/generate

now_ns() { date +%s%N; }
# one client: stream the answer, keep the final line
client() {
	curl -s -N "$U" -d "{\"model\":\"$name\",\"prompt\":\"Once upon a time, in a quiet town, $1\",\"options\":{\"num_predict\":$N,\"temperature\":0}}" |
		tail -n 1 >"$T/c$1"
}
tokens() { grep -o '"eval_count":[0-9]*' "$T/c$1" | cut -d: -f2; }
# run K clients at once; prints tokens/s aggregate
run() {
	local k=$1 t0 t1 sum=0
	t0=$(now_ns)
	for i in $(seq "$k"); do client "$i" & done
	wait
	t1=$(now_ns)
	for i in $(seq "$k"); do sum=$((sum + $(tokens "$i"))); done
	awk -v s="$sum" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f %d %.3f\n", s / (ns / 1e9), s, ns / 1e9 }'
}
client 0 # load the model and warm up
# R pairs of runs, 1 stream then K, side by side; the ratio of each pair,
# and the median of the ratios (the machine's load moves between minutes)
ratios=()
echo "serve_bench: $name, $TH threads, $N tokens per client, $R pairs of runs"
for p in $(seq "$R"); do
	read -r r1 n1 s1 < <(run 1)
	read -r rk nk sk < <(run "$K")
	ratio=$(awk -v a="$rk" -v b="$r1" 'BEGIN { printf "%.2f", a / b }')
	ratios+=("$ratio")
	printf '  pair %d: %-10s %8s tok/s  (%d tokens in %.2f s)\n' "$p" "1 stream" "$r1" "$n1" "$s1"
	printf '  pair %d: %-10s %8s tok/s  (%d tokens in %.2f s)  ratio %sx\n' "$p" "$K streams" "$rk" "$nk" "$sk" "$ratio"
done
med=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
printf '  aggregate %d streams / 1 stream: median %sx of %s (target >= 3x)\n' "$K" "$med" "${ratios[*]}"
