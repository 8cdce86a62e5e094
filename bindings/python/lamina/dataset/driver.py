"""The dataset driver: every shape of a dataset fitted to its own field, locally or on Ray."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, List, Optional, Union

from ..errors import InvalidArgumentError, LaminaError
from .executors import check_executor, make_executor
from .manifest import SETTINGS_NAME, Manifest, remove_temporaries, write_atomic
from .settings import FitSettings, settings_from
from .sources import ShapeSource, find_shapes, load_shape

__all__ = ["DatasetRun", "fit_dataset"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclasses.dataclass
class DatasetRun:
    """What :func:`fit_dataset` did: the output folder, this run's manifest rows, and the
    counts (``skipped``: shapes a previous run had done).
    """

    output: Path
    rows: List[Dict[str, Any]]
    done: int
    failed: int
    skipped: int
    seconds: float

    @property
    def failures(self) -> List[Dict[str, Any]]:
        """The rows of the shapes that failed in this run."""
        return [r for r in self.rows if r["status"] == "failed"]


@dataclasses.dataclass
class _Task:
    sources: List[ShapeSource]
    attempt: int = 0


def fit_dataset(
    inputs: Union[PathLike, Iterable[PathLike]],
    output: PathLike,
    settings: Union[FitSettings, Dict[str, Any], None] = None,
    *,
    executor: str = "local",
    workers: Optional[int] = None,
    threads: int = 1,
    resume: bool = False,
    retries: int = 2,
    ray_address: Optional[str] = None,
    progress: bool = True,
    **overrides: Any,
) -> DatasetRun:
    """Fit one tri-plane field to every shape of ``inputs`` and write them under ``output``.

    ``inputs`` is a folder (searched recursively for .obj, .ply, .stl meshes and .npy or
    faceless .ply point clouds) or a list of files. ``settings`` (a :class:`FitSettings`
    or its dict; keyword ``overrides`` change single settings, e.g. ``steps=200``) say how
    each shape is fitted and scored; the defaults are the tri-plane processing paper's
    recipe. Meshes are fitted ``chunk_size`` at a time in one many-field model and split
    into one file per shape.

    Execution: ``executor="local"`` runs ``workers`` spawned processes (default: the cores
    divided by ``threads``) of ``threads`` threads each; ``"ray"`` runs the same tasks as
    Ray tasks of ``threads`` CPUs on the cluster at ``ray_address`` (or ``RAY_ADDRESS``, or
    a local Ray it starts), moving arrays and model bytes through Ray's object store;
    ``"inline"`` runs them in this process.

    Output (see :mod:`lamina.dataset.manifest`): ``shapes/<name>.safetensors`` per shape,
    in the normalised frame (``lamina.load`` opens one alone), ``meshes/<name>.ply`` with
    ``meshes=True`` (source coordinates), and ``manifest.jsonl`` with one row per shape:
    ``shape``, ``source``, ``status`` (``"done"`` or ``"failed"``), ``error``, ``file``,
    ``mesh``, ``metrics`` (``iou``, ``chamfer``, ``fscore``, ``normal_consistency``),
    ``loss``, ``seconds`` (the shape's share of its chunk's fit plus its own scoring),
    ``center`` and ``scale`` (``source = normalised / scale + center``), ``attempt``,
    ``finished``.

    Faults: a shape that cannot be read or fitted (a bad mesh, a divergence) is a failed
    row with its error and the others go on. A task whose process dies is resubmitted, its
    shapes one per task, up to ``retries`` times, then its shapes fail with the reason.
    ``resume=True`` continues a run in the same folder with the same settings: shapes done
    with their file present are skipped, failed and missing ones are fitted again; without
    it a folder holding a run is refused. Ctrl-C stops the run; everything finished so far
    is in the manifest.

    Returns a :class:`DatasetRun`. ``progress`` shows a bar over the shapes on stderr (with
    tqdm).
    """
    started = time.perf_counter()
    check_executor(executor)
    chosen = settings_from(settings, overrides)
    sources = find_shapes(inputs)
    out = Path(output)
    manifest = _prepare_output(out, chosen, resume)
    previous = manifest.latest()
    finished = {
        name
        for name, row in previous.items()
        if row["status"] == "done" and row.get("file") and (out / row["file"]).is_file()
    }
    remaining = [s for s in sources if s.name not in finished]
    run = DatasetRun(out, [], 0, 0, len(sources) - len(remaining), 0.0)
    pending: Deque[_Task] = collections.deque(
        _Task(remaining[i : i + chosen.chunk_size])
        for i in range(0, len(remaining), chosen.chunk_size)
    )
    bar = _bar(len(remaining), progress)
    pool = make_executor(executor, workers, threads, ray_address) if pending else None
    context = _Writer(out, manifest, chosen, run, bar, executor)
    try:
        inflight: Dict[Any, _Task] = {}
        while pending or inflight:
            while pending and len(inflight) < pool.slots:
                task = pending.popleft()
                payload = context.load(task)
                if payload is not None:
                    inflight[pool.submit(payload)] = task
            for key, (kind, value) in pool.collect(timeout=1.0):
                task = inflight.pop(key)
                if kind == "ok":
                    context.record(task, value)
                elif kind == "crashed" and task.attempt < retries:
                    for source in reversed(task.sources):
                        pending.appendleft(_Task([source], task.attempt + 1))
                else:
                    reason = value if kind == "error" else f"{value}, {task.attempt + 1} times"
                    context.fail_all(task, reason)
    finally:
        if pool is not None:
            pool.close()
        if bar is not None:
            bar.close()
        run.seconds = time.perf_counter() - started
    return run


def _prepare_output(out: Path, settings: FitSettings, resume: bool) -> Manifest:
    """Create the folder or check the run in it; write the settings; clear temporaries."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out)
    saved = out / SETTINGS_NAME
    if saved.is_file() or manifest.exists():
        if not resume:
            raise InvalidArgumentError(
                f"{out} already holds a dataset run: pass resume=True (--resume) to continue it, "
                "or choose another folder"
            )
        if saved.is_file():
            before = FitSettings.from_dict(json.loads(saved.read_text(encoding="utf-8")))
            changed = settings.differences(before)
            if changed:
                raise InvalidArgumentError(
                    f"{out} was fitted with other settings ({', '.join(changed)} differ); "
                    "resume with the same settings, or choose another folder"
                )
    write_atomic(saved, (json.dumps(settings.to_dict(), indent=2) + "\n").encode("utf-8"))
    remove_temporaries(out)
    return manifest


class _Writer:
    """The driver's side of results: files written atomically, then a manifest row each."""

    def __init__(
        self,
        out: Path,
        manifest: Manifest,
        settings: FitSettings,
        run: DatasetRun,
        bar: Any,
        executor: str,
    ) -> None:
        self.out = out
        self.manifest = manifest
        self.settings = settings
        self.run = run
        self.bar = bar
        self.executor = executor
        self.frames: Dict[str, Dict[str, Any]] = {}

    def load(self, task: _Task) -> Optional[Dict[str, Any]]:
        """The task's payload: its shapes read and normalised (failures recorded here)."""
        shapes = []
        for source in task.sources:
            try:
                shape = load_shape(source, self.settings.fill)
            except (LaminaError, OSError) as error:
                self._row(source, task, status="failed", error=f"{type(error).__name__}: {error}")
                continue
            self.frames[source.name] = {"center": shape.center.tolist(), "scale": shape.scale}
            shapes.append(shape.task_entry())
        # A resubmission after a crash carries only the shapes that were read.
        read = {shape["name"] for shape in shapes}
        task.sources = [s for s in task.sources if s.name in read]
        if not shapes:
            return None
        return {"settings": self.settings.to_dict(), "shapes": shapes}

    def record(self, task: _Task, results: List[Dict[str, Any]]) -> None:
        """Write each result's files, then its row."""
        by_name = {s.name: s for s in task.sources}
        for result in results:
            source = by_name[result["name"]]
            if result["status"] != "done":
                self._row(
                    source,
                    task,
                    status="failed",
                    error=result.get("error"),
                    seconds=result.get("seconds"),
                )
                continue
            file = Path("shapes") / f"{source.name}.safetensors"
            write_atomic(self.out / file, result["model"])
            mesh_file = None
            if result.get("mesh") is not None:
                from ..mesh_ops import save_mesh

                mesh_file = Path("meshes") / f"{source.name}.ply"
                (self.out / mesh_file).parent.mkdir(parents=True, exist_ok=True)
                save_mesh(self.out / mesh_file, *result["mesh"])
            self._row(
                source,
                task,
                status="done",
                file=file.as_posix(),
                mesh=mesh_file.as_posix() if mesh_file else None,
                metrics=result.get("metrics"),
                loss=result.get("loss"),
                seconds=result.get("seconds"),
            )

    def fail_all(self, task: _Task, reason: str) -> None:
        """Record every shape of ``task`` as failed for ``reason``."""
        for source in task.sources:
            self._row(source, task, status="failed", error=reason)

    def _row(self, source: ShapeSource, task: _Task, **fields: Any) -> None:
        row: Dict[str, Any] = {
            "shape": source.name,
            "source": source.path,
            "status": fields.pop("status"),
            "error": None,
            "file": None,
            "mesh": None,
            "metrics": None,
            "loss": None,
            "seconds": None,
        }
        row.update(fields)
        row.update(self.frames.get(source.name, {"center": None, "scale": None}))
        row["attempt"] = task.attempt
        row["executor"] = self.executor
        row["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        )
        row = _finite(row)
        self.manifest.append(row)
        self.run.rows.append(row)
        if row["status"] == "done":
            self.run.done += 1
        else:
            self.run.failed += 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(done=self.run.done, failed=self.run.failed, refresh=False)


def _finite(value: Any) -> Any:
    """NaN and infinite numbers as None, so every row is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _bar(total: int, progress: bool) -> Any:
    if not progress or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="shape", desc="fitting shapes", file=sys.stderr)
