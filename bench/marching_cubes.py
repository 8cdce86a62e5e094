"""Marching cubes at 256^3: Lamina (lamina.marching_cubes, through the C ABI) against
scikit-image's measure.marching_cubes on the same precomputed torus grid.

    LAMINA_LIBRARY=build/lib/liblamina.so /work/scratch-act/.venv/bin/python bench/marching_cubes.py

Prints the best of `repeats` wall-clock times of each (the grid is computed once, outside the
timings), the vertex and face counts, and the ratio scikit-image / Lamina (> 1: Lamina faster).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bindings", "python"))
import lamina  # noqa: E402


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def torus_grid(n: int) -> np.ndarray:
    """Signed distance of a torus (radii 0.55, 0.22, axis y) on an n^3 grid over [-1, 1]^3.
    bench/workloads/geometry.py uses it too."""
    c = np.linspace(-1, 1, n, dtype=np.float32)
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    q = np.sqrt(x * x + z * z) - np.float32(0.55)
    return np.ascontiguousarray(np.sqrt(q * q + y * y) - np.float32(0.22), dtype=np.float32)


def main(n: int = 256, repeats: int = 5) -> None:
    from skimage import measure

    values = torus_grid(n)
    spacing = (2 / (n - 1),) * 3
    lamina.marching_cubes(values)  # warm up (table generation, thread pool)
    t_lamina, (v, f) = best(lambda: lamina.marching_cubes(values), repeats)
    t_sk, (sv, sf, _, _) = best(lambda: measure.marching_cubes(values, 0.0, spacing=spacing), repeats)
    print(f"grid {n}^3 torus, best of {repeats}, {os.cpu_count()} cpus")
    print(f"lamina        {t_lamina * 1e3:8.1f} ms   V {len(v)}  F {len(f)}")
    print(f"scikit-image  {t_sk * 1e3:8.1f} ms   V {len(sv)}  F {len(sf)}")
    print(f"ratio scikit-image / lamina: {t_sk / t_lamina:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
