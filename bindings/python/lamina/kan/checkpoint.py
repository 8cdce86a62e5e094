"""pykan's version history (``auto_save``, ``saveckpt``, ``loadckpt``, ``rewind``) as Lamina files.

A checkpoint ``<path>`` is three files: ``<path>.safetensors`` (the engine's model file:
spec and weights; opens alone with :func:`lamina.load`), ``<path>_config.json`` (pykan's
settings the engine does not hold: ckpt_path, round, state_id, input_id, grid_eps, ...)
and, when the model has seen samples, ``<path>_cache_data.npy`` (pykan's ``cache_data``).
Each file is written to a temporary file and renamed, so none is ever half-written; the
three are not replaced as one (a save interrupted between them leaves a new model file
beside the previous settings). Versions are written once each, so this matters only when a
path is saved over. ``<ckpt_path>/history.txt`` is pykan's log of versions.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, Optional

import numpy as np

from ..errors import LaminaIOError


def _atomic_write(path: str, write: Any) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".lamina-ckpt-", dir=directory)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(model: Any, path: str, config: Dict[str, Any], cache: Optional[np.ndarray]) -> None:
    """Write checkpoint ``path`` (model file, settings, cached samples)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    model.save(f"{path}.safetensors")  # the engine's save is atomic itself

    def write_config(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1, sort_keys=True)

    _atomic_write(f"{path}_config.json", write_config)
    cache_path = f"{path}_cache_data.npy"
    if cache is None:
        if os.path.exists(cache_path):
            os.unlink(cache_path)
    else:
        def write_cache(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(cache, dtype=np.float32))

        _atomic_write(cache_path, write_cache)


def load(path: str) -> "tuple[Any, Dict[str, Any], Optional[np.ndarray]]":
    """Read checkpoint ``path``: (engine model, settings, cached samples or None)."""
    from ..model import Model

    model_path = path if path.endswith(".safetensors") else f"{path}.safetensors"
    stem = model_path[: -len(".safetensors")]
    if not os.path.exists(model_path):
        raise LaminaIOError(f"loadckpt: no checkpoint at {stem!r} ({model_path} does not exist)")
    engine = Model.load(model_path)
    config: Dict[str, Any] = {}
    if os.path.exists(f"{stem}_config.json"):
        with open(f"{stem}_config.json", encoding="utf-8") as f:
            config = json.load(f)
    cache = None
    if os.path.exists(f"{stem}_cache_data.npy"):
        cache = np.load(f"{stem}_cache_data.npy")
    return engine, config, cache


def append_history(ckpt_path: str, line: str, fresh: bool = False) -> None:
    """Append ``line`` to ``<ckpt_path>/history.txt`` (a new file when ``fresh``)."""
    os.makedirs(ckpt_path, exist_ok=True)
    with open(os.path.join(ckpt_path, "history.txt"), "w" if fresh else "a", encoding="utf-8") as f:
        f.write(line + "\n")
