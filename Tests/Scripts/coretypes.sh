#!/usr/bin/env bash
# Runs the C test programs under every OpenBLAS kernel set this machine can run.
#
# Debian's OpenBLAS is built for many x86-64 CPUs at once and picks its kernels at load time
# from the CPU it finds (OPENBLAS_CORETYPE forces a choice). Some of those kernels behave
# differently from others (the SkylakeX and Cooperlake small-matrix kernels allocate on
# every call), so what Lamina promises must hold under each of them, not only under the one
# this CPU selects. For every core type below that this OpenBLAS ships (asked of OpenBLAS
# itself) and this CPU can execute (its instruction-set flags in /proc/cpuinfo), this runs
# every given test program from build/ with OPENBLAS_CORETYPE set, and prints one line per
# core type. The core type the CPU selects on its own is skipped: `make test-c` runs the
# programs under it.
#   usage: Tests/Scripts/coretypes.sh build/tests/test_abi_model build/tests/test_steady_state_alloc ...
# Exits non-zero if any program fails under any core type. Logs: build/coretypes/<core>.log.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -gt 0 ] || { echo "usage: $0 <test binaries...>" >&2; exit 2; }
bins=()
for b in "$@"; do
  [ -x "$b" ] || { echo "coretypes: $b is not an executable" >&2; exit 1; }
  bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
done

if [ "$(uname -m)" != "x86_64" ]; then
  echo "coretypes: not an x86-64 machine; OpenBLAS's x86-64 core types do not apply"
  exit 0
fi
mkdir -p "$root/build/coretypes"
probe="$root/build/coretypes/openblas_corename"
# shellcheck disable=SC2046
cc -std=c99 -O1 "$root/Tests/Scripts/openblas_corename.c" -o "$probe" \
  $(pkg-config --cflags --libs openblas) || { echo "coretypes: cannot build $probe" >&2; exit 1; }

# Core type, then the /proc/cpuinfo flags its kernels need (the ISA each kernel set is
# written for: SSE3 for the oldest, FMA4 and XOP for AMD's Bulldozer family, AVX-512 for
# SkylakeX and, with BF16, Cooperlake). 3dnowprefetch stands for PREFETCHW, which the AMD
# kernels issue, and 3dnow for the 3DNow! instructions (femms) of the Opteron kernels.
table="
Prescott pni
Core2 ssse3
Atom ssse3
Penryn sse4_1
Dunnington sse4_1
Nehalem sse4_2 popcnt
Opteron pni 3dnow
Barcelona pni 3dnowprefetch
Bobcat ssse3 3dnowprefetch
Sandybridge avx
Bulldozer avx fma4 xop
Piledriver avx fma fma4 xop
Steamroller avx fma fma4 xop
Excavator avx2 fma fma4 xop
Haswell avx2 fma
Zen avx2 fma
SkylakeX avx512f avx512cd avx512bw avx512dq avx512vl
Cooperlake avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16
"
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
own="$("$probe")"
echo "coretypes: this CPU selects $own (run by make test-c); forcing the others it can run"

fail=0
ran=()
while read -r core needs; do
  [ -n "$core" ] || continue
  missing=""
  for f in $needs; do
    case "$cpu_flags" in *" $f "*) ;; *) missing="$missing $f" ;; esac
  done
  if [ -n "$missing" ]; then
    printf '   %-12s skipped: the CPU lacks%s\n' "$core" "$missing"
    continue
  fi
  got="$(OPENBLAS_CORETYPE=$core "$probe")"
  if [ "${got,,}" != "${core,,}" ]; then
    printf '   %-12s skipped: this OpenBLAS does not ship it (gives %s)\n' "$core" "$got"
    continue
  fi
  if [ "${core,,}" = "${own,,}" ]; then
    printf '   %-12s the CPU'"'"'s own: see make test-c\n' "$core"
    continue
  fi
  log="$root/build/coretypes/$core.log"
  : >"$log"
  start=$SECONDS
  failed=()
  for bin in "${bins[@]}"; do
    echo "== $bin" >>"$log"
    (cd "$root/build" && OPENBLAS_CORETYPE=$core "$bin") >>"$log" 2>&1 || failed+=("$(basename "$bin")")
  done
  if [ ${#failed[@]} -eq 0 ]; then
    printf '   %-12s ok: %d programs, %d s\n' "$core" "${#bins[@]}" $((SECONDS - start))
  else
    fail=1
    printf '   %-12s FAIL: %s (%d s); log %s\n' "$core" "${failed[*]}" $((SECONDS - start)) "$log"
    grep -E 'FAIL|Assertion|failed' "$log" | head -20 | sed 's/^/      /'
  fi
  ran+=("$core")
done <<<"$table"
echo "coretypes: ran under ${#ran[@]} core types: ${ran[*]}"
exit $fail
