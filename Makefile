# SPDX-License-Identifier: GPL-2.0-or-later
# Thin wrapper around meson/ninja.  Targets:
#   make                 install missing packages, configure, build into build/
#   make check           build, then run every unit test and iotest (also
#                        against the system qemu-img as an oracle); the last
#                        line is "N passed, M failed"
#   make check SANITIZE=1   the same, built with ASan+UBSan in build-san/
#   make demo            build and run a real job on a generated image
#   make fuzz            build the libFuzzer targets with clang (build-fuzz/)
#                        and fuzz qcow2 for FUZZ_TIME seconds (default 60)
#   make clean

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD := build-san
MESON_EXTRA := -Db_sanitize=address,undefined -Db_lundef=false
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS := detect_leaks=1
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
else
BUILD := build
MESON_EXTRA :=
endif

FUZZ_TIME ?= 60

.PHONY: all deps build check demo fuzz clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_EXTRA)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: build
	@BUILD_DIR=$(CURDIR)/$(BUILD) SANITIZED=$(SANITIZE) scripts/run-tests.sh

demo: build
	@BUILD_DIR=$(CURDIR)/$(BUILD) scripts/demo.sh

fuzz: deps
	@scripts/install-deps.sh fuzz
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz \
	    -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz tests/fuzz/fuzz-qcow2
	@dir=$$(mktemp -d) && cp tests/fuzz/corpus-qcow2/* $$dir/ && \
	    cd $$dir && $(CURDIR)/build-fuzz/tests/fuzz/fuzz-qcow2 -seed=1 \
	    -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -max_len=262144 \
	    $$dir; rc=$$?; rm -rf $$dir; exit $$rc

clean:
	rm -rf build build-san build-fuzz
