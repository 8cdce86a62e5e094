"""Times trimesh's signed distance on the points of bench/mesh_sdf.c and checks agreement.

    LAMINA_BENCH_DUMP=/tmp/mesh_bench build/bench/mesh_sdf 1000000 250 100
    /work/scratch-act/.venv/bin/python bench/mesh_sdf_trimesh.py /tmp/mesh_bench [count=20000]

Reads the torus mesh (/tmp/mesh_bench.ply, written by lamina_mesh_save) and the first
100000 points with Lamina's signed distances (/tmp/mesh_bench.bin), evaluates
trimesh.proximity.signed_distance (positive inside; negated here) on the first `count`
points, and prints trimesh's points/s and the largest difference from Lamina.
"""
import sys
import time

import numpy as np
import trimesh

base = sys.argv[1] if len(sys.argv) > 1 else "/tmp/mesh_bench"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
mesh = trimesh.load(base + ".ply", process=False)
raw = np.fromfile(base + ".bin", dtype=np.float32)
m = raw.size // 4
points, lamina_sdf = raw[: 3 * m].reshape(m, 3)[:count], raw[3 * m:][:count]
start = time.perf_counter()
sdf = -trimesh.proximity.signed_distance(mesh, points.astype(np.float64))
elapsed = time.perf_counter() - start
diff = np.abs(sdf - lamina_sdf)
print(f"trimesh {trimesh.__version__}: {len(mesh.faces)} triangles, {count} points in {elapsed:.2f} s"
      f" = {count / elapsed:,.0f} points/s")
print(f"max |trimesh - lamina| = {diff.max():.3g}; sign disagreements: {int(np.sum((sdf < 0) != (lamina_sdf < 0)))}")
