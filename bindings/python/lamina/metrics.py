"""Surface-reconstruction metrics: IoU of inside/outside, Chamfer distance, F-score and
normal consistency.

Meshes are ``(vertices, faces)`` pairs (see :mod:`lamina.mesh`). The mesh metrics sample
both surfaces area-uniformly (``samples`` points each; mesh ``a`` with ``seed``, ``b`` with
``seed + 1``) and match every sample to the nearest sample of the other mesh (exact, k-d
tree), as ``lamina_mesh_compare`` in lamina.h documents:

- Chamfer: ``(mean_a d(a, B) + mean_b d(b, A)) / 2`` with Euclidean (L2, not squared)
  distances;
- F-score at ``threshold``: harmonic mean of precision (``a``'s samples within the
  threshold of ``b``) and recall (``b``'s within it of ``a``); read ``a`` as the prediction;
- normal consistency: mean ``|n . n'|`` of nearest pairs' triangle normals, both directions;
- volumetric IoU of the insides (closed meshes): ``samples`` points uniform in the union of
  the two bounding boxes (grown by 1% of its largest side; seed ``seed + 2``), inside where
  the generalized winding number is above 0.5; points inside both over points inside either.

Example::

    import lamina
    from lamina import metrics

    mesh = lamina.shape_mesh({"type": "sphere", "radius": 0.5}, resolution=64)
    ref = lamina.shape_mesh({"type": "sphere", "radius": 0.5}, resolution=256)
    metrics.compare(mesh, ref)   # {"chamfer", "fscore", "normal_consistency", "iou"}
"""

from __future__ import annotations

import ctypes
from typing import Dict, Sequence, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _library
from .errors import ShapeError
from .mesh import MeshHandle

__all__ = ["chamfer", "compare", "fscore", "iou", "normal_consistency", "volume_iou"]

Mesh = Tuple[ArrayLike, ArrayLike]

#: Default number of surface samples per mesh.
DEFAULT_SAMPLES = 100_000
#: Default F-score threshold (0.01 in [-1, 1]^3, the usual convention).
DEFAULT_THRESHOLD = 0.01


def iou(pred_sdf: ArrayLike, true_sdf: ArrayLike) -> float:
    """Intersection over union of the insides (value < 0) of two sets of values at the same
    points (any shape, equal sizes). 1.0 when both insides are empty."""
    pred = np.asarray(pred_sdf)
    true = np.asarray(true_sdf)
    if pred.shape != true.shape:
        raise ShapeError(f"pred_sdf {pred.shape} and true_sdf {true.shape} differ in shape")
    a = pred < 0
    b = true < 0
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else float(np.count_nonzero(a & b)) / float(union)


def _handle(mesh: Mesh, what: str) -> MeshHandle:
    if isinstance(mesh, MeshHandle):
        return mesh
    if not isinstance(mesh, (tuple, list)) or len(mesh) < 2:
        raise ShapeError(f"{what} must be a (vertices, faces) pair")
    return MeshHandle.from_arrays(mesh[0], mesh[1])


def compare(
    a: Mesh,
    b: Mesh,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    volume: bool = True,
) -> Dict[str, float]:
    """All mesh metrics at once: ``{"chamfer", "fscore", "normal_consistency", "iou"}``.

    ``volume=False`` leaves out ``"iou"`` and its cost (two winding-number queries per
    sample, about as much as the rest together).
    """
    ha = _handle(a, "a")
    hb = _handle(b, "b")
    out = [ctypes.c_float() for _ in range(4)]
    pointers = [ctypes.byref(o) for o in out]
    if not volume:
        pointers[3] = None
    _library.check(
        _library.lib().lamina_mesh_compare(
            ha.ptr, hb.ptr, int(samples), int(seed) & (2**64 - 1), float(threshold), *pointers
        )
    )
    result = {
        "chamfer": float(out[0].value),
        "fscore": float(out[1].value),
        "normal_consistency": float(out[2].value),
    }
    if volume:
        result["iou"] = float(out[3].value)
    return result


def volume_iou(a: Mesh, b: Mesh, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> float:
    """Volumetric IoU of two closed meshes' insides (a Monte Carlo estimate; see above)."""
    return compare(a, b, samples, seed)["iou"]


def chamfer(a: Mesh, b: Mesh, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> float:
    """Chamfer distance (mean of the two directions' mean L2 nearest distances)."""
    return compare(a, b, samples, seed, volume=False)["chamfer"]


def fscore(
    a: Mesh, b: Mesh, threshold: float = DEFAULT_THRESHOLD, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> float:
    """F-score at ``threshold`` (``a`` the prediction, ``b`` the reference)."""
    return compare(a, b, samples, seed, threshold, volume=False)["fscore"]


def normal_consistency(a: Mesh, b: Mesh, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> float:
    """Mean |cos| between the triangle normals of nearest samples, both directions."""
    return compare(a, b, samples, seed, volume=False)["normal_consistency"]
