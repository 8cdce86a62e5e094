"""The shapes of a dataset: finding them, reading them and normalising them into the box.

Meshes are ``.obj`` and ``.ply`` (read by the library, :func:`lamina.load_mesh`) and
``.stl`` (binary or ASCII, read here: the format is a list of triangles, so identical
corners are merged into shared vertices). Point clouds are ``.npy`` arrays of ``(n, 3)``
points or ``(n, 6)`` points and outward normals, and ``.ply`` files with vertices but no
faces.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import FormatError, InvalidArgumentError

__all__ = [
    "Shape",
    "ShapeSource",
    "find_shapes",
    "load_shape",
    "read_shape",
    "read_stl",
    "write_stl",
]

#: File suffixes a folder scan picks up.
SUFFIXES = (".obj", ".ply", ".stl", ".npy")

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass(frozen=True)
class ShapeSource:
    """One input: ``name`` (its path relative to the folder scanned, without the suffix,
    ``/``-separated; unique in the dataset) and the file's ``path``.
    """

    name: str
    path: str


@dataclasses.dataclass
class Shape:
    """A shape read and normalised into the field's box.

    ``vertices`` and ``faces`` for a mesh (``faces`` None for a point cloud, whose
    ``normals`` may be given), in the normalised frame: ``normalised = (source - center) *
    scale``.
    """

    name: str
    vertices: np.ndarray
    faces: Optional[np.ndarray]
    normals: Optional[np.ndarray]
    center: np.ndarray
    scale: float

    def task_entry(self) -> Dict[str, Any]:
        """The shape as a task carries it to a worker (plain arrays and numbers)."""
        return {
            "name": self.name,
            "vertices": self.vertices,
            "faces": self.faces,
            "normals": self.normals,
            "center": self.center,
            "scale": self.scale,
        }

    @property
    def is_mesh(self) -> bool:
        """Whether the shape is a triangle mesh (else a point cloud)."""
        return self.faces is not None


def find_shapes(inputs: Union[PathLike, Iterable[PathLike]]) -> List[ShapeSource]:
    """The shapes of ``inputs``: a folder (searched recursively for .obj, .ply, .stl and .npy
    files, in sorted order) or a list of files (each named by its stem).

    Raises :class:`~lamina.InvalidArgumentError` for a missing path, an unknown suffix or
    two inputs with the same name.
    """
    if isinstance(inputs, (str, os.PathLike)):
        root = Path(inputs)
        if root.is_dir():
            files = sorted(
                p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()
            )
            sources = [
                ShapeSource(p.relative_to(root).with_suffix("").as_posix(), str(p)) for p in files
            ]
            return _unique(sources)
        inputs = [inputs]
    sources = []
    for item in inputs:
        path = Path(item)
        if not path.is_file():
            raise InvalidArgumentError(f"{path}: no such file")
        if path.suffix.lower() not in SUFFIXES:
            raise InvalidArgumentError(
                f"{path}: unknown shape format (known: {', '.join(SUFFIXES)})"
            )
        sources.append(ShapeSource(path.stem, str(path)))
    return _unique(sources)


def _unique(sources: List[ShapeSource]) -> List[ShapeSource]:
    seen = {}
    for source in sources:
        if source.name in seen:
            raise InvalidArgumentError(
                f"two inputs are both named {source.name!r}: {seen[source.name]} and {source.path}"
            )
        seen[source.name] = source.path
    return sources


def load_shape(source: ShapeSource, fill: float) -> Shape:
    """Read ``source`` and normalise it (see :class:`Shape`).

    Raises :class:`~lamina.FormatError` for a file that is not a shape (malformed, empty,
    no triangle of positive area, non-finite coordinates) and the library's errors for one
    it cannot read.
    """
    vertices, faces, normals = read_shape(source.path)
    if vertices.shape[0] == 0:
        raise FormatError(f"{source.path}: no vertices")
    if not np.isfinite(vertices).all():
        raise FormatError(f"{source.path}: non-finite coordinates")
    if faces is not None:
        if faces.shape[0] == 0:
            raise FormatError(f"{source.path}: no triangles")
        corners = vertices[faces.astype(np.int64)]
        area2 = np.linalg.norm(
            np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1
        )
        if not (area2 > 0).any():
            raise FormatError(f"{source.path}: no triangle of positive area")
        used = vertices[np.unique(faces)]
    else:
        used = vertices
    low, high = used.min(axis=0).astype(np.float64), used.max(axis=0).astype(np.float64)
    half = float((high - low).max()) / 2.0
    if not half > 0.0:
        raise FormatError(f"{source.path}: the shape has no extent")
    center = (low + high) / 2.0
    scale = float(fill) / half
    normalised = ((vertices.astype(np.float64) - center) * scale).astype(np.float32)
    return Shape(source.name, normalised, faces, normals, center.astype(np.float64), scale)


def read_shape(path: PathLike) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """Read a shape file as it is: ``(vertices, faces, normals)``, ``faces`` None for a
    point cloud and ``normals`` None unless a point cloud has them.
    """
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".stl":
        vertices, faces = read_stl(path)
        return vertices, faces, None
    if suffix == ".npy":
        return _read_npy_cloud(path)
    return _read_with_library(path)


def _read_npy_cloud(path: str) -> Tuple[np.ndarray, None, Optional[np.ndarray]]:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise FormatError(f"{path}: not a numpy array file ({error})") from None
    if (
        array.ndim != 2
        or array.shape[1] not in (3, 6)
        or not np.issubdtype(array.dtype, np.number)
    ):
        raise FormatError(
            f"{path}: a point cloud must be (n, 3) or (n, 6) numbers, not {array.shape}"
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    normals = array[:, 3:6].copy() if array.shape[1] == 6 else None
    return array[:, :3].copy(), None, normals


def _read_with_library(path: str) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """An OBJ or PLY file, read once through the library's mesh handle; a PLY without faces
    is a point cloud, with its normals when the file has them."""
    import ctypes

    from .. import _library
    from ..mesh import MeshHandle

    handle = ctypes.c_void_p()
    _library.check(
        _library.lib().lamina_mesh_load(_library.encode_path(path), ctypes.byref(handle))
    )
    mesh = MeshHandle(handle)
    try:
        vertices, faces = mesh.arrays()
        if faces.shape[0] == 0 and Path(path).suffix.lower() == ".ply":
            return vertices, None, mesh.normals()
        return vertices, faces, None
    finally:
        mesh.close()


def read_stl(path: PathLike) -> Tuple[np.ndarray, np.ndarray]:
    """Read a binary or ASCII STL file: ``(vertices (V, 3) float32, faces (F, 3) uint32)``,
    identical corners merged so that neighbouring triangles share vertices.

    Raises :class:`~lamina.FormatError` for a malformed file.
    """
    data = Path(path).read_bytes()
    corners = _stl_binary(data) if _is_binary_stl(data) else _stl_ascii(data, str(path))
    if not np.isfinite(corners).all():
        raise FormatError(f"{path}: non-finite coordinates")
    vertices, inverse = np.unique(corners.reshape(-1, 3), axis=0, return_inverse=True)
    faces = inverse.reshape(-1, 3).astype(np.uint32)
    return np.ascontiguousarray(vertices, dtype=np.float32), faces


def _is_binary_stl(data: bytes) -> bool:
    # ASCII files start with "solid", but so do some binary ones: the size decides.
    if len(data) < 84:
        return False
    (count,) = struct.unpack_from("<I", data, 80)
    return len(data) == 84 + 50 * count


def _stl_binary(data: bytes) -> np.ndarray:
    (count,) = struct.unpack_from("<I", data, 80)
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
    return np.frombuffer(data, dtype=record, count=count, offset=84)["corners"].astype(np.float32)


def _stl_ascii(data: bytes, path: str) -> np.ndarray:
    text = data.decode("ascii", errors="replace")
    if not text.lstrip().lower().startswith("solid"):
        raise FormatError(f"{path}: not an STL file (neither binary nor starting with 'solid')")
    values: List[Sequence[float]] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if words and words[0].lower() == "vertex":
            if len(words) != 4:
                raise FormatError(f"{path}:{number}: a vertex needs three coordinates")
            try:
                values.append([float(w) for w in words[1:]])
            except ValueError:
                raise FormatError(f"{path}:{number}: bad vertex coordinates") from None
    if len(values) % 3 != 0:
        raise FormatError(f"{path}: {len(values)} vertices do not make whole triangles")
    return np.asarray(values, dtype=np.float32).reshape(-1, 3, 3)


def write_stl(path: PathLike, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write a binary STL file (used to make test data; facet normals from the corners)."""
    corners = np.asarray(vertices, dtype=np.float32)[np.asarray(faces, dtype=np.int64)]
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.where(length > 0, normal / np.maximum(length, 1e-30), 0).astype(np.float32)
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
    rows = np.zeros(len(corners), dtype=record)
    rows["normal"] = normal
    rows["corners"] = corners
    with open(path, "wb") as f:
        f.write(b"lamina".ljust(80, b" "))
        f.write(struct.pack("<I", len(rows)))
        f.write(rows.tobytes())
