"""MLP training throughput: relu MLPs, MSE, Adam (lr 1e-3), one fixed batch, Lamina against
PyTorch eager and JAX ``jit``; the large MLP also against the sgemm roofline of the system
OpenBLAS (bench/sgemm_peak.c)."""

from __future__ import annotations

import re
import subprocess
from typing import Any, Dict, List

import numpy as np

from .common import (BUILD_BENCH, Runner, Workload, import_lamina, jax_adam_runner,
                     jax_mlp_apply, jax_mlp_params, lamina_step_runner, mlp_specs,
                     torch_mlp_from, torch_setup, torch_step_runner)

LARGE = [3, 256, 256, 256, 1]
SMALL = [2, 64, 64, 1]
SMOKE_LARGE = [3, 32, 32, 1]


def _data(widths: List[int], batch: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, widths[0])).astype(np.float32)
    y = np.sin(3 * x.sum(axis=1, keepdims=True)).astype(np.float32)
    return x, y


def make_trainer(widths: List[int], batch: int) -> Any:
    """make(impl, smoke, threads) for an MLP of `widths` trained at `batch` rows."""

    def make(impl: str, smoke: bool, threads: int) -> Runner:
        w = SMOKE_LARGE if smoke and widths == LARGE else widths
        x, y = _data(w, 64 if smoke else batch)
        lamina = import_lamina()
        model = lamina.Model(mlp_specs(w))
        state = model.state_dict()  # every side starts from Lamina's initial weights
        if impl == "lamina":
            return lamina_step_runner(model, x, y)
        if impl == "pytorch":
            torch = torch_setup(threads)
            return torch_step_runner(torch_mlp_from(state, w), torch.from_numpy(x), torch.from_numpy(y))
        if impl == "jax":
            import jax.numpy as jnp

            return jax_adam_runner(lambda p, a, b: jnp.mean((jax_mlp_apply(p, a) - b) ** 2),
                                   jax_mlp_params(state, w), x, y)
        raise ValueError(impl)

    return make


def step_flops(widths: List[int], batch: int) -> float:
    """Multiply-add FLOPs of one training step: the forward GEMMs, the weight-gradient GEMMs
    and the input-gradient GEMMs of every layer but the first (bias, activation and Adam are
    not counted)."""
    per_row = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    return 2.0 * batch * (3 * per_row - widths[0] * widths[1])


def sgemm_roofline(entry: Dict[str, Any], args: Any) -> None:
    """Adds the measured OpenBLAS sgemm peak and each side's fraction of it to `entry`: the
    best rate of any shape in either of bench/sgemm_peak.c's modes (one call threaded by
    OpenBLAS, or one single-threaded call per core at once, as Lamina runs it)."""
    binary = BUILD_BENCH / "sgemm_peak"
    if args.smoke or not binary.exists() or "lamina" not in entry["results"]:
        return
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=False,
                         env={"OPENBLAS_NUM_THREADS": str(args.threads)}).stdout
    peak = max(float(v) for v in re.findall(r"([0-9.]+) GFLOP/s", out))
    flops = step_flops(LARGE, 4096)
    derived: Dict[str, Any] = {"sgemm_peak_gflops": peak, "flops_per_step": flops}
    for impl, r in entry["results"].items():
        gflops = flops / r["median_s"] / 1e9
        derived[f"{impl}_gflops"] = round(gflops, 1)
        derived[f"{impl}_fraction_of_sgemm_peak"] = round(gflops / peak, 3)
    derived["sgemm_peak_output"] = out.strip().splitlines()
    entry["derived"] = derived


WORKLOADS = [
    Workload(
        name="mlp_large", title="MLP training 3-256-256-256-1 relu, Adam, batch 4096",
        impls=["lamina", "pytorch", "jax"], lamina=["lamina"],
        make=make_trainer(LARGE, 4096), items=lambda impl, smoke: 64 if smoke else 4096,
        notes="Lamina: lamina_trainer_step through ctypes on pointers made once. PyTorch eager "
              "(zero_grad, forward, MSE, backward, torch.optim.Adam); JAX: jit of value_and_grad "
              "+ hand-written Adam, donated buffers. Same initial weights. Roofline: FLOPs per step "
              "(2 x batch x (3 x sum(in x out) - 3 x 256)) over the best sgemm GFLOP/s of "
              "build/bench/sgemm_peak (system OpenBLAS, same thread count).",
        post=sgemm_roofline),
    Workload(
        name="mlp_small", title="MLP training 2-64-64-1 relu, Adam, batch 256 (overhead-bound)",
        impls=["lamina", "pytorch", "jax"], lamina=["lamina"],
        make=make_trainer(SMALL, 256), items=lambda impl, smoke: 64 if smoke else 256,
        notes="As mlp_large."),
]
