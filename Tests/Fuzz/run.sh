#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Tests/Fuzz (`make fuzz`, `make fuzz-smoke`).
#   usage: Tests/Fuzz/run.sh build
#          Tests/Fuzz/run.sh run SECONDS [target...]     (targets: model_spec trainer_config
#                                                         safetensors model_buffer mesh shape
#                                                         abi_sequence)
#          Tests/Fuzz/run.sh replay [target...]          (regression inputs only)
#          Tests/Fuzz/run.sh python SECONDS [target...]  (atheris over the Python binding:
#                                                         spec config safetensors mesh shape)
#
# liblamina is built with -sanitize=fuzzer,address into .build-asan (the same library
# `make test-asan` uses, so the package is compiled once for both); each harness
# fuzz_<target>.c is compiled with clang -fsanitize=fuzzer,address against it into
# build/fuzz. A run first replays Tests/Fuzz/regressions/<target>/* (every crash found so
# far, kept as a regression), then fuzzes for SECONDS starting from the seeds make_seeds
# writes (real specs, configs, shapes, saved models and meshes) plus the corpus that earlier
# runs grew in build/fuzz/corpus/<target>. A crash leaves its input in build/fuzz/crashes and
# fails the run. The table of executions per second goes to build/fuzz/report.txt.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="$root/build/fuzz"
toolchain_bin="$(dirname "$(command -v swift)")"
CLANG="${CLANG:-$toolchain_bin/clang}"
[ -x "$CLANG" ] || CLANG="$(command -v clang)"
ALL_TARGETS="model_spec trainer_config safetensors model_buffer mesh shape abi_sequence"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/Tests/Sanitizers/lsan.supp:print_suppressions=0}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# The loader targets write their input to a scratch file and save models and meshes back;
# the library's saves fsync, which on a disk costs milliseconds. tmpfs keeps runs fast.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

build() {
  # SwiftPM does not notice changed link flags; removing the product forces a relink.
  rm -f "$(swift build -c release --build-path .build-asan --show-bin-path)/liblamina.so"
  swift build -c release -Xswiftc -static-stdlib -Xswiftc -sanitize=fuzzer,address \
    -Xlinker --version-script="$root/scripts/lamina.map" -Xlinker -soname=liblamina.so.0 \
    --build-path .build-asan --product lamina || exit 1
  local bin
  bin="$(swift build -c release --build-path .build-asan --show-bin-path)"
  python3 Tests/Scripts/check_fresh_build.py "$bin" || exit 1
  mkdir -p "$out/lib"
  cp -f "$bin/liblamina.so" "$out/lib/liblamina.so.0"
  ln -sf liblamina.so.0 "$out/lib/liblamina.so"
  local link=(-L"$out/lib" -llamina -Wl,-rpath,"$out/lib" -lm -pthread)
  for t in $ALL_TARGETS; do
    "$CLANG" -g -O1 -fsanitize=fuzzer,address -Iinclude -Wall -Wextra -Werror -Wno-string-concatenation \
      "Tests/Fuzz/fuzz_$t.c" -o "$out/fuzz_$t" "${link[@]}" || exit 1
  done
  "$CLANG" -g -O1 -fsanitize=address -Iinclude -Wall -Wextra -Werror -Wno-string-concatenation Tests/Fuzz/make_seeds.c \
    -o "$out/make_seeds" "${link[@]}" || exit 1
}

dict_for() {
  case "$1" in
    model_spec|trainer_config|shape) echo "-dict=$root/Tests/Fuzz/json.dict" ;;
    *) echo "" ;;
  esac
}

replay() {
  local t="$1" dir="$root/Tests/Fuzz/regressions/$1"
  [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ] || return 0
  echo "== replay $t: $(ls "$dir" | wc -l) regression inputs"
  (cd "$out" && "./fuzz_$t" -runs=0 "$dir"/* >"$out/replay-$t.log" 2>&1) \
    || { echo "FAILED: regression input of $t crashes (see $out/replay-$t.log)"; return 1; }
}

status=0
cmd="${1:-}"
shift || true
case "$cmd" in
  build) build ;;
  replay)
    build
    for t in ${*:-$ALL_TARGETS}; do replay "$t" || status=1; done ;;
  run)
    seconds="${1:?usage: run.sh run SECONDS [target...]}"
    shift
    build
    rm -rf "$out/seeds"
    "$out/make_seeds" "$out/seeds" || exit 1
    mkdir -p "$out/crashes"
    printf '%-16s %8s %10s %8s %7s %s\n' target seconds runs exec/s cov result > "$out/report.txt"
    for t in ${*:-$ALL_TARGETS}; do
      replay "$t" || status=1
      mkdir -p "$out/corpus/$t"
      log="$out/fuzz-$t.log"
      echo "== fuzz $t for ${seconds}s"
      start=$(date +%s)
      (cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
        $(dict_for "$t") "$out/corpus/$t" "$out/seeds/$t" >"$log" 2>&1)
      rc=$?
      elapsed=$(( $(date +%s) - start ))
      runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
      cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
      runs=${runs:-0}
      result=ok
      [ $rc -eq 0 ] || { result="CRASH (rc $rc; see $log)"; status=1; }
      printf '%-16s %8s %10s %8s %7s %s\n' "$t" "$elapsed" "$runs" \
        "$(( runs / (elapsed > 0 ? elapsed : 1) ))" "${cov:-?}" "$result" >> "$out/report.txt"
      [ $rc -eq 0 ] || tail -40 "$log"
    done
    cat "$out/report.txt" ;;
  python)
    # Atheris (in its own venv under build/) drives the Python binding loaded with the ASan
    # library; the ASan runtime is preloaded into the uninstrumented Python interpreter,
    # and leak checking is off (CPython keeps its objects until exit).
    seconds="${1:?usage: run.sh python SECONDS [target...]}"
    shift
    build
    venv="$out/venv-python"
    [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q atheris numpy; } || exit 1
    [ -d "$out/seeds" ] || "$out/make_seeds" "$out/seeds" || exit 1
    asan_rt="$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)"
    printf '%-12s %10s %8s %s\n' target runs exec/s result > "$out/report-python.txt"
    for t in ${*:-spec config safetensors mesh shape}; do
      case "$t" in spec) seeds=model_spec ;; config) seeds=trainer_config ;; *) seeds="$t" ;; esac
      mkdir -p "$out/corpus-python/$t"
      log="$out/fuzz-python-$t.log"
      echo "== atheris $t for ${seconds}s"
      LD_PRELOAD="$asan_rt" ASAN_OPTIONS=detect_leaks=0 LAMINA_LIBRARY="$out/lib/liblamina.so.0" \
        "$venv/bin/python" Tests/Fuzz/fuzz_python.py --target "$t" -max_total_time="$seconds" \
        -print_final_stats=1 -artifact_prefix="$out/crashes/python-$t-" \
        "$out/corpus-python/$t" "$out/seeds/$seeds" >"$log" 2>&1
      rc=$?
      runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
      eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
      result=ok
      [ $rc -eq 0 ] || { result="FINDING (rc $rc; see $log)"; status=1; }
      printf '%-12s %10s %8s %s\n' "$t" "${runs:-0}" "${eps:-0}" "$result" >> "$out/report-python.txt"
    done
    cat "$out/report-python.txt" ;;
  *) echo "usage: $0 build | run SECONDS [target...] | replay [target...]" >&2; exit 2 ;;
esac
exit $status
