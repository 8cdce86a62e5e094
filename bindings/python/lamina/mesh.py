"""Triangle meshes as numpy arrays, and their conversion to and from ``lamina_mesh`` handles.

A mesh crosses the Python API as ``(vertices, faces)``: ``vertices`` is a float32 array of
shape ``(V, 3)`` and ``faces`` a uint32 array of shape ``(F, 3)`` whose rows list a
triangle's vertex indices counter-clockwise seen from outside.
"""

from __future__ import annotations

import ctypes
from typing import Iterator, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _library
from .errors import ShapeError

__all__ = ["MeshHandle", "as_vertices", "as_faces"]


def as_vertices(vertices: ArrayLike, what: str = "vertices") -> np.ndarray:
    """Return ``vertices`` as a C-contiguous float32 ``(V, 3)`` array (copying only if needed)."""
    array = np.ascontiguousarray(np.asarray(vertices, dtype=np.float32))
    if array.ndim != 2 or array.shape[1] != 3:
        raise ShapeError(f"{what} must have shape (V, 3), not {array.shape}")
    return array


def as_faces(faces: ArrayLike, what: str = "faces") -> np.ndarray:
    """Return ``faces`` as a C-contiguous uint32 ``(F, 3)`` array; negative indices are refused."""
    raw = np.asarray(faces)
    if raw.ndim != 2 or raw.shape[1] != 3:
        raise ShapeError(f"{what} must have shape (F, 3), not {raw.shape}")
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        raise ShapeError(f"{what} must hold integer vertex indices, not {raw.dtype}")
    if raw.size and raw.min() < 0:
        raise ShapeError(f"{what} holds a negative vertex index ({raw.min()})")
    return np.ascontiguousarray(raw, dtype=np.uint32)


class MeshHandle:
    """An owned ``lamina_mesh`` handle (freed when this object is collected or closed)."""

    def __init__(self, handle: ctypes.c_void_p) -> None:
        self._handle: Optional[ctypes.c_void_p] = handle

    @classmethod
    def from_arrays(cls, vertices: ArrayLike, faces: ArrayLike) -> "MeshHandle":
        """Make a mesh handle from ``(V, 3)`` vertices and ``(F, 3)`` faces (both copied)."""
        v = as_vertices(vertices)
        f = as_faces(faces)
        handle = ctypes.c_void_p()
        lib = _library.lib()
        _library.check(
            lib.lamina_mesh_create(
                v.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                v.shape[0],
                f.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
                f.shape[0],
                ctypes.byref(handle),
            )
        )
        return cls(handle)

    @property
    def ptr(self) -> ctypes.c_void_p:
        """The raw handle for C calls; raises if the mesh was closed."""
        if self._handle is None:
            raise ValueError("the mesh handle was closed")
        return self._handle

    def close(self) -> None:
        """Free the handle now (idempotent)."""
        if self._handle is not None:
            _library.lib().lamina_mesh_free(self._handle)
            self._handle = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def _read(self, function: str, dtype: type, ctype: type) -> np.ndarray:
        lib = _library.lib()
        call = getattr(lib, function)
        length = ctypes.c_size_t()
        _library.check(call(self.ptr, None, 0, ctypes.byref(length)))
        out = np.empty(length.value, dtype=dtype)
        if length.value:
            _library.check(
                call(self.ptr, out.ctypes.data_as(ctypes.POINTER(ctype)), out.size, ctypes.byref(length))
            )
        return out

    def vertices(self) -> np.ndarray:
        """The vertex positions, float32 ``(V, 3)``."""
        return self._read("lamina_mesh_vertices", np.float32, ctypes.c_float).reshape(-1, 3)

    def faces(self) -> np.ndarray:
        """The triangles, uint32 ``(F, 3)``."""
        return self._read("lamina_mesh_faces", np.uint32, ctypes.c_uint32).reshape(-1, 3)

    def normals(self) -> Optional[np.ndarray]:
        """Per-vertex unit normals, float32 ``(V, 3)``, or None when the mesh has none."""
        values = self._read("lamina_mesh_normals", np.float32, ctypes.c_float)
        return values.reshape(-1, 3) if values.size else None

    def arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(vertices, faces)`` as numpy arrays."""
        return self.vertices(), self.faces()

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.arrays())
