# Leadpipe developer entry points. Everything real lives in deploy/local/*.sh
# and CMake; these targets only chain them. `make help` lists them.
#
# Variables (override on the command line, e.g. `make test CTEST_FLAGS=-LE e2e`):
#   BUILD_DIR     build tree of build/test/run (default build; binaries in build/bin)
#   CTEST_FLAGS   extra ctest arguments (default -j<cores>)
#   FUZZ_SECONDS  seconds per fuzz target for `make fuzz` (default 20)
#   LINT_ALL=1    `make lint` checks every source, not only changed ones

SHELL := /bin/bash
.DEFAULT_GOAL := build

BUILD_DIR    ?= build
FUZZ_DIR     ?= build-fuzz
NPROC        := $(shell nproc 2>/dev/null || echo 2)
CTEST_FLAGS  ?= -j$(NPROC)
FUZZ_SECONDS ?= 20
SOURCE_DIRS  := libs services tests bench

# ccache across clones: paths under the source tree are hashed relative to it
# and the build directory is not hashed, so a fresh clone (CI, a second
# checkout) reuses objects compiled in another one.
export CCACHE_BASEDIR   := $(CURDIR)
export CCACHE_NOHASHDIR := 1
# Boost 1.74's Asio only detects C++20 coroutines on GCC (on clang it looks for
# the Coroutines TS and libc++), so clang builds and clang-tidy must be told.
CLANG_ASIO_DEFS := -DBOOST_ASIO_HAS_CO_AWAIT=1 -DBOOST_ASIO_HAS_STD_COROUTINE=1

.PHONY: help deps configure build binaries check-shared test run up down status bench fuzz fmt fmt-check lint clean

help:
	@echo "make deps      install missing Debian packages and the Kafka jars (deploy/local/deps.sh)"
	@echo "make build     deps + configure + build into $(BUILD_DIR)/ (binaries in $(BUILD_DIR)/bin)"
	@echo "make test      build + every test: unit, PostgreSQL/Kafka integration, end-to-end"
	@echo "make run       build + start the local stack, follow the logs; Ctrl-C stops it"
	@echo "make up        build + start the local stack in the background"
	@echo "make down      stop the local stack (data kept; deploy/local/down.sh --wipe drops it)"
	@echo "make status    what of the local stack is running"
	@echo "make bench     build + run bench/*/run.sh; results under bench/results/"
	@echo "make fuzz      build the fuzz_* targets with clang into $(FUZZ_DIR)/ and run each $(FUZZ_SECONDS)s"
	@echo "make fmt       clang-format -i over $(SOURCE_DIRS)   (fmt-check: only report)"
	@echo "make lint      clang-tidy over changed sources (LINT_ALL=1: all)"
	@echo "make clean     remove $(BUILD_DIR)/ and $(FUZZ_DIR)/"

deps:
	@deploy/local/deps.sh

# Configure once; afterwards ninja re-runs CMake by itself when a CMakeLists changes.
configure: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then cmake -S . -B $(BUILD_DIR) -G Ninja; fi

build: configure
	@ninja -C $(BUILD_DIR)

# What the stack runs (services + leadctl): `make run`/`make up` need no test binaries.
SERVICE_TARGETS := ingest-gateway contact-extractor lead-store leadctl
binaries: configure
	@ninja -C $(BUILD_DIR) $(SERVICE_TARGETS)

# The tests read the team's sample payloads and scorer from ../shared (beside
# the repository, as on the team's machines and in CI): say so before a long
# build rather than fail 22 tests after it.
SHARED_DIR := $(abspath $(CURDIR)/../shared)
check-shared:
	@if [ ! -d "$(SHARED_DIR)/samples" ]; then \
	  echo "make test: the tests need the shared samples at $(SHARED_DIR)/samples (the team's"; \
	  echo "  shared directory beside this repository); clone the repository next to it."; \
	  exit 2; \
	fi

# Tests needing PostgreSQL/Kafka share one throwaway server pair (CTest
# fixture `infra` = deploy/local/test-infra.sh, RESOURCE_LOCK serialises them);
# unit tests run in parallel around them.
test: check-shared build
	@set -o pipefail; \
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error $(CTEST_FLAGS) 2>&1 \
	  | tee $(BUILD_DIR)/ctest.log; rc=$$?; \
	summary="$$(grep -E 'tests passed|No tests were found' $(BUILD_DIR)/ctest.log | tail -n1)"; \
	echo; \
	if [ $$rc -eq 0 ]; then echo "make test: PASSED ($$summary)"; \
	else echo "make test: FAILED ($${summary:-ctest exited with $$rc}); full log: $(BUILD_DIR)/ctest.log"; fi; \
	exit $$rc

# up.sh/run.sh would install deps and build again: already done by `build`.
run: binaries
	@deploy/local/run.sh --no-deps --no-build

up: binaries
	@deploy/local/up.sh --no-deps --no-build

down:
	@deploy/local/down.sh

status:
	@deploy/local/status.sh

bench: build
	@mkdir -p bench/results; \
	shopt -s nullglob; scripts=(bench/*/run.sh); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "make bench: no bench/*/run.sh yet"; exit 0; fi; \
	failed=(); \
	for s in "$${scripts[@]}"; do \
	  echo "==== $$s"; \
	  LEADPIPE_BUILD_DIR="$(abspath $(BUILD_DIR))" LEADPIPE_BENCH_RESULTS="$(abspath bench/results)" \
	    "$$s" || failed+=("$$s"); \
	done; \
	echo; echo "make bench: results in bench/results/"; \
	if [ $${#failed[@]} -ne 0 ]; then echo "make bench: FAILED: $${failed[*]}"; exit 1; fi

# libFuzzer targets are the CMake targets named fuzz_* (only defined with
# -DLEADPIPE_FUZZ=ON). Seeds: any directory named corpus/<target> in the tree;
# new inputs go to $(FUZZ_DIR)/corpus/<target>, crashes to $(FUZZ_DIR)/artifacts/.
fuzz: deps
	@set -e; \
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DLEADPIPE_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS=$(CLANG_ASIO_DEFS)" >/dev/null; \
	targets=$$(ninja -C $(FUZZ_DIR) -t targets all | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): .*/\1/p' | sort -u); \
	if [ -z "$$targets" ]; then echo "make fuzz: no fuzz_* targets defined"; exit 0; fi; \
	ninja -C $(FUZZ_DIR) $$targets; \
	failed=""; \
	for t in $$targets; do \
	  exe=$$(find $(FUZZ_DIR) -type f -perm -u+x -name "$$t" | head -n1); \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts; \
	  seeds=$$(find $(SOURCE_DIRS) -type d -path "*/corpus/$$t" 2>/dev/null | tr '\n' ' '); \
	  echo "==== $$t ($(FUZZ_SECONDS)s)"; \
	  "$$exe" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_DIR)/corpus/$$t $$seeds || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: FAILED:$$failed (inputs in $(FUZZ_DIR)/artifacts/)"; exit 1; fi; \
	echo "make fuzz: all targets ran $(FUZZ_SECONDS)s without a finding"

# Tracked C++ sources only, so build trees and generated files are never touched.
CXX_FILES = git ls-files -- $(SOURCE_DIRS) | grep -E '\.(cpp|cc|hpp|h)$$'

fmt:
	@files=$$($(CXX_FILES)); [ -z "$$files" ] || clang-format -i $$files

fmt-check:
	@files=$$($(CXX_FILES)); [ -z "$$files" ] || clang-format --dry-run --Werror $$files

# Changed = differs from HEAD, or untracked; headers are checked through the
# sources that include them (HeaderFilterRegex in .clang-tidy).
lint: configure
	@set -e; \
	if [ "$(LINT_ALL)" = 1 ]; then \
	  files=$$(git ls-files -- $(SOURCE_DIRS) | grep -E '\.(cpp|cc)$$' || true); \
	else \
	  files=$$({ git diff --name-only HEAD -- $(SOURCE_DIRS); git ls-files --others --exclude-standard -- $(SOURCE_DIRS); } \
	    | grep -E '\.(cpp|cc)$$' | sort -u || true); \
	fi; \
	files=$$(for f in $$files; do [ -f "$$f" ] && echo "$$f"; done); \
	if [ -z "$$files" ]; then echo "make lint: nothing to check (LINT_ALL=1 checks everything)"; exit 0; fi; \
	run-clang-tidy -quiet -p $(BUILD_DIR) -j $(NPROC) \
	  $(foreach d,$(CLANG_ASIO_DEFS),-extra-arg=$(d)) $$files

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
