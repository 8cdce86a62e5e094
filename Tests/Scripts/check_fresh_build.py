#!/usr/bin/env python3
"""Fails when a SwiftPM build did not compile in the current kernel headers.

    usage: python3 Tests/Scripts/check_fresh_build.py BIN_DIR [BIN_DIR ...]
           (BIN_DIR: `swift build [-c release] [--build-path P] --show-bin-path`)

The private kernels (Sources/CLaminaKernels) are C: their bodies live in the target's .c
files and their declarations in headers that the Swift code imports. SwiftPM reruns a
Swift module's compile only when one of its Swift sources or one of the object files of a
C target it depends on changed, and the Swift driver then recompiles the files whose
dependency files (.d) list a changed header. Two things keep that chain intact, and this
check tests both, after the fact, from the compilers' own dependency files:

1. Every object of a module that imports CLaminaKernels (found by grepping the sources),
   and every object of CLaminaKernels itself, is newer than every file of
   Sources/CLaminaKernels its .d lists. An older one was compiled from an older header or
   source, so the build it belongs to runs stale code.
2. The dependency files do list the headers: every kernel header appears in the .d of
   some object of each such module (a module map marked [system] hides its headers from
   the .d files, and then neither the driver nor this check could see them), and every
   header is included by some .c file of CLaminaKernels (otherwise changing it changes no
   C object, so SwiftPM would never rerun the Swift compile).

Modules of BIN_DIR that were not built (the tests in a release build) are skipped. Run by
`make lib`, `make test-swift`, Tests/Sanitizers/sanitize.sh and Tests/Fuzz/run.sh after they build,
and by `make check-fresh` for every build directory present.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "Sources" / "CLaminaKernels"
IMPORT = re.compile(r"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
                    r"import\s+CLaminaKernels\b", re.M)


def c99name(name: str) -> str:
    """SwiftPM's module name of a target (its build directory is NAME.build)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def importing_modules() -> list:
    """Targets under Sources/ and Tests/ with a Swift file that imports CLaminaKernels."""
    found = set()
    for top in ("Sources", "Tests"):
        for swift in (ROOT / top).glob("*/**/*.swift"):
            if IMPORT.search(swift.read_text(encoding="utf-8", errors="replace")):
                found.add(c99name(swift.relative_to(ROOT / top).parts[0]))
    return sorted(found)


def parse_depfile(path: Path) -> list:
    """(targets, dependencies) of each rule of a Makefile-style dependency file."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
    rules = []
    for line in text.splitlines():
        # Split on whitespace not escaped by a backslash, then unescape.
        words = [w.replace("\\ ", " ") for w in re.split(r"(?<!\\)\s+", line.strip()) if w]
        if not words:
            continue
        # "a.o b.o : x y" (Swift) or "dependencies: x y" (clang, -MT dependencies)
        if ":" in words:
            i = words.index(":")
            targets, deps = words[:i], words[i + 1:]
        elif words[0].endswith(":"):
            targets, deps = [words[0][:-1]], words[1:]
        else:
            continue
        rules.append((targets, deps))
    return rules


def objects_of(depfile: Path, targets: list) -> list:
    """The existing object files a rule describes."""
    out = []
    for t in targets:
        if t == "dependencies":  # clang's .d of SwiftPM C targets: X.c.d describes X.c.o
            t = str(depfile.with_suffix(".o"))
        p = Path(t)
        if p.suffix == ".o" and p.exists():
            out.append(p)
    return out


def check(bin_dir: Path, modules: list, headers: list, tracked: dict) -> tuple:
    """(problems, modules checked) of one build directory; no problems: it is fresh."""
    problems = []
    checked = []
    for module in modules + ["CLaminaKernels"]:
        mdir = bin_dir / f"{module}.build"
        depfiles = sorted(mdir.glob("*.d")) if mdir.is_dir() else []
        if not depfiles:
            continue
        checked.append(module)
        listed = set()
        objects = 0
        stale = {}
        for depfile in depfiles:
            for targets, deps in parse_depfile(depfile):
                objs = objects_of(depfile, targets)
                kernel_deps = [d for d in deps if d in tracked]
                listed.update(kernel_deps)
                for obj in objs:
                    objects += 1
                    t = obj.stat().st_mtime_ns
                    for d in kernel_deps:
                        if t < tracked[d]:
                            stale.setdefault(d, []).append(obj.name)
        if stale:
            objs = sorted({o for group in stale.values() for o in group})
            files = ", ".join(os.path.basename(d) for d in sorted(stale))
            problems.append(
                f"{mdir}: {len(objs)} object(s) older than kernel files they were compiled "
                f"from ({files}; e.g. {', '.join(objs[:3])}): the build did not recompile "
                "them after those files changed")
        if objects == 0:
            problems.append(f"{mdir}: no object files for its dependency files")
        missing = [h for h in headers if h not in listed]
        if missing:
            names = ", ".join(os.path.basename(h) for h in missing)
            if module == "CLaminaKernels":
                problems.append(
                    f"{mdir}: no .c file of CLaminaKernels includes {names}, so a change "
                    "to it changes no C object and SwiftPM would not recompile the Swift "
                    "code that imports it (include it from the .c file that defines its "
                    "functions)")
            else:
                problems.append(
                    f"{mdir}: no dependency file lists {names}: the compiler does not "
                    "track the kernel headers (is Sources/CLaminaKernels/module.modulemap "
                    "marked [system]?)")
    if not checked:
        problems.append(f"{bin_dir}: no build of {', '.join(modules)} or CLaminaKernels here")
    return problems, checked


def main(argv: list) -> int:
    if not argv:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    headers = sorted(str(p) for p in KERNELS.glob("*.h"))
    tracked = {str(p): p.stat().st_mtime_ns
               for p in KERNELS.iterdir() if p.suffix in (".h", ".c") or p.name == "module.modulemap"}
    modules = importing_modules()
    status = 0
    for arg in argv:
        bin_dir = Path(arg).resolve()
        if not bin_dir.is_dir():
            print(f"check_fresh_build: {arg}: no such build directory", file=sys.stderr)
            status = 1
            continue
        problems, checked = check(bin_dir, modules, headers, tracked)
        if problems:
            status = 1
            print(f"check_fresh_build: {arg}: STALE BUILD", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"check_fresh_build: {arg}: {', '.join(checked)} up to date with the "
                  f"{len(headers)} kernel headers")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
