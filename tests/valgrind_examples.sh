#!/usr/bin/env bash
# Runs each example binary under valgrind's memcheck from build/ (as the Makefile runs them)
# and fails on any memory error, any definite or indirect leak, or a non-zero exit.
#   usage: tests/valgrind_examples.sh build/examples/quickstart build/examples/demo ...
# LAMINA_EXAMPLE_QUICK=1 makes the demo train for a few epochs only (valgrind is ~50x slower).
# tests/valgrind.supp holds the few reports from outside Lamina's code that cannot be fixed
# here; each entry says why it is there.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
supp="$root/tests/valgrind.supp"
[ $# -gt 0 ] || { echo "usage: $0 <example binaries...>" >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "valgrind_examples: valgrind is not installed" >&2; exit 1; }

bins=()
for b in "$@"; do
  [ -x "$b" ] || { echo "valgrind_examples: $b is not an executable" >&2; exit 1; }
  bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
done

mkdir -p "$root/build"
cd "$root/build"
fail=0
for bin in "${bins[@]}"; do
  name="$(basename "$bin")"
  log="$root/build/valgrind-$name.log"
  echo "== valgrind $name"
  LAMINA_EXAMPLE_QUICK=1 OPENBLAS_NUM_THREADS=1 \
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=40 \
      --suppressions="$supp" --log-file="$log" "$bin" >"$log.out" 2>&1
  rc=$?
  summary="$(grep -E 'ERROR SUMMARY|definitely lost:|indirectly lost:' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
  if [ $rc -eq 0 ]; then
    echo "   ok: $summary"
  else
    fail=1
    if [ $rc -eq 99 ]; then
      echo "valgrind_examples: FAIL: $name: memory errors or leaks ($summary); full log $log" >&2
      grep -vE '^==[0-9]+== *$' "$log" | sed -n '/Invalid\|uninitialised\|definitely lost in\|indirectly lost in\|Mismatched\|invalid/,+25p' | head -120 >&2
    else
      echo "valgrind_examples: FAIL: $name exited with status $rc; its output:" >&2
      tail -20 "$log.out" >&2
    fi
  fi
done
[ $fail -eq 0 ] && echo "valgrind_examples: all examples clean"
exit $fail
