#!/usr/bin/env bash
# Runs the C test programs and the Swift test suite under a sanitizer (`make test-asan`,
# `make test-tsan`).
#   usage: Tests/Sanitizers/sanitize.sh address|thread [c|swift|all]
#
# C side: liblamina is built in release mode with the sanitizer into .build-asan or
# .build-tsan (the ASan build also carries libFuzzer's coverage instrumentation,
# -sanitize=fuzzer,address, so `make fuzz` links the very same library and the package is
# compiled once for both), copied to build/asan/lib (build/tsan/lib), and each
# Tests/C/test_*.c is compiled with clang -fsanitize=... against it and run from that
# directory. clang links the sanitizer runtime into the executable; the library only
# references it, so no LD_PRELOAD is needed.
# The allocation-counting tests (those including Tests/C/malloc_counter.h:
# test_steady_state_alloc, test_kan_pool_alloc) are skipped: they replace malloc to count
# calls, which is exactly what the sanitizers' allocators do (they run in `make test-c`).
#
# Swift side: `swift test --sanitize=...` (debug build in the same build directory).
# Both builds are checked to have compiled in the current kernel headers
# (Tests/Scripts/check_fresh_build.py) before anything runs.
# SWIFT_FILTER narrows the suite (the TSan default is the concurrent tests; see below).
#
# Suppressions: Tests/Sanitizers/tsan.supp (each entry says why). ASan needs none.
set -uo pipefail

mode="${1:-}"
what="${2:-all}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift_libdir="$(cd "$(dirname "$(command -v swift)")/../lib/swift/linux" && pwd)"
case "$mode" in
  address) tag=asan; flags="-fsanitize=address -fno-omit-frame-pointer"
           swift_sanitize="-sanitize=fuzzer,address"; static_stdlib="-Xswiftc -static-stdlib"
           extra_libs=() ;;
  # The toolchain's TSan runtime carries libdispatch interceptors, so a TSan executable links
  # libdispatch and the blocks runtime. The library then must use that same shared
  # libdispatch (no -static-stdlib): with a private static copy, its concurrentPerform
  # would bypass the interceptors and TSan would not see the happens-before edges.
  thread)  tag=tsan; flags="-fsanitize=thread"
           swift_sanitize="-sanitize=thread"; static_stdlib=""
           extra_libs=(-L"$swift_libdir" -ldispatch -lBlocksRuntime -Wl,-rpath,"$swift_libdir") ;;
  *) echo "usage: $0 address|thread [c|swift|all]" >&2; exit 2 ;;
esac
build_path=".build-$tag"
out="$root/build/$tag"
toolchain_bin="$(dirname "$(command -v swift)")"
CLANG="${CLANG:-$toolchain_bin/clang}"
[ -x "$CLANG" ] || CLANG="$(command -v clang)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/Tests/Sanitizers/tsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/Tests/Sanitizers/lsan.supp:print_suppressions=0}"
# OpenBLAS's own worker threads are not instrumented; one thread keeps reports about Lamina.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

status=0

build_lib() {
  local bin
  # SwiftPM does not notice changed link flags; removing the product forces a relink.
  rm -f "$(swift build -c release --build-path "$build_path" --show-bin-path)/liblamina.so"
  swift build -c release $static_stdlib -Xswiftc "$swift_sanitize" \
    -Xlinker --version-script="$root/scripts/lamina.map" -Xlinker -soname=liblamina.so.0 \
    --build-path "$build_path" --product lamina || exit 1
  bin="$(swift build -c release --build-path "$build_path" --show-bin-path)"
  python3 Tests/Scripts/check_fresh_build.py "$bin" || exit 1
  mkdir -p "$out/lib"
  cp -f "$bin/liblamina.so" "$out/lib/liblamina.so.0"
  ln -sf liblamina.so.0 "$out/lib/liblamina.so"
}

run_c() {
  build_lib
  mkdir -p "$out/tests"
  for src in Tests/C/test_*.c; do
    name="$(basename "$src" .c)"
    if grep -q '#include "malloc_counter.h"' "$src"; then
      echo "== $name: skipped (replaces malloc)"
      continue
    fi
    "$CLANG" $flags -g -O1 -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude "$src" \
      -o "$out/tests/$name" -L"$out/lib" -llamina -Wl,-rpath,"$out/lib" "${extra_libs[@]}" -lm -pthread || { status=1; continue; }
    echo "== $name ($tag)"
    (cd "$out" && "./tests/$name") || { echo "FAILED: $name under $mode sanitizer"; status=1; }
  done
}

run_swift() {
  local filter=()
  local f="${SWIFT_FILTER:-}"
  # TSan: the whole suite takes too long under TSan on 2 cores; the default filter is the
  # tests that use threads (concurrent predict/gradient/save, parallel kernels, BVH builds).
  if [ "$mode" = thread ] && [ -z "$f" ]; then f="$TSAN_DEFAULT_FILTER"; fi
  [ -n "$f" ] && filter=(--filter "$f")
  echo "== swift test --sanitize=$mode ${filter[*]:-}"
  # Leak checking is off for the Swift suite: XCTest on Linux never frees its test cases,
  # runs and names (hundreds of reports at exit), and their stacks are cut short in the
  # uninstrumented Swift runtime, so no suppression could be scoped to XCTest without also
  # hiding a leak of ours. Leaks are checked where a host would see them: the C programs
  # above and the fuzz targets run with LeakSanitizer on.
  swift build --build-tests --sanitize="$mode" --build-path "$build_path" || { status=1; return; }
  python3 Tests/Scripts/check_fresh_build.py \
    "$(swift build --sanitize="$mode" --build-path "$build_path" --show-bin-path)" || { status=1; return; }
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
    swift test --skip-build --sanitize="$mode" --build-path "$build_path" "${filter[@]}" || status=1
}
TSAN_DEFAULT_FILTER="${TSAN_DEFAULT_FILTER:-ThreadSafe|Concurrent|Parallel|ThreadCountTests|MarchingCubesTests|MeshDistanceTests|UseGuardTests|BLASTests|TriplaneTrainingTests}"

case "$what" in
  c) run_c ;;
  swift) run_swift ;;
  all) run_c; run_swift ;;
  *) echo "usage: $0 address|thread [c|swift|all]" >&2; exit 2 ;;
esac
[ $status -eq 0 ] && echo "sanitize.sh: $mode: all clean" || echo "sanitize.sh: $mode: FAILURES"
exit $status
