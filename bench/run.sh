#!/usr/bin/env bash
# bench/run.sh — what `make bench` runs: the speed suite on synthetic models
# with the shape of Llama-3.2-1B (dim 2048, 16 layers, 32 heads, 8 KV heads,
# FFN 8192, tied output) and a 32k vocabulary, in Q4_0, Q8_0, Q4_K_M and F16.
#
#   make bench                                  # hearth only
#   PEER_BENCH=/path/to/llama-bench make bench  # also the peer, same files, same run
#
# Environment: BENCH_P (prompt tokens, 128), BENCH_N (generated tokens, 32),
# BENCH_REPS (3), BENCH_PAIRS (rounds of the paired bound table, 5), BENCH_THREADS (all CPUs), BENCH_TYPES ("Q4_0 Q8_0 Q4_K_M F16"),
# BENCH_DEPTH (context already filled for the depth suite, 1024),
# BENCH_DEPTH_TYPES ("Q4_0 Q4_K_M Q4_0:q8_0"; after a colon, the KV cache
# type: HEARTH_KV_TYPE for us, -ctk/-ctv for the peer),
# HEARTH_BIN (build/hearth; build/bw and build/ceiling beside it, or BW_BIN,
# CEILING_BIN), HEARTH_ISA (force a kernel table, e.g. avx2 to
# compare with a peer built for AVX2 only). Models are made once with `hearth mkmodel`
# and kept in bench/out/ (ignored by git). Prints one table: per type the
# file size, pp and tg tokens/s (medians), the decode bound (bytes read per
# token / read bandwidth measured by bench/bw with the same threads, read
# again right before each type's runs: of an anonymous buffer, and of the
# model file's own pages with bench/bw -f) and tg/bound against each; with
# PEER_BENCH, the peer's medians and our/peer ratios. Then
# tg against the bound again with each run paired with its own bandwidth
# measurement, and the step's matrices as products against reading them
# (bench/ceiling).
# Nothing here asserts a speed.
set -euo pipefail
cd "$(dirname "$0")/.."
H=${HEARTH_BIN:-build/hearth}
OUT=bench/out
P=${BENCH_P:-128}
N=${BENCH_N:-32}
R=${BENCH_REPS:-3}
PAIRS=${BENCH_PAIRS:-5}
TH=${BENCH_THREADS:-$(nproc)}
# which suites run: the engine table (pp/tg, peer ratios, bound), the
# same after a filled context (depth), the server's continuous batching,
# genealogy speed
SUITES=${BENCH_SUITES:-engine depth serve prov}
DEPTH=${BENCH_DEPTH:-1024}
DEPTH_TYPES=${BENCH_DEPTH_TYPES:-Q4_0 Q4_K_M Q4_0:q8_0}
TYPES=${BENCH_TYPES:-Q4_0 Q8_0 Q4_K_M F16}
VOCAB=../shared/vocab/ggml-vocab-llama-spm.gguf
mkdir -p "$OUT"
# hearth reads a model again when the page cache holds under this share of
# it on 2 MiB pages (core/hugemap.h; 0.9 by default): here any small folios
# would blur the comparison with the bound (a VM's memory reclaim can leave
# 5-8 % of a file in them), so the first open of each type reads them away
export HEARTH_RECACHE=${HEARTH_RECACHE:-0.99}

[ -x "$H" ] || { echo "bench: $H not built (make)" >&2; exit 1; }
if [ -f "$VOCAB" ]; then vflag=(--vocab "$VOCAB"); vtag=spm32k
else vflag=(); vtag=bytes; echo "bench: $VOCAB not found, using the built-in vocabulary" >&2; fi

# bandwidth program (bench/bw.c), built beside hearth by `make bench`
BW=${BW_BIN:-$(dirname "$H")/bw}
[ -x "$BW" ] || { echo "bench: $BW not built (make bench)" >&2; exit 1; }

# a markdown table's header and separator rows, one column per argument
header() {
	local h="|" s="|" c
	for c in "$@"; do h+=" $c |"; s+=" --- |"; done
	printf '%s\n%s\n' "$h" "$s"
}
# field NAME from a one-line JSON object on stdin
field() { grep -o "\"$1\": *[-0-9.eE+]*" | head -1 | sed 's/.*: *//'; }
# awk helpers for the peer tables: r(a, c) the ratio a/c, v(a) a value, "-"
# where the peer gave none
AWK_RV='function r(a, c) { return a != "" && c > 0 ? sprintf("%.2f", a / c) : "-" }
function v(a) { return a == "" ? "-" : sprintf("%.2f", a) }'
# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# peer t/s for the test line matching n_prompt/n_gen ($1 $2) in llama-bench jsonl on stdin:
# median of samples_ts when present, else avg_ts
peer_ts() {
	local line
	line=$(grep -E "\"n_prompt\": *$1[,}]" | grep -E "\"n_gen\": *$2[,}]" | head -1) || true
	[ -n "$line" ] || { echo ""; return; }
	if echo "$line" | grep -q '"samples_ts"'; then
		echo "$line" | sed 's/.*"samples_ts": *\[\([^]]*\)\].*/\1/' | tr ',' '\n' | median
	else echo "$line" | field avg_ts; fi
}

bw=$("$BW" -t "$TH" -r 9 --json | field read_gbs)
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(uname -m), $TH threads, pp$P tg$N, $R reps, read bandwidth $bw GB/s"
echo "# hearth: $("$H" --version)${HEARTH_ISA:+ (kernels forced: HEARTH_ISA=$HEARTH_ISA)}${PEER_BENCH:+   peer: $PEER_BENCH}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
echo
ENGINE_TYPES=$TYPES
case " $SUITES " in *" engine "*) ;; *) ENGINE_TYPES="" ;; esac
if [ -z "$ENGINE_TYPES" ]; then :
elif [ -n "${PEER_BENCH:-}" ]; then
	header type "size MiB" "pp$P ours" "pp$P peer" "pp ratio" "tg$N ours" "tg$N peer" "tg ratio" \
		"tg bound: anon / model's pages" "tg/bound ours" "tg/bound peer" "peak RSS / (file+KV)" \
		"on 2 MiB pages"
else
	header type "size MiB" "pp$P t/s" "tg$N t/s" "tg bound: anon / model's pages" tg/bound \
		"peak RSS / (file+KV)" "on 2 MiB pages"
fi
# the read bandwidth of the model file's own pages (bench/bw -f, mapped as
# hearth maps it): which physical pages hold a buffer moves its read rate
# (bench/README.md, 2026-11-28 01:25Z), so the bound is given both ways;
# warns where the cache held under 95 % of the file on 2 MiB pages
bw_file() {
	local j m2 mib
	j=$("$BW" -t "$TH" -r "$1" -f "$2" --json) || true
	m2=$(echo "$j" | field mapped_2m_mib) mib=$(echo "$j" | field mib)
	[ "${m2:--1}" -ge $((mib * 95 / 100)) ] ||
		echo "bench: $2: only ${m2} of $mib MiB on 2 MiB pages for bench/bw" >&2
	echo "$j" | field read_gbs
}
# "a / b" of two ratios x/y, x/z, or "-"
pair_ratio() { awk -v x="$1" -v y="$2" -v z="$3" 'BEGIN { if (x == "" || y <= 0 || z <= 0) print "-";
	else printf "%.2f / %.2f", x / y, x / z }'; }
for ty in $ENGINE_TYPES; do
	m=$OUT/llama-3.2-1b-$vtag-$ty.gguf
	if [ ! -f "$m" ]; then
		echo "bench: making $m" >&2
		"$H" mkmodel --shape llama-3.2-1b "${vflag[@]}" --type "$ty" --seed 1 -o "$m" >&2
	fi
	# this type's bandwidth: a single read at the start once caught a slow
	# minute and put three types above 0.9 of a bound they were not near
	bwt=$("$BW" -t "$TH" -r 5 --json | field read_gbs)
	j=$("$H" bench "$m" -p "$P" -n "$N" -r "$R" -t "$TH" --bw "$bwt" --json)
	pp=$(echo "$j" | field pp_tok_s)
	tg=$(echo "$j" | field tg_tok_s)
	bound=$(echo "$j" | field tg_bound_tok_s)
	# after hearth's run: its open has put the file on 2 MiB pages
	bwf=$(bw_file 5 "$m")
	boundf=$(awk -v b="$bwf" -v t="$(echo "$j" | field bytes_per_token)" \
		'BEGIN { printf "%.2f", b * 1e9 / t }')
	bounds=$(printf '%.1f / %.1f' "$bound" "$boundf")
	rss=$(echo "$j" | field peak_rss)
	fb=$(echo "$j" | field file_bytes)
	kv=$(echo "$j" | field kv_bytes)
	size=$(awk -v b="$fb" 'BEGIN {printf "%.0f", b / 1048576}')
	rr=$(awk -v r="$rss" -v f="$fb" -v k="$kv" 'BEGIN {printf "%.2f", r / (f + k)}')
	# the share of the file the kernel mapped with 2 MiB pages ("-": not said)
	m2=$(echo "$j" | field mapped_2m_bytes)
	h2=$(awk -v m="$m2" -v f="$fb" 'BEGIN {if (m == "") print "-"; else printf "%.2f", m / f}')
	if [ -n "${PEER_BENCH:-}" ]; then
		pj=$("$PEER_BENCH" -m "$m" -p "$P" -n "$N" -r "$R" -t "$TH" -o jsonl 2>/dev/null || true)
		ppp=$(echo "$pj" | peer_ts "$P" 0)
		ptg=$(echo "$pj" | peer_ts 0 "$N")
		awk -v ty="$ty" -v s="$size" -v pp="$pp" -v ppp="$ppp" -v tg="$tg" -v ptg="$ptg" \
			-v bs="$bounds" -v ro="$(pair_ratio "$tg" "$bound" "$boundf")" \
			-v rp="$(pair_ratio "$ptg" "$bound" "$boundf")" -v rr="$rr" -v h2="$h2" "$AWK_RV"'
			BEGIN { printf "| %s | %s | %.2f | %s | %s | %.2f | %s | %s | %s | %s | %s | %s | %s |\n",
				ty, s, pp, v(ppp), r(pp, ppp), tg, v(ptg), r(tg, ptg), bs, ro, rp, rr, h2 }'
	else
		awk -v ty="$ty" -v s="$size" -v pp="$pp" -v tg="$tg" -v bs="$bounds" \
			-v ro="$(pair_ratio "$tg" "$bound" "$boundf")" -v rr="$rr" -v h2="$h2" \
			'BEGIN { printf "| %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n", ty, s, pp, tg, bs,
				ro, rr, h2 }'
	fi
done

# the same decode against the bound, paired in time: the bandwidth of this
# shared machine moves by half within minutes (bench/README.md), so each
# round measures it (bench/bw, median of 3 reads) right before one tg run of
# ours (and of the peer's), and the ratio is taken per round; reported: the
# median of the rounds' ratios for tg (tokens / wall time, as above) and for
# the median token's speed (robust to the seconds neighbours take, as bw's
# median read is)
if [ -n "$ENGINE_TYPES" ]; then
	echo
	echo "## decode against the bandwidth bound, paired: $PAIRS rounds of bench/bw then tg$N"
	echo
	echo "Each round reads the bandwidth twice, an anonymous buffer (bench/bw) and the model"
	echo "file's own pages (bench/bw -f); ratios are given against each: anon / model's pages."
	echo
	if [ -n "${PEER_BENCH:-}" ]; then
		header type "bw anon GB/s (min-max)" "bw model's pages GB/s (min-max)" "tg/bound ours" \
			"median token/bound ours" "tg/bound peer"
	else
		header type "bw anon GB/s (min-max)" "bw model's pages GB/s (min-max)" tg/bound \
			"median token/bound"
	fi
fi
# over the rounds in $rows: column $1's least-greatest, and the median of
# the ratios of column $1 to column $2 ("-" if none)
range() { echo -n "$rows" | awk -v c="$1" '{print $c}' | sort -g | sed -n '1p;$p' | paste -sd-; }
med() { local x; x=$(echo -n "$rows" | awk -v a="$1" -v b="$2" '$b > 0 && $a > 0 {print $a / $b}' | median)
	[ -n "$x" ] && printf %.2f "$x" || echo -; }
for ty in $ENGINE_TYPES; do
	m=$OUT/llama-3.2-1b-$vtag-$ty.gguf
	rows=""
	for i in $(seq "$PAIRS"); do
		b=$("$BW" -t "$TH" -r 3 --json | field read_gbs)
		bf=$(bw_file 3 "$m")
		j=$("$H" bench "$m" -p 0 -n "$N" -r 1 -t "$TH" --bw "$b" --json)
		bd=$(echo "$j" | field tg_bound_tok_s)
		bdf=$(awk -v b="$bf" -v t="$(echo "$j" | field bytes_per_token)" \
			'BEGIN { printf "%.4f", b * 1e9 / t }')
		pt=""
		if [ -n "${PEER_BENCH:-}" ]; then
			pt=$("$PEER_BENCH" -m "$m" -p 0 -n "$N" -r 1 -t "$TH" -o jsonl 2>/dev/null |
				peer_ts 0 "$N" || true)
		fi
		rows+="$b $(echo "$j" | field tg_tok_s) $(echo "$j" | field tg_median_token_tok_s) $bd ${pt:-0} $bf $bdf"$'\n'
	done
	if [ -n "${PEER_BENCH:-}" ]; then
		printf '| %s | %s | %s | %s / %s | %s / %s | %s / %s |\n' "$ty" "$(range 1)" "$(range 6)" \
			"$(med 2 4)" "$(med 2 7)" "$(med 3 4)" "$(med 3 7)" "$(med 5 4)" "$(med 5 7)"
	else
		printf '| %s | %s | %s | %s / %s | %s / %s |\n' "$ty" "$(range 1)" "$(range 6)" \
			"$(med 2 4)" "$(med 2 7)" "$(med 3 4)" "$(med 3 7)"
	fi
done

# where the rest goes: the step's matrices as products, read without
# arithmetic, and an anonymous buffer of the same size read the same way
# (bench/ceiling.c, medians of alternating passes in one process)
CEIL=${CEILING_BIN:-$(dirname "$H")/ceiling}
if [ -n "$ENGINE_TYPES" ] && [ -x "$CEIL" ]; then
	echo
	echo "## decode's matrices: products against reading them (bench/ceiling, 7 alternating passes)"
	echo
	header type "products GB/s" "stream GB/s" "anon GB/s" products/stream stream/anon
	for ty in $ENGINE_TYPES; do
		j=$("$CEIL" "$OUT/llama-3.2-1b-$vtag-$ty.gguf" -t "$TH" -r 7 --json)
		printf '| %s | %s | %s | %s | %s | %s |\n' "$ty" "$(echo "$j" | field products_gbs)" \
			"$(echo "$j" | field stream_gbs)" "$(echo "$j" | field anon_gbs)" \
			"$(echo "$j" | field products_stream)" "$(echo "$j" | field stream_anon)"
	done
fi

# pp and tg after DEPTH tokens already in the context (-d, llama-bench's
# --n-depth): attention then reads DEPTH more positions per token, and the
# bound counts their keys and values
case " $SUITES " in *" depth "*)
	echo
	echo "## after $DEPTH tokens of context: pp$P @ d$DEPTH, tg$N @ d$DEPTH"
	echo
	if [ -n "${PEER_BENCH:-}" ]; then
		header type "pp ours" "pp peer" "pp ratio" "tg ours" "tg peer" "tg ratio" "tg bound" \
			"tg/bound ours" "tg/bound peer"
	else
		header type "pp t/s" "tg t/s" "tg bound" tg/bound
	fi
	for row in $DEPTH_TYPES; do
		ty=${row%%:*} kv=f16 label=$ty
		case $row in *:*) kv=${row#*:} label="$ty, KV $kv" ;; esac
		m=$OUT/llama-3.2-1b-$vtag-$ty.gguf
		[ -f "$m" ] || "$H" mkmodel --shape llama-3.2-1b "${vflag[@]}" --type "$ty" --seed 1 -o "$m" >&2
		j=$(HEARTH_KV_TYPE=$kv "$H" bench "$m" -p "$P" -n "$N" -d "$DEPTH" -r "$R" -t "$TH" \
			--bw "$bw" --json)
		pp=$(echo "$j" | field pp_tok_s)
		tg=$(echo "$j" | field tg_tok_s)
		bound=$(echo "$j" | field tg_bound_tok_s)
		if [ -n "${PEER_BENCH:-}" ]; then
			pj=$("$PEER_BENCH" -m "$m" -p "$P" -n "$N" -d "$DEPTH" -r "$R" -t "$TH" \
				-ctk "$kv" -ctv "$kv" -o jsonl 2>/dev/null || true)
			ppp=$(echo "$pj" | peer_ts "$P" 0)
			ptg=$(echo "$pj" | peer_ts 0 "$N")
			awk -v ty="$label" -v pp="$pp" -v ppp="$ppp" -v tg="$tg" -v ptg="$ptg" -v b="$bound" \
				"$AWK_RV"'
				BEGIN { printf "| %s | %.2f | %s | %s | %.2f | %s | %s | %.1f | %s | %s |\n",
					ty, pp, v(ppp), r(pp, ppp), tg, v(ptg), r(tg, ptg), b, r(tg, b),
					r(ptg, b) }'
		else
			awk -v ty="$label" -v pp="$pp" -v tg="$tg" -v b="$bound" \
				'BEGIN { printf "| %s | %.2f | %.2f | %.1f | %.2f |\n", ty, pp, tg, b,
					(b > 0 ? tg / b : 0) }'
		fi
	done ;;
esac
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"

# the other suites of `make bench`: continuous batching through the server
# (8 streams against 1) and genealogy speed (hearth id / lineage against
# reading the file twice)
case " $SUITES " in *" serve "*)
	echo
	echo "## serve: aggregate decode of 8 streams against 1 (bench/serve_bench.sh)"
	HEARTH_BIN=$H SERVE_MODEL=$OUT/llama-3.2-1b-$vtag-Q4_0.gguf BENCH_THREADS=$TH \
		bash bench/serve_bench.sh 2>&1 | sed 's/^/    /'
	# the same batching without HTTP and clients: 8 sequences per step
	# against 1, alternating (hearth bench --seqs 8)
	echo
	echo "## engine: 8 sequences decoding at once against 1 (hearth bench --seqs 8, tg$N)"
	echo
	header type "1 sequence tok/s" "8 sequences tok/s" "ratio (median of $R pairs)"
	for ty in $TYPES; do
		model=$OUT/llama-3.2-1b-$vtag-$ty.gguf
		[ -f "$model" ] || "$H" mkmodel --shape llama-3.2-1b "${vflag[@]}" --type "$ty" --seed 1 -o "$model" >&2
		j=$("$H" bench "$model" -p 0 -n "$N" -r "$R" -t "$TH" --seqs 8 --json)
		printf '| %s | %.2f | %.2f | %.2f |\n' "$ty" "$(echo "$j" | field tg_tok_s)" \
			"$(echo "$j" | field tg_seqs_tok_s)" "$(echo "$j" | field tg_seqs_ratio)"
	done ;;
esac
case " $SUITES " in *" prov "*)
	echo
	echo "## genealogy: hearth id / lineage against reading the file twice (bench/prov_bench.sh)"
	HEARTH_BIN=$H PROV_BENCH_THREADS=$TH bash bench/prov_bench.sh 2>&1 | sed 's/^/    /' ;;
esac
