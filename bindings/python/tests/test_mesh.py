"""Mesh files, signed distance and sampling from Python (lamina.mesh_ops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina.mesh import MeshHandle

HALF = np.array([0.5, 0.3, 0.4])


def box() -> tuple:
    """The box [-HALF, HALF]: 8 vertices, 12 triangles counter-clockwise from outside."""
    v = np.array(
        [[HALF[0] if i & 1 else -HALF[0], HALF[1] if i & 2 else -HALF[1], HALF[2] if i & 4 else -HALF[2]] for i in range(8)],
        dtype=np.float32,
    )
    quads = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]]
    f = np.array([t for q in quads for t in ([q[0], q[1], q[2]], [q[0], q[2], q[3]])], dtype=np.uint32)
    return v, f


def box_sdf(p: np.ndarray) -> np.ndarray:
    q = np.abs(p.astype(np.float64)) - HALF
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)


def icosphere(levels: int = 3) -> tuple:
    t = (1 + 5**0.5) / 2
    pts = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
           [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    pts = [list(np.array(p) / np.linalg.norm(p)) for p in pts]
    faces = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
             [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
             [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    for _ in range(levels):
        cache: dict = {}

        def mid(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = (np.array(pts[a]) + np.array(pts[b])) / 2
                pts.append(list(m / np.linalg.norm(m)))
                cache[key] = len(pts) - 1
            return cache[key]

        faces = [g for a, b, c in faces for g in ([a, mid(a, b), mid(c, a)], [b, mid(b, c), mid(a, b)],
                                                  [c, mid(c, a), mid(b, c)], [mid(a, b), mid(b, c), mid(c, a)])]
    return np.array(pts, dtype=np.float32), np.array(faces, dtype=np.uint32)


@pytest.mark.parametrize("name", ["mesh.obj", "mesh.ply", "MESH.PLY"])
def test_save_load_round_trip(tmp_path: Path, name: str) -> None:
    v, f = icosphere(2)
    lamina.save_mesh(tmp_path / name, v, f)
    v2, f2 = lamina.load_mesh(tmp_path / name)
    assert v2.dtype == np.float32 and f2.dtype == np.uint32
    np.testing.assert_array_equal(v2, v)
    np.testing.assert_array_equal(f2, f)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_load_polygons_and_errors(tmp_path: Path) -> None:
    (tmp_path / "quad.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 4//1\n")
    v, f = lamina.load_mesh(tmp_path / "quad.obj")
    assert v.shape == (4, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2], [0, 2, 3]])
    (tmp_path / "bad.obj").write_text("v 0 0 0\nf 1 2 3\n")
    with pytest.raises(lamina.FormatError, match="vertex"):
        lamina.load_mesh(tmp_path / "bad.obj")
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n")
    with pytest.raises(lamina.FormatError):
        lamina.load_mesh(tmp_path / "bad.ply")
    with pytest.raises(lamina.LaminaIOError):
        lamina.load_mesh(tmp_path / "missing.ply")
    with pytest.raises(lamina.InvalidArgumentError, match="extension"):
        lamina.load_mesh(tmp_path / "mesh.stl")


def test_box_sdf_matches_analytic() -> None:
    v, f = box()
    p = np.random.default_rng(0).uniform(-1, 1, (5000, 3)).astype(np.float32)
    sdf = lamina.mesh_sdf(v, f, p)
    assert sdf.shape == (5000,) and sdf.dtype == np.float32
    np.testing.assert_allclose(sdf, box_sdf(p), atol=1e-5, rtol=0)
    w = lamina.mesh_winding_number(v, f, p)
    np.testing.assert_allclose(w, box_sdf(p) < 0, atol=0.05)
    # A reused handle gives the same answers.
    handle = MeshHandle.from_arrays(v, f)
    np.testing.assert_array_equal(lamina.mesh_sdf(handle, None, p), sdf)
    assert lamina.mesh_sdf(v, f, np.zeros((0, 3))).shape == (0,)


def test_sphere_sdf_between_inscribed_and_circumscribed() -> None:
    v, f = icosphere(3)
    tri = v[f.astype(np.int64)]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    inner = float(np.min(np.sum(normals * tri[:, 0], axis=1)))
    p = np.random.default_rng(1).uniform(-1.5, 1.5, (5000, 3)).astype(np.float32)
    r = np.linalg.norm(p.astype(np.float64), axis=1)
    sdf = lamina.mesh_sdf(v, f, p)
    assert np.all(sdf >= r - 1 - 1e-6)
    assert np.all(sdf <= r - inner + 1e-6)


def test_closest_point() -> None:
    v, f = box()
    closest, tri = lamina.mesh_closest_point(v, f, [[2, 0, 0], [0, 0, -3]])
    np.testing.assert_allclose(closest, [[0.5, 0, 0], [0, 0, -0.4]], atol=1e-7)
    assert tri.dtype == np.uint32 and set(tri[:1]) <= {10, 11} and set(tri[1:]) <= {0, 1}


def test_sample_surface_is_area_uniform() -> None:
    # Two triangles, areas 1/2 and 3/2: a quarter of the samples should land in the first.
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 1, 1]], dtype=np.float32)
    f = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint32)
    p, n = lamina.sample_surface(v, f, 20000, seed=3, return_normals=True)
    share = float(np.mean(p[:, 2] == 0))
    assert abs(share - 0.25) < 0.015
    np.testing.assert_allclose(n, np.tile([0, 0, 1], (20000, 1)), atol=1e-6)
    np.testing.assert_array_equal(lamina.sample_surface(v, f, 100, seed=3), p[:100])
    assert not np.array_equal(lamina.sample_surface(v, f, 100, seed=4), p[:100])


def test_sample_sdf_points() -> None:
    v, f = box()
    p, sdf = lamina.sample_sdf_points(v, f, 4000, seed=5)
    assert p.shape == (4000, 3) and sdf.shape == (4000,)
    assert np.all(np.abs(p) <= 1)
    np.testing.assert_array_equal(sdf, lamina.mesh_sdf(v, f, p))
    near = np.mean(np.abs(sdf) < 0.04)
    assert 0.45 < near < 0.6  # half near the surface (sigma 0.01), plus a few uniform ones
    p2, sdf2 = lamina.sample_sdf_points(v, f, 4000, seed=5)
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(sdf, sdf2)
    # All uniform in a custom box; all near with sigma 0 lies on the surface.
    p, sdf = lamina.sample_sdf_points(v, f, 2000, near_fraction=0.0, bounds=(-2, -1, -1, 2, 1, 1))
    assert np.all(np.abs(p[:, 0]) <= 2) and np.all(np.abs(p[:, 1:]) <= 1) and np.max(p[:, 0]) > 1.5
    p, sdf = lamina.sample_sdf_points(v, f, 500, near_fraction=1.0, sigma=0.0)
    assert np.max(np.abs(sdf)) < 1e-6
    with pytest.raises(lamina.InvalidArgumentError, match="near_fraction"):
        lamina.sample_sdf_points(v, f, 10, near_fraction=1.5)
    with pytest.raises(lamina.InvalidArgumentError, match="bounds"):
        lamina.sample_sdf_points(v, f, 10, bounds=(1, -1))


def test_argument_errors() -> None:
    v, f = box()
    with pytest.raises(lamina.ShapeError):
        lamina.mesh_sdf(v, f, np.zeros((4, 2)))
    with pytest.raises(lamina.NumericError):
        lamina.mesh_sdf(v, f, [[0, np.nan, 0]])
    with pytest.raises(lamina.ShapeError):
        lamina.mesh_sdf(v, None, np.zeros((1, 3)))
    with pytest.raises(lamina.InvalidArgumentError, match="no triangles"):
        lamina.mesh_sdf(v, np.zeros((0, 3), dtype=np.uint32), np.zeros((1, 3)))
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.mesh_sdf(v, [[0, 1, 8]], np.zeros((1, 3)))
