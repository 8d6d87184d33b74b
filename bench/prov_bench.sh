#!/usr/bin/env bash
# bench/prov_bench.sh — speed of `hearth id` and `hearth lineage` on a
# model with the shape of Llama-3.2-1B, against reading the file twice
# (the bar the genealogy issue sets).
#
#   bash bench/prov_bench.sh        (HEARTH_BIN, default build/hearth)
#
# Environment: PROV_BENCH_THREADS (2), PROV_BENCH_REPS (3). Models are made
# once (mkmodel F16 seed 1, then quantize to Q4_0: parent and child) and kept
# in bench/out/ (ignored by git). Each time is the best of the repetitions.
# "cold" drops the file's pages from the page cache first (posix_fadvise
# through `dd iflag=nocache`, no root needed): the first load after a
# download or a reboot; "warm" runs on pages already cached. Reading is
# `cat FILE > /dev/null`. The bulk SHA-256 backend (OpenSSL with SHA-NI
# when libcrypto loads, else libsodium; see src/prov/sha.c) is printed, and
# `hearth id` is also timed with HEARTH_SHA256=sodium. On a busy machine
# every number inflates: compare within one run. Asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
H=${HEARTH_BIN:-build/hearth}
OUT=bench/out
TH=${PROV_BENCH_THREADS:-2}
R=${PROV_BENCH_REPS:-3}
VOCAB=../shared/vocab/ggml-vocab-llama-spm.gguf
mkdir -p "$OUT"
[ -x "$H" ] || { echo "prov_bench: $H not built (make)" >&2; exit 1; }
if [ -f "$VOCAB" ]; then vflag=(--vocab "$VOCAB"); else vflag=(); fi

F16=$OUT/prov-llama-3.2-1b-F16.gguf
Q4=$OUT/prov-llama-3.2-1b-Q4_0.gguf
if [ ! -f "$F16" ]; then
	echo "prov_bench: making $F16" >&2
	"$H" mkmodel --shape llama-3.2-1b "${vflag[@]}" --type F16 --seed 1 -o "$F16" >&2
fi
if [ ! -f "$Q4" ]; then
	echo "prov_bench: making $Q4" >&2
	"$H" quantize -q "$F16" "$Q4" Q4_0 >&2
fi

drop() { for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done; }
# seconds taken by a command (stdout/stderr discarded)
secs() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}'
}
# best of R runs; MODE cold|warm, FILES to drop (comma separated), command
best() {
	local mode=$1 files=$2 b="" t
	shift 2
	for _ in $(seq "$R"); do
		if [ "$mode" = cold ]; then IFS=, read -ra fs <<<"$files"; drop "${fs[@]}"
		else "$@" >/dev/null 2>&1 || true; fi
		t=$(secs "$@")
		b=$(awk -v a="$b" -v t="$t" 'BEGIN {print (a == "" || t < a) ? t : a}')
	done
	echo "$b"
}
catall() { cat "$@" >/dev/null; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

backend=$("$H" id "$Q4" --json 2>/dev/null | grep -o '"sha256_backend":[[:space:]]*"[a-z]*"' | sed 's/.*"\([a-z]*\)"$/\1/' || true)
echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(uname -m), $TH threads, best of $R, bulk SHA-256: ${backend:-?}"
echo "# hearth: $("$H" --version)   load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
echo "# files: $(basename "$F16") $(( $(stat -L -c %s "$F16") / 1048576 )) MiB, $(basename "$Q4") $(( $(stat -L -c %s "$Q4") / 1048576 )) MiB"
echo
echo "| what | cache | hearth s | read twice s | hearth / read twice |"
echo "| --- | --- | --- | --- | --- |"
for f in "$F16" "$Q4"; do
	for mode in cold warm; do
		r1=$(best "$mode" "$f" catall "$f")
		t=$(best "$mode" "$f" "$H" id "$f" -t "$TH")
		two=$(awk -v a="$r1" 'BEGIN {printf "%.3f", 2 * a}')
		echo "| id $(basename "$f") | $mode | $t | $two | $(ratio "$t" "$two") |"
	done
done
for mode in cold warm; do
	# lineage reads two files: the bar is reading both once (stricter than
	# twice the larger one)
	r=$(best "$mode" "$F16,$Q4" catall "$F16" "$Q4")
	t=$(best "$mode" "$F16,$Q4" "$H" lineage "$F16" "$Q4" -t "$TH")
	echo "| lineage F16 Q4_0 | $mode | $t | $r (both files once) | $(ratio "$t" "$r") |"
done
t=$(best warm "$F16" env HEARTH_SHA256=sodium "$H" id "$F16" -t "$TH")
echo "| id F16, libsodium SHA-256 | warm | $t | | |"
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
