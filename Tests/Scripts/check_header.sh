#!/usr/bin/env bash
# The header-versus-exports check (SPEC: "The header and the exports cannot drift").
#
#  (a) the functions declared in include/lamina.h are exactly the exported lamina_* symbols of
#      build/lib/liblamina.so (nm -D --defined-only);
#  (b) nothing else is exported except what the linker itself adds (the version node);
#  (c) the library is self-contained: ldd lists no libswift*, and it needs only libc, libm,
#      libstdc++/libgcc and OpenBLAS; its soname is liblamina.so.0; it is marked NODELETE;
#  (d) the header compiles as C99 and C++17 with -Wall -Wextra -Werror -pedantic (gcc and, when
#      present, clang), and a C++ program links and calls it;
#  (e) the same set, with the same arity and ABI types, is what swiftc generates for the
#      @_cdecl functions in Sources/LaminaC (-emit-clang-header-path);
#  (f) no tracked file outside Markdown holds merge conflict markers;
#  (g) the FUNCTION INDEX at the top of the header lists every declared function once, under
#      the section that declares it, and nothing else.
#
# Prints what differs and exits non-zero on any failure. Does not build the library.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
lib="build/lib/liblamina.so"
hdr="include/lamina.h"
work="$(mktemp -d "${TMPDIR:-/tmp}/lamina-header.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail=0
bad() { printf 'check_header: FAIL: %s\n' "$*" >&2; fail=1; }
ok() { printf '   ok: %s\n' "$*"; }

[ -e "$lib" ] || { echo "check_header: $lib is missing; run 'make lib' first" >&2; exit 1; }
real="$(readlink -f "$lib")"

# ---- (a) header functions vs exported lamina_* symbols ---------------------------------
echo "== (a) header declarations vs exports"
gcc -E -P -std=c99 "$hdr" >"$work/header.i" || bad "cannot preprocess $hdr"
tr '\n' ' ' <"$work/header.i" | grep -oE '\blamina_[A-Za-z0-9_]+[[:space:]]*\(' |
  sed 's/[[:space:](]//g' | sort -u >"$work/header.txt"
# Exported = defined in .dynsym with GLOBAL, WEAK or UNIQUE binding (what `nm -D --defined-only`
# prints in upper case). LOCAL entries can remain in .dynsym after a version script's
# "local: *" (they carry relocations) but are invisible to other objects.
readelf -W --dyn-syms "$real" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "UNIQUE") {print $4, $8}' |
  sed 's/@.*//' | sort -u -k2 >"$work/dynsyms.txt"
[ -s "$work/dynsyms.txt" ] || bad "no exported symbols found in $real"
awk '{print $2}' "$work/dynsyms.txt" | sort -u >"$work/all_exports.txt"
grep -E '^lamina_' "$work/all_exports.txt" >"$work/exports.txt" || true
awk '$2 ~ /^lamina_/ && $1 != "FUNC" {print "   " $1 " " $2}' "$work/dynsyms.txt" >"$work/nonfunc.txt"
if [ -s "$work/nonfunc.txt" ]; then bad "lamina_* exports that are not functions:"; cat "$work/nonfunc.txt" >&2; fi
if diff -u "$work/header.txt" "$work/exports.txt" >"$work/a.diff"; then
  ok "$(wc -l <"$work/header.txt") functions declared = exported"
else
  bad "declared (-) vs exported (+) lamina_* functions differ:"
  grep -E '^[-+][^-+]' "$work/a.diff" >&2
fi

# ---- (b) nothing else exported --------------------------------------------------------
echo "== (b) no other exports"
# The version script's node (LAMINA_0, an absolute symbol) is added by the linker.
version_nodes="$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*{.*/\1/p' scripts/lamina.map 2>/dev/null)"
grep -vE '^lamina_' "$work/all_exports.txt" | while read -r sym; do
  skip=0
  for v in $version_nodes; do [ "$sym" = "$v" ] && skip=1; done
  [ $skip -eq 1 ] || echo "$sym"
done >"$work/others.txt"
if [ -s "$work/others.txt" ]; then
  bad "$(wc -l <"$work/others.txt") exported symbols that are not lamina_* (first 20):"
  head -20 "$work/others.txt" | sed 's/^/   /' >&2
else
  ok "only lamina_* (and the version node${version_nodes:+ $version_nodes})"
fi

# ---- (c) self-contained, soname -------------------------------------------------------
echo "== (c) dependencies and soname"
soname="$(readelf -d "$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
if [ "$soname" = "liblamina.so.0" ]; then ok "soname $soname"; else bad "soname is '$soname', want liblamina.so.0"; fi
# Worker threads outlive any dlclose(), so the library must never be unmapped.
if grep -q 'NODELETE' <<<"$(readelf -d "$real")"; then ok "marked NODELETE (dlclose keeps it mapped)"; else bad "not linked with -z nodelete"; fi
if [ "$(readlink "$lib")" = "liblamina.so.0" ] || [ "$(basename "$real")" = "liblamina.so.0" ]; then
  ok "$lib -> $(basename "$real")"
else
  bad "$lib does not point to liblamina.so.0"
fi
if ldd "$real" | grep -i 'libswift'; then
  bad "ldd lists Swift runtime libraries (build with -static-stdlib)"
else
  ok "ldd lists no libswift*"
fi
# Captured first: `ldd | grep -q` under pipefail fails when grep exits early (SIGPIPE).
if grep -q 'not found' <<<"$(ldd "$real")"; then bad "unresolved dependencies:"; ldd "$real" | grep 'not found' >&2; fi
readelf -d "$real" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' >"$work/needed.txt"
while read -r need; do
  case "$need" in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libutil.so.*|ld-linux*.so.*) ;; # glibc
    libstdc++.so.*|libgcc_s.so.*) ;;
    libopenblas*.so*|libblas.so.*|liblapack.so.*|libgfortran.so.*) ;;
    *) bad "unexpected dependency $need (SPEC: only libc, libm, libstdc++/libgcc and OpenBLAS)" ;;
  esac
done <"$work/needed.txt"
ok "NEEDED: $(tr '\n' ' ' <"$work/needed.txt")"

# ---- (d) the header compiles as C99 and C++17, and links from C++ ------------------------
echo "== (d) header compiles"
cat >"$work/h.c" <<'EOF'
#include "lamina.h"
#include "lamina.h" /* include guard */
int main(void) { return lamina_version()[0] == '\0'; }
EOF
cp "$work/h.c" "$work/h.cpp"
compilers=("gcc -std=c99" "g++ -std=c++17")
for clang in clang /opt/swift/usr/bin/clang; do
  if command -v "$clang" >/dev/null 2>&1; then
    compilers+=("$clang -std=c99" "${clang}++ -std=c++17")
    break
  fi
done
for c in "${compilers[@]}"; do
  src="$work/h.c"
  case "$c" in *++*) src="$work/h.cpp" ;; esac
  # shellcheck disable=SC2086
  if $c -Wall -Wextra -Werror -pedantic -Iinclude -c "$src" -o "$work/h.o" 2>"$work/cc.log"; then
    ok "$c -Wall -Wextra -Werror -pedantic"
  else
    bad "$c rejects the header:"; cat "$work/cc.log" >&2
  fi
done
if g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude "$work/h.cpp" -o "$work/hpp" \
     -L"$(dirname "$real")" -llamina -Wl,-rpath,"$(dirname "$real")" 2>"$work/cc.log" && "$work/hpp"; then
  ok "a C++17 program links against liblamina and calls it (extern \"C\")"
else
  bad "C++ program does not link or run:"; cat "$work/cc.log" >&2
fi

# ---- (e) the compiler-generated header of the @_cdecl functions --------------------------
echo "== (e) swiftc -emit-clang-header-path"
modules=".build/release/Modules"
gen="build/LaminaC-Swift.h"
if [ ! -d "$modules" ]; then
  bad "$modules is missing (the release build's Swift modules); run 'make lib' first"
elif ! command -v swiftc >/dev/null 2>&1; then
  bad "swiftc not found"
else
  # Every C module of the package (CLaminaABI, CBLAS, CLaminaKernels, ...), since the
  # Lamina module's interface names the ones it imports.
  maps=()
  for m in Sources/C*/module.modulemap; do maps+=(-Xcc "-fmodule-map-file=$m"); done
  # shellcheck disable=SC2046
  if swiftc -typecheck -module-name LaminaC Sources/LaminaC/*.swift -I "$modules" "${maps[@]}" \
       $(pkg-config --cflags openblas | sed 's/-I/-Xcc -I/g') \
       -emit-clang-header-path "$gen" >"$work/swiftc.log" 2>&1; then
    python3 - "$work/header.i" "$gen" "$work/exports.txt" <<'PY' || fail=1
import re, sys

header_i, generated, exports = sys.argv[1], sys.argv[2], sys.argv[3]

def canon(t):
    """ABI shape of a C type: base type and pointer depth. Handles and void are 'void';
    size_t and Swift's Int/UInt are 'size'; const and nullability do not change the ABI."""
    toks = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\*", t)
    toks = [x for x in toks if x not in ("const", "_Nullable", "_Nonnull", "_Null_unspecified",
                                         "struct", "enum", "SWIFT_NOESCAPE")]
    base = [x for x in toks if x != "*"]
    stars = toks.count("*")
    name = " ".join(base)
    if name.startswith("lamina_") and name not in ("lamina_status", "lamina_progress",
                                                   "lamina_progress_fn"):
        name = "void"  # every other lamina_ type is an opaque handle
    name = {"size_t": "size",
            "NSInteger": "size", "NSUInteger": "size", "ptrdiff_t": "size"}.get(name, name)
    return name + "*" * stars

def params(p):
    p = p.strip()
    if p in ("", "void"):
        return []
    out = []
    for a in p.split(","):
        toks = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\*", a)
        toks = [x for x in toks if x not in ("_Nullable", "_Nonnull", "_Null_unspecified")]
        if len(toks) >= 2 and toks[-1] != "*":
            toks = toks[:-1]  # parameter name
        out.append(canon(" ".join(toks)))
    return out

text = re.sub(r"\s+", " ", open(header_i).read())
decl = {}
for m in re.finditer(r"(?:(?<=[;}{])|^)\s*([A-Za-z_][A-Za-z0-9_ \*]*?)\s*\b(lamina_[A-Za-z0-9_]+)\s*\(([^()]*)\)\s*;", text):
    ret, name, ps = m.group(1), m.group(2), m.group(3)
    if ret.strip().startswith("typedef"):
        continue
    decl[name] = (canon(ret), params(ps))

gen = {}
for line in open(generated):
    m = re.match(r"\s*SWIFT_EXTERN\s+(.*?)\b(lamina_[A-Za-z0-9_]+)\((.*?)\)\s*SWIFT_", line)
    if m:
        gen[m.group(2)] = (canon(m.group(1)), params(m.group(3)))

exported = set(open(exports).read().split())
bad = False
def report(title, names):
    global bad
    if names:
        bad = True
        print("check_header: FAIL: " + title + ": " + ", ".join(sorted(names)), file=sys.stderr)

report("declared in lamina.h but not generated from a public @_cdecl", set(decl) - set(gen))
report("generated from @_cdecl but not declared in lamina.h", set(gen) - set(decl))
report("generated from @_cdecl but not exported", set(gen) - exported)
for name in sorted(set(decl) & set(gen)):
    if decl[name] != gen[name]:
        bad = True
        print("check_header: FAIL: %s: header %s(%s) vs Swift %s(%s)" % (
            name, decl[name][0], ", ".join(decl[name][1]), gen[name][0], ", ".join(gen[name][1])),
            file=sys.stderr)
if not bad:
    print("   ok: %d @_cdecl functions = declared = exported, same arity and ABI types" % len(gen))
sys.exit(1 if bad else 0)
PY
  else
    bad "swiftc could not generate the header:"; tail -30 "$work/swiftc.log" >&2
  fi
fi

# ---- (g) the function index ---------------------------------------------------------------
echo "== (g) the header's function index"
python3 - "$hdr" "$work/header.txt" <<'PY' || fail=1
import re, sys

header, declared_file = sys.argv[1], sys.argv[2]
lines = open(header).read().split("\n")
declared_pp = set(open(declared_file).read().split())

# Where each function is declared: the section is the name under the last "/* ----" rule.
# Declarations are the lines outside comments that name a function before its "(".
section, in_comment, declared = None, False, {}
for i, line in enumerate(lines):
    if line.startswith("/* ----") and i + 1 < len(lines):
        section = lines[i + 1].lstrip("* ").strip()
    code = line
    if in_comment:
        if "*/" not in line:
            continue
        code, in_comment = line.split("*/", 1)[1], False
    if "/*" in code:
        before, after = code.split("/*", 1)
        in_comment = "*/" not in after
        code = before
    m = re.match(r"[A-Za-z_][A-Za-z0-9_ *]*?\b(lamina_[a-z0-9_]+)\s*\(", code)
    if m and not code.startswith("typedef"):
        declared[m.group(1)] = section

# The index: from "** FUNCTION INDEX" to the next heading in capitals; "**   Section" lines
# and "**     lamina_name   what it does" entries.
start = next((i for i, l in enumerate(lines) if l.strip() == "** FUNCTION INDEX"), None)
if start is None:
    print("check_header: FAIL: no \"** FUNCTION INDEX\" in the header", file=sys.stderr)
    sys.exit(1)
indexed, problems, current = {}, [], None
for line in lines[start + 1:]:
    if re.match(r"\*\* [A-Z][A-Z ]+$", line):
        break
    m = re.match(r"\*\*     (lamina_[a-z0-9_]+) +\S", line)
    if m:
        name = m.group(1)
        if name in indexed:
            problems.append("%s is listed twice" % name)
        indexed[name] = current
    elif re.match(r"\*\*     lamina_", line):
        problems.append("index entry without a description: %r" % line)
    elif re.match(r"\*\*   \S", line):
        current = line[5:].strip()

if set(declared) != declared_pp:
    problems.append("the index check found other declarations than the preprocessor: %s" %
                    ", ".join(sorted(set(declared) ^ declared_pp)))
for name in sorted(set(declared) - set(indexed)):
    problems.append("%s (section %s) is declared but not in the index" % (name, declared[name]))
for name in sorted(set(indexed) - set(declared)):
    problems.append("%s is in the index but not declared" % name)
for name in sorted(set(indexed) & set(declared)):
    if indexed[name] != declared[name]:
        problems.append("%s is indexed under \"%s\" but declared in section \"%s\"" %
                        (name, indexed[name], declared[name]))
for p in problems:
    print("check_header: FAIL: function index: " + p, file=sys.stderr)
if not problems:
    print("   ok: %d functions in the index, each under the section that declares it" % len(indexed))
sys.exit(1 if problems else 0)
PY

# A merge that left conflict markers behind (one once sat unnoticed in a header comment).
if git -C "$(dirname "$0")/../.." grep -nE '^(<<<<<<<|>>>>>>>) ' -- ':!*.md' >&2 2>/dev/null; then
  echo "check_header: merge conflict markers in tracked files" >&2
  fail=1
fi
if [ "$fail" -ne 0 ]; then
  echo "check_header: FAILED" >&2
  exit 1
fi
echo "check_header: header, exports and @_cdecl functions agree"
