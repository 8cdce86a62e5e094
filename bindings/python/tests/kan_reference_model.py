"""The deterministic B-spline KAN that the pykan reference scripts build (Tests/Reference's
kan_prune_reference.py, kan_reg_reference.py and kan_reg_metrics_reference.py), rebuilt
through Lamina so that tests can compare against the values those scripts printed."""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

import lamina

# pykan's knots for grid 5 on [-1, 1], k = 3 (float32 arithmetic, hence the +-0.2 values).
KNOTS = [-2.2, -1.8, -1.4, -1.0, -0.6, -0.19999998807907104, 0.19999998807907104, 0.6, 1.0,
         1.4, 1.8, 2.2]


def fill(shape: Tuple[int, ...], phase: float) -> np.ndarray:
    """The reference scripts' deterministic tensor values."""
    count = int(np.prod(shape))
    v = [0.8 * math.sin(1.3 * q + phase) + 0.1 * math.cos(0.7 * q) for q in range(count)]
    return np.asarray(v, dtype=np.float32).reshape(shape)


def reference_model(width: Sequence[int]) -> lamina.KAN:
    """A grid-5, k-3 KAN of `width` holding the scripts' tensors, edge (0, 1, 2) masked."""
    model = lamina.KAN(width=list(width), grid=5, k=3, seed=0)
    state = model.state_dict()
    for l, (a, b) in enumerate(zip(width[:-1], width[1:])):
        state[f"{l}.coef"] = fill((a, b, 8), 0.3 + l)
        state[f"{l}.scale_base"] = fill((a, b), 1.1 + l)
        state[f"{l}.scale_sp"] = (0.5 + 0.5 * np.abs(fill((a, b), 2.2 + l))).astype(np.float32)
        state[f"{l}.mask"] = np.ones((a, b), dtype=np.float32)
        state[f"{l}.grid"] = np.tile(np.asarray(KNOTS, dtype=np.float32), (a, 1))
    state["0.mask"][1, 2] = 0
    model.load_state_dict(state)
    return model


def reference_inputs() -> np.ndarray:
    """The scripts' 16 fixed samples of two inputs."""
    return np.asarray(
        [[math.sin(0.9 * s + 0.2), math.cos(1.7 * s)] for s in range(16)], dtype=np.float32
    )
