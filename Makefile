# The two commands: `make dev` (install deps, build, run `cairn agent -dev`)
# and `make test` (install deps, build, run every test label).
#
#   make test BUILD_TYPE=Debug             # Debug build in build-debug/
#   make test SANITIZE=asan                # ASan+UBSan build in build-asan/
#   make test SANITIZE=tsan                # TSan build in build-tsan/
#   make test LABELS=unit                  # one label only (unit|sim|integration|compat)

BUILD_TYPE ?= Release
SANITIZE ?=
LABELS ?=
JOBS ?= $(shell nproc)

ifneq ($(SANITIZE),)
BUILD ?= build-$(SANITIZE)
else ifeq ($(BUILD_TYPE),Debug)
BUILD ?= build-debug
else
BUILD ?= build
endif

.PHONY: deps configure build test dev clean

deps:
	@bash packaging/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCAIRN_SANITIZE=$(SANITIZE) > /dev/null

build: configure
	@ninja -C $(BUILD) -j $(JOBS)

test: build
	@# Every test must carry one of the four labels.
	@unlabelled=$$(ctest --test-dir $(BUILD) -N -LE '^(unit|sim|integration|compat)$$' | grep -c 'Test *#' || true); \
	 if [ "$$unlabelled" != "0" ]; then echo "tests without a label: $$unlabelled" >&2; exit 1; fi
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(if $(LABELS),-L '$(LABELS)',)

dev: build
	$(BUILD)/cli/cairn agent -dev

clean:
	rm -rf build build-debug build-asan build-tsan
