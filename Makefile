# Thin wrapper around CMake: `make`, `make run`, `make test`, `make bench`, `make fuzz`.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?=
# where `make run` serves /metrics, /health and /api/* (loopback)
RUN_HTTP ?= 127.0.0.1:8080

.PHONY: all build run test test-release test-asan bench fuzz deps clean format

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)
	@ln -sf build/compile_commands.json compile_commands.json

run: build
	./build/sipkit serve --http $(RUN_HTTP) $(RUN_ARGS)

# The whole suite: release build, then ASan+UBSan build with the fuzz targets
# (clang), each fuzzer run for FUZZ_SECONDS as part of the suite.
test:
	@scripts/install-deps test
	$(MAKE) test-release
	$(MAKE) test-asan

test-release:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS)

test-asan:
	@CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
	    -DSIPKIT_SANITIZE=ON -DSIPKIT_FUZZ=ON -DSIPKIT_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench:
	@scripts/install-deps bench
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSIPKIT_BENCH=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-bench -j $(JOBS)
	./build-bench/bench/bench_parse
	bench/bench_options.sh
	bench/bench_register.sh
	bench/bench_proxy.sh
	bench/bench_media.sh
	bench/bench_flow.sh

# Longer fuzzing session on its own: make fuzz FUZZ_SECONDS=600
fuzz:
	@scripts/install-deps test
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPKIT_FUZZ=ON \
	    -DSIPKIT_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && ctest --output-on-failure -j $(JOBS) -R '^fuzz_'

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-bench build-fuzz compile_commands.json
