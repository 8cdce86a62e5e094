"""Analytic shapes and marching cubes.

Example::

    import lamina

    torus = {"type": "torus", "major": 0.5, "minor": 0.2}
    d = lamina.shape_sdf(torus, [[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]])   # [-0.2, 0.3]
    vertices, faces = lamina.shape_mesh(torus, resolution=128)

Shapes are dicts in the JSON form documented in ``include/lamina.h`` (sphere, box, torus,
capsule, cylinder, union, intersection, difference; every key but ``"type"`` has a
default). Grids of values are numpy ``[nx, ny, nz]`` arrays in C order, x slowest, as
scikit-image's ``measure.marching_cubes`` takes them; sample ``(i, j, k)`` sits at
``lower + (i, j, k) * (upper - lower) / (n - 1)``. Inside is ``value < level``; triangles are
counter-clockwise seen from outside.
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _library
from .errors import ShapeError
from .mesh import MeshHandle

__all__ = ["marching_cubes", "shape_gradient", "shape_mesh", "shape_sdf"]

ShapeSpec = Union[Mapping[str, Any], str]
Bounds = Optional[Sequence[float]]


def _shape_json(shape: ShapeSpec) -> bytes:
    return (shape if isinstance(shape, str) else json.dumps(shape)).encode("utf-8")


def _points(points: ArrayLike) -> np.ndarray:
    array = np.ascontiguousarray(np.asarray(points, dtype=np.float32))
    if array.ndim != 2 or array.shape[1] != 3:
        raise ShapeError(f"points must have shape (N, 3), not {array.shape}")
    return array


def _bounds(bounds: Bounds) -> Optional[np.ndarray]:
    """6 floats (xmin, ymin, zmin, xmax, ymax, zmax), from that or from a (2, 3) array."""
    if bounds is None:
        return None
    array = np.ascontiguousarray(np.asarray(bounds, dtype=np.float32).reshape(-1))
    if array.size != 6:
        raise ShapeError(
            "bounds must be (xmin, ymin, zmin, xmax, ymax, zmax) or [[xmin, ymin, zmin], [xmax, ymax, zmax]]"
        )
    return array


def _bounds_pointer(array: Optional[np.ndarray]) -> Any:
    return None if array is None else _library.as_float_pointer(array)


def shape_sdf(shape: ShapeSpec, points: ArrayLike) -> np.ndarray:
    """Signed distance (negative inside) of ``shape`` at ``points`` ``(N, 3)``: float32 ``(N,)``."""
    p = _points(points)
    out = np.empty(p.shape[0], dtype=np.float32)
    _library.check(
        _library.lib().lamina_shape_sdf(
            _shape_json(shape), _library.as_float_pointer(p), p.shape[0], _library.as_float_pointer(out)
        )
    )
    return out


def shape_gradient(shape: ShapeSpec, points: ArrayLike) -> np.ndarray:
    """Gradient of the signed distance (outward unit normal on the surface): float32 ``(N, 3)``."""
    p = _points(points)
    out = np.empty_like(p)
    _library.check(
        _library.lib().lamina_shape_gradient(
            _shape_json(shape), _library.as_float_pointer(p), p.shape[0], _library.as_float_pointer(out), None
        )
    )
    return out


def _mesh_result(handle: ctypes.c_void_p, normals: bool) -> Tuple[np.ndarray, ...]:
    mesh = MeshHandle(handle)
    try:
        vertices, faces = mesh.arrays()
        if normals:
            n = mesh.normals()
            return vertices, faces, (n if n is not None else np.zeros_like(vertices))
        return vertices, faces
    finally:
        mesh.close()


def shape_mesh(
    shape: ShapeSpec, resolution: int = 128, bounds: Bounds = None, normals: bool = False
) -> Tuple[np.ndarray, ...]:
    """Marching cubes of ``shape`` on a ``resolution``\\ ^3 grid over ``bounds`` (default
    [-1, 1]^3): ``(vertices (V, 3) float32, faces (F, 3) uint32)``, plus unit vertex normals
    from the analytic gradient when ``normals`` is true."""
    b = _bounds(bounds)
    handle = ctypes.c_void_p()
    _library.check(
        _library.lib().lamina_shape_mesh(
            _shape_json(shape), int(resolution), _bounds_pointer(b), ctypes.byref(handle)
        )
    )
    return _mesh_result(handle, normals)


def marching_cubes(
    values: ArrayLike, bounds: Bounds = None, level: float = 0.0, normals: bool = False
) -> Tuple[np.ndarray, ...]:
    """Marching cubes of a ``[nx, ny, nz]`` grid of samples spanning ``bounds`` (default
    [-1, 1]^3; the first and last samples lie on them) at ``level``: ``(vertices, faces)``,
    plus unit vertex normals (central differences of the grid) when ``normals`` is true.
    scikit-image's ``marching_cubes(values, level, spacing=(upper - lower) / (n - 1))``
    gives nearly the same surface shifted by ``-lower`` (it adds vertices inside some
    ambiguous cubes)."""
    grid = np.ascontiguousarray(np.asarray(values, dtype=np.float32))
    if grid.ndim != 3:
        raise ShapeError(f"values must be a 3-D array [nx, ny, nz], not {grid.shape}")
    b = _bounds(bounds)
    handle = ctypes.c_void_p()
    nx, ny, nz = grid.shape
    _library.check(
        _library.lib().lamina_marching_cubes(
            _library.as_float_pointer(grid), nx, ny, nz, _bounds_pointer(b), float(level), ctypes.byref(handle)
        )
    )
    return _mesh_result(handle, normals)
