#!/usr/bin/env python3
"""Lamina demo (the Python half of `make demo`).

Fits f(x, y) = sin(pi x) * cos(pi y) on [-1, 1]^2 with an MLP 2 -> 64 -> 64 -> 1 (tanh),
prints the loss of every epoch, the training time and throughput, and the test RMSE; then
saves the model, reloads it with lamina.load and checks the predictions match exactly.

    LAMINA_LIBRARY=build/lib/liblamina.so .venv/bin/python bindings/python/examples/demo.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_PACKAGE_SOURCE = Path(__file__).resolve().parents[1]
if (_PACKAGE_SOURCE / "lamina" / "__init__.py").exists():
    sys.path.insert(0, str(_PACKAGE_SOURCE))  # run from a checkout: use this source tree

import lamina  # noqa: E402


def target(points: np.ndarray) -> np.ndarray:
    """Return f(x, y) = sin(pi x) cos(pi y) for each row, as one output column."""
    return (np.sin(np.pi * points[:, :1]) * np.cos(np.pi * points[:, 1:2])).astype(np.float32)


def main() -> int:
    """Train, report, save, reload and compare; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x_train = rng.uniform(-1, 1, size=(args.samples, 2)).astype(np.float32)
    x_test = rng.uniform(-1, 1, size=(2048, 2)).astype(np.float32)
    y_train, y_test = target(x_train), target(x_test)

    model = lamina.MLP(2, [64, 64], 1, activation="tanh", seed=0)
    print(f"lamina {lamina.__version__} (library {lamina.library_version()}): {model!r}")

    def report(p: lamina.Progress) -> None:
        print(f"  epoch {p.epoch:3d}/{p.epochs}  loss {p.loss:.6f}  ({p.elapsed_seconds:.2f} s)")

    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        schedule="cosine",
        progress=report,
    )
    seconds = time.perf_counter() - start
    rate = len(x_train) * len(history) / seconds
    rmse = float(np.sqrt(np.mean((model.predict(x_test) - y_test) ** 2)))
    print(f"trained {len(history)} epochs in {seconds:.2f} s ({rate:,.0f} samples/s)")
    print(f"test RMSE {rmse:.4f} (target std {float(y_test.std()):.4f})")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.safetensors"
        model.save(path)
        reloaded = lamina.load(path)
        same = np.array_equal(
            reloaded.predict(x_test).view(np.uint32), model.predict(x_test).view(np.uint32)
        )
        print(
            f"saved {path.name} ({path.stat().st_size} bytes); reloaded predictions "
            + ("match exactly" if same else "DIFFER")
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
