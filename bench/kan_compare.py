#!/usr/bin/env python3
"""Training-step time of B-spline KANs: Lamina against pykan and an efficient-kan-style layer.

One training step = forward, MSE loss, backward and an Adam update (lr 1e-3) on one fixed
batch of 1024 random inputs in [-1, 1] with random targets, for cubic (k = 3) B-spline KANs:

    widths [2, 5, 1]    G = 5
    widths [64, 64, 10] G = 5
    widths [64, 64, 10] G = 100

Implementations (all in this one process, timed interleaved):

    lamina          ``lamina_trainer_step`` called through ctypes on pre-made pointers, so
                    the time is the C call (argument checks, forward, backward, Adam).
    pykan           pykan's ``KAN`` (MultKAN) with its constructor defaults except
                    ``auto_save=False`` (no checkpoint files). Its default forward also runs
                    the symbolic branch (a Python loop over every edge) and records the
                    activation statistics (``save_act``).
    pykan-fit       the same model with ``symbolic_enabled=False`` and ``save_act=False``,
                    which is what pykan's own ``fit()`` switches to when ``lamb = 0`` and no
                    edge is symbolic (``disable_symbolic_in_fit``): pykan's fastest own path.
    efficient-kan   a PyTorch layer written here in efficient-kan's style: dense B-spline
                    bases B(x) of every input over all G + k bases (Cox-de Boor recursion),
                    then ``silu(x) W_b^T + vec(B(x)) (W_s * scaler)^T``, two GEMMs.

Threads: ``--threads N`` (default 2) sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS
before any library loads and ``torch.set_num_threads(N)``. Lamina's B-spline layers also
split large batches over Dispatch's worker pool, which uses every core (2 on the project
machine), so N other than the core count is not equal on both sides.

Method: each implementation is warmed up, its steps per timed block are calibrated so a
block lasts about ``--block`` seconds, then ``--reps`` rounds time one block of each
implementation in rotating order, with ``--settle`` seconds of idle time before each block
so that one library's spinning worker threads do not slow the next. Reported per (config,
implementation): median ms/step, IQR and min/max over the rounds, samples/s at the median,
and Lamina's speed-up over each peer (peer median / Lamina median, and peer min / Lamina
min, which is less disturbed by other load on the machine; > 1 means Lamina is faster).

    python bench/kan_compare.py                  # full comparison (needs torch and pykan)
    python bench/kan_compare.py --smoke          # Lamina only, small, seconds (numpy only)

``make bench-kan-compare`` builds a ``.venv-bench`` with the CPU torch wheel and pykan and
runs the full comparison. The harness (bench/harness.py, ``make bench``) reuses this file's
builders for its kan_* workloads, each implementation in its own process.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from harness import cpu_name  # bench/ is this script's own directory, first on sys.path

REPO = Path(__file__).resolve().parents[1]

CONFIGS: List[Tuple[List[int], int]] = [([2, 5, 1], 5), ([64, 64, 10], 5), ([64, 64, 10], 100)]
SMOKE_CONFIGS: List[Tuple[List[int], int]] = [([2, 5, 1], 5), ([8, 8, 2], 20)]
ORDER = 3
LR = 1e-3


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads on every side (default 2)")
    p.add_argument("--batch", type=int, default=1024, help="rows per step (default 1024)")
    p.add_argument("--reps", type=int, default=9, help="timed rounds (default 9)")
    p.add_argument("--block", type=float, default=0.25, help="seconds per timed block (0.25)")
    p.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per impl (0.5)")
    p.add_argument(
        "--settle",
        type=float,
        default=0.2,
        help="idle seconds before each timed block (0.2), so the previous block's spinning "
        "BLAS/OpenMP worker threads have gone to sleep",
    )
    p.add_argument("--smoke", action="store_true", help="Lamina only, small sizes, quick")
    p.add_argument(
        "--impls",
        default="lamina,pykan,pykan-fit,efficient-kan",
        help="comma-separated subset of lamina, pykan, pykan-fit, efficient-kan",
    )
    p.add_argument("--json", type=Path, default=None, help="write results here")
    p.add_argument("--markdown", type=Path, default=None, help="write a Markdown table here")
    return p.parse_args()


if __name__ == "__main__":
    # Run as a script: thread counts must be fixed before OpenBLAS, MKL or OpenMP start their
    # pools. Imported (bench/workloads/kan_step.py reuses the builders below), the importer
    # has set them already.
    ARGS = parse_args()
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402

try:
    import lamina  # noqa: E402
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import lamina  # noqa: E402
from lamina import _library  # noqa: E402


# ---- Lamina ---------------------------------------------------------------------------------
def make_lamina(widths: List[int], grid: int, x: np.ndarray, y: np.ndarray) -> Callable[[int], float]:
    """Returns run(steps) -> last loss, calling lamina_trainer_step directly."""
    model = lamina.KAN(width=widths, grid=grid, k=ORDER, seed=0)
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=LR)
    step = _library.lib().lamina_trainer_step
    handle = trainer._ptr
    xp = _library.as_float_pointer(x)
    yp = _library.as_float_pointer(y)
    n = ctypes.c_size_t(x.shape[0])
    loss = ctypes.c_float(0.0)
    lossp = ctypes.byref(loss)

    def run(steps: int) -> float:
        for _ in range(steps):
            status = step(handle, xp, yp, n, lossp)
            if status != 0:
                raise RuntimeError(f"lamina_trainer_step: {_library.last_error()}")
        return float(loss.value)

    run.keep = (model, trainer, x, y)  # type: ignore[attr-defined]
    return run


# ---- PyTorch peers --------------------------------------------------------------------------
def torch_step_runner(module: Any, x: Any, y: Any) -> Callable[[int], float]:
    import torch

    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=LR)

    def run(steps: int) -> float:
        value = 0.0
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            out = module(x)
            loss = torch.mean((out - y) ** 2)
            loss.backward()
            opt.step()
            value = float(loss.detach())
        return value

    return run


def make_pykan(widths: List[int], grid: int, x: Any, y: Any, fit_mode: bool) -> Callable[[int], float]:
    import torch
    from kan import KAN

    torch.manual_seed(0)
    ckpt = tempfile.mkdtemp(prefix="kan_compare_")
    # pykan rewrites the width list it is given in place ([2, 5, 1] -> [[2, 0], [5, 0], ...]).
    model = KAN(width=list(widths), grid=grid, k=ORDER, seed=0, auto_save=False, ckpt_path=ckpt)
    if fit_mode:
        # What MultKAN.fit does for lamb = 0 with no symbolic edge (disable_symbolic_in_fit).
        model.symbolic_enabled = False
        model.save_act = False
    return torch_step_runner(model, x, y)


def efficient_kan_class() -> Any:
    import torch
    import torch.nn.functional as F

    class DenseBSplineKANLayer(torch.nn.Module):
        """efficient-kan's formulation: every one of the G + k bases of every input is
        evaluated densely, so the spline branch is one GEMM of (batch, in (G + k)) by
        (in (G + k), out) and the base branch another of (batch, in) by (in, out)."""

        def __init__(self, n_in: int, n_out: int, grid: int, order: int) -> None:
            super().__init__()
            self.n_in, self.n_out, self.order = n_in, n_out, order
            step = 2.0 / grid
            knots = torch.arange(-order, grid + order + 1, dtype=torch.float32) * step - 1.0
            self.register_buffer("grid", knots.unsqueeze(0).repeat(n_in, 1))
            bases = grid + order
            self.base_weight = torch.nn.Parameter(
                torch.empty(n_out, n_in).uniform_(-1, 1) / n_in**0.5)
            self.spline_weight = torch.nn.Parameter(0.1 * torch.randn(n_out, n_in, bases) / n_in**0.5)
            self.spline_scaler = torch.nn.Parameter(torch.ones(n_out, n_in))

        def bases(self, x: Any) -> Any:
            """(batch, in) -> (batch, in, G + k): Cox-de Boor from degree 0 up."""
            g = self.grid
            xe = x.unsqueeze(-1)
            b = ((xe >= g[:, :-1]) & (xe < g[:, 1:])).to(x.dtype)
            for d in range(1, self.order + 1):
                left = (xe - g[:, : -(d + 1)]) / (g[:, d:-1] - g[:, : -(d + 1)]) * b[:, :, :-1]
                right = (g[:, d + 1 :] - xe) / (g[:, d + 1 :] - g[:, 1:-d]) * b[:, :, 1:]
                b = left + right
            return b

        def forward(self, x: Any) -> Any:
            base = F.linear(F.silu(x), self.base_weight)
            w = (self.spline_weight * self.spline_scaler.unsqueeze(-1)).view(self.n_out, -1)
            spline = F.linear(self.bases(x).view(x.shape[0], -1), w)
            return base + spline

    return DenseBSplineKANLayer


def make_efficient_kan(widths: List[int], grid: int, x: Any, y: Any) -> Callable[[int], float]:
    import torch

    torch.manual_seed(0)
    layer = efficient_kan_class()
    model = torch.nn.Sequential(
        *[layer(a, b, grid, ORDER) for a, b in zip(widths[:-1], widths[1:])])
    return torch_step_runner(model, x, y)


# ---- timing ---------------------------------------------------------------------------------
def calibrate(run: Callable[[int], float], warmup: float, block: float) -> int:
    """Warms `run` up for about `warmup` seconds; returns steps per timed block."""
    steps, spent, total = 1, 0.0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < warmup or total < 3:
        t0 = time.perf_counter()
        run(steps)
        spent = time.perf_counter() - t0
        total += steps
        if spent < warmup / 10:
            steps *= 2
    per_step = spent / steps
    return max(1, int(round(block / per_step)))


def quantile(values: List[float], q: float) -> float:
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measure(runners: Dict[str, Callable[[int], float]], args: argparse.Namespace, batch: int) -> Dict[str, Any]:
    steps = {name: calibrate(run, args.warmup, args.block) for name, run in runners.items()}
    times: Dict[str, List[float]] = {name: [] for name in runners}
    losses: Dict[str, float] = {}
    names = list(runners)
    for rep in range(args.reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            # OpenBLAS's and OpenMP's workers spin for a while after a call before sleeping;
            # without a pause they would steal the cores from the next implementation.
            time.sleep(args.settle)
            t0 = time.perf_counter()
            losses[name] = runners[name](steps[name])
            times[name].append((time.perf_counter() - t0) / steps[name])
    out: Dict[str, Any] = {}
    for name in names:
        t = times[name]
        med = statistics.median(t)
        out[name] = {
            "median_ms": 1e3 * med,
            "q1_ms": 1e3 * quantile(t, 0.25),
            "q3_ms": 1e3 * quantile(t, 0.75),
            "min_ms": 1e3 * min(t),
            "max_ms": 1e3 * max(t),
            "samples_per_s": batch / med,
            "steps_per_block": steps[name],
            "times_ms": [1e3 * v for v in t],
            "last_loss": losses[name],
        }
    return out


def machine_info(threads: int) -> Dict[str, Any]:
    cpu = cpu_name()
    info: Dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "lamina": lamina.__version__ if hasattr(lamina, "__version__") else None,
        "lamina_library": str(_library.library_path()) if hasattr(_library, "library_path") else None,
        "load_before": os.getloadavg(),
    }
    try:
        info["lamina_commit"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        pass
    return info


def main() -> int:
    args = ARGS
    if args.threads < 1:
        print("--threads must be at least 1", file=sys.stderr)
        return 2
    impls = ["lamina"] if args.smoke else [s.strip() for s in args.impls.split(",") if s.strip()]
    unknown = set(impls) - {"lamina", "pykan", "pykan-fit", "efficient-kan"}
    if unknown:
        print(f"unknown --impls {sorted(unknown)}", file=sys.stderr)
        return 2
    configs = SMOKE_CONFIGS if args.smoke else CONFIGS
    batch = 256 if args.smoke else args.batch
    if args.smoke:
        args.reps, args.block, args.warmup, args.settle = 3, 0.05, 0.05, 0.0

    info = machine_info(args.threads)
    torch = None
    if any(name != "lamina" for name in impls):
        import torch  # noqa: F811

        torch.set_num_threads(args.threads)
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = "mkl" if torch.backends.mkl.is_available() else "other"
        if any(name.startswith("pykan") for name in impls):
            from importlib.metadata import version

            info["pykan"] = version("pykan")
    print(f"threads N = {args.threads}; batch {batch}; {args.reps} rounds; "
          f"load {info['load_before'][0]:.2f}", flush=True)
    for key in ("cpu", "lamina", "torch", "pykan"):
        if key in info:
            print(f"  {key}: {info[key]}")

    rng = np.random.default_rng(0)
    results: List[Dict[str, Any]] = []
    for widths, grid in configs:
        x = rng.uniform(-1, 1, (batch, widths[0])).astype(np.float32)
        y = rng.uniform(-1, 1, (batch, widths[-1])).astype(np.float32)
        runners: Dict[str, Callable[[int], float]] = {}
        for name in impls:
            if name == "lamina":
                runners[name] = make_lamina(widths, grid, x, y)
            else:
                tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
                if name == "efficient-kan":
                    runners[name] = make_efficient_kan(widths, grid, tx, ty)
                else:
                    runners[name] = make_pykan(widths, grid, tx, ty, fit_mode=name == "pykan-fit")
        label = f"{widths} G={grid}"
        print(f"\n{label}", flush=True)
        measured = measure(runners, args, batch)
        entry: Dict[str, Any] = {"widths": widths, "grid": grid, "order": ORDER, "batch": batch,
                                 "results": measured}
        base = measured.get("lamina")
        for name, r in measured.items():
            line = (f"  {name:14s} {r['median_ms']:9.3f} ms/step  IQR {r['q1_ms']:.3f}-{r['q3_ms']:.3f}"
                    f"  min/max {r['min_ms']:.3f}/{r['max_ms']:.3f}  {r['samples_per_s']:12,.0f} samples/s")
            if base is not None and name != "lamina":
                r["lamina_speedup"] = r["median_ms"] / base["median_ms"]
                # Fastest block against fastest block: the least disturbed by other load.
                r["lamina_speedup_min"] = r["min_ms"] / base["min_ms"]
                line += f"  Lamina {r['lamina_speedup']:.2f}x faster" if r["lamina_speedup"] >= 1 \
                    else f"  Lamina {1 / r['lamina_speedup']:.2f}x slower"
            if not np.isfinite(r["last_loss"]):
                print(f"  {name}: non-finite loss", file=sys.stderr)
                return 1
            print(line, flush=True)
        results.append(entry)
    info["load_after"] = os.getloadavg()
    print(f"\nload average after: {info['load_after'][0]:.2f}")
    doc = {"command": " ".join([Path(sys.executable).name] + sys.argv), "machine": info,
           "step": "forward + MSE + backward + Adam (lr 1e-3), fixed batch",
           "configs": results}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(doc))
        print(f"wrote {args.markdown}")
    return 0


def markdown(doc: Dict[str, Any]) -> str:
    """A table of the results for bench/RESULTS.md."""
    rows = ["| widths, G | implementation | ms/step (median) | IQR | min-max | samples/s (median) "
            "| Lamina speed-up (median; min) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in doc["configs"]:
        for name, r in c["results"].items():
            speed = (f"{r['lamina_speedup']:.1f}x; {r['lamina_speedup_min']:.1f}x"
                     if "lamina_speedup" in r else "")
            rows.append(
                f"| {c['widths']}, {c['grid']} | {name} | {r['median_ms']:.3f} | "
                f"{r['q1_ms']:.3f}-{r['q3_ms']:.3f} | {r['min_ms']:.3f}-{r['max_ms']:.3f} | "
                f"{r['samples_per_s']:,.0f} | {speed} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.exit(main())
