"""Solve Poisson's equation with a KAN, as pykan's PDE tutorial (Example_6) does.

    Laplacian u = -2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2,  u = 0 on the boundary,

whose solution is u = sin(pi x) sin(pi y). A KAN [2, 2, 1] with G = 5 is trained on
alpha * mean(residual^2) at 441 random interior points plus mean(u^2) at 84 boundary points
(alpha = 0.01), 20 L-BFGS steps, its grids moved to the interior points every 5 steps. The
Laplacian comes from Lamina's derivative passes; nothing is differentiated by autograd.

    python bindings/python/examples/poisson_kan.py [--seed 2] [--no-grid-updates]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2, help="the KAN's initial weights")
    parser.add_argument("--no-grid-updates", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    interior = rng.uniform(-1, 1, (441, 2)).astype(np.float32)
    source = -2 * np.pi**2 * np.sin(np.pi * interior[:, 0]) * np.sin(np.pi * interior[:, 1])
    t = np.linspace(-1, 1, 21, dtype=np.float32)
    one = np.ones(21, np.float32)
    boundary = np.concatenate([np.stack(p, 1) for p in ((-one, t), (one, t), (t, -one), (t, one))])

    model = lamina.Model({"kind": "kan", "widths": [2, 2, 1], "grid": 5, "seed": args.seed})
    terms = [
        {"loss": "laplacian", "x": interior, "rhs": source, "weight": 0.01, "name": "pde"},
        {"loss": "boundary", "x": boundary, "y": np.zeros(len(boundary))},
    ]
    start = time.perf_counter()
    history = model.fit_terms(
        terms, steps=20, optimizer="lbfgs", progress=False,
        # pykan's L-BFGS: history 10, strong Wolfe, tolerances 1e-32.
        history_size=10, tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32,
        grid_update_every=0 if args.no_grid_updates else 5, grid_update_term="pde")
    seconds = time.perf_counter() - start

    mesh = np.stack(np.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)
    exact = np.sin(np.pi * mesh[:, 0]) * np.sin(np.pi * mesh[:, 1])
    mse = float(np.mean((model.predict(mesh)[:, 0] - exact) ** 2))
    print(f"20 L-BFGS steps in {seconds:.2f} s: pde loss {history['pde'][-1]:.3g}, "
          f"boundary loss {history['boundary'][-1]:.3g}")
    print(f"mean squared error against sin(pi x) sin(pi y) on a 21 x 21 mesh: {mse:.3g} "
          "(pykan's notebook: 3.8e-3)")


if __name__ == "__main__":
    main()
