# SPDX-License-Identifier: GPL-2.0-or-later
# Thin wrapper around meson/ninja.  Targets:
#   make                 install missing packages, configure, build into build/
#   make check           build, then run every unit test and iotest (also
#                        against the system qemu-img as an oracle); the last
#                        line is "N passed, M failed"
#   make check SANITIZE=1   the same, built with ASan+UBSan in build-san/
#   make demo            build and run a real job on a generated image,
#                        then a live mirror under a writing NBD guest
#   make fuzz            build the libFuzzer targets with clang (build-fuzz/)
#                        and run each for FUZZ_TIME seconds (default 60) or
#                        FUZZ_RUNS executions
#   make install         install the tools, their man pages, bash completion
#                        and the block library (shared, headers, .pc) under
#                        PREFIX (default /usr/local); DESTDIR is honoured
#   make uninstall       remove what make install installed
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

PREFIX ?= /usr/local

FUZZ_TIME ?= 60
FUZZ_RUNS ?=

.PHONY: all deps build check demo fuzz install uninstall clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_EXTRA)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: build
	@BUILD_DIR=$(CURDIR)/$(BUILD) SANITIZED=$(SANITIZE) scripts/run-tests.sh

install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

uninstall:
	ninja -C $(BUILD) uninstall

demo: build
	@BUILD_DIR=$(CURDIR)/$(BUILD) scripts/demo.sh

# Every target runs FUZZ_TIME seconds, or FUZZ_RUNS executions if set,
# from its seed corpus (copied: finds stay in build-fuzz/corpus-NAME).
FUZZ_TARGETS := fuzz-qcow2-header fuzz-qcow2-map fuzz-qcow2-check \
                fuzz-qcow2-snapshot fuzz-qcow2-bitmap fuzz-options fuzz-qcow2 \
                fuzz-nbd-server fuzz-qmp
fuzz: deps
	@scripts/install-deps.sh fuzz
	@test -f build-fuzz/build.ninja || CC=clang meson setup build-fuzz \
	    -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz $(addprefix tests/fuzz/,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	    FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) \
	        scripts/run-fuzz.sh build-fuzz $$t || exit 1; \
	done

clean:
	rm -rf build build-san build-fuzz
