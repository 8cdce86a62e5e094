"""KAN LBFGS fit of the KAN paper's ``f(x, y) = exp(sin(pi x) + y^2)`` on pykan's tutorial
setup: widths [2, 5, 1], G = 5, k = 3, 1000 training and 1000 test points uniform in
[-1, 1]^2, ``fit(opt="LBFGS", steps=20)`` with pykan's defaults (lr 1, history 10, strong
Wolfe, grid updates every 5 steps until step 50, lamb 0). One call = build + fit a fresh
model. Lamina's ``lamina.KAN.fit`` mirrors pykan's ``MultKAN.fit``."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .common import Runner, Workload, import_lamina, torch_setup

WIDTHS = [2, 5, 1]
GRID = 5
STEPS = 20
TARGET_RMSE = 1e-2


def _dataset(n: int) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: Dict[str, np.ndarray] = {}
    for part in ("train", "test"):
        x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
        out[f"{part}_input"] = x
        out[f"{part}_label"] = np.exp(np.sin(np.pi * x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)
    return out


def _summary(test_rmse: List[float]) -> Dict[str, Any]:
    hit = next((i + 1 for i, v in enumerate(test_rmse) if v <= TARGET_RMSE), None)
    return {"final_test_rmse": float(test_rmse[-1]) if test_rmse else None,
            f"first_step_rmse_le_{TARGET_RMSE:g}": hit}


def make(impl: str, smoke: bool, threads: int) -> Runner:
    """One call = a fresh [2, 5, 1] model fitted for STEPS LBFGS steps."""
    data = _dataset(100 if smoke else 1000)
    steps = 2 if smoke else STEPS
    last: Dict[str, Any] = {}
    if impl == "lamina":
        lamina = import_lamina()

        def run(calls: int) -> None:
            for _ in range(calls):
                model = lamina.KAN(width=WIDTHS, grid=GRID, k=3, seed=0)
                hist = model.fit(data, opt="LBFGS", steps=steps, progress=False)
                last.update(_summary(hist["test_loss"]))

    elif impl == "pykan":
        import os
        import tempfile

        os.environ["TQDM_DISABLE"] = "1"  # pykan's fit always draws a tqdm bar
        torch = torch_setup(threads)

        from kan import KAN

        tdata = {k: torch.from_numpy(v) for k, v in data.items()}
        ckpt = tempfile.mkdtemp(prefix="bench_kan_lbfgs_")

        def run(calls: int) -> None:
            for _ in range(calls):
                model = KAN(width=list(WIDTHS), grid=GRID, k=3, seed=0, auto_save=False, ckpt_path=ckpt)
                hist = model.fit(tdata, opt="LBFGS", steps=steps)
                last.update(_summary([float(v) for v in hist["test_loss"]]))

    else:
        raise ValueError(impl)
    run.extra = lambda: dict(last)  # type: ignore[attr-defined]
    return run


WORKLOADS = [
    Workload(
        name="kan_lbfgs", title=f"KAN {WIDTHS} G={GRID} LBFGS fit of exp(sin(pi x)+y^2), {STEPS} steps",
        impls=["lamina", "pykan"], lamina=["lamina"], make=make, items=lambda impl, smoke: 1,
        unit="fits/s", reps=3, block=0.01, warmup=0.01, min_calls=1,
        notes="pykan's tutorial model ([2, 5, 1], not the paper's [2, 1, 1]). Both report the "
              "test RMSE after each step; the JSON records the final one and the first step "
              f"at which it is <= {TARGET_RMSE:g}. One warm-up fit, then 3 timed fits each."),
]
