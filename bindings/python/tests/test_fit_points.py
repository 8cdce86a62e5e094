"""Model.fit_points / TriplaneField.fit_points: point clouds (with or without normals) to
fields, including a mesh read from an OBJ file written here by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina

CAPSULE = {"type": "capsule", "a": [-0.4, 0, 0], "b": [0.4, 0, 0], "radius": 0.3}
SMALL = dict(surface_batch=1024, space_batch=1024, space_points=20_000, progress=False)
WEIGHTS = {"value": 1.0, "normal": 1.0, "eikonal": 0.1, "far": 1.0}


def sphere_cloud(n: int = 3000, radius: float = 0.5, seed: int = 0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    normals = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return (radius * normals).astype(np.float32), normals


def grid(resolution: int) -> np.ndarray:
    axis = np.linspace(-1, 1, resolution, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """An OBJ as other tools write it: a comment, 'v' lines, 1-based 'f' lines."""
    lines = ["# capsule written by test_fit_points.py"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    path.write_text("\n".join(lines) + "\n")


def mean_angle(model: lamina.Model, points: np.ndarray, normals: np.ndarray) -> float:
    _, jac, _ = model.derivatives(points, order=1)
    g = jac[:, 0]
    cos = np.sum(g * normals, 1) / (np.linalg.norm(g, axis=1) * np.linalg.norm(normals, axis=1))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


def test_sphere_signed_distance_triplane():
    points, normals = sphere_cloud()
    field = lamina.TriplaneField(resolution=32, channels=8, decoder={"hidden": [32]})
    history = field.fit_points(points, normals, steps=300, **SMALL)
    assert list(history) == ["value", "normal", "eikonal", "far"]
    assert len(history.total) == 300 and not history.stopped
    for s in (0, 150, 299):
        weighted = sum(w * history[k][s] for k, w in WEIGHTS.items())
        assert weighted == pytest.approx(history.total[s], rel=1e-4)
    assert history.total[-1] < 0.1 * history.total[0]
    inside, outside = field.predict(np.array([[0, 0, 0], [0.9, 0, 0]], np.float32))[:, 0]
    assert inside < -0.2 and outside > 0.25
    assert np.abs(field.predict(points[:500])).mean() < 0.02
    assert mean_angle(field, points[:500], normals[:500]) < 5


def test_mlp_from_torch_tensors_and_same_bits():
    torch = pytest.importorskip("torch")
    points, normals = sphere_cloud(seed=1)
    spec = dict(activation={"name": "softplus", "beta": 100}, seed=3)
    a = lamina.MLP(3, [32, 32], 1, **spec)
    b = lamina.MLP(3, [32, 32], 1, **spec)
    ha = a.fit_points(torch.from_numpy(points), torch.from_numpy(normals), steps=200, **SMALL)
    hb = b.fit_points(points, normals, steps=200, **SMALL)
    assert ha.total == hb.total
    x = grid(9)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    inside = a.predict(np.zeros((1, 3), np.float32))[0, 0]
    assert inside < -0.2


def test_options_change_the_terms():
    points, normals = sphere_cloud(500)
    field = lamina.TriplaneField(resolution=16, channels=4, decoder={"hidden": [16]})
    h = field.fit_points(points, normals, steps=3, far_weight=0, normal_metric="cosine",
                         eikonal_weight=2.0, **SMALL)
    assert list(h) == ["value", "normal", "eikonal"]
    for s in range(3):
        assert h["value"][s] + h["normal"][s] + 2 * h["eikonal"][s] == pytest.approx(h.total[s], rel=1e-4)
    unsigned = field.fit_points(points, None, steps=3, **SMALL)
    assert list(unsigned) == ["value", "eikonal"]
    assert all(np.isfinite(unsigned["value"]))


def test_unsigned_distance_matches_the_cloud_distance():
    points, _ = sphere_cloud(2000, seed=2)
    field = lamina.TriplaneField(resolution=24, channels=8, decoder={"hidden": [32]})
    field.fit_points(points, steps=300, **SMALL)
    rng = np.random.default_rng(3)
    q = rng.uniform(-1, 1, (4000, 3)).astype(np.float32)
    want = lamina.point_cloud_distance(points, q)
    near = want < 0.2
    got = field.predict(q)[:, 0]
    assert near.sum() > 300
    assert np.abs(got[near] - want[near]).mean() < 0.03


def test_progress_cancels_and_keeps_the_steps():
    points, normals = sphere_cloud(500)
    field = lamina.TriplaneField(resolution=16, channels=4, decoder={"hidden": [16]})
    seen = []

    def stop(p):
        seen.append(p.step)
        return p.step >= 4

    h = field.fit_points(points, normals, steps=50, progress_every=1, progress=stop,
                         **{k: v for k, v in SMALL.items() if k != "progress"})
    assert h.stopped and h.reason == "cancelled"
    assert len(h.total) == 4 and seen == [1, 2, 3, 4]


def test_bad_input_is_refused_and_changes_nothing():
    points, normals = sphere_cloud(200)
    field = lamina.TriplaneField(resolution=16, channels=4, decoder={"hidden": [16]})
    before = field.predict(grid(5))
    with pytest.raises(lamina.InvalidArgumentError, match="normals have shape"):
        field.fit_points(points, normals[:10])
    with pytest.raises(lamina.InvalidArgumentError, match="shape \\(n, 3\\)"):
        field.fit_points(points[:, :2])
    with pytest.raises(lamina.InvalidArgumentError, match="stepz"):
        field.fit_points(points, normals, stepz=3)
    with pytest.raises(lamina.InvalidArgumentError, match="batch_size"):
        field.fit_points(points, normals, batch_size=64)
    with pytest.raises(lamina.InvalidArgumentError, match="lbfgs"):
        field.fit_points(points, normals, optimizer="lbfgs")
    with pytest.raises(lamina.InvalidArgumentError, match="at least one point"):
        field.fit_points(np.zeros((0, 3), np.float32))
    bad = normals.copy()
    bad[3, 1] = np.nan
    with pytest.raises(lamina.NumericError, match="normal 3"):
        field.fit_points(points, bad)
    with pytest.raises(lamina.ShapeError):
        lamina.MLP(2, [8], 1).fit_points(points)
    np.testing.assert_array_equal(field.predict(grid(5)), before)


def test_obj_mesh_point_cloud(tmp_path: Path):
    """A capsule written to an OBJ file, read back, sampled with normals and fitted."""
    vertices, faces = lamina.shape_mesh(CAPSULE, resolution=64)
    path = tmp_path / "capsule.obj"
    write_obj(path, vertices, faces)
    v, f = lamina.load_mesh(path)
    assert v.shape == vertices.shape and f.shape == faces.shape
    points, normals = lamina.sample_surface(v, f, 8000, seed=1, return_normals=True)
    field = lamina.TriplaneField(resolution=32, channels=8, decoder={"hidden": [32]})
    field.fit_points(points, normals, steps=400, **SMALL)
    x = grid(40)
    iou = lamina.metrics.iou(field.predict(x)[:, 0], lamina.shape_sdf(CAPSULE, x))
    truth = lamina.shape_gradient(CAPSULE, points[:1000])
    angle = mean_angle(field, points[:1000], truth)
    assert iou > 0.95, iou
    assert angle < 6, angle
