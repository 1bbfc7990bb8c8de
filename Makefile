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

GIT_VERSION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -g $(OPT) $(SAN) \
           -I/usr/include/x86_64-linux-gnu/openblas-pthread -Isrc -Isynth $(HDF5_CFLAGS) \
           -DT2REC_VERSION='"$(GIT_VERSION)"' -DT2REC_CC='"$(shell $(CC) --version | head -1)"' -MMD -MP
LDLIBS  += $(HDF5_LIBS) -linih -lgsl -lopenblas -lm -lpthread
TEST_LDLIBS := -lcmocka

SYNTH_SRC := $(wildcard synth/*.c)
LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c))
TEST_SRC  := $(wildcard tests/test_*.c)
SYNTH_OBJ := $(SYNTH_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(BUILD)/tests/helpers/testutil.o

.PHONY: all deps test check demo paper plots bench install clean fuzz tests-build

all: $(BIN)/t2rec

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

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
check:
	$(MAKE) --no-print-directory BUILD=build-san BIN=build-san/bin OPT=-O1 \
	  SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  T2REC_SANITIZED=1 test

DEPS_PKGS := libgsl-dev libopenblas-dev libhdf5-dev hdf5-tools gnuplot-nox libinih-dev libcmocka-dev \
             pkg-config python3-torch python3-h5py python3-numpy
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

demo: deps all
	@bash experiments/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/t2rec $(DESTDIR)$(PREFIX)/bin/t2rec

clean:
	rm -rf $(BUILD) build-san $(BIN) tests/tmp

-include $(SYNTH_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d
