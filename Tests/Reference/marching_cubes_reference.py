"""Reference figures for MarchingCubesTests.testAgreesWithScikitImage.

Runs scikit-image's measure.marching_cubes (Lewiner's "marching cubes 33") on the same grids
the Swift test builds: a sphere (radius 0.6, centre (0.05, -0.03, 0.02)) and a torus about y
(major 0.55, minor 0.22, centre (0.01, 0.02, -0.03)) sampled on n^3 points spanning [-1, 1]^3,
values computed in float32 exactly as Shape.distance does. Prints vertex and face counts,
surface area and enclosed volume of each mesh.

    /work/scratch-act/.venv/bin/python Tests/Reference/marching_cubes_reference.py
    (scikit-image 0.26.0, numpy float32 grids)
"""

import numpy as np
from skimage import measure


def grid(n):
    h = np.float32(2.0) / np.float32(n - 1)
    c = np.float32(-1.0) + h * np.arange(n, dtype=np.float32)
    return np.meshgrid(c, c, c, indexing="ij")


def sphere(x, y, z):
    dx, dy, dz = x - np.float32(0.05), y + np.float32(0.03), z - np.float32(0.02)
    return np.sqrt(dx * dx + dy * dy + dz * dz) - np.float32(0.6)


def torus(x, y, z):
    dx, dy, dz = x - np.float32(0.01), y - np.float32(0.02), z + np.float32(0.03)
    q = np.sqrt(dx * dx + dz * dz) - np.float32(0.55)
    return np.sqrt(q * q + dy * dy) - np.float32(0.22)


def stats(v, f):
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    return area, volume


if __name__ == "__main__":
    for n in (64, 128):
        x, y, z = grid(n)
        for name, fn in (("sphere", sphere), ("torus", torus)):
            values = fn(x, y, z).astype(np.float32)
            spacing = (2.0 / (n - 1),) * 3
            v, f, _, _ = measure.marching_cubes(values, 0.0, spacing=spacing)
            v = v.astype(np.float64) - 1.0
            area, volume = stats(v, f)
            # The signed volume is positive: skimage's default winding matches Lamina's here.
            print(f'("{name}", {n}, {len(v)}, {len(f)}, {area:.6f}, {abs(volume):.6f}),  // {volume:+.3e} signed')
