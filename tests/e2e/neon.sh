#!/usr/bin/env bash
# The AArch64 NEON kernels, tested on an x86 machine: the engine (core, gguf,
# kern, model, infer, sched, tok — nothing that needs an outside library) is
# cross-compiled with aarch64-linux-gnu-gcc and the unit tests that check the
# kernels against their oracles run under qemu-user: test_kern (every kernel
# table against the scalar reference, per type, length and tile), test_model
# (the forward pass against a float64 implementation) and test_quant. Twice:
# for plain ARMv8-A (widening multiplies) and with the dot-product extension
# (vdotq_s32). On an AArch64 machine the ordinary build runs them natively.
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
cd "$(dirname "$0")/../.."
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
if [ "$(uname -m)" = aarch64 ]; then
	skip neon_cross "this machine is AArch64: the native tests run the NEON kernels"
	exit 0
fi
if ! command -v "$CC" >/dev/null || ! command -v "$QEMU" >/dev/null; then
	skip neon_cross "$CC or $QEMU is not installed (apt-get install gcc-aarch64-linux-gnu qemu-user)"
	exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Iinclude -Itests -O2 -g0 -Wall -Werror=implicit-function-declaration"
SRC=$(ls src/core/*.c src/gguf/*.c src/infer/*.c src/kern/*.c src/model/*.c src/sched/*.c src/tok/*.c |
	grep -Ev '_(avx2|avx512)\.c$')
TESTS="test_kern test_model test_quant"

# objects common to both variants once, kern_neon.c per variant
build() { # $1 = variant name, $2 = -march
	mkdir -p "$T/$1"
	"$CC" $FLAGS $2 -c src/kern/kern_neon.c -o "$T/$1/kern_neon.o" 2>"$T/$1/cc.err" || return 1
	"${CC%gcc}ar" rcs "$T/$1/libe.a" "$T"/common/*.o "$T/$1/kern_neon.o" || return 1
	for t in $TESTS; do
		"$CC" $FLAGS $2 -static -pthread -o "$T/$1/$t" tests/unit/$t.c \
			-Wl,--whole-archive "$T/$1/libe.a" -Wl,--no-whole-archive -lm 2>>"$T/$1/cc.err" || return 1
	done
}
mkdir -p "$T/common"
export CC FLAGS T
if ! printf '%s\n' $SRC | grep -v 'kern_neon\.c$' |
	xargs -P "$(nproc)" -I{} sh -c 'o="$T/common/$(echo {} | tr / _).o"; $CC $FLAGS -c {} -o "$o" 2>"$o.err" || { cat "$o.err"; exit 255; }' >"$T/common.err" 2>&1; then
	fail neon_cross_compile "$(tail -n 20 "$T/common.err")"
	exit 0
fi
for v in "armv8:-march=armv8-a" "dotprod:-march=armv8.2-a+dotprod"; do
	name=${v%%:*} march=${v#*:}
	if ! build "$name" "$march"; then
		fail "neon_${name}_compile" "$(tail -n 20 "$T/$name/cc.err")"
		continue
	fi
	pass "neon_${name}_compile"
	for t in $TESTS; do
		out=$(HEARTH_ISA=neon HEARTH_SHARED=${HEARTH_SHARED:-../shared} \
			timeout 600 "$QEMU" -cpu max "$T/$name/$t" 2>&1)
		rc=$?
		n_fail=$(printf '%s\n' "$out" | grep -c '^FAIL ' || true)
		n_pass=$(printf '%s\n' "$out" | grep -c '^PASS ' || true)
		if [ $rc -eq 0 ] && [ "$n_fail" -eq 0 ] && [ "$n_pass" -gt 0 ] &&
			{ [ "$t" != test_kern ] || printf '%s\n' "$out" | grep -q 'table neon'; }; then
			pass "neon_${name}_$t"
		else
			fail "neon_${name}_$t" "rc=$rc $(printf '%s\n' "$out" | grep -v '^PASS ' | tail -n 20)"
		fi
	done
done
exit 0
