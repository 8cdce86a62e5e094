"""KAN Poisson step: a cubic B-spline KAN [2, 10, 1] at G = 10 trained on the residual of
Poisson's equation, mean (Laplacian u - f)^2 at 10,000 interior points of [-1, 1]^2 with
f = -2 pi^2 sin(pi x) sin(pi y), one Adam step (lr 1e-3) per call: Lamina's jet passes
(``lamina_trainer_step_terms``) against the same loss through PyTorch autograd (the
Laplacian as two nested ``autograd.grad`` with ``create_graph=True``, as pykan's PDE
tutorials take it) on an efficient-kan-style layer and on pykan's KAN."""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import Runner, Workload, import_lamina, lamina_terms_runner, torch_setup
from .kan_step import efficient_kan_model, pykan_model

WIDTHS = [2, 10, 1]
GRID = 10
POINTS = 10000
SMOKE = ([2, 3, 1], 5, 256)


def _data(points: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (points, 2)).astype(np.float32)
    f = (-2 * np.pi**2 * np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])).astype(np.float32)
    return x, f


def _torch(module: Any, x: Any, f: Any) -> Runner:
    import torch

    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-3)
    xt, ft = torch.from_numpy(x), torch.from_numpy(f)
    last = [0.0]

    def run(steps: int) -> None:
        loss = None
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            p = xt.clone().requires_grad_(True)
            u = module(p)[:, 0]
            (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
            lap = sum(torch.autograd.grad(g[:, d].sum(), p, create_graph=True)[0][:, d]
                      for d in range(p.shape[1]))
            loss = torch.mean((lap - ft) ** 2)
            loss.backward()
            opt.step()
        if loss is not None:
            last[0] = float(loss.detach())

    run.extra = lambda: {"last_loss": last[0]}  # type: ignore[attr-defined]
    return run


def make(impl: str, smoke: bool, threads: int) -> Runner:
    widths, grid, points = SMOKE if smoke else (WIDTHS, GRID, POINTS)
    x, f = _data(points)
    if impl == "lamina":
        model = import_lamina().KAN(width=list(widths), grid=grid, k=3, seed=0)
        return lamina_terms_runner(model, [{"loss": "laplacian", "x": x, "rhs": f}])
    torch_setup(threads)
    if impl == "efficient-kan":
        return _torch(efficient_kan_model(list(widths), grid), x, f)
    if impl == "pykan":
        return _torch(pykan_model(list(widths), grid, fit_mode=True), x, f)
    raise ValueError(impl)


WORKLOADS = [
    Workload(
        name="kan_poisson", title="KAN [2, 10, 1] G=10 Poisson step (Laplacian residual), "
        "10,000 points, Adam",
        impls=["lamina", "efficient-kan", "pykan"], lamina=["lamina"], make=make,
        items=lambda impl, smoke: SMOKE[2] if smoke else POINTS,
        notes="Lamina: lamina_trainer_step_terms with one laplacian term (second-order jet "
              "passes). efficient-kan: dense Cox-de Boor bases + two GEMMs per layer; pykan: "
              "KAN with symbolic branch and save_act off (pykan-fit mode); both take the "
              "Laplacian by nested autograd.grad(create_graph=True) and step torch.optim.Adam. "
              "Initial weights differ between sides (each library's own init); the work per "
              "step does not depend on them."),
]
