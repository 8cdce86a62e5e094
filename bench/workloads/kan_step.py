"""KAN training step (forward, MSE, backward, Adam lr 1e-3) of cubic B-spline KANs at batch
1024: Lamina against pykan, pykan in fit mode, an efficient-kan-style PyTorch layer and the
same layer in JAX."""

from __future__ import annotations

import math
import tempfile
from typing import Any, List

import numpy as np

from .common import (Runner, Workload, import_lamina, jax_adam_runner, lamina_step_runner,
                     torch_setup, torch_step_runner)

ORDER = 3
BATCH = 1024
SMOKE_BATCH = 256


def pykan_model(widths: List[int], grid: int, fit_mode: bool) -> Any:
    """pykan's ``KAN`` (MultKAN) with its constructor defaults except ``auto_save=False``
    (no checkpoint files). Its default forward also runs the symbolic branch (a Python loop
    over every edge) and records activation statistics (``save_act``). With `fit_mode`,
    both are off, as pykan's own ``fit()`` runs for ``lamb = 0`` with no symbolic edge
    (``disable_symbolic_in_fit``): pykan's fastest own path."""
    import torch
    from kan import KAN

    torch.manual_seed(0)
    ckpt = tempfile.mkdtemp(prefix="lamina_bench_pykan_")
    # pykan rewrites the width list it is given in place ([2, 5, 1] -> [[2, 0], [5, 0], ...]).
    model = KAN(width=list(widths), grid=grid, k=ORDER, seed=0, auto_save=False, ckpt_path=ckpt)
    if fit_mode:
        model.symbolic_enabled = False
        model.save_act = False
    return model


def efficient_kan_model(widths: List[int], grid: int) -> Any:
    """A PyTorch network of layers in efficient-kan's formulation: every one of the G + k
    bases of every input is evaluated densely (Cox-de Boor from degree 0 up), so the spline
    branch is one GEMM of (batch, in (G + k)) by (in (G + k), out) and the base branch
    another of (batch, in) by (in, out)."""
    import torch
    import torch.nn.functional as F

    class DenseBSplineKANLayer(torch.nn.Module):
        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            self.n_in, self.n_out = n_in, n_out
            knots = torch.arange(-ORDER, grid + ORDER + 1, dtype=torch.float32) * (2.0 / grid) - 1.0
            self.register_buffer("grid", knots.unsqueeze(0).repeat(n_in, 1))
            self.base_weight = torch.nn.Parameter(
                torch.empty(n_out, n_in).uniform_(-1, 1) / n_in**0.5)
            self.spline_weight = torch.nn.Parameter(
                0.1 * torch.randn(n_out, n_in, grid + ORDER) / n_in**0.5)
            self.spline_scaler = torch.nn.Parameter(torch.ones(n_out, n_in))

        def bases(self, x: Any) -> Any:
            """(batch, in) -> (batch, in, G + k)."""
            g = self.grid
            xe = x.unsqueeze(-1)
            b = ((xe >= g[:, :-1]) & (xe < g[:, 1:])).to(x.dtype)
            for d in range(1, ORDER + 1):
                left = (xe - g[:, : -(d + 1)]) / (g[:, d:-1] - g[:, : -(d + 1)]) * b[:, :, :-1]
                right = (g[:, d + 1:] - xe) / (g[:, d + 1:] - g[:, 1:-d]) * b[:, :, 1:]
                b = left + right
            return b

        def forward(self, x: Any) -> Any:
            base = F.linear(F.silu(x), self.base_weight)
            w = (self.spline_weight * self.spline_scaler.unsqueeze(-1)).view(self.n_out, -1)
            return base + F.linear(self.bases(x).view(x.shape[0], -1), w)

    torch.manual_seed(0)
    return torch.nn.Sequential(*[DenseBSplineKANLayer(a, b) for a, b in zip(widths[:-1], widths[1:])])


def jax_efficient_kan(widths: List[int], grid: int, x: np.ndarray, y: np.ndarray) -> Runner:
    """efficient-kan's formulation in JAX: dense Cox-de Boor bases of every input over all
    G + k bases, then ``silu(x) W_b + vec(B(x)) (W_s * scaler)``, two GEMMs per layer."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    nb = grid + ORDER
    params = []
    for a, b in zip(widths[:-1], widths[1:]):
        params.append({
            "base": jnp.asarray(rng.uniform(-1, 1, (a, b)) / math.sqrt(a), jnp.float32),
            "spline": jnp.asarray(0.1 * rng.standard_normal((a, nb, b)) / math.sqrt(a), jnp.float32),
            "scaler": jnp.ones((a, b), jnp.float32)})
    knots = jnp.arange(-ORDER, grid + ORDER + 1, dtype=jnp.float32) * (2.0 / grid) - 1.0

    def bases(v: Any) -> Any:
        g, ve = knots, v[..., None]
        b = ((ve >= g[:-1]) & (ve < g[1:])).astype(v.dtype)
        for d in range(1, ORDER + 1):
            left = (ve - g[: -(d + 1)]) / (g[d:-1] - g[: -(d + 1)]) * b[..., :-1]
            right = (g[d + 1:] - ve) / (g[d + 1:] - g[1:-d]) * b[..., 1:]
            b = left + right
        return b

    def apply(ps: Any, v: Any) -> Any:
        for p in ps:
            a, b = p["base"].shape
            w = (p["spline"] * p["scaler"][:, None, :]).reshape(a * nb, b)
            v = jax.nn.silu(v) @ p["base"] + bases(v).reshape(v.shape[0], a * nb) @ w
        return v

    return jax_adam_runner(lambda ps, a, b: jnp.mean((apply(ps, a) - b) ** 2), params, x, y)


def make_kan(widths: List[int], grid: int, smoke_widths: List[int], smoke_grid: int) -> Any:
    """make(impl, smoke, threads) of one KAN configuration."""

    def make(impl: str, smoke: bool, threads: int) -> Runner:
        w, g = (smoke_widths, smoke_grid) if smoke else (widths, grid)
        batch = SMOKE_BATCH if smoke else BATCH
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (batch, w[0])).astype(np.float32)
        y = rng.uniform(-1, 1, (batch, w[-1])).astype(np.float32)
        if impl == "lamina":
            return lamina_step_runner(import_lamina().KAN(width=w, grid=g, k=ORDER, seed=0), x, y)
        if impl == "efficient-kan-jax":
            return jax_efficient_kan(w, g, x, y)
        torch = torch_setup(threads)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        if impl == "efficient-kan":
            return torch_step_runner(efficient_kan_model(w, g), tx, ty)
        if impl in ("pykan", "pykan-fit"):
            return torch_step_runner(pykan_model(w, g, fit_mode=impl == "pykan-fit"), tx, ty)
        raise ValueError(impl)

    return make


NOTES = ("Lamina: lamina_trainer_step via ctypes. pykan: KAN(width, grid, k=3, auto_save=False) "
         "with its default forward (symbolic branch, save_act); pykan-fit: symbolic_enabled and "
         "save_act off, as pykan's fit() runs. efficient-kan(-jax): dense bases + two GEMMs per "
         "layer, PyTorch eager / JAX jit with hand-written Adam. See bench/workloads/kan_step.py.")


def _workload(name: str, widths: List[int], grid: int, smoke_widths: List[int], smoke_grid: int) -> Workload:
    return Workload(
        name=name, title=f"KAN {widths} G={grid} k=3 training step, batch {BATCH}",
        impls=["lamina", "pykan", "pykan-fit", "efficient-kan", "efficient-kan-jax"],
        lamina=["lamina"], make=make_kan(widths, grid, smoke_widths, smoke_grid),
        items=lambda impl, smoke: SMOKE_BATCH if smoke else BATCH, notes=NOTES)


WORKLOADS = [
    _workload("kan_2_5_1", [2, 5, 1], 5, [2, 5, 1], 5),
    _workload("kan_64_64_10", [64, 64, 10], 5, [8, 8, 2], 5),
    _workload("kan_64_64_10_g100", [64, 64, 10], 100, [8, 8, 2], 20),
]
