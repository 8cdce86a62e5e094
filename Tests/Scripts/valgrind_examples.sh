#!/usr/bin/env bash
# Runs each example binary under valgrind's memcheck from build/ (as the Makefile runs them)
# and fails on any memory error, any definite, indirect or possible leak (valgrind's default
# leak kinds, definite and possible, plus indirect), or a non-zero exit.
#   usage: Tests/Scripts/valgrind_examples.sh build/examples/quickstart build/examples/demo ...
# LAMINA_EXAMPLE_QUICK=1 makes the demo train for a few epochs only (valgrind is ~50x slower).
# The suppressions are the file users get (bindings/c/lamina.supp, installed by make install
# as share/lamina/lamina.supp): it covers the few blocks that live as long as the process by
# design, each entry saying why; LAMINA_VALGRIND_SUPP=path tests another copy (check_install.sh
# passes the installed one).
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
supp="${LAMINA_VALGRIND_SUPP:-$root/bindings/c/lamina.supp}"
[ -f "$supp" ] || { echo "valgrind_examples: $supp is missing" >&2; exit 1; }
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
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
      --show-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=40 \
      --suppressions="$supp" --log-file="$log" "$bin" >"$log.out" 2>&1
  rc=$?
  summary="$(grep -E 'ERROR SUMMARY|definitely lost:|indirectly lost:|possibly lost:' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')"
  if [ $rc -eq 0 ]; then
    echo "   ok: $summary"
  else
    fail=1
    if [ $rc -eq 99 ]; then
      echo "valgrind_examples: FAIL: $name: memory errors or leaks ($summary); full log $log" >&2
      grep -vE '^==[0-9]+== *$' "$log" | sed -n '/Invalid\|uninitialised\|definitely lost in\|indirectly lost in\|possibly lost in\|Mismatched\|invalid/,+25p' | head -120 >&2
    else
      echo "valgrind_examples: FAIL: $name exited with status $rc; its output:" >&2
      tail -20 "$log.out" >&2
    fi
  fi
done
[ $fail -eq 0 ] && echo "valgrind_examples: all examples clean"
exit $fail
