#!/usr/bin/env bash
# End-to-end tests of the model tools: `hearth mkmodel`, `hearth quantize`,
# `hearth bench` (that it runs and reports; never how fast).
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
H=${HEARTH_BIN:?}
SH=${HEARTH_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export HEARTH_HOME=$T/home HEARTH_OFFLINE=1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# --- mkmodel ---
if ! "$H" mkmodel --seed 1 -o "$T/a.gguf" 2>"$T/e"; then
	fail mkmodel_tiny "$(cat "$T/e")"
elif ! "$H" show "$T/a.gguf" >"$T/o" 2>"$T/e" || ! grep -q "2 layers" "$T/o"; then
	fail mkmodel_tiny "show: $(cat "$T/e" "$T/o" | head -5)"
else pass mkmodel_tiny; fi

"$H" mkmodel --seed 1 -o "$T/b.gguf" 2>/dev/null
"$H" mkmodel --seed 2 -o "$T/c.gguf" 2>/dev/null
if ! cmp -s "$T/a.gguf" "$T/b.gguf"; then fail mkmodel_same_seed "bytes differ"
else pass mkmodel_same_seed; fi
if cmp -s "$T/a.gguf" "$T/c.gguf"; then fail mkmodel_other_seed "bytes equal"
else pass mkmodel_other_seed; fi

if "$H" mkmodel --arch granite --n-layer 3 --type Q8_0 -o "$T/g.gguf" 2>"$T/e" &&
	"$H" show "$T/g.gguf" >"$T/o" 2>&1 && grep -q "granite" "$T/o" && grep -q "3 layers" "$T/o"; then
	pass mkmodel_granite
else fail mkmodel_granite "$(cat "$T/e" "$T/o" 2>/dev/null | head -3)"; fi

if [ -f "$SH/vocab/ggml-vocab-llama-spm.gguf" ]; then
	if "$H" mkmodel --vocab "$SH/vocab/ggml-vocab-llama-spm.gguf" --type Q4_0 -o "$T/v.gguf" 2>"$T/e" &&
		"$H" tokenize "$T/v.gguf" -p "Hello world" >"$T/o" 2>"$T/e" &&
		grep -q "15043" "$T/o"; then
		pass mkmodel_vocab
	else fail mkmodel_vocab "$(cat "$T/e" "$T/o" | head -3)"; fi
else skip mkmodel_vocab "no $SH/vocab"; fi

if "$H" mkmodel --shape llama-9000 -o "$T/x.gguf" >"$T/o" 2>"$T/e"; then fail mkmodel_bad_shape "status 0"
elif ! grep -q "llama-3.2-1b" "$T/e" || [ -e "$T/x.gguf" ]; then fail mkmodel_bad_shape "$(cat "$T/e")"
else pass mkmodel_bad_shape; fi

# --- quantize ---
"$H" mkmodel --type F32 --n-layer 4 -o "$T/f32.gguf" 2>/dev/null
ok=1
for ty in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_M Q4_K_S Q4_K_M Q5_K_M Q6_K F16 BF16; do
	if ! "$H" quantize -q "$T/f32.gguf" "$T/q-$ty.gguf" "$ty" 2>"$T/e"; then
		fail "quantize_$ty" "$(cat "$T/e")"; ok=0; continue
	fi
	if ! "$H" logits "$T/q-$ty.gguf" -p "hi" >"$T/o" 2>"$T/e" || ! grep -q '"logits"' "$T/o"; then
		fail "quantize_$ty" "does not run: $(cat "$T/e")"; ok=0
	fi
done
[ $ok = 1 ] && pass quantize_all_types_run

if "$H" show "$T/q-Q4_K_M.gguf" >"$T/o" 2>&1 && grep -q "Q6_K" "$T/o" && grep -q "Q4_K" "$T/o"; then
	pass quantize_q4_k_m_mix
else fail quantize_q4_k_m_mix "$(grep -i type "$T/o")"; fi

"$H" quantize "$T/f32.gguf" "$T/q.gguf" Q4_K_M 2>"$T/e" >/dev/null
if grep -q "blk.3.ffn_down.weight *F32 -> Q6_K" "$T/e" && grep -q "blk.1.ffn_down.weight *F32 -> Q4_K" "$T/e"; then
	pass quantize_progress
else fail quantize_progress "$(head -5 "$T/e")"; fi

if "$H" quantize "$T/f32.gguf" "$T/u.gguf" Q7_Z >"$T/o" 2>"$T/e"; then fail quantize_unknown_type "status 0"
elif ! grep -q "unknown type" "$T/e" || ! grep -q "Q4_K_M" "$T/e" || [ -e "$T/u.gguf" ]; then
	fail quantize_unknown_type "$(cat "$T/e")"
else pass quantize_unknown_type; fi

if "$H" quantize "$T/f32.gguf" "$T/u.gguf" IQ2_XS >"$T/o" 2>"$T/e"; then fail quantize_iq_refused "status 0"
elif ! grep -q "cannot produce" "$T/e"; then fail quantize_iq_refused "$(cat "$T/e")"
else pass quantize_iq_refused; fi

if "$H" quantize "$T/nope.gguf" "$T/u.gguf" Q8_0 >"$T/o" 2>"$T/e"; then fail quantize_missing_input "status 0"
elif ! grep -q "nope.gguf" "$T/e" || [ "$(wc -l <"$T/e")" -ne 1 ]; then fail quantize_missing_input "$(cat "$T/e")"
else pass quantize_missing_input; fi

if "$H" quantize -q "$T/f32.gguf" "$T/no/dir/u.gguf" Q8_0 >"$T/o" 2>"$T/e"; then fail quantize_missing_dir "status 0"
elif ! grep -q "no/dir" "$T/e"; then fail quantize_missing_dir "$(cat "$T/e")"
else pass quantize_missing_dir; fi

if "$H" quantize "$T/f32.gguf" >"$T/o" 2>"$T/e"; then fail quantize_usage "status 0"
elif ! grep -q "usage" "$T/e"; then fail quantize_usage "$(cat "$T/e")"
else pass quantize_usage; fi

if ls "$T" | grep -q '\.tmp\.'; then fail no_temp_files "$(ls "$T")"
else pass no_temp_files; fi

# --- bench (reports only; no timing is checked) ---
if "$H" bench "$T/q-Q4_K_M.gguf" -p 16 -n 4 -r 2 -t 1 --json >"$T/o" 2>"$T/e" &&
	grep -q '"pp_tok_s":' "$T/o" && grep -q '"tg_tok_s":' "$T/o" &&
	grep -q '"threads":1' "$T/o" && grep -q '"type":"Q4_K_M"' "$T/o" &&
	grep -q '"peak_rss":' "$T/o" && grep -q '"kernels":"' "$T/o"; then
	pass bench_json
else fail bench_json "$(cat "$T/e" "$T/o" | head -3)"; fi
# how much of the model the kernel maps with 2 MiB pages: reported where
# /proc says, never more than the file
if [ ! -r /proc/self/smaps ]; then skip bench_mapped_2m "no /proc/self/smaps"
elif m2=$(grep -o '"mapped_2m_bytes":[0-9.e+]*' "$T/o" | cut -d: -f2) && [ -n "$m2" ] &&
	fb=$(grep -o '"file_bytes":[0-9.e+]*' "$T/o" | cut -d: -f2) &&
	awk -v m="$m2" -v f="$fb" 'BEGIN { exit !(m >= 0 && m <= f) }'; then
	pass bench_mapped_2m
else fail bench_mapped_2m "$(head -c 600 "$T/o")"; fi
# bench/bw (the bound's read bandwidth, built beside hearth by the
# tests): it reports every way's median and the best of them, which lies
# within that way's samples; bad arguments are refused
BW=$(dirname "$H")/bw
if [ ! -x "$BW" ]; then skip bench_bw "no $BW"
elif "$BW" -t 2 -m 64 -r 3 --json >"$T/o" 2>"$T/e" &&
	awk '{
		n = split($0, kv, /[{},]/)
		for (i = 1; i <= n; i++) if (split(kv[i], p, ":") == 2) { gsub(/"/, "", p[1]); v[p[1]] = p[2] + 0 }
		r = v["read_gbs"]
		exit !(r > 0 && v["min"] <= r && r <= v["max"] && v["threads"] == 2 && v["mib"] == 64 &&
			v["plain_gbs"] > 0 && v["pf4k_gbs"] > 0 && v["pf8k_gbs"] > 0 &&
			r >= v["plain_gbs"] && r >= v["pf4k_gbs"] && r >= v["pf8k_gbs"])
	}' "$T/o"; then
	pass bench_bw
else fail bench_bw "$(cat "$T/e" "$T/o" | head -3)"; fi
if [ -x "$BW" ]; then
	if "$BW" -m 1 >"$T/o" 2>"$T/e"; then fail bench_bw_bad_args "status 0"
	elif ! grep -q "bad arguments" "$T/e"; then fail bench_bw_bad_args "$(cat "$T/e")"
	else pass bench_bw_bad_args; fi
	# -f FILE: the bytes of a file, read through a mapping as hearth maps a
	# model; its size in MiB, how much went on 2 MiB pages (-1: unknown);
	# a missing or too small file refused with its reason
	head -c $((72 << 20)) /dev/zero >"$T/bwfile"
	if "$BW" -t 2 -r 2 -f "$T/bwfile" --json >"$T/o" 2>"$T/e" &&
		awk '{
			n = split($0, kv, /[{},]/)
			for (i = 1; i <= n; i++) if (split(kv[i], p, ":") == 2) { gsub(/"/, "", p[1]); v[p[1]] = p[2] }
			exit !(v["read_gbs"] + 0 > 0 && v["mib"] == 72 && v["file"] == "true" &&
				v["mapped_2m_mib"] >= -1 && v["mapped_2m_mib"] <= 72)
		}' "$T/o"; then
		pass bench_bw_file
	else fail bench_bw_file "$(cat "$T/e" "$T/o" | head -3)"; fi
	head -c $((1 << 20)) /dev/zero >"$T/bwsmall"
	if "$BW" -f "$T/nonexistent" >"$T/o" 2>"$T/e" || ! grep -q "nonexistent" "$T/e"; then
		fail bench_bw_file_refused "missing file: $(cat "$T/e")"
	elif "$BW" -f "$T/bwsmall" >"$T/o" 2>"$T/e" || ! grep -q "under 64 MiB" "$T/e"; then
		fail bench_bw_file_refused "small file: $(cat "$T/e")"
	else pass bench_bw_file_refused; fi
	rm -f "$T/bwfile" "$T/bwsmall"
fi
# the bound: with --bw, that bandwidth's, and the model's own pages read in
# place beside it (both positive; the bound is bandwidth / bytes per token)
if "$H" bench "$T/q-Q4_K_M.gguf" -p 0 -n 2 -r 1 -t 1 --bw 10 --json >"$T/o" 2>"$T/e" &&
	awk '{
		n = split($0, kv, /[{},]/)
		for (i = 1; i <= n; i++) if (split(kv[i], p, ":") == 2) { gsub(/"/, "", p[1]); v[p[1]] = p[2] + 0 }
		b = v["tg_bound_tok_s"]; e = 10e9 / v["bytes_per_token"]
		exit !(v["bw_gbs"] == 10 && b > 0.999 * e && b < 1.001 * e && v["bw_model_gbs"] > 0 &&
			v["tg_bound_model_tok_s"] > 0.999 * v["bw_model_gbs"] * 1e9 / v["bytes_per_token"] &&
			v["tg_bound_model_tok_s"] < 1.001 * v["bw_model_gbs"] * 1e9 / v["bytes_per_token"])
	}' "$T/o"; then
	pass bench_bound_model_pages
else fail bench_bound_model_pages "$(cat "$T/e" "$T/o" | head -3)"; fi
# the kernel table in use is reported, and HEARTH_ISA picks it
if HEARTH_ISA=ref "$H" bench "$T/q-Q4_K_M.gguf" -p 4 -n 1 -r 1 -t 1 --json >"$T/o" 2>"$T/e" &&
	grep -q '"kernels":"ref"' "$T/o"; then
	pass bench_kernels_forced
else fail bench_kernels_forced "$(cat "$T/e" "$T/o" | head -3)"; fi

# decode in the layouts of the weight types (AVX-512: Q4_0 and Q8_0 rows
# of whole kilo-columns, Q4_K, Q5_K and Q6_K rows; AVX2: Q4_0) gives the
# same greedy tokens as without them (HEARTH_DEC=0), in each of those
# tables the CPU has
mk=1
for ty in Q4_0 Q4_K_M Q5_K_M; do
	"$H" mkmodel --n-embd 1024 --n-ff 2048 --n-head 8 --n-head-kv 4 --type $ty --seed 3 \
		-o "$T/k-$ty.gguf" 2>"$T/e" || mk=0
done
isas=""
for isa in avx512 avx2; do
	HEARTH_ISA=$isa "$H" bench "$T/k-Q4_0.gguf" -p 1 -n 1 -r 1 --json >"$T/o" 2>/dev/null
	grep -q "\"kernels\":\"$isa\"" "$T/o" && isas="$isas $isa"
done
if [ $mk = 0 ]; then
	fail decode_layout_same_tokens "mkmodel: $(head -2 "$T/e")"
elif [ -z "$isas" ]; then
	skip decode_layout_same_tokens "needs the avx512 or avx2 table ($(grep -o '"kernels":"[^"]*"' "$T/o"))"
else
	ok=1
	for isa in $isas; do for ty in Q4_0 Q4_K_M Q5_K_M; do
		HEARTH_ISA=$isa HEARTH_DEC=1 "$H" generate "$T/k-$ty.gguf" -p "abc" -n 24 --temperature 0 \
			--json >"$T/d1" 2>"$T/e" &&
			HEARTH_ISA=$isa HEARTH_DEC=0 "$H" generate "$T/k-$ty.gguf" -p "abc" -n 24 \
				--temperature 0 --json >"$T/d0" 2>>"$T/e" &&
			grep -q '"tokens":\[[0-9]' "$T/d1" && cmp -s "$T/d1" "$T/d0" || { ok=0; break 2; }
	done; done
	if [ $ok = 1 ]; then pass decode_layout_same_tokens
	else fail decode_layout_same_tokens "$isa $ty: $(cat "$T/e" "$T/d1" "$T/d0" 2>/dev/null | head -4)"; fi
fi

# several sequences decoding at once (the server's batching, no HTTP)
if "$H" bench "$T/q-Q4_K_M.gguf" -p 0 -n 3 -r 2 --seqs 3 --json >"$T/o" 2>"$T/e" &&
	grep -q '"seqs":3' "$T/o" && grep -q '"tg_seqs_tok_s":' "$T/o" &&
	grep -q '"tg_seqs_ratio":' "$T/o" && grep -q '"tg_tok_s":' "$T/o" &&
	"$H" bench "$T/q-Q8_0.gguf" -p 0 -n 2 -r 1 --seqs 9 >"$T/o" 2>"$T/e" &&
	grep -q "tg2x9" "$T/o" && grep -q "9 sequences at once" "$T/o"; then
	pass bench_seqs
else fail bench_seqs "$(cat "$T/e" "$T/o" | head -5)"; fi
if "$H" bench "$T/q-Q8_0.gguf" -p 4 -n 0 --seqs 2 >"$T/o" 2>"$T/e"; then fail bench_seqs_needs_n "status 0"
elif ! grep -q "seqs needs" "$T/e"; then fail bench_seqs_needs_n "$(cat "$T/e")"
else pass bench_seqs_needs_n; fi

if "$H" bench "$T/q-Q8_0.gguf" -p 8 -n 2 -r 1 --bw 10 >"$T/o" 2>"$T/e" &&
	grep -q "pp8" "$T/o" && grep -q "tg2" "$T/o" && grep -q "decode bound" "$T/o"; then
	pass bench_table
else fail bench_table "$(cat "$T/e" "$T/o" | head -5)"; fi

# -d: pp and tg after D tokens already in the context (llama-bench's
# depth): reported, named as the peer names them, and the bound's bytes per
# token count the keys and values of those positions
bpt() { grep -o '"bytes_per_token":[0-9.e+]*' "$1" | cut -d: -f2; }
if "$H" bench "$T/q-Q8_0.gguf" -p 4 -n 3 -r 1 -t 1 --json >"$T/o0" 2>"$T/e" &&
	"$H" bench "$T/q-Q8_0.gguf" -p 4 -n 3 -d 40 -r 1 -t 1 --json >"$T/o" 2>"$T/e" &&
	grep -q '"n_depth":40' "$T/o" && grep -q '"n_depth":0' "$T/o0" &&
	grep -q '"pp_tok_s":' "$T/o" && grep -q '"tg_tok_s":' "$T/o" &&
	awk -v a="$(bpt "$T/o0")" -v b="$(bpt "$T/o")" 'BEGIN { exit !(a > 0 && b > a) }' &&
	"$H" bench "$T/q-Q8_0.gguf" -p 4 -n 2 --n-depth 16 -r 1 >"$T/o" 2>"$T/e" &&
	grep -q "pp4 @ d16" "$T/o" && grep -q "tg2 @ d16" "$T/o"; then
	pass bench_depth
else fail bench_depth "$(cat "$T/e" "$T/o" | head -5)"; fi
# the cache type the run uses (HEARTH_KV_TYPE) is the one measured: a Q8_0
# cache holds fewer bytes, and the bound reads fewer per token at depth
kvb() { grep -o '"kv_bytes":[0-9.e+]*' "$1" | cut -d: -f2; }
if HEARTH_KV_TYPE=f16 "$H" bench "$T/q-Q8_0.gguf" -p 0 -n 2 -d 64 -r 1 -t 1 --bw 10 --json \
	>"$T/of" 2>"$T/e" &&
	HEARTH_KV_TYPE=q8_0 "$H" bench "$T/q-Q8_0.gguf" -p 0 -n 2 -d 64 -r 1 -t 1 --bw 10 --json \
	>"$T/oq" 2>>"$T/e" &&
	awk -v f="$(kvb "$T/of")" -v q="$(kvb "$T/oq")" -v bf="$(bpt "$T/of")" -v bq="$(bpt "$T/oq")" \
		'BEGIN { exit !(q > 0 && q < f && bq > 0 && bq < bf) }'; then
	pass bench_kv_type
else fail bench_kv_type "$(cat "$T/e" "$T/of" "$T/oq" | head -5)"; fi
if "$H" bench "$T/q-Q8_0.gguf" -p 0 -n 2 -d 8 --seqs 2 >"$T/o" 2>"$T/e"; then
	fail bench_depth_seqs "status 0"
elif ! grep -q "do not go together" "$T/e"; then fail bench_depth_seqs "$(cat "$T/e")"
else pass bench_depth_seqs; fi

# the median token's speed beside tg: in the JSON, and as ms and tok/s that
# agree in the table; absent without tg
if "$H" bench "$T/q-Q8_0.gguf" -p 0 -n 3 -r 2 -t 1 --json >"$T/o" 2>"$T/e" &&
	awk -F'"tg_median_token_tok_s":' 'NF == 2 { split($2, v, /[,}]/); ok = v[1] > 0 } END { exit !ok }' "$T/o" &&
	"$H" bench "$T/q-Q8_0.gguf" -p 0 -n 3 -r 2 -t 1 >"$T/o" 2>"$T/e" &&
	awk '/^median token / { ms = $3; ts = $6; ok = ms > 0 && ts > 0 && (ms * ts / 1000 - 1)^2 < 1e-6 }
		END { exit !ok }' "$T/o" &&
	"$H" bench "$T/q-Q8_0.gguf" -p 4 -n 0 -r 1 --json >"$T/o" 2>"$T/e" &&
	! grep -q tg_median_token "$T/o"; then
	pass bench_median_token
else fail bench_median_token "$(cat "$T/e" "$T/o" | head -5)"; fi

"$H" bench "$T/q-Q8_0.gguf" -p 0 -n 65536 -r 257 >"$T/o" 2>"$T/e"; rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "at most 16777216 tokens" "$T/e"; then
	fail bench_too_many_tokens "status $rc: $(head -c 300 "$T/e")"
else pass bench_too_many_tokens; fi

if "$H" bench "$T/q-Q8_0.gguf" -n 0 -p 0 >"$T/o" 2>"$T/e"; then fail bench_nothing "status 0"
else pass bench_nothing; fi

if "$H" bench "$T/missing.gguf" >"$T/o" 2>"$T/e"; then fail bench_missing_model "status 0"
elif ! grep -q "missing.gguf" "$T/e"; then fail bench_missing_model "$(cat "$T/e")"
else pass bench_missing_model; fi

# bench/ceiling (built beside hearth): decode's matrices as products, as
# plain reads and an anonymous buffer's read; every figure reported and
# positive, one matrix per layer projection (7 per layer) and the output
C=$(dirname "$H")/ceiling
nl=$("$H" show "$T/q-Q4_K_M.gguf" 2>/dev/null | grep -o "[0-9]* layers" | head -1 | cut -d' ' -f1)
if [ ! -x "$C" ]; then skip ceiling_json "$C not built"
elif [ -z "$nl" ]; then fail ceiling_json "hearth show gave no layer count"
elif "$C" "$T/q-Q4_K_M.gguf" -t 2 -r 1 --json >"$T/o" 2>"$T/e" &&
	grep -q "\"matrices\":$((nl * 7 + 1))," "$T/o" && grep -q '"threads":2,' "$T/o" &&
	awk '{ n = 0; for (i = 1; i <= 3; i++) { f = i == 1 ? "products" : i == 2 ? "stream" : "anon"
		if (match($0, "\"" f "_gbs\":[0-9.]+")) { v = substr($0, RSTART + length(f) + 7, RLENGTH - length(f) - 7); n += v + 0 > 0 } }
		ok = n == 3 } END { exit !ok }' "$T/o"; then
	pass ceiling_json
else fail ceiling_json "$(cat "$T/e" "$T/o" | head -3)"; fi
if [ -x "$C" ]; then
	"$C" >"$T/o" 2>"$T/e"; rc=$?
	"$C" "$T/missing.gguf" >"$T/o" 2>"$T/e2"; rc2=$?
	if [ "$rc" -ne 2 ] || ! grep -q usage "$T/e"; then fail ceiling_errors "no arguments: status $rc"
	elif [ "$rc2" -ne 1 ] || ! grep -q "missing.gguf" "$T/e2"; then fail ceiling_errors "missing file: status $rc2"
	else pass ceiling_errors; fi
fi
