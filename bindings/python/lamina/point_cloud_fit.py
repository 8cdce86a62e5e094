"""Fitting a field to a point cloud without distances (``lamina_model_fit_points``).

With normals the field becomes a signed distance, as in IGR: it is 0 on the points, its
gradient there is the normal, its gradient has unit length at "space" points around the
cloud, and a far-field term fits it, at those space points, to the distance to the nearest
cloud point signed by that point's normal. Without normals it fits the unsigned distance
to the cloud (the tri-plane paper's recipe for point clouds). Every option left at
``None`` takes the library's default (listed in :meth:`lamina.Model.fit_points`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from . import _library
from .errors import InvalidArgumentError
from .model import as_float32, to_json
from .terms import TermsHistory, run_term_fit

__all__ = ["fit_points"]

#: Floats per history row of ``lamina_model_fit_points``: the objective, then the value,
#: normal, eikonal and far-field terms' losses.
_WIDTH = 5
_COLUMNS = {"value": 1, "normal": 2, "eikonal": 3, "far": 4}


def _cloud(values: Any, what: str) -> np.ndarray:
    """``values`` as an (n, 3) float32 array (torch tensors welcome)."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    array = as_float32(values, what)
    if array.ndim != 2 or array.shape[1] != 3:
        raise InvalidArgumentError(f"{what} must have shape (n, 3), not {array.shape}")
    return np.ascontiguousarray(array)


def term_names(oriented: bool, far_weight: Optional[float]) -> List[str]:
    """The history's term names: value, normal, eikonal and far with normals (far only
    when its weight is not 0), value and eikonal without."""
    if not oriented:
        return ["value", "eikonal"]
    names = ["value", "normal", "eikonal"]
    return names + ["far"] if far_weight is None or far_weight > 0 else names


def fit_points(
    model: Any,
    points: Any,
    normals: Any,
    steps: int,
    options: Dict[str, Any],
    progress: Any,
    on_divergence: str,
) -> TermsHistory:
    """Fit ``model`` to the cloud (see :meth:`lamina.Model.fit_points`)."""
    cloud = _cloud(points, "points")
    oriented = normals is not None
    directions = _cloud(normals, "normals") if oriented else None
    if directions is not None and directions.shape != cloud.shape:
        raise InvalidArgumentError(
            f"normals have shape {directions.shape} but points {cloud.shape}"
        )
    if cloud.shape[0] == 0:
        raise InvalidArgumentError("fit_points needs at least one point")
    given = {k: v for k, v in options.items() if v is not None}
    given["steps"] = steps
    text = to_json(given, "fit_points options").encode("utf-8")
    names = term_names(oriented, given.get("far_weight"))
    lib = _library.lib()
    normal_pointer = None if directions is None else _library.as_float_pointer(directions)

    def call(callback: Any, rows: Any, cap: int, done: Any) -> int:
        return lib.lamina_model_fit_points(
            model._ptr, _library.as_float_pointer(cloud), normal_pointer, cloud.shape[0], text,
            callback, None, rows, cap, done,
        )

    return run_term_fit(
        call, names, [_COLUMNS[n] for n in names], _WIDTH, steps, progress, on_divergence
    )
