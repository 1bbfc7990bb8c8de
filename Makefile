# t2rec — build, test, demo, paper, plots, bench, install, clean, deps.
# Sources are found by wildcard: a new src/*.c, synth/*.c or tests/test_*.c needs no edit here.

CC      ?= gcc
PREFIX  ?= /usr/local
OPT     ?= -O2 -march=x86-64-v2
SAN     ?=
BUILD   ?= build
BIN     ?= bin
PYTHON  ?= /usr/bin/python3

HDF5_CFLAGS := $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS   := $(shell pkg-config --libs-only-L hdf5 2>/dev/null) -lhdf5_hl -lhdf5

# The code version: recomputed at every make, written to BUILD/gen/t2rec_version.inc only when
# it changed (so an edit makes the binary say -dirty, and nothing else is rebuilt for it).
GIT_VERSION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
VERSION_INC  = $(BUILD)/gen/t2rec_version.inc

CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -g $(OPT) $(SAN) \
           -I/usr/include/x86_64-linux-gnu/openblas-pthread -Isrc -Isynth $(HDF5_CFLAGS) \
           -I$(BUILD)/gen -DT2REC_SRCDIR='"$(CURDIR)"' -DT2REC_PREFIX='"$(PREFIX)"' -DT2REC_CC='"$(shell $(CC) --version | head -1)"' -MMD -MP
# Faiss (static libfaiss.a: needs BLAS, libgomp and the C++ runtime) and XGBoost: the pipeline
# method (src/faiss_c.cpp, src/rerank_xgb.c). C++ sources (src/*.cpp) are compiled with $(CXX).
PIPE_LIBS := -lfaiss -lxgboost
LDLIBS  += $(HDF5_LIBS) -linih -lgsl $(PIPE_LIBS) -lopenblas -lgomp -lstdc++ -lm -lpthread
CXXFLAGS_T2 = -std=c++17 -Wall -Wextra -g $(OPT) $(SAN) -Isrc -MMD -MP
TEST_LDLIBS := -lcmocka

SYNTH_SRC := $(wildcard synth/*.c)
LIB_SRC   := $(filter-out src/main.c $(EXCLUDE),$(wildcard src/*.c))
TEST_SRC  := $(wildcard tests/test_*.c)
SYNTH_OBJ := $(SYNTH_SRC:%.c=$(BUILD)/%.o)
LIB_CXX   := $(wildcard src/*.cpp)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cpp=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(BUILD)/tests/helpers/testutil.o

.PHONY: FORCE fresh-check all deps test check faults-long demo paper plots bench install clean fuzz tests-build docs valgrind

all: $(BIN)/t2rec

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_T2) -c $< -o $@

# one pattern rule for every build tree (build, build-san, build-fuzz)
%/gen/t2rec_version.inc: FORCE
	@mkdir -p $(dir $@)
	@v='#define T2REC_VERSION_STR "$(GIT_VERSION)"'; \
	  [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" > $@
$(BUILD)/src/version.o: $(VERSION_INC)

$(BUILD)/libsynth.a: $(SYNTH_OBJ)
	ar rcs $@ $^
$(BUILD)/libt2rec.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BIN)/t2rec: $(BUILD)/src/main.o $(BUILD)/libt2rec.a $(BUILD)/libsynth.a
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/helpers/%.o: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/helpers -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_HELPERS) $(BUILD)/libt2rec.a $(BUILD)/libsynth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/helpers $< $(TEST_HELPERS) $(BUILD)/libt2rec.a $(BUILD)/libsynth.a -o $@ $(LDLIBS) $(TEST_LDLIBS)

tests-build: $(BIN)/t2rec $(TEST_BIN)

data/ml-100k:
	@if [ -d ../shared/data/ml-100k ]; then mkdir -p data && ln -sfn "$$(cd ../shared/data/ml-100k && pwd)" data/ml-100k; fi

# Run every test program; tests/run_tests.sh prints the closing 'N passed, N failed' line.
test: tests-build
	@$(MAKE) --no-print-directory data/ml-100k >/dev/null 2>&1 || true
	@T2REC=$(abspath $(BIN)/t2rec) PYTHON=$(PYTHON) bash tests/run_tests.sh $(TEST_BIN)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, in a separate build tree.
# allocator_may_return_null: a failed huge allocation returns NULL as glibc's malloc does (the
# code under test handles it) instead of aborting the sanitized process
check:
	ASAN_OPTIONS="allocator_may_return_null=1$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}" \
	$(MAKE) --no-print-directory BUILD=build-san BIN=build-san/bin OPT=-O1 \
	  SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  T2REC_SANITIZED=1 test

# The exhaustive fault walk (issue 19): every malloc (and write, fsync, rename) of a small run,
# merge and export fails in turn, each followed by a rerun compared with the uninterrupted run.
# `make test` walks a sample (tests/test_faults.c); this walks every point (about an hour).
faults-long: tests-build
	@mkdir -p tests/tmp && T2REC=$(abspath $(BIN)/t2rec) T2REC_FAULTS_LONG=1 T2REC_TEST_FILTER=test_fault_walk \
	  $(BUILD)/tests/test_faults

# valgrind memcheck on a small run of every method: must report 0 errors and 0 bytes lost.
valgrind: all
	@mkdir -p tests/tmp && rm -f tests/tmp/valgrind_run.h5 tests/tmp/valgrind_stars.h5
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	  $(BIN)/t2rec run tests/valgrind_run.ini -o tests/tmp/valgrind_run.h5 --threads 1 --no-progress
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
	  $(BIN)/t2rec run tests/valgrind_stars.ini -o tests/tmp/valgrind_stars.h5 --threads 1 --no-progress

DEPS_PKGS := libgsl-dev libopenblas-dev libhdf5-dev hdf5-tools gnuplot-nox libinih-dev libcmocka-dev \
             pkg-config python3-torch python3-h5py python3-numpy libfaiss-dev libxgboost-dev g++
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

# deps first, then a new make for the build: the HDF5 flags (pkg-config) are read when a make
# starts, so on a fresh machine they must be read after `make deps` installed libhdf5-dev.
demo: deps
	@$(MAKE) --no-print-directory all
	@bash experiments/demo.sh

# The validation study (SPEC section 10): SCALE=small (default), SCALE=medium (intrinsic_dim up
# to n_obs = 2^20, paper_configs/medium/) or SCALE=full.
paper: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory data/ml-100k >/dev/null 2>&1 || true
	@SCALE=$(or $(SCALE),small) T2REC=$(BIN)/t2rec bash paper_configs/run_paper.sh

# docs/configs.md = the hand-written part + the key tables of this build (t2rec keys --markdown).
docs: all
	@{ cat docs/configs.intro.md; $(BIN)/t2rec keys --markdown; } > docs/configs.md.tmp && mv docs/configs.md.tmp docs/configs.md
	@echo "wrote docs/configs.md"

# The README's first command on a brand-new Debian bookworm (mmdebstrap chroot; needs root):
# `make demo` there must work the first time. FRESH_TEST=1 also runs `make test` there.
fresh-check:
	@bash tests/fresh_machine.sh

# Figures of every results file in results/.
plots: all
	@for f in results/*.h5; do [ -f "$$f" ] && $(BIN)/t2rec plot "$$f" -o plots/out; done; true

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/t2rec/slurm
	install -m 0755 $(BIN)/t2rec $(DESTDIR)$(PREFIX)/bin/t2rec
	install -m 0644 experiments/slurm/*.sbatch $(DESTDIR)$(PREFIX)/share/t2rec/slurm/
	install -d $(DESTDIR)$(PREFIX)/share/t2rec/plots
	install -m 0644 plots/*.gp $(DESTDIR)$(PREFIX)/share/t2rec/plots/

clean:
	rm -rf $(BUILD) build-san $(BIN) tests/tmp

-include $(SYNTH_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d

# ---- fuzzing: libFuzzer targets in tests/fuzz/ (clang; sources rebuilt with the sanitizers) ----
# `make fuzz FUZZ_SECONDS=N` builds build-fuzz/fuzz_* and runs each for N seconds on its seed
# corpus tests/fuzz/corpus/TARGET/ (new inputs go to build-fuzz/corpus/TARGET/, crashes to
# build-fuzz/crashes/TARGET-*). Saved crashes are replayed by tests/test_fuzz_regressions.c.
# fuzz_results findings inside HDF5 itself (a crash whose top frame is in libhdf5, or a hang /
# huge allocation that `t2rec report` turns into one clean line) go to crashes/hdf5-internal/.
# clang 14 emits no ifunc resolver for gcc-style target_clones here: the fuzz build drops them.
# H5OUT_NO_PROBE: h5out_read reads in-process (no child probe), so the fuzzer sees HDF5's own
# faults on damaged files; fuzz_results runs in -fork mode and goes on after such a crash.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_TARGETS := fuzz_config fuzz_movielens fuzz_tsv fuzz_results
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                '-Dtarget_clones(...)=unused' -DH5OUT_NO_PROBE \
                -I/usr/include/x86_64-linux-gnu/openblas-pthread -Isrc -Isynth -Itests/fuzz -I$(FUZZ_BUILD)/gen $(HDF5_CFLAGS)
FUZZ_OBJ     := $(SYNTH_SRC:%.c=$(FUZZ_BUILD)/%.o) $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o) \
                $(LIB_CXX:%.cpp=$(FUZZ_BUILD)/%.o)
FUZZ_CXX     ?= clang++

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/src/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize=vptr \
	  -fsanitize=fuzzer-no-link -Isrc -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/synth/%.o: synth/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/src/version.o: $(FUZZ_BUILD)/gen/t2rec_version.inc
$(FUZZ_BUILD)/libt2rec-fuzz.a: $(FUZZ_OBJ)
	ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libt2rec-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_BUILD)/libt2rec-fuzz.a -o $@ $(LDLIBS)

fuzz:
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	  > /tmp/t2rec-fuzzcheck.$$$$.c; \
	if ! $(FUZZ_CC) -fsanitize=fuzzer /tmp/t2rec-fuzzcheck.$$$$.c -o /tmp/t2rec-fuzzcheck.$$$$ 2>/dev/null; then \
	  echo "make fuzz: $(FUZZ_CC) -fsanitize=fuzzer does not work; installing clang and libclang-rt-14-dev"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
	    --no-install-recommends clang libclang-rt-14-dev; \
	fi; rm -f /tmp/t2rec-fuzzcheck.$$$$ /tmp/t2rec-fuzzcheck.$$$$.c
	@$(MAKE) --no-print-directory $(BIN)/t2rec $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
	@mkdir -p $(FUZZ_BUILD)/crashes; status=0; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "=== $$t for $(FUZZ_SECONDS) s"; \
	  extra=""; [ $$t = fuzz_results ] && extra="-fork=1 -ignore_crashes=1"; \
	  LSAN_OPTIONS=suppressions=$(abspath tests/fuzz/lsan.supp) \
	  nice -n 10 ./$(FUZZ_BUILD)/$$t $$extra -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
	    $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1 \
	    || [ $$t = fuzz_results ] || status=1; \
	  tail -n 25 $(FUZZ_BUILD)/$$t.log; \
	done; \
	mkdir -p $(FUZZ_BUILD)/crashes/hdf5-internal; \
	for f in $(FUZZ_BUILD)/crashes/fuzz_results-*; do [ -f "$$f" ] || continue; \
	  case "$$f" in \
	  *-crash-*) LSAN_OPTIONS=suppressions=$(abspath tests/fuzz/lsan.supp) timeout 120 \
	      ./$(FUZZ_BUILD)/fuzz_results "$$f" 2>&1 | grep -E '^ +#[0-9]' \
	      | grep -vE 'interceptor|in (malloc|calloc|realloc|free|strdup|strndup|strlen) |in __mem' \
	      | head -n 1 | grep -q libhdf5 ;; \
	  *) [ "$$(timeout 300 $(BIN)/t2rec report "$$f" 2>&1 >/dev/null | grep -c .)" = 1 ] ;; \
	  esac && mv "$$f" $(FUZZ_BUILD)/crashes/hdf5-internal/; \
	done; \
	n=$$(ls $(FUZZ_BUILD)/crashes/hdf5-internal | wc -l); [ "$$n" -gt 0 ] && \
	  echo "make fuzz: $$n faults inside HDF5 itself in $(FUZZ_BUILD)/crashes/hdf5-internal/ (contained: t2rec report exits 2)"; \
	ls $(FUZZ_BUILD)/crashes/ | grep -v '^hdf5-internal$$' | grep -q . && { echo "make fuzz: crashes in $(FUZZ_BUILD)/crashes/:"; ls $(FUZZ_BUILD)/crashes/; status=1; }; \
	exit $$status

-include $(FUZZ_OBJ:.o=.d)

# ---- bench (bench/): t2rec's two-tower against the PyTorch reference and the sgemm peak ----
# BENCH_SCALE=small (default, about 5 minutes on 2 cores), full (the 1M-observation setting, about
# 15 minutes) or smoke (toy sizes, about a minute; results/bench_smoke.json; run by .ci/run).
# Writes results/bench.json and prints a table (bench/run_bench.py).
BENCH_SCALE ?= small
BENCH_BIN := $(BUILD)/bench/bench_twotower $(BUILD)/bench/bench_baselines $(BUILD)/bench/sgemm_peak \
             $(BUILD)/bench/bench_store $(BUILD)/bench/bench_retrieve $(BUILD)/bench/bench_gru

$(BUILD)/bench/%: bench/%.c $(BUILD)/libt2rec.a $(BUILD)/libsynth.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libt2rec.a $(BUILD)/libsynth.a -o $@ $(LDLIBS)

bench: $(BENCH_BIN)
	BENCH_SCALE=$(BENCH_SCALE) PYTHON=$(PYTHON) BUILD=$(BUILD) $(PYTHON) bench/run_bench.py
