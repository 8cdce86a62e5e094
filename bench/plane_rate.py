#!/usr/bin/env python3
r"""Fit a torus with tri-plane fields under two learning-rate rules and print the quality.

The rules: planes at 10 x the decoder's rate (``TriplaneField.fit_sdf``'s default in Lamina
0.1) and one rate for everything (the default since 0.2).

The field and data are those of ``bindings/python/examples/field_demo.py`` (64 x 64 x 16
planes by default, a 64-wide ReLU decoder, 150k uniform and 100k near-surface points, 1000
steps of 16384, L1). For each decoder rate and rule it prints IoU on 200k uniform points, the mean
angle in degrees between the field's normal and the torus's at 50k surface points, and the
Chamfer distance of the marching-cubes mesh (resolution 128) to a resolution-192 reference.

    PYTHONPATH=bindings/python LAMINA_LIBRARY=build/lib/liblamina.so \\
        .venv/bin/python bench/plane_rate.py --rates 1e-3 5e-3 --seeds 0
"""

from __future__ import annotations

import argparse
import time
from typing import Dict

import numpy as np

import lamina

TORUS = {"type": "torus", "major": 0.5, "minor": 0.2}


def measure(
    rate: float, factor: float, seed: int, steps: int, resolution: int = 64
) -> Dict[str, float]:
    """Fit at decoder rate ``rate`` and plane rate ``factor * rate``; return the metrics."""
    rng = np.random.default_rng(0)
    reference = lamina.shape_mesh(TORUS, resolution=192)
    surface = lamina.sample_surface(*reference, 100_000, seed=1)
    points = np.concatenate(
        [rng.uniform(-1, 1, (150_000, 3)), surface + rng.normal(0, 0.02, surface.shape)]
    ).astype(np.float32)
    sdf = lamina.shape_sdf(TORUS, points)
    field = lamina.TriplaneField(
        resolution=resolution, channels=16, decoder={"hidden": [64]}, seed=seed
    )
    start = time.perf_counter()
    history = field.fit_sdf(
        points, sdf, steps=steps, batch_size=16384, learning_rate=rate,
        plane_learning_rate=factor * rate, seed=seed, progress=False,
    )
    seconds = time.perf_counter() - start
    test = rng.uniform(-1, 1, (200_000, 3)).astype(np.float32)
    iou = lamina.metrics.iou(field.predict(test)[:, 0], lamina.shape_sdf(TORUS, test))
    on = lamina.sample_surface(*reference, 50_000, seed=2)
    truth = lamina.shape_gradient(TORUS, on)
    cosine = np.clip(np.sum(field.normals(on) * truth, axis=1), -1, 1)
    degrees = float(np.degrees(np.arccos(cosine)).mean())
    mesh = field.extract_mesh(resolution=128)
    chamfer = lamina.metrics.chamfer(mesh, reference, samples=50_000)
    return {"iou": iou, "degrees": degrees, "chamfer": chamfer, "loss": history[-1], "s": seconds}


def main() -> None:
    """Run every rate, rule and seed given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-3, 5e-3])
    parser.add_argument("--factors", type=float, nargs="+", default=[10.0, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=64, help="plane resolution")
    args = parser.parse_args()
    print("rate     planes   seed  IoU     normals(deg)  Chamfer   final L1   time")
    for rate in args.rates:
        for factor in args.factors:
            for seed in args.seeds:
                m = measure(rate, factor, seed, args.steps, args.resolution)
                print(
                    f"{rate:<8g} {factor:g}x{'':<5} {seed:<5} {m['iou']:.4f}  {m['degrees']:7.2f}"
                    f"       {m['chamfer']:.2e}  {m['loss']:.5f}   {m['s']:.0f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
