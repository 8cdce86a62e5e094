"""KAN training step (forward, MSE, backward, Adam lr 1e-3) of cubic B-spline KANs at batch
1024: Lamina against pykan, pykan in fit mode, an efficient-kan-style PyTorch layer and the
same layer in JAX. The Lamina, pykan and PyTorch builders are bench/kan_compare.py's."""

from __future__ import annotations

import math
from typing import Any, Callable, List

import numpy as np

from .common import REPO, Runner, Workload, jax_adam_runner, torch_setup

ORDER = 3
BATCH = 1024
SMOKE_BATCH = 256


def _kan_compare() -> Any:
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    import kan_compare

    return kan_compare


def _quiet(run: Callable[[int], float]) -> Runner:
    """kan_compare's runners return the last loss; the harness reads a return as seconds."""

    def wrapped(steps: int) -> None:
        wrapped.loss = run(steps)  # type: ignore[attr-defined]

    wrapped.loss = float("nan")  # type: ignore[attr-defined]
    wrapped.extra = lambda: {"last_loss": float(wrapped.loss)}  # type: ignore[attr-defined]
    wrapped.keep = run  # type: ignore[attr-defined]
    return wrapped


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
        kc = _kan_compare()
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (batch, w[0])).astype(np.float32)
        y = rng.uniform(-1, 1, (batch, w[-1])).astype(np.float32)
        if impl == "lamina":
            return _quiet(kc.make_lamina(w, g, x, y))
        if impl == "efficient-kan-jax":
            return jax_efficient_kan(w, g, x, y)
        torch = torch_setup(threads)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        if impl == "efficient-kan":
            return _quiet(kc.make_efficient_kan(w, g, tx, ty))
        if impl in ("pykan", "pykan-fit"):
            return _quiet(kc.make_pykan(w, g, tx, ty, fit_mode=impl == "pykan-fit"))
        raise ValueError(impl)

    return make


NOTES = ("Lamina: lamina_trainer_step via ctypes. pykan: KAN(width, grid, k=3, auto_save=False) "
         "with its default forward (symbolic branch, save_act); pykan-fit: symbolic_enabled and "
         "save_act off, as pykan's fit() runs. efficient-kan(-jax): dense bases + two GEMMs per "
         "layer, PyTorch eager / JAX jit with hand-written Adam. See bench/kan_compare.py.")


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
