# hearth — plain Makefile. `make` builds build/hearth; `make test` builds a
# sanitizer variant under build/san and runs every test; `make fuzz` runs the
# fuzz targets briefly; `make bench` runs the benchmarks.

CC ?= cc
PKGS := libcjson libsodium libcurl libarchive libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ARCH := $(shell uname -m)
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-format-truncation -Wstrict-prototypes \
	-Wmissing-prototypes -Werror=implicit-function-declaration
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-Isrc -Iinclude $(WARN) $(PKG_CFLAGS) -pthread -g
OPT ?= -O2
LIBS := $(PKG_LIBS) -lm -pthread
# the ISA kernel files are reached only through weak references (so a build
# without one still links): pull every object of the library in
WHOLE = -Wl,--whole-archive $(1) -Wl,--no-whole-archive

# per-ISA kernel files get their instruction-set flags; nothing else does.
# Keep scalar signed-byte dot products out of them: GCC 12.2 with
# -mavx512vnni vectorized such a loop into vpdpbusd (unsigned x signed)
# and got it wrong (seen 2026-11-27; intrinsics are not affected)
ISA_avx2 := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni \
	-mavx512bf16 -mavx2 -mfma -mf16c

ALL_SRC := $(wildcard src/*/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
ifeq ($(ARCH),x86_64)
LIB_SRC := $(filter-out src/cli/% %_neon.c,$(ALL_SRC))
else ifeq ($(ARCH),aarch64)
LIB_SRC := $(filter-out src/cli/% %_avx2.c %_avx512.c,$(ALL_SRC))
else
LIB_SRC := $(filter-out src/cli/% %_avx2.c %_avx512.c %_neon.c,$(ALL_SRC))
endif
TEST_SRC := $(wildcard tests/unit/test_*.c)

# --- variants: build/ (release) and build/san (ASan+UBSan, used by tests)
B ?= build
SAN ?= 0
ifeq ($(SAN),1)
VARIANT_CFLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
VARIANT_LDFLAGS := -fsanitize=address,undefined
else
VARIANT_CFLAGS := $(OPT)
VARIANT_LDFLAGS :=
endif

CFLAGS_ALL = $(BASE_CFLAGS) $(VARIANT_CFLAGS) $(CFLAGS)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all test check fuzz bench clean san tests-bin
all: $(B)/hearth
ifeq ($(B),build)
all: hearth
hearth: build/hearth
	ln -sf build/hearth hearth
endif

# V=1 shows the full commands
V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(if $(findstring _avx512,$<),$(ISA_avx512),$(if $(findstring _avx2,$<),$(ISA_avx2))) -MMD -MP -c $< -o $@

$(B)/libhearth.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(B)/hearth: $(CLI_OBJ) $(B)/libhearth.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(VARIANT_LDFLAGS) -o $@ $(CLI_OBJ) $(call WHOLE,$(B)/libhearth.a) $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libhearth.a tests/t.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(call WHOLE,$(B)/libhearth.a) $(VARIANT_LDFLAGS) $(LIBS)

# bench/ceiling.c: decode's matrix products against reading the same
# matrices without arithmetic (run by `make bench`; built with the tests so
# that it keeps compiling). -march=native as bench/bw: its plain reads need
# the host's vector loads (built portable they read 37 GB/s where bw reads
# 62; the products come from libhearth's run-time-chosen kernels either way)
$(B)/ceiling: bench/ceiling.c $(B)/libhearth.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -march=native -o $@ $< $(call WHOLE,$(B)/libhearth.a) $(VARIANT_LDFLAGS) $(LIBS)

# bench/bw.c: the decode bound's read bandwidth (run by `make bench`; built
# with the tests too, and run by tests/e2e/tools.sh to check what it
# reports). A stand-alone program: no hearth code, the host's vector loads
$(B)/bw: bench/bw.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -std=c11 -O2 -march=native -Wall -Wextra -pthread -o $@ $<

tests-bin: $(TEST_BIN) $(B)/hearth $(B)/ceiling $(B)/bw

san:
	$(MAKE) B=build/san SAN=1 tests-bin

test: san
	bash tests/run build/san

check: test

fuzz:
	PKGS="$(PKGS)" bash tests/fuzz/run.sh

bench: all $(B)/ceiling $(B)/bw
	bash bench/run.sh

clean:
	rm -rf build hearth

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
