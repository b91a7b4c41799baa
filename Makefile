# User-facing entry points. The real build is Meson + Ninja.
#   make          build build/maquina
#   make check    install missing dependencies (as root), build, run every test
#   make demo     build and boot the default demo
#   make bench    benchmarks against QEMU (BENCH_RUNS=N, default 3; about 20 min),
#                 writes docs/PERFORMANCE.md and docs/perf-chart.png
#   make bench-quick  a short smoke run of every benchmark (1 run, small sizes;
#                 results in .cache/bench/, the docs are left alone)
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_OPTS ?=
JOBS       ?= $(shell nproc)

.PHONY: all deps bench-deps check check-release check-asan check-tsan demo clean fuzz bench \
	bench-quick

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	@ln -sf src/cli/maquina $(BUILD)/maquina

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized $(MESON_OPTS)

$(TSAN_BUILD)/build.ninja:
	CC=clang meson setup $(TSAN_BUILD) --buildtype=debugoptimized \
	  -Db_sanitize=thread -Db_lundef=false $(MESON_OPTS)

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) --buildtype=debug \
	  -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

deps:
	@scripts/install-deps.sh

# Release build runs every suite; the sanitizer build runs unit, ISA and
# fuzz-corpus suites. The summary line is "N passed, N failed".
check: deps
	@rm -f $(BUILD)/meson-logs/testlog*.json $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json
	@status=0; \
	$(MAKE) --no-print-directory check-release || status=1; \
	$(MAKE) --no-print-directory check-asan || status=1; \
	$(MAKE) --no-print-directory check-tsan || status=1; \
	python3 scripts/test-summary.py $(BUILD)/meson-logs/testlog-main.json \
	    $(BUILD)/meson-logs/testlog-guest.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json || status=1; \
	exit $$status

# Guest boots run one at a time: several multi-hart VMs on a small host
# starve each other's hart threads (spinning guests), so they go serially.
check-release: all
	@status=0; \
	meson test -C $(BUILD) --num-processes $(JOBS) --print-errorlogs --no-suite guest \
	    || status=1; \
	cp $(BUILD)/meson-logs/testlog.json $(BUILD)/meson-logs/testlog-main.json; \
	meson test -C $(BUILD) --num-processes 1 --print-errorlogs --suite guest \
	    || status=1; \
	cp $(BUILD)/meson-logs/testlog.json $(BUILD)/meson-logs/testlog-guest.json; \
	exit $$status

check-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C $(ASAN_BUILD) --num-processes $(JOBS) --print-errorlogs \
	    --suite unit --suite isa --suite fuzz

# Threaded code (hart threads, I/O thread, devices) under ThreadSanitizer:
# the unit tests and the ISA programs, including the two-hart atomics test.
check-tsan: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS=halt_on_error=1 \
	meson test -C $(TSAN_BUILD) --num-processes $(JOBS) --print-errorlogs \
	    --suite unit --suite isa --no-suite dma

# libFuzzer campaigns: every target for FUZZ_SECONDS, starting from its corpus
# (new inputs go to $(FUZZ_BUILD)/corpus-new/NAME; crashes to $(FUZZ_BUILD)/crash-*).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/replay_main.c,$(wildcard fuzz/fuzz_*.c)))

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzzing=true \
	  -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@status=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus-new/$$t; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	        $(FUZZ_BUILD)/corpus-new/$$t fuzz/corpus/$$t 2>&1 | \
	        grep -E "stat::number_of_executed_units|stat::peak_rss|==ERROR|SUMMARY|Done" \
	        || true; \
	    ls $(FUZZ_BUILD)/crash-$$t-* >/dev/null 2>&1 && status=1; \
	done; exit $$status

demo: deps all
	@scripts/demo.sh $(BUILD)

bench-deps:
	@scripts/install-deps.sh --bench

# One benchmark at a time, never in parallel with anything else of ours.
BENCH_RUNS ?= 3
bench: bench-deps all
	BENCH_RUNS=$(BENCH_RUNS) python3 bench/bench.py --maquina $(BUILD)/maquina --docs

bench-quick: bench-deps all
	python3 bench/bench.py --maquina $(BUILD)/maquina --quick

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
