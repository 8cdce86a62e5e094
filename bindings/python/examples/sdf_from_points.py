"""Fit a signed distance field to an oriented point cloud, with no distances given.

Points and normals are sampled from a torus mesh; an MLP is trained on three loss terms
(IGR's recipe): the field is 0 on the surface points, its gradient is aligned with the
normals there, and its gradient has unit length everywhere (eikonal). The fitted field's
zero set is then meshed and compared with the true torus.

    python bindings/python/examples/sdf_from_points.py [--steps 2000] [--points 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--resolution", type=int, default=96)
    args = parser.parse_args()

    torus = {"type": "torus", "major": 0.5, "minor": 0.2}
    vertices, faces = lamina.shape_mesh(torus, resolution=128)
    surface, normals = lamina.sample_surface(vertices, faces, args.points, seed=1,
                                             return_normals=True)
    rng = np.random.default_rng(0)
    # Eikonal points: uniform in the box and jittered copies of the surface points.
    space = np.concatenate([
        rng.uniform(-1, 1, (args.points, 3)),
        surface + rng.normal(0, 0.05, surface.shape),
    ]).astype(np.float32)

    model = lamina.MLP(3, [128, 128, 128], 1, activation={"name": "softplus", "beta": 100},
                       seed=0)
    terms = [
        {"loss": "value", "x": surface, "y": np.zeros(len(surface)), "weight": 3000 / 100,
         "batch_size": 4096, "name": "surface"},
        {"loss": "normal", "x": surface, "normals": normals, "batch_size": 4096},
        {"loss": "eikonal", "x": space, "weight": 0.5, "batch_size": 4096},
    ]
    start = time.perf_counter()
    history = model.fit_terms(terms, steps=args.steps, learning_rate=1e-3,
                              schedule="cosine", min_learning_rate=1e-5)
    seconds = time.perf_counter() - start

    r = args.resolution
    axis = np.linspace(-1, 1, r, dtype=np.float32)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    values = model.predict(grid)[:, 0].reshape(r, r, r)
    mesh = lamina.marching_cubes(values)
    metrics = lamina.metrics.compare(mesh, (vertices, faces))
    truth = lamina.shape_gradient(torus, surface[:2000])
    _, jac, _ = model.derivatives(surface[:2000], order=1)
    g = jac[:, 0]
    cos = np.sum(g * truth, 1) / (np.linalg.norm(g, axis=1) * np.linalg.norm(truth, axis=1))
    angle = np.degrees(np.arccos(np.clip(cos, -1, 1))).mean()
    print(f"{args.steps} steps in {seconds:.1f} s; final losses: "
          + ", ".join(f"{k} {v[-1]:.3g}" for k, v in history.items()))
    print(f"chamfer {metrics['chamfer']:.4f}  IoU {metrics['iou']:.4f}  "
          f"normal consistency {metrics['normal_consistency']:.4f}  "
          f"mean normal error at the points {angle:.2f} degrees")


if __name__ == "__main__":
    main()
