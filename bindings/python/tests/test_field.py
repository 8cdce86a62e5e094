"""lamina.TriplaneField: specs, slices, meshes, upsampling, and the issue's fitting targets
(an analytic torus, and a capsule given only as a triangle mesh)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

from conftest import states_equal

TORUS = {"type": "torus", "major": 0.5, "minor": 0.2}
CAPSULE = {"type": "capsule", "a": [0, -0.4, 0], "b": [0, 0.4, 0], "radius": 0.3}


def torus_sdf(p: np.ndarray, major: float = 0.5, minor: float = 0.2) -> np.ndarray:
    """Exact signed distance to the torus around the y axis (numpy, independent of Lamina)."""
    ring = np.hypot(p[:, 0], p[:, 2]) - major
    return np.hypot(ring, p[:, 1]) - minor


def capsule_sdf(p: np.ndarray) -> np.ndarray:
    """Exact signed distance to CAPSULE (numpy)."""
    y = np.clip(p[:, 1], -0.4, 0.4)
    return np.sqrt(p[:, 0] ** 2 + (p[:, 1] - y) ** 2 + p[:, 2] ** 2) - 0.3


def numeric_normals(sdf, p: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Unit central-difference gradients of a numpy SDF (double precision)."""
    p = p.astype(np.float64)
    g = np.stack([(sdf(p + h * e) - sdf(p - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def training_points(sdf, surface: np.ndarray, n: int, seed: int) -> tuple:
    """Half uniform in [-1, 1]^3, half surface samples moved by N(0, 0.02^2)."""
    rng = np.random.default_rng(seed)
    uniform = rng.uniform(-1, 1, (n // 2, 3))
    near = surface[rng.integers(0, len(surface), n - n // 2)] + rng.normal(0, 0.02, (n - n // 2, 3))
    points = np.concatenate([uniform, near]).astype(np.float32)
    return points, sdf(points.astype(np.float64)).astype(np.float32)


def quality(field: lamina.TriplaneField, sdf, reference: tuple, seed: int) -> dict:
    """IoU on 200k uniform points, Chamfer to the reference mesh, mean normal error (deg)."""
    rng = np.random.default_rng(seed)
    uniform = rng.uniform(-1, 1, (200_000, 3)).astype(np.float32)
    iou = lamina.metrics.iou(field.predict(uniform)[:, 0], sdf(uniform.astype(np.float64)))
    vertices, faces = field.extract_mesh(resolution=128)
    chamfer = lamina.metrics.chamfer((vertices, faces), reference, samples=100_000, seed=seed)
    surface = lamina.sample_surface(*reference, 20_000, seed=seed)
    if isinstance(surface, tuple):
        surface = surface[0]
    got = field.normals(surface)
    want = numeric_normals(sdf, surface)
    angles = np.degrees(np.arccos(np.clip(np.sum(got * want, axis=1), -1, 1)))
    return {"iou": iou, "chamfer": chamfer, "normal_deg": float(angles.mean())}


@pytest.fixture(scope="module")
def torus_reference() -> tuple:
    return lamina.shape_mesh(TORUS, resolution=256)


def test_torus_fit_meets_the_issue_targets(torus_reference: tuple) -> None:
    surface = lamina.sample_surface(*torus_reference, 200_000, seed=3)
    if isinstance(surface, tuple):
        surface = surface[0]
    points, sdf = training_points(torus_sdf, surface, 400_000, seed=4)
    field = lamina.TriplaneField(resolution=64, channels=16, aggregation="sum",
                                 decoder={"hidden": [64], "activation": "relu"}, seed=0)
    history = field.fit_sdf(points, sdf, steps=2000, batch_size=16384, learning_rate=1e-3,
                            progress=False)
    assert history[-1] < history[0]
    q = quality(field, torus_sdf, torus_reference, seed=5)
    print("torus", q)
    assert q["iou"] > 0.97
    assert q["chamfer"] < 7e-3
    assert q["normal_deg"] < 5.0


def test_capsule_fit_from_a_mesh_only() -> None:
    vertices, faces = lamina.shape_mesh(CAPSULE, resolution=160)
    field = lamina.TriplaneField(resolution=64, channels=16, seed=1)
    field.fit_mesh(vertices, faces, steps=2000, batch_size=16384, samples=400_000, progress=False)
    q = quality(field, capsule_sdf, lamina.shape_mesh(CAPSULE, resolution=256), seed=6)
    print("capsule", q)
    assert q["iou"] > 0.97
    assert q["chamfer"] < 7e-3
    assert q["normal_deg"] < 5.0


def test_spec_slice_upsample_and_save(tmp_path) -> None:
    field = lamina.TriplaneField(resolution=16, channels=4, decoder={"hidden": [8]}, seed=2,
                                 bounds=[-2, 2], init_std=0.5)
    spec = field.spec
    assert spec["kind"] == "triplane" and spec["align_corners"] is True
    assert field.planes["0.planes"].shape == (3, 4, 16, 16)
    np.testing.assert_array_equal(field.bounds, [-2, -2, -2, 2, 2, 2])
    s = field.slice("z", 0.5, resolution=5)
    assert s.shape == (5, 5)
    # Row i is y = -2 + i, column j is x = -2 + j (the field's own box).
    p = np.array([[-1.0, 1.0, 0.5]], np.float32)
    np.testing.assert_allclose(s[3, 1], field.predict(p)[0, 0], rtol=1e-5, atol=1e-6)
    up = field.upsample(31)
    assert isinstance(up, lamina.TriplaneField) and up.planes["0.planes"].shape[-1] == 31
    x = np.random.default_rng(0).uniform(-2, 2, (500, 3)).astype(np.float32)
    np.testing.assert_allclose(up.predict(x), field.predict(x), atol=1e-5)
    path = tmp_path / "field.safetensors"
    field.save(path)
    again = lamina.load(path)
    assert isinstance(again, lamina.TriplaneField)
    np.testing.assert_array_equal(again.predict(x), field.predict(x))
    field.save_slice(tmp_path / "slice.png", axis="x")
    image = field.render(tmp_path / "preview.png", resolution=32)
    assert image.shape == (32, 32, 3)
    assert (tmp_path / "slice.png").stat().st_size > 0 and (tmp_path / "preview.png").stat().st_size > 0
    with pytest.raises(lamina.InvalidArgumentError):
        field.slice("w")


def test_two_fields_fit_in_one_call() -> None:
    """A sphere and a torus fitted at once: own planes, one shared decoder."""
    rng = np.random.default_rng(7)
    sphere = {"type": "sphere", "radius": 0.6}
    shapes = [sphere, TORUS]
    points = [rng.uniform(-1, 1, (60_000, 3)).astype(np.float32) for _ in shapes]
    sdf = [lamina.shape_sdf(s, p) for s, p in zip(shapes, points)]
    field = lamina.TriplaneField(resolution=32, channels=8, fields=2, seed=0)
    assert field.input_dim == 4 and field.planes["0.planes"].shape == (6, 8, 32, 32)
    field.fit_sdf_many(points, sdf, steps=600, batch_size=8192, progress=False)
    test = rng.uniform(-1, 1, (50_000, 3)).astype(np.float32)
    for k, shape in enumerate(shapes):
        pred = field.predict(field.field_points(k, test))[:, 0]
        assert lamina.metrics.iou(pred, lamina.shape_sdf(shape, test)) > 0.9
    # Each field's mesh: the sphere's is closed with Euler characteristic 2, the torus's 0.
    for k, euler in ((0, 2), (1, 0)):
        v, f = field.extract_mesh(resolution=48, field=k)
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        unique = np.unique(edges, axis=0)
        assert len(v) - len(unique) + len(f) == euler
    assert field.field_planes(1)["0.planes"].shape == (3, 8, 32, 32)
    with pytest.raises(lamina.InvalidArgumentError):
        field.predict(np.array([[2, 0, 0, 0]], np.float32))
    with pytest.raises(lamina.InvalidArgumentError):
        field.extract_mesh(resolution=16)


def test_two_fields_with_per_field_decoders() -> None:
    """Two spheres fitted at once, each field with its own decoder (``decoder_per_field``)."""
    rng = np.random.default_rng(3)
    shapes = [{"type": "sphere", "radius": 0.4}, {"type": "sphere", "radius": 0.7}]
    points = [rng.uniform(-1, 1, (8_000, 3)).astype(np.float32) for _ in shapes]
    sdf = [lamina.shape_sdf(s, p) for s, p in zip(shapes, points)]
    field = lamina.TriplaneField(
        resolution=16, channels=8, fields=2, decoder={"hidden": [32]}, decoder_per_field=True, seed=0
    )
    assert field.spec["decoder_per_field"] is True
    assert field.state_dict()["1.0.weight"].shape == (2, 32, 8)
    test = rng.uniform(-1, 1, (10_000, 3)).astype(np.float32)
    before = [np.abs(field.predict(field.field_points(k, test))[:, 0] - lamina.shape_sdf(s, test)).mean()
              for k, s in enumerate(shapes)]
    field.fit_sdf_many(points, sdf, steps=300, batch_size=4096, progress=False)
    for k, shape in enumerate(shapes):
        truth = lamina.shape_sdf(shape, test)
        pred = field.predict(field.field_points(k, test))[:, 0]
        assert np.abs(pred - truth).mean() < before[k] / 4
        assert lamina.metrics.iou(pred, truth) > 0.85


SMALL = dict(resolution=32, channels=8, decoder={"hidden": [32]}, seed=0)


def test_fit_mesh_is_the_library_rule() -> None:
    """fit_mesh runs lamina_model_fit_mesh; fit_sdf on the same points (sample_sdf_points with
    the same options) follows the same rule (lamina_model_fit_config) bit for bit."""
    mesh = lamina.shape_mesh(TORUS, resolution=64)
    field = lamina.TriplaneField(**SMALL)
    seen = []
    history = field.fit_mesh(*mesh, steps=300, batch_size=4096, samples=50_000, seed=1,
                             progress=seen.append)
    # 50000 points, 13 batches an epoch: ceil(300 / 13) = 24 epochs.
    assert len(history) == 24 == len(seen) and seen[-1].steps == 24 * 13
    assert history.learning_rate == 1e-3 and history.learning_rates == {"0.planes": 1e-3}
    assert history.config["epochs"] == 24 and history.config["batch_size"] == 4096
    result = lamina.metrics.compare(field.extract_mesh(resolution=64), mesh, samples=20_000)
    assert result["iou"] > 0.95 and result["chamfer"] < 0.012
    points, sdf = lamina.sample_sdf_points(*mesh, 50_000, bounds=[-1, 1], seed=1)
    same = lamina.TriplaneField(**SMALL)
    again = same.fit_sdf(points, sdf, steps=300, batch_size=4096, seed=1, progress=False)
    assert list(again) == list(history)
    assert states_equal(same.state_dict(), field.state_dict())


def test_fit_rates_are_visible_and_options_checked() -> None:
    rng = np.random.default_rng(2)
    points = rng.uniform(-1, 1, (4096, 3)).astype(np.float32)
    sdf = lamina.shape_sdf({"type": "sphere", "radius": 0.5}, points)
    field = lamina.TriplaneField(resolution=8, channels=4, decoder={"hidden": [8]}, seed=1)
    # One learning rate trains everything, as one PyTorch parameter group.
    history = field.fit_sdf(points, sdf, steps=4, batch_size=1024, learning_rate=5e-3,
                            progress=False)
    assert history.learning_rates == {"0.planes": 5e-3}
    assert "learning_rate=0.005, learning_rates={'0.planes': 0.005}" in repr(history)
    history = field.fit_sdf(points, sdf, steps=4, batch_size=1024, learning_rate=5e-3,
                            plane_learning_rate=5e-2, progress=False)
    assert "learning_rates={'0.planes': 0.05}" in repr(history)
    assert history.config["learning_rate"] == 5e-3
    # A learning_rates entry for the planes wins over plane_learning_rate.
    history = field.fit_occupancy(points, sdf < 0, steps=2, batch_size=2048,
                                  plane_learning_rate=1.0, learning_rates={"planes": 0.5},
                                  progress=False)
    assert history.learning_rates == {"planes": 0.5}
    assert history.config["loss"] == "bce_with_logits"
    with pytest.raises(lamina.InvalidArgumentError, match="steps"):
        field.fit_sdf(points, sdf, epochs=3, progress=False)
    with pytest.raises(lamina.InvalidArgumentError, match="unknown key \"colour\""):
        field.fit_sdf(points, sdf, colour=3, progress=False)
    with pytest.raises(lamina.InvalidArgumentError, match="lbfgs"):
        field.fit_sdf(points, sdf, optimizer="lbfgs", progress=False)
    with pytest.raises(lamina.InvalidArgumentError):
        field.fit_mesh(*lamina.shape_mesh(TORUS, resolution=16), samples=0, progress=False)
