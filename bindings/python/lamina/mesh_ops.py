"""Mesh files, signed distance and training-point sampling for triangle meshes.

Meshes are ``(vertices, faces)`` numpy pairs (see :mod:`lamina.mesh`). Every function that
takes ``vertices, faces`` also accepts a :class:`~lamina.mesh.MeshHandle` as ``vertices``
with ``faces=None``: the handle keeps the bounding volume hierarchy built by its first
query, so repeated queries on one mesh should reuse a handle::

    import lamina
    from lamina.mesh import MeshHandle

    vertices, faces = lamina.load_mesh("bunny.ply")
    sdf = lamina.mesh_sdf(vertices, faces, points)          # builds a hierarchy each call
    handle = MeshHandle.from_arrays(vertices, faces)
    for batch in batches:
        sdf = lamina.mesh_sdf(handle, None, batch)          # builds it once

Signed distances are negative inside (inside: generalized winding number > 0.5, so meshes
with small cracks still get correct signs); occupancy is ``sdf < 0``.

An unoriented point cloud (no triangles, no normals) gives unsigned-distance labels
instead, as the tri-plane paper's code makes them::

    udf = lamina.point_cloud_distance(cloud, points)        # (N,) float32, >= 0
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _library
from .errors import ShapeError
from .mesh import MeshHandle

__all__ = [
    "load_mesh",
    "save_mesh",
    "mesh_sdf",
    "mesh_winding_number",
    "mesh_closest_point",
    "sample_surface",
    "sample_sdf_points",
    "point_cloud_distance",
]

MeshLike = Union[ArrayLike, MeshHandle]
_float_p = ctypes.POINTER(ctypes.c_float)


def _handle(vertices: MeshLike, faces: Optional[ArrayLike]) -> MeshHandle:
    if isinstance(vertices, MeshHandle):
        if faces is not None:
            raise ShapeError("pass faces=None when vertices is a MeshHandle")
        return vertices
    if faces is None:
        raise ShapeError("faces is required unless vertices is a MeshHandle")
    return MeshHandle.from_arrays(vertices, faces)


def _points(points: ArrayLike, name: str = "points") -> np.ndarray:
    array = np.ascontiguousarray(np.asarray(points, dtype=np.float32))
    if array.ndim != 2 or array.shape[1] != 3:
        raise ShapeError(f"{name} must have shape (N, 3), not {array.shape}")
    return array


def load_mesh(path: "os.PathLike[str] | str") -> Tuple[np.ndarray, np.ndarray]:
    """Read an ``.obj`` or ``.ply`` (ASCII or binary little-endian) triangle mesh.

    Polygons are fan-triangulated. Returns ``(vertices, faces)``: float32 ``(V, 3)`` and
    uint32 ``(F, 3)``. Raises :class:`~lamina.errors.FormatError` for a malformed file,
    :class:`~lamina.errors.LaminaIOError` when it cannot be read.
    """
    handle = ctypes.c_void_p()
    _library.check(_library.lib().lamina_mesh_load(_library.encode_path(path), ctypes.byref(handle)))
    return MeshHandle(handle).arrays()


def save_mesh(path: "os.PathLike[str] | str", vertices: MeshLike, faces: Optional[ArrayLike] = None) -> None:
    """Write a mesh as ``.obj`` or binary ``.ply`` (by extension), atomically."""
    mesh = _handle(vertices, faces)
    _library.check(_library.lib().lamina_mesh_save(mesh.ptr, _library.encode_path(path)))


def mesh_sdf(vertices: MeshLike, faces: Optional[ArrayLike], points: ArrayLike) -> np.ndarray:
    """Signed distance from the mesh to each point, float32 ``(N,)``, negative inside.

    Exact Euclidean distance to the nearest triangle (BVH-accelerated); the sign is from the
    fast generalized winding number (inside when above 0.5). ``points`` is ``(N, 3)``.
    """
    return _per_point("lamina_mesh_signed_distance", vertices, faces, points)


def mesh_winding_number(vertices: MeshLike, faces: Optional[ArrayLike], points: ArrayLike) -> np.ndarray:
    """Generalized winding number at each point, float32 ``(N,)``: ~1 inside, ~0 outside."""
    return _per_point("lamina_mesh_winding_number", vertices, faces, points)


def mesh_closest_point(
    vertices: MeshLike, faces: Optional[ArrayLike], points: ArrayLike
) -> Tuple[np.ndarray, np.ndarray]:
    """Nearest mesh point to each query: ``(closest (N, 3) float32, triangle (N,) uint32)``."""
    mesh = _handle(vertices, faces)
    q = _points(points)
    closest = np.empty((q.shape[0], 3), dtype=np.float32)
    triangles = np.empty(q.shape[0], dtype=np.uint32)
    if q.shape[0]:
        _library.check(
            _library.lib().lamina_mesh_closest_point(
                mesh.ptr,
                q.ctypes.data_as(_float_p),
                q.shape[0],
                closest.ctypes.data_as(_float_p),
                triangles.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
            )
        )
    return closest, triangles


def sample_surface(
    vertices: MeshLike,
    faces: Optional[ArrayLike],
    n: int,
    seed: int = 0,
    return_normals: bool = False,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """``n`` points uniform over the surface by area, float32 ``(n, 3)``.

    With ``return_normals=True``, also the unit normal of each point's triangle. The same
    seed gives the same points.
    """
    mesh = _handle(vertices, faces)
    n = int(n)
    if n < 0:
        raise ShapeError(f"n must be >= 0, not {n}")
    points = np.empty((n, 3), dtype=np.float32)
    normals = np.empty((n, 3), dtype=np.float32) if return_normals else None
    if n:
        _library.check(
            _library.lib().lamina_mesh_sample_surface(
                mesh.ptr,
                n,
                int(seed),
                points.ctypes.data_as(_float_p),
                normals.ctypes.data_as(_float_p) if normals is not None else None,
            )
        )
    return (points, normals) if return_normals else points


def sample_sdf_points(
    vertices: MeshLike,
    faces: Optional[ArrayLike],
    n: int,
    near_fraction: float = 0.5,
    sigma: float = 0.01,
    sigma_far: float = 0.0,
    bounds: Sequence[float] = (-1.0, 1.0),
    seed: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Training points for a signed distance field and their signed distances.

    A ``near_fraction`` share of the ``n`` points are area-uniform surface samples offset by
    Gaussian noise of std ``sigma`` (every second one by ``sigma_far`` instead when it is
    > 0), clamped into the box; the rest are uniform in the box. ``bounds`` is
    ``(low, high)`` for every axis or ``(x_lo, y_lo, z_lo, x_hi, y_hi, z_hi)``. The points
    are shuffled together. Returns ``(points (n, 3) float32, sdf (n,) float32)``; occupancy
    is ``sdf < 0``. The same seed gives the same points.
    """
    mesh = _handle(vertices, faces)
    n = int(n)
    if n < 0:
        raise ShapeError(f"n must be >= 0, not {n}")
    options = json.dumps(
        {
            "near_fraction": float(near_fraction),
            "sigma": float(sigma),
            "sigma_far": float(sigma_far),
            "bounds": [float(b) for b in bounds],
            "seed": int(seed),
        }
    )
    points = np.empty((n, 3), dtype=np.float32)
    sdf = np.empty(n, dtype=np.float32)
    _library.check(
        _library.lib().lamina_mesh_sample_points(
            mesh.ptr, options.encode("utf-8"), n, points.ctypes.data_as(_float_p), sdf.ctypes.data_as(_float_p)
        )
    )
    return points, sdf


def point_cloud_distance(
    points: ArrayLike, queries: ArrayLike, return_index: bool = False
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Unsigned distance from each query to the nearest point of a cloud, float32 ``(M,)``.

    ``points`` is the cloud, ``(N, 3)`` with ``N >= 1``; ``queries`` is ``(M, 3)``. The
    distance is exact Euclidean (a k-d tree built for the call, queries in parallel; the
    same on any thread count), as ``scipy.spatial.cKDTree(points).query(queries)[0]`` in
    float32. With ``return_index=True``, also the index of each query's nearest point, uint32
    ``(M,)``: the lowest index among equally near points (duplicates included). Unsigned
    distances for training a field on an unoriented point cloud (``loss="unsigned_distance"``).

    Raises :class:`~lamina.errors.ShapeError` for arrays not ``(_, 3)``,
    :class:`~lamina.errors.InvalidArgumentError` for an empty cloud and
    :class:`~lamina.errors.NumericError` for a NaN or infinite coordinate.
    """
    cloud = _points(points, "points")
    q = _points(queries, "queries")
    distances = np.empty(q.shape[0], dtype=np.float32)
    index = np.empty(q.shape[0], dtype=np.uint32) if return_index else None
    _library.check(
        _library.lib().lamina_point_cloud_distance(
            cloud.ctypes.data_as(_float_p),
            cloud.shape[0],
            q.ctypes.data_as(_float_p),
            q.shape[0],
            distances.ctypes.data_as(_float_p),
            index.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)) if index is not None else None,
        )
    )
    return (distances, index) if index is not None else distances


def _per_point(function: str, vertices: MeshLike, faces: Optional[ArrayLike], points: ArrayLike) -> np.ndarray:
    """One float32 per point from the C function ``function(mesh, points, n, out)``."""
    mesh = _handle(vertices, faces)
    q = _points(points)
    out = np.empty(q.shape[0], dtype=np.float32)
    if q.shape[0]:
        _library.check(
            getattr(_library.lib(), function)(
                mesh.ptr, q.ctypes.data_as(_float_p), q.shape[0], out.ctypes.data_as(_float_p)
            )
        )
    return out
