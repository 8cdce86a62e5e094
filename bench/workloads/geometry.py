"""Geometry: mesh signed distance (points uniform in [-1, 1]^3 against a 50k-triangle torus
mesh) against trimesh, and marching cubes of a 256^3 torus grid against scikit-image."""

from __future__ import annotations

import ctypes
import math
from typing import Any, Tuple

import numpy as np

from .common import REPO, Runner, Workload, import_lamina

NU, NV = 250, 100  # 2 x 250 x 100 = 50,000 triangles, as bench/mesh_sdf.c
POINTS = {"lamina": 1_000_000, "trimesh": 2_000}
SMOKE_POINTS = 10_000
MC_N, SMOKE_MC_N = 256, 32


def torus_mesh(nu: int, nv: int) -> Tuple[np.ndarray, np.ndarray]:
    """Torus (radii 0.6, 0.25, axis z) of nu x nv quads split into triangles, outward-facing."""
    u = 2 * math.pi * np.arange(nu) / nu
    w = 2 * math.pi * np.arange(nv) / nv
    uu, ww = np.meshgrid(u, w, indexing="ij")
    rho = 0.6 + 0.25 * np.cos(ww)
    v = np.stack([rho * np.cos(uu), rho * np.sin(uu), 0.25 * np.sin(ww)], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(nu), np.arange(nv), indexing="ij")
    a, b = i * nv + j, ((i + 1) % nu) * nv + j
    c, d = ((i + 1) % nu) * nv + (j + 1) % nv, i * nv + (j + 1) % nv
    f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    return v.astype(np.float32), f.astype(np.uint32)


def make_sdf(impl: str, smoke: bool, threads: int) -> Runner:
    v, f = torus_mesh(NU, NV)
    n = SMOKE_POINTS if smoke else POINTS[impl]
    q = np.random.default_rng(0).uniform(-1, 1, (n, 3)).astype(np.float32)
    if impl == "lamina":
        import_lamina()
        from lamina import _library
        from lamina.mesh import MeshHandle

        mesh = MeshHandle.from_arrays(v, f)
        out = np.empty(n, dtype=np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        fn = _library.lib().lamina_mesh_signed_distance

        def run(calls: int) -> None:
            for _ in range(calls):
                _library.check(fn(mesh.ptr, q.ctypes.data_as(fp), n, out.ctypes.data_as(fp)))

        run.keep = mesh  # type: ignore[attr-defined]
        return run
    if impl == "trimesh":
        import trimesh

        tm = trimesh.Trimesh(v.astype(np.float64), f.astype(np.int64), process=False)
        qd = q.astype(np.float64)

        def run_tm(calls: int) -> None:
            for _ in range(calls):
                trimesh.proximity.signed_distance(tm, qd)

        return run_tm
    raise ValueError(impl)


def make_mc(impl: str, smoke: bool, threads: int) -> Runner:
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from marching_cubes import torus_grid

    n = SMOKE_MC_N if smoke else MC_N
    values = torus_grid(n)
    if impl == "lamina":
        lamina = import_lamina()

        def run(calls: int) -> None:
            for _ in range(calls):
                lamina.marching_cubes(values)

        return run
    if impl == "scikit-image":
        from skimage import measure

        spacing = (2 / (n - 1),) * 3

        def run_sk(calls: int) -> None:
            for _ in range(calls):
                measure.marching_cubes(values, 0.0, spacing=spacing)

        return run_sk
    raise ValueError(impl)


WORKLOADS = [
    Workload(
        name="mesh_sdf", title="Mesh signed distance, 50k-triangle torus, points in [-1, 1]^3",
        impls=["lamina", "trimesh"], lamina=["lamina"], make=make_sdf,
        items=lambda impl, smoke: SMOKE_POINTS if smoke else POINTS[impl], unit="points/s",
        min_calls=1, reps=3, warmup=0.01,
        notes="Lamina: lamina_mesh_signed_distance (ctypes) on a mesh handle made once (BVH built "
              "in warm-up), 1M points per call. trimesh: trimesh.proximity.signed_distance on a "
              "Trimesh made once (its rtree built in warm-up), 2k points per call because it is "
              "slow (~270 points/s here) and memory-hungry (20k points per call peaked at 12 GB); "
              "compare points/s. 3 rounds. trimesh's sign is positive inside, Lamina's negative."),
    Workload(
        name="marching_cubes", title="Marching cubes, 256^3 torus grid",
        impls=["lamina", "scikit-image"], lamina=["lamina"], make=make_mc,
        items=lambda impl, smoke: 1, unit="grids/s", min_calls=1,
        notes="lamina.marching_cubes(values) against skimage.measure.marching_cubes(values, 0, "
              "spacing); the grid is computed once outside the timing (bench/marching_cubes.py)."),
]
