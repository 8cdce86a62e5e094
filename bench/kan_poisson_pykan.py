#!/usr/bin/env python3
"""Lamina's Poisson solve from pykan's exact starting point, per seed.

pykan's Example_6 set-up (KAN [2, 2, 1], G = 5; 441 interior points drawn as the notebook
draws them after seeding torch; 84 boundary mesh points; 0.01 pde + boundary; 20 L-BFGS
steps with pykan's settings; grids updated from the interior points every 5 steps). For
each seed, pykan's initial weights are copied into a Lamina KAN (same tensor names and
layouts), Lamina trains it with `fit_terms`, and the interior mean squared error against
sin(pi x) sin(pi y) is printed. Running pykan's own loop on the same seeds gives the figures
to compare with (bench/NOTES.md lists both). Needs .venv-bench (torch, pykan):

    PYTHONPATH=bindings/python LAMINA_LIBRARY=build/lib/liblamina.so \
        .venv-bench/bin/python bench/kan_poisson_pykan.py [--seeds 6]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from kan import KAN

import lamina


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t = np.linspace(-1, 1, 21, dtype=np.float32)
    one = np.ones(21, np.float32)
    boundary = np.concatenate([np.stack(p, 1) for p in ((-one, t), (one, t), (t, -one), (t, one))])
    for seed in range(args.seeds):
        reference = KAN(width=[2, 2, 1], grid=5, k=3, seed=seed, device="cpu", auto_save=False)
        torch.manual_seed(seed)
        interior = (torch.rand((441, 2)) * 2 - 1).numpy()
        model = lamina.Model({"kind": "kan", "widths": [2, 2, 1], "grid": 5, "seed": seed})
        state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
        model.load_state_dict({name: state[f"act_fun.{name}"] for name in model.tensor_names()})
        start_gap = float(np.abs(model.predict(interior)[:, 0]
                                 - reference(torch.from_numpy(interior))[:, 0].detach().numpy()).max())
        source = -2 * np.pi**2 * np.sin(np.pi * interior[:, 0]) * np.sin(np.pi * interior[:, 1])
        model.fit_terms(
            [{"loss": "laplacian", "x": interior, "rhs": source, "weight": 0.01, "name": "pde"},
             {"loss": "boundary", "x": boundary, "y": np.zeros(len(boundary))}],
            steps=20, optimizer="lbfgs", progress=False, history_size=10, tolerance_grad=1e-32,
            tolerance_change=1e-32, tolerance_ys=1e-32, grid_update_every=5,
            grid_update_term="pde")
        exact = np.sin(np.pi * interior[:, 0]) * np.sin(np.pi * interior[:, 1])
        mse = float(np.mean((model.predict(interior)[:, 0] - exact) ** 2))
        print(f"seed {seed}: start differs from pykan's by {start_gap:.1e}; Lamina MSE {mse:.3g}")


if __name__ == "__main__":
    main()
