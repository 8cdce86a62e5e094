#!/usr/bin/env python3
"""Mutation testing of the test suites (`make mutate`; not part of `make test`).

    usage: python3 Tests/Mutate/run.py [--mutations 2,4] [--suites c,python,swift]
                                       [--venv DIR] [--list]

Applies each mutation of Tests/Mutate/mutations.toml in turn to a scratch git worktree of
HEAD (build/mutate/tree; never to this checkout), rebuilds, runs each selected suite and
records whether it failed (caught the mutation) or passed (missed it), then restores the
file. The table, with timings, is printed and written to build/mutate/report.md; every
result is also appended to build/mutate/results.jsonl, and each build's and suite's output
kept in build/mutate/logs.

- Suites: c (`make test-c`) and python (`make test-python`, with this checkout's .venv)
  against the release library (`make lib`); swift (`make test-swift`: the debug build,
  `swift test`, the Swift example). The scratch worktree and its build directories are
  kept between mutations and runs, so every build is incremental, and each build checks
  that it compiled in the current kernel sources (Tests/Scripts/check_fresh_build.py).
- Before the first mutation the unmutated HEAD is built and the suites run once (the
  baseline; remembered per commit in build/mutate/baseline.json): a suite that fails
  there would "catch" everything, so the run stops.
- Every selected mutation's `original` text must occur exactly once in its file, checked
  before anything is built. A mutation whose build fails is reported as such (fix the
  mutation), not as caught.
- A suite that runs longer than four times its baseline (at least 10 minutes) is stopped
  and counted as caught (a hang is a failure CI sees).
- Interrupting is safe: the mutation lives only in the scratch worktree and is undone in
  any case, and the next run resets that worktree to HEAD before it starts.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIST = ROOT / "Tests" / "Mutate" / "mutations.toml"
OUT = ROOT / "build" / "mutate"
TREE = OUT / "tree"
LOGS = OUT / "logs"
SUITES = ("c", "python", "swift")
NAMES = {"c": "C", "python": "Python", "swift": "Swift"}
# The build each suite runs against: the release library, or the debug build of the tests.
BUILD_OF = {"c": "release", "python": "release", "swift": "debug"}


class Stop(Exception):
    """A signal asked the run to stop (the current mutation is undone first)."""


def fail(message: str) -> None:
    print(f"mutate: {message}", file=sys.stderr)
    sys.exit(1)


def git(*args: str, cwd: Path = ROOT, check: bool = True) -> str:
    r = subprocess.run(["git", *args], cwd=cwd, text=True, capture_output=True)
    if check and r.returncode != 0:
        fail(f"git {' '.join(args)} (in {cwd}) failed: {r.stderr.strip()}")
    return r.stdout.strip()


def load_mutations() -> list:
    try:
        data = tomllib.loads(LIST.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        fail(f"{LIST.relative_to(ROOT)}: {e}")
    mutations = data.get("mutation", [])
    seen = set()
    for i, m in enumerate(mutations):
        where = f"{LIST.relative_to(ROOT)}: mutation {i + 1}"
        for key in ("id", "file", "original", "replacement", "description"):
            if key not in m:
                fail(f"{where} has no {key!r}")
        if not isinstance(m["id"], int) or m["id"] in seen:
            fail(f"{where}: id {m['id']!r} is not a new whole number")
        seen.add(m["id"])
        if m["original"] == m["replacement"]:
            fail(f"{where} (id {m['id']}): replacement equals original")
    return mutations


def select(mutations: list, spec: str) -> list:
    if not spec.strip():
        return mutations
    by_id = {m["id"]: m for m in mutations}
    chosen = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) not in by_id:
            fail(f"MUTATIONS: no mutation {part!r} (ids: {', '.join(str(i) for i in by_id)})")
        chosen.append(by_id[int(part)])
    return chosen


def prepare_tree(head: str) -> None:
    """The scratch worktree at `head` with no changes to tracked files."""
    if not (TREE / ".git").exists():
        OUT.mkdir(parents=True, exist_ok=True)
        git("worktree", "prune")
        print(f"mutate: creating the scratch worktree {TREE.relative_to(ROOT)}")
        git("worktree", "add", "--detach", str(TREE), head)
    # Drops whatever an interrupted run may have left; build outputs (ignored) stay.
    git("reset", "--hard", "-q", cwd=TREE)
    git("checkout", "-q", "--detach", head, cwd=TREE)
    if git("status", "--porcelain", "--untracked-files=no", cwd=TREE):
        fail(f"{TREE}: tracked files still differ from {head[:10]} after the reset")
    # Machine set-up is not per tree: reuse this checkout's stamp (scripts/setup.sh ran).
    stamp = ROOT / "build" / ".setup-stamp"
    if stamp.exists():
        (TREE / "build").mkdir(exist_ok=True)
        (TREE / "build" / ".setup-stamp").touch()


def validate(chosen: list) -> None:
    """Every selected mutation applies to the scratch tree: its text occurs exactly once."""
    problems = []
    for m in chosen:
        path = (TREE / m["file"]).resolve()
        if TREE.resolve() not in path.parents:
            problems.append(f"mutation {m['id']}: {m['file']} is outside the tree")
            continue
        if not path.is_file():
            problems.append(f"mutation {m['id']}: {m['file']} does not exist")
            continue
        if not git("ls-files", m["file"], cwd=TREE):
            problems.append(f"mutation {m['id']}: git does not track {m['file']}")
            continue
        n = path.read_text(encoding="utf-8").count(m["original"])
        if n != 1:
            problems.append(
                f"mutation {m['id']} ({m['description']}): its original text occurs {n} "
                f"times in {m['file']}, not exactly once:\n{indent(m['original'])}")
    if problems:
        fail("the mutation list does not match the code at HEAD:\n  " + "\n  ".join(problems))


def indent(text: str) -> str:
    return "\n".join("      | " + line for line in text.splitlines())


def run_logged(cmd: list, log: Path, env: dict | None = None, timeout: float | None = None) -> tuple:
    """(exit status or None after a timeout, seconds) of `cmd` in the tree, output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=TREE, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    return rc, time.monotonic() - start


def build_commands(kind: str) -> list:
    # `make lib` runs Tests/Scripts/check_fresh_build.py on the release build itself.
    if kind == "release":
        return [["make", "lib"]]
    return [["swift", "build", "--build-tests"],
            ["python3", "Tests/Scripts/check_fresh_build.py",
             subprocess.run(["swift", "build", "--show-bin-path"], cwd=TREE, text=True,
                            capture_output=True).stdout.strip() or ".build/debug"]]


def build(kind: str, tag: str) -> tuple:
    """(ok, seconds) of the release or debug build in the tree."""
    total = 0.0
    for i, cmd in enumerate(build_commands(kind)):
        rc, s = run_logged(cmd, LOGS / f"{tag}-build-{kind}-{i}.log")
        total += s
        if rc != 0:
            return False, total
    return True, total


def suite_command(suite: str, venv: Path) -> tuple:
    """(command, environment) of a suite, as `make test` runs it."""
    if suite == "c":
        return ["make", "test-c"], {}
    if suite == "python":
        # This checkout's .venv; -o keeps make from rebuilding it from the tree's files.
        # -x: the first failure decides. The packaging tests (marker install: throw-away
        # venvs, pip builds of the library) test how the package is put together, which no
        # mutation of the list touches, and cost minutes each run.
        return (["make", "-o", "venv", "-o", f"{venv}/.stamp", "test-python", f"VENV={venv}"],
                {"PYTEST_ADDOPTS": "-x -p no:cacheprovider -m 'not install'"})
    return ["make", "test-swift"], {}


def caught_by(suite: str, log: Path) -> str:
    """The first failing tests (or the crash) named in a suite's output."""
    text = log.read_text(encoding="utf-8", errors="replace")
    names = []
    if suite == "swift":
        names = re.findall(r"Test Case '([^']+)' failed", text)
        if not names:
            names = re.findall(r"(Fatal error: [^\n]{0,80})", text)
    elif suite == "python":
        names = re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.M)
    else:
        # `make test-c` prints "== build/tests/<name>" before each program; a failed check
        # prints "FAIL file:line ...", a crash the shell's signal message.
        for section in re.split(r"^== ", text, flags=re.M)[1:]:
            name = os.path.basename(section.split("\n", 1)[0].strip())
            fails = re.findall(r"^FAIL (\S+?):(\d+) ", section, re.M)
            if fails:
                names += [f"{os.path.basename(f)}:{line}" for f, line in fails]
            elif re.search(r"Segmentation fault|Aborted|Illegal instruction|Bus error|"
                           r"Trace/breakpoint trap|Killed", section):
                names.append(f"{name} crashed")
    unique = list(dict.fromkeys(names))
    if not unique:
        return "exit status"
    more = f" (+{len(unique) - 2})" if len(unique) > 2 else ""
    return ", ".join(unique[:2]) + more


def run_suite(suite: str, tag: str, venv: Path, timeout: float) -> dict:
    cmd, env = suite_command(suite, venv)
    log = LOGS / f"{tag}-{suite}.log"
    rc, seconds = run_logged(cmd, log, env, timeout)
    if rc is None:
        return {"result": "caught", "seconds": seconds, "by": f"timeout after {seconds:.0f} s"}
    if rc == 0:
        return {"result": "missed", "seconds": seconds, "by": ""}
    return {"result": "caught", "seconds": seconds, "by": caught_by(suite, log)}


def baseline(head: str, suites: list, venv: Path) -> dict:
    """Seconds of each suite on unmutated HEAD (run once per commit)."""
    path = OUT / "baseline.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    done = known.get(head, {})
    for kind in sorted({BUILD_OF[s] for s in suites if s not in done}):
        print(f"mutate: baseline: {kind} build of HEAD", flush=True)
        ok, s = build(kind, "baseline")
        if not ok:
            fail(f"the {kind} build of unmutated HEAD fails (see {LOGS}/baseline-build-{kind}-*.log)")
    for suite in suites:
        if suite in done:
            continue
        print(f"mutate: baseline: {NAMES[suite]} suite on HEAD", flush=True)
        r = run_suite(suite, "baseline", venv, timeout=4 * 3600)
        if r["result"] != "missed":
            fail(f"the {NAMES[suite]} suite fails on unmutated HEAD ({r['by']}; see "
                 f"{LOGS}/baseline-{suite}.log): it would count every mutation as caught")
        done[suite] = round(r["seconds"], 1)
        known[head] = done
        path.write_text(json.dumps(known, indent=1))
    return done


def apply(m: dict) -> tuple:
    path = TREE / m["file"]
    before = path.read_text(encoding="utf-8")
    if before.count(m["original"]) != 1:
        fail(f"mutation {m['id']}: original text no longer occurs exactly once in {m['file']}")
    path.write_text(before.replace(m["original"], m["replacement"], 1), encoding="utf-8")
    return path, before


def restore(m: dict, path: Path, before: str) -> None:
    path.write_text(before, encoding="utf-8")
    git("checkout", "-q", "--", m["file"], cwd=TREE)
    if git("status", "--porcelain", "--untracked-files=no", cwd=TREE):
        fail(f"{TREE}: could not undo mutation {m['id']}")


def cell(r: dict | None) -> str:
    if r is None:
        return "-"
    if r["result"] == "not built":
        return "**build failed**"
    s = f"{r['seconds']:.0f} s"
    if r["result"] == "caught":
        return f"caught ({s}; {r['by']})"
    return f"**missed** ({s})"


def report(head: str, subject: str, suites: list, base: dict, rows: list, started: str,
           elapsed: float, command: str, stopped: str) -> str:
    lines = [f"# Mutation run of {head[:10]} ({subject})", "",
             f"Started {started}, {elapsed / 60:.1f} min. Command: `{command}`."
             + (f" Stopped early ({stopped}) after {len(rows)} mutation(s)." if stopped else ""),
             "Baseline (unmutated, all pass): "
             + ", ".join(f"{NAMES[s]} {base[s]:.0f} s" for s in suites) + ".", "",
             "| id | mutation | file | build | " + " | ".join(NAMES[s] for s in suites) + " |",
             "|---|---|---|---|" + "---|" * len(suites)]
    for m, builds, results in rows:
        b = " + ".join(f"{k} {v:.0f} s" for k, v in builds.items())
        lines.append(f"| {m['id']} | {m['description']} | `{os.path.basename(m['file'])}` | {b} | "
                     + " | ".join(cell(results.get(s)) for s in suites) + " |")
    counts = []
    for s in suites:
        rs = [r[s] for _, _, r in rows if s in r and r[s]["result"] != "not built"]
        counts.append(f"{sum(r['result'] == 'caught' for r in rs)} of {len(rs)}")
    lines.append("| | **caught** | | | " + " | ".join(counts) + " |")
    lines += ["", f"Logs: `{LOGS.relative_to(ROOT)}/<id>-<suite>.log`."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutations", default="", help="ids, comma-separated (default: all)")
    p.add_argument("--suites", default="", help="c,python,swift (default: all)")
    p.add_argument("--venv", default=str(ROOT / ".venv"), help="Python environment of the suite")
    p.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = p.parse_args()

    mutations = load_mutations()
    if args.list:
        for m in mutations:
            print(f"{m['id']:>3}  {m['file']}: {m['description']}")
        return 0
    chosen = select(mutations, args.mutations)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()] or list(SUITES)
    for s in suites:
        if s not in SUITES:
            fail(f"SUITES: no suite {s!r} (suites: {', '.join(SUITES)})")
    venv = Path(args.venv).resolve()
    if "python" in suites and not (venv / "bin" / "python").exists():
        fail(f"no Python environment at {venv} (make venv)")

    OUT.mkdir(parents=True, exist_ok=True)
    lock = open(OUT / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fail(f"another mutation run holds {OUT / 'lock'}")

    def stop(signum, frame):
        raise Stop(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)

    head = git("rev-parse", "HEAD")
    subject = git("log", "-1", "--format=%s", head)
    if git("status", "--porcelain", "--untracked-files=no"):
        print("mutate: note: this checkout has uncommitted changes; the run tests HEAD "
              f"({head[:10]}) without them", file=sys.stderr)
    prepare_tree(head)
    validate(chosen)
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    t0 = time.monotonic()
    base = baseline(head, suites, venv)
    kinds = sorted({BUILD_OF[s] for s in suites}, reverse=True)  # release first
    rows = []
    stopped = ""
    results_log = open(OUT / "results.jsonl", "a", encoding="utf-8")
    try:
        for m in chosen:
            tag = str(m["id"])
            print(f"mutate: [{m['id']}] {m['description']} ({m['file']})", flush=True)
            path, before = apply(m)
            builds, results = {}, {}
            try:
                for kind in kinds:
                    ok, s = build(kind, tag)
                    builds[kind] = s
                    for suite in (x for x in suites if BUILD_OF[x] == kind):
                        if not ok:
                            results[suite] = {"result": "not built", "seconds": 0, "by": ""}
                            continue
                        timeout = max(600.0, 4 * base[suite])
                        results[suite] = run_suite(suite, tag, venv, timeout)
                        print(f"mutate: [{m['id']}] {NAMES[suite]}: {cell(results[suite])}",
                              flush=True)
                    if not ok:
                        print(f"mutate: [{m['id']}] the {kind} build FAILS with this mutation "
                              f"(see {LOGS}/{tag}-build-{kind}-*.log)", file=sys.stderr)
            finally:
                restore(m, path, before)
            rows.append((m, builds, results))
            for suite, r in results.items():
                results_log.write(json.dumps({"commit": head, "id": m["id"], "suite": suite,
                                              **r, "when": started}) + "\n")
            results_log.flush()
    except (KeyboardInterrupt, Stop) as e:
        stopped = str(e) or type(e).__name__
        print(f"mutate: stopped ({stopped}); the scratch tree is restored", file=sys.stderr)
        if not rows:
            return 130
    command = (f"make mutate MUTATIONS={args.mutations or 'all'} "
               f"SUITES={','.join(suites)}")
    text = report(head, subject, suites, base, rows, started, time.monotonic() - t0, command,
                  stopped)
    (OUT / "report.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"mutate: report written to {(OUT / 'report.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
