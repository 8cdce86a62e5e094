"""pykan's B-spline helpers (``kan.spline``): ``B_batch``, ``extend_grid``, ``coef2curve``,
``curve2coef``, in numpy (torch tensors in give tensors out).

Layouts are pykan's: x (batch, in), grid (in, knots), coef (in, out, G + k), basis values
(batch, in, G + k). They describe the engine's B-spline edges: a layer's ``"<l>.grid"`` and
``"<l>.coef"`` tensors plug in directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensors import check_device, like, to_numpy

__all__ = ["B_batch", "extend_grid", "coef2curve", "curve2coef"]


def _basis(x: np.ndarray, grid: np.ndarray, k: int) -> np.ndarray:
    """Cox-de Boor: order-k B-splines on each input's knots; x (batch, in), grid (in, m)."""
    xs = x[:, :, None]
    knots = grid[None, :, :]
    value = ((xs >= knots[:, :, :-1]) & (xs < knots[:, :, 1:])).astype(np.float64)
    for order in range(1, k + 1):
        left_span = knots[:, :, order:-1] - knots[:, :, : -(order + 1)]
        right_span = knots[:, :, order + 1 :] - knots[:, :, 1:-order]
        with np.errstate(divide="ignore", invalid="ignore"):
            left = (xs - knots[:, :, : -(order + 1)]) / left_span * value[:, :, :-1]
            right = (knots[:, :, order + 1 :] - xs) / right_span * value[:, :, 1:]
        value = np.nan_to_num(left + right)  # degenerate (repeated) knots contribute nothing
    return value


def B_batch(x: Any, grid: Any, k: int = 0, extend: bool = True, device: str = "cpu") -> Any:  # noqa: N802
    """The order-``k`` B-spline basis at x (batch, in) on grid (in, knots): (batch, in,
    knots - k - 1), as pykan's ``B_batch``."""
    check_device(device, "B_batch")
    xs = np.asarray(to_numpy(x), dtype=np.float64)
    knots = np.asarray(to_numpy(grid), dtype=np.float64)
    return like(_basis(xs, knots, int(k)).astype(np.float32), x)


def coef2curve(x_eval: Any, grid: Any, coef: Any, k: int, device: str = "cpu") -> Any:
    """Spline values sum_m coef[i, j, m] B_m(x[:, i]): (batch, in, out)."""
    check_device(device, "coef2curve")
    basis = _basis(np.asarray(to_numpy(x_eval), np.float64), np.asarray(to_numpy(grid), np.float64), int(k))
    values = np.einsum("bim,iom->bio", basis, np.asarray(to_numpy(coef), np.float64))
    return like(values.astype(np.float32), x_eval)


def curve2coef(x_eval: Any, y_eval: Any, grid: Any, k: int) -> Any:
    """Least-squares coefficients (in, out, G + k) whose splines match y_eval (batch, in,
    out) at x_eval (batch, in)."""
    xs = np.asarray(to_numpy(x_eval), np.float64)
    ys = np.asarray(to_numpy(y_eval), np.float64)
    basis = _basis(xs, np.asarray(to_numpy(grid), np.float64), int(k))
    n_in, n_out = xs.shape[1], ys.shape[2]
    coef = np.empty((n_in, n_out, basis.shape[2]))
    for i in range(n_in):
        coef[i] = np.linalg.lstsq(basis[:, i, :], ys[:, i, :], rcond=None)[0].T
    return like(coef.astype(np.float32), x_eval)


def extend_grid(grid: Any, k_extend: int = 0) -> Any:
    """``grid`` (in, m) with ``k_extend`` more knots on each side at its mean spacing."""
    knots = np.asarray(to_numpy(grid), dtype=np.float64)
    h = (knots[:, -1:] - knots[:, :1]) / (knots.shape[1] - 1)
    steps = np.arange(1, int(k_extend) + 1)
    before = knots[:, :1] - h * steps[::-1][None, :]
    after = knots[:, -1:] + h * steps[None, :]
    return like(np.concatenate([before, knots, after], axis=1).astype(np.float32), grid)
