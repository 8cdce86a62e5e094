"""Analytic shapes, marching cubes and mesh metrics from Python (lamina.shapes, lamina.metrics)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import metrics

TORUS = {"type": "torus", "major": 0.55, "minor": 0.22}
SPHERE = {"type": "sphere", "radius": 0.6, "center": [0.05, -0.03, 0.02]}


def grid(n: int) -> np.ndarray:
    c = np.linspace(-1, 1, n, dtype=np.float32)
    return np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3)


def topology(v: np.ndarray, f: np.ndarray):
    """(edges not in exactly two faces, Euler characteristic, signed volume)."""
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).astype(np.int64), axis=1)
    _, counts = np.unique(e[:, 0] * (1 << 32) + e[:, 1], return_counts=True)
    a, b, c = (v[f[:, i]].astype(np.float64) for i in range(3))
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
    return int((counts != 2).sum()), len(v) - len(counts) + len(f), volume


def test_shape_sdf_closed_form():
    d = lamina.shape_sdf({"type": "torus", "major": 0.5, "minor": 0.2}, [[0.5, 0, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(d, [-0.2, 0.3, 0.3], atol=1e-6)
    g = lamina.shape_gradient({"type": "sphere"}, [[0, 0, 2], [3, 4, 0]])
    np.testing.assert_allclose(g, [[0, 0, 1], [0.6, 0.8, 0]], atol=1e-6)
    # A JSON string works as well as a dict.
    assert lamina.shape_sdf('{"type": "sphere"}', [[0, 0, 0]])[0] == pytest.approx(-0.5)


def test_shape_errors():
    with pytest.raises(lamina.InvalidArgumentError, match="radus"):
        lamina.shape_sdf({"type": "sphere", "radus": 1}, [[0, 0, 0]])
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.shape_sdf({"type": "cone"}, [[0, 0, 0]])
    with pytest.raises(lamina.ShapeError):
        lamina.shape_sdf({"type": "sphere"}, [0, 0, 0])


@pytest.mark.parametrize("n", [32, 64, 128])
def test_marching_cubes_closed_and_oriented(n):
    for shape, euler, volume in ((SPHERE, 2, 4 / 3 * np.pi * 0.216), (TORUS, 0, 2 * np.pi**2 * 0.55 * 0.22**2)):
        values = lamina.shape_sdf(shape, grid(n)).reshape(n, n, n)
        v, f, nrm = lamina.marching_cubes(values, bounds=(-1, -1, -1, 1, 1, 1), normals=True)
        assert v.dtype == np.float32 and f.dtype == np.uint32 and v.shape[1] == 3
        bad, chi, vol = topology(v, f)
        assert bad == 0 and chi == euler
        h = 2 / (n - 1)
        assert vol == pytest.approx(volume, rel=8 * h * h)
        # Normals toward increasing value (outward).
        assert (np.einsum("ij,ij->i", nrm, lamina.shape_gradient(shape, v)) > 0.9).all()
        # Vertices on the surface; the convenience call gives the same surface.
        assert np.abs(lamina.shape_sdf(shape, v)).max() < 0.1 * h
        v2, f2 = lamina.shape_mesh(shape, resolution=n)
        assert len(v2) == len(v) and len(f2) == len(f)


def test_marching_cubes_layout_and_level():
    # values = x: the plane x = 0.25 with +x normals; shows the [nx, ny, nz] layout.
    n = 9
    x = np.linspace(-1, 1, n, dtype=np.float32)
    values = np.broadcast_to(x[:, None, None], (n, 5, 7)).copy()
    v, f = lamina.marching_cubes(values, level=0.25)
    np.testing.assert_allclose(v[:, 0], 0.25, atol=1e-6)
    a, b, c = (v[f[:, i]] for i in range(3))
    assert (np.cross(b - a, c - a)[:, 0] > 0).all()
    assert len(f) == 2 * 4 * 6
    # Bounds as a (2, 3) array.
    v2, _ = lamina.marching_cubes(values, bounds=[[0, 0, 0], [8, 4, 6]], level=0.25)
    np.testing.assert_allclose(v2[:, 0], 5.0, atol=1e-5)


def test_marching_cubes_errors():
    with pytest.raises(lamina.ShapeError):
        lamina.marching_cubes(np.zeros((4, 4)))
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.marching_cubes(np.zeros((1, 4, 4)))
    bad = np.ones((4, 4, 4), dtype=np.float32)
    bad[1, 2, 3] = np.nan
    with pytest.raises(lamina.NumericError, match=r"\(1, 2, 3\)"):
        lamina.marching_cubes(bad)
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.shape_mesh(SPHERE, resolution=1025)


def test_surface_error_at_128_is_below_half_a_voxel():
    v, f = lamina.shape_mesh(TORUS, resolution=128)
    fine = lamina.shape_mesh(TORUS, resolution=256)
    half_voxel = 1 / 127
    # Point to surface: the analytic |sdf| at area-uniform samples of the mesh (exact).
    error = np.abs(lamina.shape_sdf(TORUS, v))
    assert error.mean() < half_voxel / 50 and error.max() < half_voxel / 10
    # Mesh to mesh against a finer extraction; point-to-point Chamfer of 100k samples is
    # dominated by the sample spacing (~0.5 sqrt(area / samples) = 0.0035 here).
    assert metrics.chamfer((v, f), fine, samples=100000) < half_voxel


def test_iou():
    a = np.array([-1, -1, 1, 1, -1.0])
    b = np.array([-1, 1, 1, -1, -1.0])
    assert metrics.iou(a, b) == pytest.approx(2 / 4)
    assert metrics.iou(a, a) == 1.0
    assert metrics.iou(np.ones(3), np.ones(3)) == 1.0
    with pytest.raises(lamina.ShapeError):
        metrics.iou(np.ones(3), np.ones(4))
    # Sign agreement of two spheres on uniform points ~ (r1 / r2)^3.
    p = np.random.default_rng(0).uniform(-1, 1, (200000, 3)).astype(np.float32)
    small = lamina.shape_sdf({"type": "sphere", "radius": 0.4}, p)
    large = lamina.shape_sdf({"type": "sphere", "radius": 0.5}, p)
    assert metrics.iou(small, large) == pytest.approx(0.512, abs=0.01)


def test_metrics_known_cases():
    a = lamina.shape_mesh({"type": "sphere", "radius": 0.5}, resolution=64)
    b = lamina.shape_mesh({"type": "sphere", "radius": 0.7}, resolution=64)
    r = metrics.compare(a, b, samples=20000, seed=3)
    assert r["chamfer"] == pytest.approx(0.2, abs=0.01)
    assert r["fscore"] == 0.0
    assert r["normal_consistency"] > 0.98
    assert metrics.fscore(a, b, threshold=0.25, samples=5000) == 1.0
    self_chamfer = metrics.chamfer(a, a, samples=20000)
    assert 0 < self_chamfer < 0.01
    assert metrics.normal_consistency(a, a, samples=20000) > 0.99
    assert metrics.chamfer(a, a, samples=20000) == self_chamfer  # seeded


def test_compare_volume_iou_against_analytic_spheres():
    """Two spheres of radius r with centres d apart: lens pi (4r + d)(2r - d)^2 / 12."""
    r, d = 0.5, 0.5
    a = lamina.shape_mesh({"type": "sphere", "radius": r}, resolution=96)
    b = lamina.shape_mesh({"type": "sphere", "radius": r, "center": [d, 0, 0]}, resolution=96)
    lens = np.pi * (4 * r + d) * (2 * r - d) ** 2 / 12
    ball = 4 / 3 * np.pi * r**3
    result = metrics.compare(a, b, samples=40_000, seed=1)
    assert result["iou"] == pytest.approx(lens / (2 * ball - lens), abs=0.01)
    assert metrics.volume_iou(a, b, samples=40_000, seed=1) == result["iou"]
    # Nested spheres: (r1 / r2)^3; a mesh with itself: exactly 1.
    small = lamina.shape_mesh({"type": "sphere", "radius": 0.4}, resolution=96)
    assert metrics.volume_iou(small, a, samples=40_000) == pytest.approx(0.512, abs=0.01)
    assert metrics.volume_iou(a, a, samples=2000) == 1.0
    # volume=False leaves it out and changes nothing else.
    surface = metrics.compare(a, b, samples=40_000, seed=1, volume=False)
    assert "iou" not in surface
    assert surface == {k: v for k, v in result.items() if k != "iou"}


def test_against_scikit_image():
    measure = pytest.importorskip("skimage.measure")
    n = 128
    values = lamina.shape_sdf(TORUS, grid(n)).reshape(n, n, n)
    v, f = lamina.marching_cubes(values)
    sv, sf, _, _ = measure.marching_cubes(values, 0.0, spacing=(2 / (n - 1),) * 3)
    sv = (sv - 1).astype(np.float32)
    assert abs(len(v) - len(sv)) <= 0.002 * len(sv)
    # The same vertices (same edges, same interpolation) up to float rounding.
    key = lambda p: np.unique(np.round(p.astype(np.float64) * 1e4).astype(np.int64) @ np.array([1 << 42, 1 << 21, 1]))
    assert len(np.intersect1d(key(v), key(sv))) > 0.99 * len(sv)
    # Point-to-point Chamfer between the two is the sampling noise floor: the same as
    # lamina's mesh against itself, within a few percent.
    skimage_mesh = (sv, sf.astype(np.uint32))
    between = metrics.chamfer((v, f), skimage_mesh, samples=50000)
    itself = metrics.chamfer((v, f), (v, f), samples=50000)
    assert between == pytest.approx(itself, rel=0.03)
