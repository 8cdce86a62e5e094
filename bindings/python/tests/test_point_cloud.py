"""lamina.point_cloud_distance: unsigned distance to a point cloud's nearest point."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def brute_force(points: np.ndarray, queries: np.ndarray) -> tuple:
    """Least distance (float64) and the lowest index attaining it, by numpy."""
    d2 = ((queries[:, None, :].astype(np.float64) - points[None, :, :]) ** 2).sum(axis=2)
    index = d2.argmin(axis=1)
    return np.sqrt(d2[np.arange(len(queries)), index]), index


@pytest.mark.parametrize("n", [1, 2, 9, 100, 3000])
def test_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    points = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    queries = rng.uniform(-1.5, 1.5, (2500, 3)).astype(np.float32)
    queries[::10] = points[np.arange(0, 2500, 10) % n]
    d, k = lamina.point_cloud_distance(points, queries, return_index=True)
    assert d.dtype == np.float32 and d.shape == (2500,)
    assert k.dtype == np.uint32 and k.shape == (2500,)
    want, _ = brute_force(points, queries)
    np.testing.assert_allclose(d, want, rtol=1e-6, atol=1e-7)
    assert np.all(d[::10] == 0)
    # The index is of a nearest point.
    np.testing.assert_allclose(np.linalg.norm(points[k] - queries, axis=1), want, rtol=1e-6, atol=1e-7)
    # Without the index: the same distances.
    np.testing.assert_array_equal(lamina.point_cloud_distance(points, queries), d)


def test_matches_scipy() -> None:
    spatial = pytest.importorskip("scipy.spatial")
    rng = np.random.default_rng(5)
    points = rng.normal(size=(20000, 3)).astype(np.float32)
    queries = rng.uniform(-3, 3, (20000, 3)).astype(np.float32)
    want, _ = spatial.cKDTree(points.astype(np.float64)).query(queries.astype(np.float64))
    d, k = lamina.point_cloud_distance(points, queries, return_index=True)
    np.testing.assert_allclose(d, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(points[k] - queries, axis=1), want, rtol=1e-5, atol=1e-6)


def test_duplicates_go_to_the_lowest_index() -> None:
    rng = np.random.default_rng(7)
    base = (np.floor(rng.uniform(0, 8, (300, 3))) / 4 - 1).astype(np.float32)
    points = np.concatenate([base, base[::-1], base])
    queries = (np.floor(rng.uniform(0, 16, (3000, 3))) / 8 - 1).astype(np.float32)
    d, k = lamina.point_cloud_distance(points, queries, return_index=True)
    want, index = brute_force(points, queries)
    np.testing.assert_allclose(d, want, rtol=1e-6, atol=1e-7)
    assert np.all(k < 300), "a tie went past the first copy"
    # On these lattices (multiples of 1/8) every squared distance is exact in float32 and
    # float64 alike, so ties are exact and the index is numpy's argmin (the lowest).
    np.testing.assert_array_equal(k, index)
    np.testing.assert_array_equal(d, want.astype(np.float32))
    one = lamina.point_cloud_distance(np.zeros((5, 3)), [[0, 0, 0], [3, 4, 0]], return_index=True)
    np.testing.assert_array_equal(one[0], [0, 5])
    np.testing.assert_array_equal(one[1], [0, 0])


def test_shapes_and_inputs() -> None:
    points = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    d = lamina.point_cloud_distance(points, [[0.25, 0.0, 0.0]])
    np.testing.assert_array_equal(d, np.array([0.25], dtype=np.float32))
    # float64 and non-contiguous inputs are converted.
    q = np.asfortranarray(np.array([[2.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(lamina.point_cloud_distance(np.array(points), q), [1, 1])
    # No queries: empty results (the cloud is still checked).
    d, k = lamina.point_cloud_distance(points, np.zeros((0, 3)), return_index=True)
    assert d.shape == (0,) and d.dtype == np.float32 and k.shape == (0,) and k.dtype == np.uint32


def test_errors() -> None:
    points = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(lamina.ShapeError, match="points"):
        lamina.point_cloud_distance(np.zeros((4, 2)), np.zeros((1, 3)))
    with pytest.raises(lamina.ShapeError, match="queries"):
        lamina.point_cloud_distance(points, np.zeros(3))
    with pytest.raises(lamina.InvalidArgumentError, match="empty"):
        lamina.point_cloud_distance(np.zeros((0, 3)), np.zeros((1, 3)))
    with pytest.raises(lamina.InvalidArgumentError, match="empty"):
        lamina.point_cloud_distance(np.zeros((0, 3)), np.zeros((0, 3)))
    bad = points.copy()
    bad[2, 1] = np.nan
    with pytest.raises(lamina.NumericError, match="point 2"):
        lamina.point_cloud_distance(bad, np.zeros((1, 3)))
    q = np.zeros((3, 3))
    q[1, 0] = np.inf
    with pytest.raises(lamina.NumericError, match="query 1"):
        lamina.point_cloud_distance(points, q)
