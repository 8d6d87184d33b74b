#!/usr/bin/env bash
# bench/kern_bench.sh [kern_bench args] — build bench/kern_bench.c against
# the kernel sources only (no dependency on the rest of the library) into
# build/kern-bench/ and run it. Examples:
#   bench/kern_bench.sh                      # all tables, main types, n=1,128,512
#   bench/kern_bench.sh -c -i ref,avx512 -w Q4_0 -n 1,128
#   bench/kern_bench.sh -c -m                # whole-model estimate only
# -c times with the CPU clock (use it on a machine shared with other jobs);
# -H decodes from one copy of the weights (hot), -C runs every n from copies
# (the weights come from memory, as in a model).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-cc}
OUT=build/kern-bench
mkdir -p "$OUT"
CF="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -pthread -O2 -g"
objs=()
for f in src/kern/*.c src/core/*.c; do
	fl=""
	case "$(uname -m)/$f" in
	x86_64/*_avx512.c) fl="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mavx2 -mfma -mf16c" ;;
	x86_64/*_avx2.c) fl="-mavx2 -mfma -mf16c" ;;
	x86_64/*_neon.c) continue ;;
	aarch64/*_avx2.c | aarch64/*_avx512.c) continue ;;
	*/*_avx2.c | */*_avx512.c | */*_neon.c) continue ;;
	esac
	o="$OUT/$(basename "$f" .c).o"
	# shellcheck disable=SC2086
	$CC $CF $fl -c "$f" -o "$o"
	objs+=("$o")
done
$CC $CF -o "$OUT/kern_bench" bench/kern_bench.c "${objs[@]}" -lm
exec "$OUT/kern_bench" "$@"
