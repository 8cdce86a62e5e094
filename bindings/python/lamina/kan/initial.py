"""pykan's initial weights, drawn with torch exactly as pykan 0.2.8 draws them.

``KAN(width, grid, k, seed, noise_scale, scale_base_mu, scale_base_sigma)`` in pykan seeds
torch, numpy and random with ``seed`` and then, layer by layer, draws the spline noise and
``scale_base`` from torch's generator (kan/KANLayer.py). With torch installed,
:class:`lamina.kan.KAN` makes the same draws, in torch's default dtype, so the same seed
starts from pykan's weights (up to the least-squares rounding of the initial coefficients)
and a pykan script reproduces pykan's run. The draws, the knots and the least-squares fit
are written here; the network is the engine's.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Sequence

import numpy as np

from .spline import _basis


def pykan_initial_state(
    torch: Any,
    width_in: Sequence[int],
    width_out: Sequence[int],
    grid: int,
    k: int,
    noise_scale: float,
    scale_base_mu: float,
    scale_base_sigma: float,
    grid_range: Sequence[float],
    seed: int,
    masks: List[np.ndarray],
) -> List[Dict[str, np.ndarray]]:
    """Per KAN layer: ``grid``, ``coef``, ``scale_base``, ``scale_sp`` (float32 arrays in the
    engine's layouts), drawn as pykan's MultKAN(seed=seed) draws them. ``masks[l]`` is the
    layer's initial mask (pykan multiplies ``scale_sp`` by it)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    layers = []
    for l in range(len(width_in) - 1):
        n_in, n_out = int(width_in[l]), int(width_out[l + 1])
        knots = torch.linspace(grid_range[0], grid_range[1], steps=grid + 1)[None, :].expand(n_in, grid + 1)
        step = (knots[:, [-1]] - knots[:, [0]]) / (knots.shape[1] - 1)
        for _ in range(k):  # pykan's extend_grid
            knots = torch.cat([knots[:, [0]] - step, knots], dim=1)
            knots = torch.cat([knots, knots[:, [-1]] + step], dim=1)
        noises = (torch.rand(grid + 1, n_in, n_out) - 1 / 2) * noise_scale / grid
        scale_base = scale_base_mu * 1 / np.sqrt(n_in) + scale_base_sigma * (torch.rand(n_in, n_out) * 2 - 1) * 1 / np.sqrt(n_in)
        knots64 = knots.double().numpy()
        points = knots64[:, k:-k].T  # (grid + 1, in): the initial grid's own knots
        basis = _basis(points, knots64, k)  # (grid + 1, in, grid + k)
        values = noises.double().numpy()
        coef = np.empty((n_in, n_out, grid + k))
        for i in range(n_in):
            coef[i] = np.linalg.lstsq(basis[:, i, :], values[:, i, :], rcond=None)[0].T
        mask = masks[l].astype(np.float64)
        layers.append({
            "grid": knots64.astype(np.float32),
            "coef": coef.astype(np.float32),
            "scale_base": scale_base.double().numpy().astype(np.float32),
            "scale_sp": (np.ones((n_in, n_out)) / np.sqrt(n_in) * mask).astype(np.float32),
        })
    return layers
