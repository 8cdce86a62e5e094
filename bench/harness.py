#!/usr/bin/env python3
"""Lamina against its peers (PyTorch, JAX, pykan, onnxruntime, trimesh, scikit-image).

    python bench/harness.py                      # every workload, every peer (.venv-bench)
    python bench/harness.py --only mlp_large,triplane
    python bench/harness.py --smoke              # Lamina's side only, tiny sizes (.venv)
    python bench/harness.py --list

``make bench`` runs the first (``BENCH_ONLY=a,b`` selects workloads), ``make bench-smoke`` the
third. Results go to ``bench/results/latest.json`` and ``bench/RESULTS.md`` (``--json``,
``--markdown``; the smoke run writes nothing unless asked).

Method. Every implementation of a workload (Lamina's and each peer's) lives in its own worker
process (``harness.py --worker WORKLOAD IMPL``), so its peak resident memory (VmHWM, and the
peak of its own children for the C benchmarks) is its own, and no library's thread pool or
allocator state leaks into another's. The controller starts all workers of a workload, lets
each warm up and calibrate how many calls fill a block of about ``--block`` seconds, then runs
``--reps`` rounds; each round times one block of every implementation, in rotating order, with
``--settle`` idle seconds before each block (OpenBLAS and OpenMP workers spin for a while after
a call; the pause keeps them from stealing the next implementation's cores). Only one worker
runs at a time; the others wait on a pipe.

Reported per implementation: median time per call, IQR and min/max over the rounds,
throughput (items per second at the median) and peak RSS. The ratio for a Lamina
implementation against a peer is Lamina's throughput divided by the peer's (peer time per
item / Lamina time per item): above 1, Lamina is faster.

Threads: ``--threads N`` (default: the core count) sets OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS and MKL_NUM_THREADS in every worker before any library loads,
``torch.set_num_threads(N)``, onnxruntime's ``intra_op_num_threads`` and XLA's
``intra_op_parallelism_threads``. Lamina's own parallel loops use Dispatch's pool, which has
one thread per core; N equal to the core count keeps both sides equal.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PROTOCOL_FD_ENV = "LAMINA_BENCH_FD"
#: An implementation named "<impl>-blas1" is <impl> with OPENBLAS_NUM_THREADS=1.
BLAS1_SUFFIX = "-blas1"

#: Workload modules under bench/workloads, in the order they run.
MODULES = ["mlp_train", "mlp_infer", "kan_step", "kan_lbfgs", "triplane", "triplane_fields", "geometry",
           "eikonal", "kan_poisson", "triplane_eikonal", "kan_symbolic"]


def set_thread_env(threads: int) -> None:
    """Fixes every library's thread count; must run before numpy, torch or jax load."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
        f" intra_op_parallelism_threads={threads}").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def all_workloads() -> Dict[str, Any]:
    """Name -> Workload, from every module in MODULES."""
    sys.path.insert(0, str(BENCH))
    found: Dict[str, Any] = {}
    for module in MODULES:
        for w in importlib.import_module(f"workloads.{module}").WORKLOADS:
            found[w.name] = w
    return found


# ---- worker side ------------------------------------------------------------------------------
def peak_rss_kb() -> Dict[str, int]:
    """This process's VmHWM and the largest ru_maxrss of its waited-for children, in kB."""
    import resource

    own = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1])
    return {"self_kb": own, "children_kb": int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)}


def loaded_versions() -> Dict[str, str]:
    """Versions of the benchmark-relevant packages this worker imported."""
    from importlib.metadata import PackageNotFoundError, version

    names = {"numpy": "numpy", "torch": "torch", "jax": "jax", "jaxlib": "jaxlib", "kan": "pykan",
             "onnxruntime": "onnxruntime", "trimesh": "trimesh", "skimage": "scikit-image"}
    out: Dict[str, str] = {}
    for module, dist in names.items():
        if module in sys.modules:
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                out[dist] = getattr(sys.modules[module], "__version__", "?")
    return out


def worker(workload_name: str, impl: str, smoke: bool, threads: int) -> int:
    """Builds one implementation and serves timing requests on the protocol pipe.

    Requests (one JSON object per line on stdin): ``{"op": "calibrate", "warmup": s,
    "block": s}`` -> ``{"steps": n}``; ``{"op": "time", "steps": n}`` -> ``{"seconds": t}``;
    ``{"op": "finish"}`` -> ``{"rss": ..., "versions": ..., "extra": ...}``. Replies go to the
    file descriptor in LAMINA_BENCH_FD, so libraries printing to stdout cannot corrupt them.
    """
    out = os.fdopen(int(os.environ[PROTOCOL_FD_ENV]), "w", buffering=1)
    os.dup2(2, 1)  # pykan, tqdm and friends print: send it to stderr
    if impl.endswith(BLAS1_SUFFIX):
        # Diagnostic variant: Lamina with a single-threaded OpenBLAS (its own Dispatch loops
        # still use every core), to show what OpenBLAS's thread pool costs on small GEMMs.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        impl = impl[: -len(BLAS1_SUFFIX)]
    w = all_workloads()[workload_name]
    runner = w.make(impl, smoke, threads)

    def timed(steps: int) -> float:
        t0 = time.perf_counter()
        measured = runner(steps)
        wall = time.perf_counter() - t0
        return float(measured) if measured is not None else wall

    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "calibrate":
            steps, spent, total = 1, 0.0, 0
            start = time.perf_counter()
            while time.perf_counter() - start < req["warmup"] or total < req["min_calls"]:
                spent = timed(steps)
                total += steps
                if spent < req["block"] / 4:
                    steps *= 2
            out.write(json.dumps({"steps": max(1, int(round(req["block"] * steps / max(spent, 1e-9))))}) + "\n")
        elif req["op"] == "time":
            out.write(json.dumps({"seconds": timed(req["steps"])}) + "\n")
        elif req["op"] == "finish":
            extra = getattr(runner, "extra", None)
            out.write(json.dumps({"rss": peak_rss_kb(), "versions": loaded_versions(),
                                  "extra": extra() if callable(extra) else {}}) + "\n")
            return 0
    return 1


# ---- controller side --------------------------------------------------------------------------
class Worker:
    """A worker process running one implementation of one workload."""

    def __init__(self, workload: str, impl: str, args: argparse.Namespace) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env[PROTOCOL_FD_ENV] = str(write_fd)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", workload, impl,
               "--threads", str(args.threads)] + (["--smoke"] if args.smoke else [])
        self.impl = impl
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env, pass_fds=(write_fd,),
                                     text=True)
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, "r")

    def request(self, **req: Any) -> Dict[str, Any]:
        if req:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        line = self.replies.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"worker {self.impl} exited ({code}) without replying")
        return json.loads(line)

    def close(self) -> None:
        self.replies.close()
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def quantile(values: List[float], q: float) -> float:
    """Linear-interpolation quantile of `values`."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def run_workload(w: Any, args: argparse.Namespace) -> Dict[str, Any]:
    """Measures every implementation of `w`, interleaved; returns its JSON entry."""
    impls = [i for i in w.impls if not args.smoke or i in w.lamina]
    if args.impls:
        impls = [i for i in impls if i in args.impls or i in w.lamina]
    reps = w.reps if w.reps and not args.smoke else args.reps
    block = max(args.block, w.block or 0.0) if not args.smoke else args.block
    print(f"\n== {w.name}: {w.title}", flush=True)
    workers: Dict[str, Worker] = {}
    failed: Dict[str, str] = {}
    for impl in impls:
        try:
            workers[impl] = Worker(w.name, impl, args)
            workers[impl].request()  # ready
        except Exception as exc:  # a missing peer must not stop the others
            failed[impl] = str(exc)
            print(f"  {impl}: failed to start ({exc})", flush=True)
            workers.pop(impl, None)
    steps: Dict[str, int] = {}
    for impl, wk in list(workers.items()):
        try:
            steps[impl] = wk.request(op="calibrate", warmup=args.warmup if not w.warmup else min(args.warmup, w.warmup),
                                     block=block, min_calls=w.min_calls)["steps"]
        except Exception as exc:
            failed[impl] = str(exc)
            workers.pop(impl)
    times: Dict[str, List[float]] = {impl: [] for impl in workers}
    names = list(workers)
    for rep in range(reps):
        shift = rep % max(1, len(names))
        for impl in names[shift:] + names[:shift]:
            time.sleep(args.settle)
            seconds = workers[impl].request(op="time", steps=steps[impl])["seconds"]
            times[impl].append(seconds / steps[impl])
    results: Dict[str, Any] = {}
    for impl, wk in workers.items():
        fin = wk.request(op="finish")
        wk.close()
        t = times[impl]
        per_item = w.items(impl, args.smoke)
        med = statistics.median(t)
        rss = fin["rss"]["children_kb"] if impl in w.rss_from_child else fin["rss"]["self_kb"]
        results[impl] = {
            "median_s": med, "q1_s": quantile(t, 0.25), "q3_s": quantile(t, 0.75),
            "min_s": min(t), "max_s": max(t), "times_s": t, "calls_per_block": steps[impl],
            "items_per_call": per_item, "items_per_s": per_item / med,
            "peak_rss_mb": rss / 1024.0, "versions": fin["versions"], "extra": fin["extra"],
        }
    ratios: Dict[str, float] = {}
    for lam in w.lamina:
        for peer in results:
            if lam in results and peer not in w.lamina:
                ratios[f"{lam}/{peer}"] = results[lam]["items_per_s"] / results[peer]["items_per_s"]
    entry = {"name": w.name, "title": w.title, "unit": w.unit, "notes": w.notes,
             "results": results, "ratios": ratios, "failed": failed, "reps": reps}
    if w.post is not None:
        w.post(entry, args)
    print_entry(entry)
    return entry


def fmt_time(seconds: float) -> str:
    """A time with a unit that keeps three significant digits readable."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def fmt_rate(value: float) -> str:
    """A throughput with three significant digits below 1000, thousands separators above."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def print_entry(entry: Dict[str, Any]) -> None:
    """The console lines of one workload."""
    for impl, r in entry["results"].items():
        print(f"  {impl:18s} {fmt_time(r['median_s']):>10s}/call  IQR {fmt_time(r['q1_s'])}-"
              f"{fmt_time(r['q3_s'])}  {fmt_rate(r['items_per_s']):>14s} {entry['unit']}  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB {r['extra'] or ''}", flush=True)
    for pair, ratio in entry["ratios"].items():
        print(f"  ratio {pair}: {ratio:.2f}", flush=True)
    for key, value in entry.get("derived", {}).items():
        print(f"  {key}: {value}", flush=True)


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info(args: argparse.Namespace) -> Dict[str, Any]:
    """CPU, core count, threads, load and Lamina's build."""
    cpu = cpu_name()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    blas = subprocess.run(["pkg-config", "--modversion", "openblas"], capture_output=True,
                          text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": args.threads,
            "python": platform.python_version(), "kernel": platform.release(),
            "lamina_commit": commit, "system_openblas": blas,
            "lamina_library": os.environ.get("LAMINA_LIBRARY", ""),
            "load_before": os.getloadavg(), "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def markdown(doc: Dict[str, Any]) -> str:
    """bench/RESULTS.md: machine, versions, command, then one table row per implementation."""
    m = doc["machine"]
    lines = [
        "# Benchmark results", "",
        f"Measured {m['date_utc']} UTC with `{doc['command']}` (Lamina {m['lamina_commit']}).",
        f"Machine: {m['cpu']}, {m['cores']} cores, no GPU; threads on every side: {m['threads']}; "
        f"load average before/after: {m['load_before'][0]:.2f} / {m['load_after'][0]:.2f} "
        "(the machine is shared, so figures carry that noise).",
        f"Versions: Python {m['python']}, system OpenBLAS {m['system_openblas']}, "
        + ", ".join(f"{k} {v}" for k, v in sorted(doc["versions"].items())) + ".",
        "",
        "Method (bench/harness.py): each implementation runs in its own process (peak RSS is "
        "that process's VmHWM, including the interpreter and its imports); warm-up, then "
        f"rounds (default {doc['reps']}) of one timed block (~{doc['block']} s) per "
        "implementation in rotating order. Time is the median per call; the spread is the "
        "IQR over rounds. **Ratio = Lamina throughput / peer throughput (> 1: Lamina faster).**",
        "",
        "| workload | implementation | time/call (median) | IQR | throughput | peak RSS | Lamina ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in doc["workloads"]:
        for impl, r in e["results"].items():
            ratio = ", ".join(f"{p.split('/')[1]}: {v:.2f}" for p, v in e["ratios"].items()
                              if p.startswith(impl + "/"))
            lines.append(
                f"| {e['name']} | {impl} | {fmt_time(r['median_s'])} | {fmt_time(r['q1_s'])}-"
                f"{fmt_time(r['q3_s'])} | {fmt_rate(r['items_per_s'])} {e['unit']} | "
                f"{r['peak_rss_mb']:.0f} MB | {ratio} |")
        for impl, why in e.get("failed", {}).items():
            lines.append(f"| {e['name']} | {impl} | failed: {why[:80]} | | | | |")
    notes = BENCH / "NOTES.md"
    if notes.exists():  # hand-written profile notes, kept across regenerations
        lines += ["", notes.read_text().rstrip()]
    lines += ["", "## Workloads", ""]
    for e in doc["workloads"]:
        lines.append(f"- **{e['name']}** — {e['title']}. {e['notes']}")
        if "run" in e:
            lines.append(f"  - measured {e['run']['date_utc']} UTC, load {e['run']['load_before'][0]:.2f} "
                         f"before, by `{e['run']['command']}`")
        for key, value in e.get("derived", {}).items():
            lines.append(f"  - {key}: {value}")
        extras = {impl: r["extra"] for impl, r in e["results"].items() if r["extra"]}
        if extras:
            lines.append("  - " + "; ".join(f"{impl}: {x}" for impl, x in extras.items()))
    return "\n".join(lines) + "\n"


def merged(old: Dict[str, Any], new: Dict[str, Any]) -> Dict[str, Any]:
    """`old` with `new`'s workloads replacing or joining its own (``--update``); each entry
    keeps the machine record (load, date, command) of the run that measured it."""
    for doc in (old, new):
        for e in doc["workloads"]:
            e.setdefault("run", {"command": doc["command"], "load_before": doc["machine"]["load_before"],
                                 "load_after": doc["machine"].get("load_after"),
                                 "date_utc": doc["machine"]["date_utc"]})
    names = [e["name"] for e in new["workloads"]]
    out = dict(new)
    out["workloads"] = [e for e in old["workloads"] if e["name"] not in names] + new["workloads"]
    out["versions"] = {**old.get("versions", {}), **new["versions"]}
    # The distinct runs behind the rows now in the table, not every run ever merged.
    out["command"] = "; ".join(dict.fromkeys(e["run"]["command"] for e in out["workloads"]))
    return out


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                   help="comma-separated workloads (default: all; env BENCH_ONLY)")
    p.add_argument("--impls", default="", help="comma-separated peers to keep (default: all)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--reps", type=int, default=7, help="timed rounds (7)")
    p.add_argument("--block", type=float, default=0.3, help="seconds per timed block (0.3)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per impl (1)")
    p.add_argument("--settle", type=float, default=0.2, help="idle seconds before a block (0.2)")
    p.add_argument("--smoke", action="store_true", help="Lamina only, tiny sizes")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument("--render", action="store_true",
                   help="rewrite --markdown from the --json file, measuring nothing")
    p.add_argument("--update", action="store_true",
                   help="merge into an existing --json file (replace the workloads run now)")
    p.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.impls = {s for s in args.impls.split(",") if s}
    if args.smoke:
        args.reps, args.block, args.warmup, args.settle = 3, 0.02, 0.02, 0.0
    return args


def main() -> int:
    args = parse_args()
    set_thread_env(args.threads)
    if args.worker:
        return worker(args.worker[0], args.worker[1], args.smoke, args.threads)
    if args.render:  # only rewrite the Markdown from an existing JSON file
        if not (args.json and args.markdown):
            print("--render needs --json and --markdown", file=sys.stderr)
            return 2
        args.markdown.write_text(markdown(json.loads(args.json.read_text())))
        return 0
    workloads = all_workloads()
    if args.list:
        for w in workloads.values():
            print(f"{w.name:24s} {w.title}  [{', '.join(w.impls)}]")
        return 0
    chosen = [s for s in args.only.split(",") if s] or list(workloads)
    unknown = [s for s in chosen if s not in workloads]
    if unknown:
        print(f"unknown workloads {unknown}; --list shows them", file=sys.stderr)
        return 2
    info = machine_info(args)
    print(f"threads {args.threads} on every side; {info['cores']} cores; load {info['load_before'][0]:.2f}; "
          f"{info['cpu']}", flush=True)
    entries = [run_workload(workloads[name], args) for name in chosen]
    info["load_after"] = os.getloadavg()
    versions: Dict[str, str] = {}
    for e in entries:
        for r in e["results"].values():
            versions.update(r["versions"])
    doc = {"command": "python bench/harness.py " + " ".join(sys.argv[1:]), "machine": info,
           "versions": versions, "reps": args.reps, "block": args.block, "workloads": entries}
    print(f"\nload average after: {info['load_after'][0]:.2f}")
    if args.update and args.json and args.json.exists():
        doc = merged(json.loads(args.json.read_text()), doc)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(doc))
        print(f"wrote {args.markdown}")
    bad = [e["name"] for e in entries if any(i in e["failed"] for i in workloads[e["name"]].lamina)]
    if bad:
        print(f"Lamina failed in {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
