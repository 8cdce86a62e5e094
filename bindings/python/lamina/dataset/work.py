"""What a worker does with one task: fit a chunk of shapes and return the results as bytes.

A task is a plain dict (picklable, and cheap to move through Ray's object store): the
settings, the thread count, and the normalised shapes as numpy arrays. Its result is a list
of one dict per shape: the model file's bytes, the mesh when asked for, the scores and the
seconds. Workers never write files: the driver does, atomically, so a worker killed
mid-shape leaves nothing behind.
"""

from __future__ import annotations

import math
import os
import re
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import LaminaError, NumericError, UnsupportedError
from .settings import FitSettings

__all__ = ["fit_chunk", "fit_shape", "to_source_frame"]

Result = Dict[str, Any]


def set_threads(threads: Optional[int]) -> None:
    """Size this process's worker pool (``lamina.set_num_threads``)."""
    if threads:
        from .. import set_num_threads

        set_num_threads(int(threads))


def fit_chunk(task: Dict[str, Any]) -> List[Result]:
    """Fit the shapes of ``task`` (see the module's docstring) and return one result each.

    Meshes are fitted together in one many-field model (one call, a shared or a per-shape
    decoder) and split into single-field models; point clouds one at a time. A shape that
    fails is a result with ``status`` ``"failed"`` and its ``error``; the others go on. When
    a chunk's fit diverges, its shapes are fitted again one by one, so one bad shape fails
    alone.
    """
    set_threads(task.get("threads"))
    settings = FitSettings.from_dict(task["settings"])
    shapes = task["shapes"]
    meshes = [s for s in shapes if s.get("faces") is not None]
    clouds = [s for s in shapes if s.get("faces") is None]
    progress = bool(task.get("progress", False))
    results = _fit_meshes(meshes, settings, progress) if meshes else []
    results += [_fit_cloud(shape, settings, progress) for shape in clouds]
    order = {s["name"]: i for i, s in enumerate(shapes)}
    results.sort(key=lambda r: order[r["name"]])
    for result in results:
        result["pid"] = os.getpid()
    return results


def fit_shape(shape: Dict[str, Any], settings: FitSettings, progress: bool = False) -> Result:
    """Fit one shape (a task's shape dict) in this process; ``progress`` shows the fit's bar."""
    return fit_chunk({"settings": settings.to_dict(), "shapes": [shape], "progress": progress})[0]


def _failed(name: str, error: BaseException) -> Result:
    return {"name": name, "status": "failed", "error": f"{type(error).__name__}: {error}"}


def _fit_meshes(
    shapes: List[Dict[str, Any]], settings: FitSettings, progress: bool = False
) -> List[Result]:
    from ..mesh import MeshHandle

    started = time.perf_counter()
    results: List[Result] = []
    ready: List[Tuple[Dict[str, Any], np.ndarray, np.ndarray]] = []
    for shape in shapes:
        try:
            # One handle per shape: its distance hierarchy serves the fit's samples, the
            # score's samples and the comparison.
            shape = dict(shape, mesh=MeshHandle.from_arrays(shape["vertices"], shape["faces"]))
            points, sdf = _sample(shape["mesh"], settings, settings.samples, settings.seed)
            ready.append((shape, points, sdf))
        except LaminaError as error:
            results.append(_failed(shape["name"], error))
    if not ready:
        return results
    try:
        fields, loss = _fit_together(ready, settings, progress)
    except NumericError as error:
        if len(ready) == 1:
            return results + [_failed(ready[0][0]["name"], error)]
        return results + [
            r for shape, _, _ in ready for r in _fit_meshes([shape], settings, progress)
        ]
    fit_seconds = (time.perf_counter() - started) / len(ready)
    for (shape, _, _), field in zip(ready, fields):
        begun = time.perf_counter()
        try:
            result = _finish(shape, field, settings, loss)
        except LaminaError as error:
            result = _failed(shape["name"], error)
        result["seconds"] = fit_seconds + time.perf_counter() - begun
        results.append(result)
    return results


def _fit_together(
    ready: Sequence[Tuple[Dict[str, Any], np.ndarray, np.ndarray]],
    settings: FitSettings,
    progress: bool = False,
) -> Tuple[List[Any], float]:
    """One model for all of ``ready``, fitted; returns its single-field parts and the loss."""
    from ..model import Model

    model = Model.from_spec(settings.spec(len(ready)))
    options = settings.fit_options()
    batch = settings.batch_size * len(ready)
    common = dict(options, batch_size=batch, progress=progress, on_divergence="raise")
    if len(ready) == 1:
        history = model.fit_sdf(ready[0][1], ready[0][2], **common)
        fields = [model]
    else:
        history = model.fit_sdf_many([p for _, p, _ in ready], [s for _, _, s in ready], **common)
        fields = model.split_fields()
    return fields, float(history[-1]) if len(history) else math.nan


def _finish(shape: Dict[str, Any], field: Any, settings: FitSettings, loss: float) -> Result:
    """Scores, mesh and file bytes of one fitted field."""
    result: Result = {"name": shape["name"], "status": "done", "loss": loss}
    mesh = None
    if settings.score:
        metrics, mesh = _score_mesh(shape, field, settings)
        result["metrics"] = metrics
    if settings.meshes:
        result["mesh"] = _source_mesh(shape, field, settings, mesh)
    result["model"] = field.to_bytes()
    return result


def _extract(field: Any, resolution: int) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    vertices, faces = field.extract_mesh(resolution)
    return (vertices, faces) if len(faces) else None


def _sample(mesh: Any, settings: FitSettings, n: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """``n`` signed-distance samples of a shape's mesh handle, as the settings draw them."""
    from ..mesh_ops import sample_sdf_points

    return sample_sdf_points(
        mesh, None, n, near_fraction=settings.near_fraction, sigma=settings.sigma, seed=seed
    )


def _score_mesh(
    shape: Dict[str, Any], field: Any, settings: FitSettings
) -> Tuple[Dict[str, Any], Optional[Tuple[np.ndarray, np.ndarray]]]:
    from .. import metrics

    points, sdf = _sample(shape["mesh"], settings, settings.score_points, settings.seed + 1)
    scores: Dict[str, Any] = {"iou": metrics.iou(field.predict(points)[:, 0], sdf)}
    mesh = _extract(field, settings.score_resolution)
    if mesh is None:
        scores.update(chamfer=None, fscore=0.0, normal_consistency=None)
        return scores, None
    compared = metrics.compare(
        mesh,
        shape["mesh"],
        samples=settings.score_samples,
        seed=settings.seed,
        threshold=settings.fscore_threshold,
        volume=False,
    )
    scores.update(compared)
    return scores, mesh


def _source_mesh(
    shape: Dict[str, Any],
    field: Any,
    settings: FitSettings,
    scored: Optional[Tuple[np.ndarray, np.ndarray]],
) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """The field's mesh in the source's coordinates (None when the field has no surface)."""
    same = settings.score and settings.score_resolution == settings.mesh_resolution
    mesh = scored if same else _extract(field, settings.mesh_resolution)
    if mesh is None:
        return None
    vertices = mesh[0].astype(np.float64) / shape["scale"] + np.asarray(shape["center"])
    return vertices.astype(np.float32), mesh[1]


def _fit_cloud(shape: Dict[str, Any], settings: FitSettings, progress: bool = False) -> Result:
    from ..model import Model

    started = time.perf_counter()
    name = shape["name"]
    try:
        field = Model.from_spec(settings.spec(1))
        history = field.fit_points(
            shape["vertices"],
            shape.get("normals"),
            steps=settings.steps,
            learning_rate=settings.learning_rate,
            seed=settings.seed,
            progress=progress,
            on_divergence="raise",
            **settings.fit_config,
        )
        loss = float(history.total[-1]) if history.total else math.nan
        result: Result = {"name": name, "status": "done", "loss": loss}
        mesh = None
        if settings.score:
            result["metrics"], mesh = _score_cloud(shape, field, settings)
        if settings.meshes:
            result["mesh"] = _source_mesh(shape, field, settings, mesh)
        result["model"] = field.to_bytes()
    except LaminaError as error:
        result = _failed(name, error)
    result["seconds"] = time.perf_counter() - started
    return result


def _score_cloud(
    shape: Dict[str, Any], field: Any, settings: FitSettings
) -> Tuple[Dict[str, Any], Optional[Tuple[np.ndarray, np.ndarray]]]:
    """Chamfer and F-score between the field's mesh and the cloud itself (no inside, so no
    IoU).
    """
    from ..mesh_ops import point_cloud_distance, sample_surface

    mesh = _extract(field, settings.score_resolution)
    if mesh is None:
        return {"chamfer": None, "fscore": 0.0}, None
    cloud = shape["vertices"]
    samples = sample_surface(mesh[0], mesh[1], settings.score_samples, seed=settings.seed)
    to_cloud = point_cloud_distance(cloud, samples)
    to_mesh = point_cloud_distance(samples, cloud)
    t = settings.fscore_threshold
    precision = float(np.mean(to_cloud < t))
    recall = float(np.mean(to_mesh < t))
    fscore = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    chamfer = (float(to_cloud.mean()) + float(to_mesh.mean())) / 2
    return {"chamfer": chamfer, "fscore": fscore}, mesh


def to_source_frame(field: Any, center: Sequence[float], scale: float) -> Any:
    """The same field expressed in the source's coordinates: a new model whose box is the
    normalised box mapped back (``center +- 1 / scale`` on every axis, for the default box)
    and whose distances are in the source's units (the last layer's weights and bias divided
    by ``scale``). Planes and hidden layers are unchanged.
    """
    from ..model import Model

    spec = field.spec
    six = np.asarray(field.bounds, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)
    low = six[:3] / scale + c
    high = six[3:] / scale + c
    spec["bounds"] = [[float(low[d]), float(high[d])] for d in range(3)]
    moved = Model.from_spec(spec)
    state = field.state_dict()
    dense = [int(n.split(".")[0]) for n in state if re.fullmatch(r"\d+\.weight", n)]
    if not dense or f"{max(dense)}.bias" not in state:
        raise UnsupportedError("to_source_frame needs a field whose decoder ends in a dense layer")
    last = max(dense)
    state[f"{last}.weight"] = state[f"{last}.weight"] / np.float32(scale)
    state[f"{last}.bias"] = state[f"{last}.bias"] / np.float32(scale)
    moved.load_state_dict(state)
    return moved
