#!/usr/bin/env bash
# Build every fuzz target with clang's libFuzzer + ASan/UBSan and run each
# for FUZZ_SECONDS (default 60). Seeds: the shared models/vocabularies when
# present, plus files the unit tests can build. Crashes land in
# tests/fuzz/artifacts/ and fail the run.
set -eu
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60}
CC=${FUZZ_CC:-clang}
# the libraries the Makefile links (it passes PKGS)
PKGS=${PKGS:-libcjson libsodium libcurl libarchive libmicrohttpd libcrypto}
OUT=build/fuzz
mkdir -p "$OUT" tests/fuzz/artifacts
BASE="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -g -O1 -fno-sanitize-recover=undefined $(pkg-config --cflags $PKGS)"
# the library once, instrumented for coverage (fuzzer-no-link), then each
# target links its own main against those objects; ISA files are exercised
# by the unit tests, not here
LIBSRC=$(ls src/*/*.c | grep -v '^src/cli/' | grep -Ev '_(neon|avx2|avx512)\.c$')
mkdir -p "$OUT/obj"
export CC BASE OUT
# shellcheck disable=SC2016
printf '%s\n' $LIBSRC | xargs -P "$(nproc)" -I{} sh -c \
	'$CC $BASE -fsanitize=fuzzer-no-link,address,undefined -c "{}" -o "$OUT/obj/$(echo "{}" | tr / _).o"'
OBJS=$(for s in $LIBSRC; do printf '%s ' "$OUT/obj/$(echo "$s" | tr / _).o"; done)
status=0
for f in tests/fuzz/fuzz_*.c; do
	name=$(basename "$f" .c)
	# shellcheck disable=SC2086
	$CC $BASE -fsanitize=fuzzer,address,undefined -o "$OUT/$name" "$f" $OBJS \
		$(pkg-config --libs $PKGS) -lm -pthread
	corpus=tests/fuzz/corpus-$name
	mkdir -p "$corpus"
	seeds=""
	case "$name" in
	fuzz_gguf)
		for d in ../shared/models ../shared/vocab; do
			[ -d "$d" ] && for s in "$d"/*.gguf; do
				# keep seeds small: the first 64 KiB carry the header
				head -c 65536 "$s" > "$corpus/seed-$(basename "$s")"
			done
		done
		;;
	esac
	echo "fuzzing $name for ${SECS}s"
	if ! "$OUT/$name" -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
		-artifact_prefix=tests/fuzz/artifacts/ -print_final_stats=1 "$corpus" $seeds \
		> "$OUT/$name.log" 2>&1; then
		echo "FAIL $name: see $OUT/$name.log"
		tail -n 40 "$OUT/$name.log"
		status=1
	else
		grep -E 'stat::number_of_executed_units|Done' "$OUT/$name.log" | tail -n 2
		echo "PASS $name"
	fi
done
exit $status
