# Lamina build, test and demo. The two commands a user needs:
#   make demo   builds the library and trains an MLP from C and from Python
#   make test   builds everything and runs the Swift, C and Python test suites
# Both install what is missing (system packages via apt, a Python venv in .venv).

PREFIX    ?= /usr/local
# The version is written once, in the header; the Python package's copy is checked against
# it by its tests (test_library.py).
VERSION   := $(shell sed -n 's/^\#define LAMINA_VERSION_STRING "\(.*\)"$$/\1/p' include/lamina.h)
SOMAJOR   := 0
BUILD     := build
LIBDIR    := $(BUILD)/lib
LIB       := $(LIBDIR)/liblamina.so
SONAME    := liblamina.so.$(SOMAJOR)
VENV      := .venv
PY        := $(VENV)/bin/python
CC        ?= cc
CWARN     := -std=c99 -Wall -Wextra -Werror -pedantic
CFLAGS_T  := $(CWARN) -O2 -Iinclude
LDFLAGS_T := -L$(LIBDIR) -llamina -Wl,-rpath,$(abspath $(LIBDIR)) -lm -pthread
# -z nodelete: the library's worker threads live as long as the process, so dlclose()
# must not unmap the code they run. -Xcc -gdwarf-4: the C kernels' debug information as
# DWARF 4; Debian's valgrind (3.19) gives up on the library ("Possibly corrupted debuginfo
# file") when they carry the toolchain clang's default DWARF 5, and users run their
# programs under valgrind with it (README, bindings/c/lamina.supp).
SWIFT_RELEASE := -c release -Xswiftc -static-stdlib -Xcc -gdwarf-4 \
	-Xlinker --version-script=$(abspath scripts/lamina.map) -Xlinker -soname=$(SONAME) \
	-Xlinker -z -Xlinker nodelete
SWIFT_SOURCES := $(shell find Sources -type f) Package.swift include/lamina.h
# Fails when a build did not compile in the current kernel headers and sources
# (Sources/CLaminaKernels); every build below runs it on its build directory.
CHECK_FRESH   := python3 Tests/Scripts/check_fresh_build.py

C_TESTS    := $(patsubst Tests/C/%.c,$(BUILD)/tests/%,$(wildcard Tests/C/test_*.c))
C_EXAMPLES := $(patsubst bindings/c/examples/%.c,$(BUILD)/examples/%,$(wildcard bindings/c/examples/*.c))

.PHONY: all lib setup venv test test-swift check-fresh format format-check mutate mutate-list test-c test-coretypes test-python test-header test-valgrind \
	test-install demo examples install uninstall clean bench-mlp bench-latency bench-kan \
	bench-mesh bench-kan-compare bench bench-smoke python-package install-python

all: lib

setup:
	@bash scripts/setup.sh

$(BUILD)/.setup-stamp: scripts/setup.sh
	@bash scripts/setup.sh
	@mkdir -p $(BUILD) && touch $@

# ---- the shared library ---------------------------------------------------------------
lib: $(LIB)

$(LIB): $(BUILD)/.setup-stamp $(SWIFT_SOURCES) scripts/lamina.map
	@# SwiftPM does not track the linker script; removing the product forces a relink.
	rm -f "$$(swift build $(SWIFT_RELEASE) --show-bin-path)/liblamina.so"
	swift build $(SWIFT_RELEASE) --product lamina
	$(CHECK_FRESH) "$$(swift build $(SWIFT_RELEASE) --show-bin-path)"
	@mkdir -p $(LIBDIR)
	# Copied beside, then renamed over: a process that has the old library loaded keeps its
	# pages (cp over it would rewrite them under that process).
	cp -f "$$(swift build $(SWIFT_RELEASE) --show-bin-path)/liblamina.so" $(LIBDIR)/$(SONAME).new
	mv -f $(LIBDIR)/$(SONAME).new $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIB)

# ---- Python package ---------------------------------------------------------------------
# `pip install ./bindings/python` needs nothing else: bindings/python/setup.py runs `make lib`
# and puts the library into the wheel it builds. These two are that flow with .venv's pip,
# without build isolation (.venv has setuptools and wheel), so they work offline.
# python-package: the wheel, in build/python; install-python: pip install into .venv.
PYWHEELS := $(BUILD)/python

python-package: $(LIB) venv
	rm -f $(PYWHEELS)/lamina-*.whl
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w $(PYWHEELS) ./bindings/python
	@ls $(PYWHEELS)/lamina-*.whl

install-python: $(LIB) venv
	$(PY) -m pip install -q --no-build-isolation ./bindings/python

# ---- Python environment ---------------------------------------------------------------
venv: $(VENV)/.stamp

$(VENV)/.stamp: $(BUILD)/.setup-stamp bindings/python/requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r bindings/python/requirements-test.txt
	# lamina.torch's tests need torch: the CPU-only wheel when pip's local wheel folder has
	# one (PyPI's build pulls gigabytes of CUDA libraries); without it they are skipped.
	$(PY) -m pip install -q "torch==$$(ls /opt/wheels 2>/dev/null \
		| sed -n 's/^torch-\([^-]*+cpu\)-.*/\1/p' | head -1)" 2>/dev/null \
		|| echo "no local CPU torch wheel: lamina.torch's tests will be skipped"
	@touch $@

# ---- C programs -------------------------------------------------------------------------
$(BUILD)/tests/%: Tests/C/%.c Tests/C/check.h Tests/C/abi_harness.h Tests/C/dir_entries.h \
		Tests/C/scratch_files.h Tests/C/malloc_counter.h Tests/C/model_helpers.h Tests/C/optimizer_trajectories.h Tests/Reference/kernel_reference.h \
		include/lamina.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_T) $< -o $@ $(LDFLAGS_T)

$(BUILD)/examples/%: bindings/c/examples/%.c include/lamina.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_T) $< -o $@ $(LDFLAGS_T)

examples: $(C_EXAMPLES)

# ---- tests ------------------------------------------------------------------------------
test: format-check test-header test-c test-coretypes test-valgrind test-install test-python test-swift
	@echo "make test: all suites passed"

# Swift sources in the committed style (.swift-format: swift-format's configuration, spelled
# out so that a newer toolchain's defaults do not change it). format rewrites them in place.
SWIFT_FORMAT_PATHS := Sources Tests Examples Package.swift
format:
	swift format format --in-place --recursive $(SWIFT_FORMAT_PATHS)

format-check:
	swift format lint --strict --recursive $(SWIFT_FORMAT_PATHS)

test-swift: $(BUILD)/.setup-stamp
	swift build --build-tests
	$(CHECK_FRESH) "$$(swift build --show-bin-path)"
	swift test --skip-build
	swift run lamina-swift-example

# Every SwiftPM build directory here (release, debug, sanitizer builds) against the kernel
# headers and sources: fails if one holds objects compiled from older ones.
BUILD_DIRS := $(wildcard .build/release .build/debug .build-asan/release .build-asan/debug \
	.build-tsan/release .build-tsan/debug)
check-fresh:
	$(if $(BUILD_DIRS),$(CHECK_FRESH) $(BUILD_DIRS),@echo "check-fresh: no SwiftPM build here yet")

test-header: $(LIB)
	bash Tests/Scripts/check_header.sh

# Every C test binary runs even if an earlier one fails; the target fails if any did.
test-c: $(C_TESTS) $(C_EXAMPLES)
	@status=0; for t in $(C_TESTS); do echo "== $$t"; (cd $(BUILD) && ../$$t) || status=1; done; exit $$status

# The C test programs again under every other OpenBLAS kernel set (OPENBLAS_CORETYPE) that
# this OpenBLAS ships and this CPU can execute (Tests/Scripts/coretypes.sh).
test-coretypes: $(C_TESTS)
	bash Tests/Scripts/coretypes.sh $(C_TESTS)

# The examples under valgrind with its default leak kinds (and indirect ones) and the
# suppression file that make install ships (bindings/c/lamina.supp).
test-valgrind: $(C_EXAMPLES)
	bash Tests/Scripts/valgrind_examples.sh $(C_EXAMPLES)

test-install: $(LIB)
	bash Tests/Scripts/check_install.sh

test-python: $(LIB) venv
	LAMINA_LIBRARY=$(abspath $(LIB)) $(PY) -m pytest -q bindings/python/tests

# ---- sanitizers and fuzzing (not part of make test) ---------------------------------------
# make test-asan / test-tsan: the C test programs and the Swift suite under AddressSanitizer
# (with LeakSanitizer) / ThreadSanitizer; the sanitized library is built in .build-asan /
# .build-tsan (see Tests/Sanitizers/sanitize.sh). TSAN's Swift part runs the concurrent tests only;
# SWIFT_FILTER=... overrides. make fuzz: libFuzzer targets in Tests/Fuzz, FUZZ_SECONDS each
# (see Tests/Fuzz/README.md); make fuzz-smoke: 10 s each.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= model_spec trainer_config safetensors model_buffer mesh shape abi_sequence

.PHONY: test-asan test-tsan fuzz fuzz-smoke fuzz-build bench-dataset

# SANITIZE_PARTS=c runs the C programs only, =swift the Swift suite only.
SANITIZE_PARTS ?= all

test-asan: $(BUILD)/.setup-stamp
	bash Tests/Sanitizers/sanitize.sh address $(SANITIZE_PARTS)

test-tsan: $(BUILD)/.setup-stamp
	bash Tests/Sanitizers/sanitize.sh thread $(SANITIZE_PARTS)

fuzz-build: $(BUILD)/.setup-stamp
	bash Tests/Fuzz/run.sh build

fuzz: $(BUILD)/.setup-stamp
	bash Tests/Fuzz/run.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(BUILD)/.setup-stamp
	bash Tests/Fuzz/run.sh run 10 $(FUZZ_TARGETS)

# ---- mutation testing (not part of make test) ---------------------------------------------
# Applies the mutations of Tests/Mutate/mutations.toml one at a time to a scratch worktree of
# HEAD (build/mutate/tree), rebuilds, runs the suites and prints which caught each; the table
# goes to build/mutate/report.md. MUTATIONS=2,4 and SUITES=c,python,swift select (default:
# all). Hours for the whole list: each mutation rebuilds the library (WMO) and runs every
# suite it selects.
MUTATIONS ?=
SUITES    ?=

mutate: $(BUILD)/.setup-stamp venv
	python3 Tests/Mutate/run.py --mutations "$(MUTATIONS)" --suites "$(SUITES)" --venv $(abspath $(VENV))

mutate-list:
	@python3 Tests/Mutate/run.py --list

# ---- demo -------------------------------------------------------------------------------
demo: $(LIB) venv $(BUILD)/examples/demo
	@echo "==== C demo ===="
	cd $(BUILD) && ./examples/demo
	@echo "==== Python demo ===="
	LAMINA_LIBRARY=$(abspath $(LIB)) $(PY) bindings/python/examples/demo.py
	@echo "==== Python field demo ===="
	LAMINA_LIBRARY=$(abspath $(LIB)) $(PY) bindings/python/examples/field_demo.py --out $(BUILD)/demo

# ---- benchmarks (not part of make test) ---------------------------------------------------
$(BUILD)/bench/%: bench/%.c bench/timing.h include/lamina.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_T) -D_POSIX_C_SOURCE=200809L $< -o $@ $(LDFLAGS_T)

# Training throughput of a 3-256-256-256-1 relu MLP, Adam, batch 4096.
bench-mlp: $(BUILD)/bench/mlp_train_throughput
	$(BUILD)/bench/mlp_train_throughput 4096 20 256

# One-sample inference latency of a 3-64-64-1 MLP from C.
bench-latency: $(BUILD)/bench/mlp_predict_latency
	$(BUILD)/bench/mlp_predict_latency

# Adam step time of a [32, 32, 8] cubic B-spline KAN, batch 4096, grids 5, 100 and 1000.
bench-kan: $(BUILD)/bench/kan_step_time
	$(BUILD)/bench/kan_step_time 4096 10 5 100 1000

# Signed distance of 1M points to a 50k-triangle torus mesh (BVH + fast winding numbers).
bench-mesh: $(BUILD)/bench/mesh_sdf
	$(BUILD)/bench/mesh_sdf 1000000 250 100

# Dataset fitting at the tri-plane processing paper's settings: shapes per hour per core,
# 1 -> 2 processes, Ray's overhead per task (~10 min on 2 cores; bench/NOTES.md).
bench-dataset: $(LIB) venv
	LAMINA_LIBRARY=$(abspath $(LIB)) $(PY) bench/dataset_throughput.py --shapes 2

# Lamina against pykan and an efficient-kan-style PyTorch layer: one training step of
# B-spline KANs ([2, 5, 1] and [64, 64, 10] at G = 5, [64, 64, 10] at G = 100; batch 1024),
# in one process, interleaved. Needs the network once, for .venv-bench (CPU torch, pykan).
BENCH_VENV := .venv-bench
# BENCH_PY=/path/to/python uses an existing environment with the peers instead of .venv-bench.
BENCH_PY   ?= $(BENCH_VENV)/bin/python
BENCH_PEERS := $(if $(filter $(BENCH_VENV)/bin/python,$(BENCH_PY)),$(BENCH_VENV)/.stamp)
BENCH_THREADS ?= 2
# Workloads of `make bench` (comma-separated; empty: all; `python bench/harness.py --list`).
BENCH_ONLY ?=
BENCH_ENV := PYTHONPATH=$(abspath bindings/python) LAMINA_LIBRARY=$(abspath $(LIB))
BENCH_BINS := $(BUILD)/bench/mlp_predict_latency $(BUILD)/bench/sgemm_peak

# The CPU-only torch wheel when download.pytorch.org answers, else PyPI's (CUDA) build, of
# which the benchmarks use only the CPU.
$(BENCH_VENV)/.stamp:
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q numpy
	$(BENCH_VENV)/bin/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu \
		|| $(BENCH_VENV)/bin/python -m pip install -q torch
	$(BENCH_VENV)/bin/python -m pip install -q pykan matplotlib sympy pandas scikit-learn pyyaml \
		tqdm "jax[cpu]" onnxruntime onnx trimesh rtree scikit-image
	@touch $@

# The three KAN step workloads of bench/harness.py alone (results merged into latest.json).
bench-kan-compare:
	$(MAKE) bench BENCH_ONLY=kan_2_5_1,kan_64_64_10,kan_64_64_10_g100

# Peak single-precision GEMM rate of the system OpenBLAS (the roofline of mlp_large).
$(BUILD)/bench/sgemm_peak: bench/sgemm_peak.c bench/timing.h
	@mkdir -p $(dir $@)
	$(CC) $(CWARN) -O2 -D_POSIX_C_SOURCE=200809L $$(pkg-config --cflags openblas) $< -o $@ \
		$$(pkg-config --libs openblas) -pthread

# Every workload of bench/harness.py, Lamina against its peers, in one run; writes
# bench/results/latest.json and bench/RESULTS.md. BENCH_ONLY=mlp_large,triplane selects.
bench: $(LIB) $(BENCH_BINS) $(BENCH_PEERS)
	$(BENCH_ENV) $(BENCH_PY) bench/harness.py --threads $(BENCH_THREADS) --only "$(BENCH_ONLY)" \
		--json bench/results/latest.json --markdown bench/RESULTS.md --update

# Lamina's side of every workload at tiny sizes, with .venv (numpy only): seconds.
bench-smoke: $(LIB) $(BUILD)/bench/mlp_predict_latency venv
	$(BENCH_ENV) $(PY) bench/harness.py --smoke --threads $(BENCH_THREADS)

# ---- install ----------------------------------------------------------------------------
install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/Lamina \
		$(DESTDIR)$(PREFIX)/share/lamina
	install -m 0755 $(LIBDIR)/$(SONAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/liblamina.so
	install -m 0644 include/lamina.h $(DESTDIR)$(PREFIX)/include/lamina.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' bindings/c/lamina.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/lamina.pc
	sed -e 's|@VERSION@|$(VERSION)|g' bindings/c/LaminaConfigVersion.cmake.in \
		> $(DESTDIR)$(PREFIX)/lib/cmake/Lamina/LaminaConfigVersion.cmake
	install -m 0644 bindings/c/LaminaConfig.cmake $(DESTDIR)$(PREFIX)/lib/cmake/Lamina/LaminaConfig.cmake
	install -m 0644 bindings/c/lamina.supp $(DESTDIR)$(PREFIX)/share/lamina/lamina.supp

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/$(SONAME) $(DESTDIR)$(PREFIX)/lib/liblamina.so \
		$(DESTDIR)$(PREFIX)/include/lamina.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/lamina.pc
	rm -rf $(DESTDIR)$(PREFIX)/lib/cmake/Lamina $(DESTDIR)$(PREFIX)/share/lamina

clean:
	rm -rf $(BUILD) .build bindings/python/build bindings/python/lamina.egg-info \
		bindings/python/lamina/liblamina.so*
