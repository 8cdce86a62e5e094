#!/usr/bin/env bash
# Installs Lamina into a temporary prefix and builds bindings/c/examples/quickstart.c against
# the installed copy only, twice: (a) with pkg-config, (b) with CMake's find_package(Lamina).
# Both binaries must run and succeed. The installed valgrind suppression file makes the
# header's valgrind command (default leak kinds) pass on the pkg-config build, and does not
# hide a leak of the program's own. Also checks that the CMake package still works after the prefix
# is moved, and that its version file refuses another major version.
# Does not rebuild the library: make is told build/lib/liblamina.so is up to date.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lamina-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cc="${CC:-cc}"
fail=0

step() { printf '== %s\n' "$*"; }
bad() { printf 'check_install: FAIL: %s\n' "$*" >&2; fail=1; }

lib="$root/build/lib/liblamina.so.0"
[ -f "$lib" ] || { echo "check_install: $lib is missing; run 'make lib' first" >&2; exit 1; }

step "make install PREFIX=$tmp/prefix"
make -s -C "$root" -o build/lib/liblamina.so -o build/lib/liblamina.so.0 -o build/.setup-stamp \
  install PREFIX="$tmp/prefix" >/dev/null
prefix="$tmp/prefix"
for f in lib/liblamina.so.0 lib/liblamina.so include/lamina.h lib/pkgconfig/lamina.pc \
         lib/cmake/Lamina/LaminaConfig.cmake lib/cmake/Lamina/LaminaConfigVersion.cmake \
         share/lamina/lamina.supp; do
  [ -e "$prefix/$f" ] || bad "install did not create $f"
done
if grep -q '@' "$prefix/lib/pkgconfig/lamina.pc" "$prefix/lib/cmake/Lamina/LaminaConfigVersion.cmake"; then
  bad "unsubstituted @...@ placeholder in the installed package files"
fi

# A copy of the example outside the source tree, so nothing can pick up include/ by accident.
mkdir -p "$tmp/src"
cp "$root/bindings/c/examples/quickstart.c" "$tmp/src/quickstart.c"

step "(a) pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
ver="$(pkg-config --modversion lamina)"
want="$(sed -n 's/^#define LAMINA_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/lamina.h")"
[ -n "$want" ] && [ "$ver" = "$want" ] || bad "pkg-config version $ver, header $want"
flags="$(pkg-config --cflags --libs lamina)"
echo "   pkg-config --cflags --libs lamina: $flags"
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic "$tmp/src/quickstart.c" $flags -lm \
  -Wl,-rpath,"$prefix/lib" -o "$tmp/quickstart-pkgconfig"
if ( cd "$tmp" && ./quickstart-pkgconfig ); then
  echo "   quickstart (pkg-config) ran"
else
  bad "quickstart built with pkg-config failed"
fi
# ldd's output is captured first: with pipefail, `ldd | grep -q` fails whenever grep exits on
# its first match before ldd has finished writing (SIGPIPE), which made this check flaky.
linked="$(ldd "$tmp/quickstart-pkgconfig")"
if grep -q "$prefix/lib/liblamina.so.0" <<<"$linked"; then :; else
  bad "pkg-config build does not load the installed library:"; ldd "$tmp/quickstart-pkgconfig" >&2
fi

# The command include/lamina.h gives, with valgrind's default leak kinds (definite and
# possible). A program that also keeps a block of its own only through a pointer into it
# must still fail: the suppressions cover Lamina's process-lifetime blocks, nothing else.
step "(a) under valgrind with the installed share/lamina/lamina.supp"
if command -v valgrind >/dev/null 2>&1; then
  vg() { LAMINA_EXAMPLE_QUICK=1 OPENBLAS_NUM_THREADS=1 valgrind --leak-check=full --error-exitcode=1 \
           --suppressions="$prefix/share/lamina/lamina.supp" --log-file="$tmp/valgrind-$1.log" "$2" >/dev/null 2>&1; }
  if ( cd "$tmp" && vg quickstart ./quickstart-pkgconfig ); then
    echo "   quickstart: $(grep -E 'ERROR SUMMARY' "$tmp/valgrind-quickstart.log" | sed 's/^==[0-9]*== *//')"
  else
    bad "quickstart under valgrind with the installed lamina.supp:"
    grep -A12 'lost in loss record\|Invalid' "$tmp/valgrind-quickstart.log" | head -60 >&2
  fi
  cat >"$tmp/src/possibly_lost.c" <<'EOF'
#include <lamina.h>
#include <stdlib.h>
static char *interior; /* the block is reachable only through a pointer into it */
int main(void) {
    lamina_model *m = NULL;
    if (lamina_model_create("{\"kind\": \"mlp\", \"input\": 2, \"output\": 1}", &m) != LAMINA_OK) return 2;
    lamina_model_free(m);
    interior = (char *)malloc(64) + 8;
    return interior == NULL;
}
EOF
  # shellcheck disable=SC2086
  "$cc" -std=c99 -Wall -Wextra -Werror -pedantic "$tmp/src/possibly_lost.c" $flags \
    -Wl,-rpath,"$prefix/lib" -o "$tmp/possibly_lost"
  if ( cd "$tmp" && vg possibly_lost ./possibly_lost ); then
    bad "a program's own possibly-lost block passed valgrind with lamina.supp (the file hides too much)"
  elif grep -q 'possibly lost: 64 bytes in 1 blocks' "$tmp/valgrind-possibly_lost.log"; then
    echo "   a program's own possibly-lost block is still reported"
  else
    bad "possibly_lost failed under valgrind for another reason:"; tail -20 "$tmp/valgrind-possibly_lost.log" >&2
  fi
else
  echo "   skipped: valgrind is not installed"
fi
unset PKG_CONFIG_PATH

# A tiny CMake consumer.
cmake_project() { # dir, version request
  mkdir -p "$1"
  cat >"$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(lamina_consumer C)
find_package(Lamina $2 REQUIRED)
add_executable(quickstart "$tmp/src/quickstart.c")
set_property(TARGET quickstart PROPERTY C_STANDARD 99)
target_compile_options(quickstart PRIVATE -Wall -Wextra -Werror -pedantic)
target_link_libraries(quickstart PRIVATE Lamina::lamina m)
EOF
}

step "(b) CMake find_package(Lamina 0.1 REQUIRED)"
cmake_project "$tmp/cmake" 0.1
if cmake -S "$tmp/cmake" -B "$tmp/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
     >"$tmp/cmake.log" 2>&1 && cmake --build "$tmp/cmake/build" >>"$tmp/cmake.log" 2>&1; then
  if ( cd "$tmp" && "$tmp/cmake/build/quickstart" ); then
    echo "   quickstart (CMake) ran"
  else
    bad "quickstart built with CMake failed"
  fi
else
  bad "CMake build failed:"; cat "$tmp/cmake.log" >&2
fi

step "CMake package after moving the prefix"
mv "$prefix" "$tmp/moved"
cmake_project "$tmp/cmake-moved" 0.1
if cmake -S "$tmp/cmake-moved" -B "$tmp/cmake-moved/build" -DCMAKE_PREFIX_PATH="$tmp/moved" \
     -DCMAKE_C_COMPILER="$cc" >"$tmp/cmake-moved.log" 2>&1 &&
   cmake --build "$tmp/cmake-moved/build" >>"$tmp/cmake-moved.log" 2>&1; then
  if ( cd "$tmp" && "$tmp/cmake-moved/build/quickstart" >/dev/null ); then
    echo "   relocated prefix works"
  else
    bad "quickstart against the relocated prefix failed"
  fi
else
  bad "CMake against the relocated prefix failed:"; cat "$tmp/cmake-moved.log" >&2
fi

step "CMake version checks (SameMajorVersion)"
for req in 0 0.1.0 0.2 0.3 1.0 "0.1...<1.0" "1.0...2.0"; do
  want=ok
  case "$req" in 0.3|1.0|1.0...2.0) want=refused ;; esac
  d="$tmp/cmake-ver-$(echo "$req" | tr -c 'a-zA-Z0-9\n' _)"
  cmake_project "$d" "$req"
  if cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$tmp/moved" >"$d.log" 2>&1; then got=ok; else got=refused; fi
  if [ "$got" = "$want" ]; then
    echo "   find_package(Lamina $req): $got"
  else
    bad "find_package(Lamina $req) $got, want $want"; cat "$d.log" >&2
  fi
done

if [ "$fail" -ne 0 ]; then
  echo "check_install: FAILED" >&2
  exit 1
fi
echo "check_install: pkg-config and CMake consumers build and run"
