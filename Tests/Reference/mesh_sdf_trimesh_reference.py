"""Reference values for Tests/LaminaTests/ReferenceValues/MeshSDFReference.swift (used by MeshDistanceTests).

Run: /work/scratch-act/.venv/bin/python Tests/Reference/mesh_sdf_trimesh_reference.py
     (needs `pip install trimesh rtree` in that venv; made with trimesh 5.2.0)

Builds the same coarse torus as MeshFixtures.torus(R: 0.6, r: 0.25, nu: 24, nv: 12) (float64
cos/sin rounded to float32, quads split (a, b, c), (a, c, d)), draws 64 float32 query points
(32 uniform in [-1.1, 1.1]^3, 32 within 0.4 of the tube's core circle) with numpy's
default_rng(20261122), and evaluates trimesh's signed
distance (trimesh.proximity.signed_distance: closest points by its own code, sign by ray
containment; its convention is positive INSIDE, so the values are negated here to Lamina's
negative-inside convention). Points within 1e-3 of the surface are dropped (ray tests are
fragile there). Prints Swift literals.
"""
import numpy as np
import trimesh


def torus(R=0.6, r=0.25, nu=24, nv=12):
    v = []
    for i in range(nu):
        u = 2 * np.pi * i / nu
        for j in range(nv):
            w = 2 * np.pi * j / nv
            rho = R + r * np.cos(w)
            v.append([rho * np.cos(u), rho * np.sin(u), r * np.sin(w)])
    f = []
    for i in range(nu):
        for j in range(nv):
            a = i * nv + j
            b = ((i + 1) % nu) * nv + j
            c = ((i + 1) % nu) * nv + (j + 1) % nv
            d = i * nv + (j + 1) % nv
            f += [[a, b, c], [a, c, d]]
    return np.asarray(v, dtype=np.float32), np.asarray(f, dtype=np.int64)


vertices, faces = torus()
mesh = trimesh.Trimesh(vertices=vertices.astype(np.float64), faces=faces, process=False)
assert mesh.is_watertight and mesh.volume > 0
rng = np.random.default_rng(20261122)
box = rng.uniform(-1.1, 1.1, (32, 3))
# And 32 around the tube, at distances 0 to 0.4 from its core circle (inside and outside).
u, w, s = rng.uniform(0, 2 * np.pi, 32), rng.uniform(0, 2 * np.pi, 32), rng.uniform(0, 0.4, 32)
tube = np.stack([(0.6 + s * np.cos(w)) * np.cos(u), (0.6 + s * np.cos(w)) * np.sin(u), s * np.sin(w)], 1)
points = np.concatenate([box, tube]).astype(np.float32)
sdf = -trimesh.proximity.signed_distance(mesh, points.astype(np.float64))
keep = np.abs(sdf) > 1e-3
points, sdf = points[keep], sdf[keep]
print(f"// {len(points)} points, {int((sdf < 0).sum())} inside")
print("  static let points: [Float] = [")
for p in points:
    print("    " + ", ".join(repr(float(x)) for x in p) + ",")
print("  ]")
print("  static let sdf: [Double] = [")
for i in range(0, len(sdf), 4):
    print("    " + ", ".join(f"{x:.9g}" for x in sdf[i:i + 4]) + ",")
print("  ]")
