"""The output folder of a dataset run: the manifest, the settings, and atomic file writes.

Layout (``OUT``)::

    settings.json          the run's FitSettings (a resumed run must match them)
    manifest.jsonl         one JSON line per finished shape, appended as shapes finish
    shapes/<name>.safetensors   one model file per shape, loadable alone
    meshes/<name>.ply      the field's mesh in the source's coordinates (settings.meshes)

The driver is the only writer. Model and mesh files are written to a temporary name and
renamed, and a manifest line is appended (and flushed to disk) only after its files are in
place, so a run killed at any point leaves whole files and a manifest that names only them.
A later line for the same shape replaces an earlier one (a failed shape done on resume).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Union

from ..errors import FormatError

__all__ = ["Manifest", "read_manifest", "write_atomic"]

PathLike = Union[str, "os.PathLike[str]"]

#: Where the rows live in an output folder.
MANIFEST_NAME = "manifest.jsonl"
SETTINGS_NAME = "settings.json"
TEMPORARY_MARK = ".tmp-"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename:
    readers see the old file or the whole new one, never a part.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}")
    try:
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_temporaries(folder: Path) -> int:
    """Delete temporary files a killed driver left under ``folder``; returns how many."""
    count = 0
    if folder.is_dir():
        for path in folder.rglob(f".*{TEMPORARY_MARK}*"):
            path.unlink(missing_ok=True)
            count += 1
    return count


class Manifest:
    """The rows of ``OUT/manifest.jsonl``: appended one at a time, read as the latest row
    per shape.
    """

    def __init__(self, folder: PathLike) -> None:
        self.path = Path(folder) / MANIFEST_NAME

    def exists(self) -> bool:
        """Whether the folder has a manifest."""
        return self.path.is_file()

    def append(self, row: Dict[str, Any]) -> None:
        """Add one row and flush it to disk before returning."""
        line = json.dumps(row, allow_nan=False, default=_plain) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def rows(self) -> Iterator[Dict[str, Any]]:
        """Every row in the order written. A last line cut short by a killed driver is
        skipped; any other bad line is a :class:`~lamina.FormatError`.
        """
        if not self.exists():
            return
        lines = self.path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue
                raise FormatError(f"{self.path}:{number}: not a JSON line") from None
            if not isinstance(row, dict) or "shape" not in row or "status" not in row:
                raise FormatError(f"{self.path}:{number}: a row needs 'shape' and 'status'")
            yield row

    def latest(self) -> Dict[str, Dict[str, Any]]:
        """The last row of each shape, in the order the shapes first appear."""
        rows: Dict[str, Dict[str, Any]] = {}
        for row in self.rows():
            rows[row["shape"]] = row
        return rows


def read_manifest(output: PathLike) -> List[Dict[str, Any]]:
    """The latest row of every shape in a dataset run's output folder (see
    :func:`lamina.dataset.fit_dataset` for the columns).
    """
    return list(Manifest(output).latest().values())


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
