"""The planes of every fitted shape as one array, for a classifier or a generative model."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..errors import InvalidArgumentError
from .manifest import Manifest, write_atomic

__all__ = ["export_planes", "stacked_planes"]

PathLike = Union[str, "os.PathLike[str]"]


def stacked_planes(output: PathLike) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    """The planes of every shape done in the run at ``output``, in manifest order:
    float32 ``[N, 3, C, R, R]`` (planes xy, xz, yz), and the rows they come from.

    Raises :class:`~lamina.InvalidArgumentError` when no shape is done or the fields'
    planes differ in shape (a multi-resolution field has no single planes tensor).
    """
    from ..model import load

    out = Path(output)
    rows = [r for r in Manifest(out).latest().values() if r["status"] == "done"]
    if not rows:
        raise InvalidArgumentError(f"{out}: no shape is done, so there are no planes to export")
    planes = []
    for row in rows:
        field = load(out / row["file"])
        tensors = field.planes
        if list(tensors) != ["0.planes"]:
            raise InvalidArgumentError(
                f"{row['file']}: planes {', '.join(tensors)}: only single-resolution fields stack"
            )
        planes.append(tensors["0.planes"])
    shapes = {p.shape for p in planes}
    if len(shapes) != 1:
        raise InvalidArgumentError(f"the fields' planes differ in shape: {sorted(shapes)}")
    return np.stack(planes).astype(np.float32, copy=False), rows


def export_planes(output: PathLike, path: Optional[PathLike] = None) -> Path:
    """Write :func:`stacked_planes` of the run at ``output`` to ``path`` (default
    ``output/planes.npy``), atomically: ``.npy`` (with ``<path>.json`` beside it: the shape
    names in order, with each one's ``center`` and ``scale``) or ``.safetensors`` (tensor
    ``"planes"``, the same list in the metadata's ``"shapes"``). Returns the path.
    """
    array, rows = stacked_planes(output)
    target = Path(path) if path is not None else Path(output) / "planes.npy"
    index = [{"shape": r["shape"], "center": r["center"], "scale": r["scale"]} for r in rows]
    suffix = target.suffix.lower()
    if suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, array)
        write_atomic(target, buffer.getvalue())
        write_atomic(
            target.with_name(target.name + ".json"), json.dumps(index, indent=1).encode("utf-8")
        )
    elif suffix == ".safetensors":
        write_atomic(target, _safetensors_bytes(array, {"shapes": json.dumps(index)}))
    else:
        raise InvalidArgumentError(f"{target}: the planes are written as .npy or .safetensors")
    return target


def _safetensors_bytes(array: np.ndarray, metadata: Dict[str, str]) -> bytes:
    """One float32 tensor ``"planes"`` in the safetensors layout (an 8-byte header length,
    the JSON header, the data), so no extra package is needed to write it.
    """
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = {
        "__metadata__": metadata,
        "planes": {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]},
    }
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data
