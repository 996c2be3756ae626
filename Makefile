# hwnas: `make run` runs the default study (hwnas search: MBConv networks on Fashion-MNIST for a
# Cortex-M7-class MCU, about 15 minutes); `make test` runs the whole test suite.
# Both first install missing Debian packages (scripts/setup.sh) and build.

BUILD ?= build
BUILD_ASAN ?= build-asan
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)

.PHONY: all setup build run test test-sanitize fuzz install bench clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/hwnas search

test: build
	cd $(BUILD) && ctest --output-on-failure

# The suite under AddressSanitizer + UndefinedBehaviorSanitizer (a separate build tree).
test-sanitize: setup
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DHWNAS_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure

# Every parser under libFuzzer (clang) with ASan + UBSan, FUZZ_SECONDS each (scripts/fuzz.sh).
fuzz: setup
	scripts/fuzz.sh

install: build
	cmake --install $(BUILD)

bench: build
	@HWNAS_SETUP_PEERS=1 scripts/setup.sh
	$(BUILD)/bench_space_count nb201 5
	bench/count_vs_torch $(BUILD)
	bench/systolic_vs_scalesim $(BUILD) ../shared
	bench/search_vs_optuna $(BUILD)/hwnas
	bench/train_vs_torch $(BUILD)/hwnas
	bench/mbconv_vs_torch $(BUILD)/hwnas
	bench/int8_vs_torch $(BUILD)/hwnas

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
