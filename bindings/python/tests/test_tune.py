"""lamina.tune: a KAN sweep on a local Ray, stopped early by ASHA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_shapes import ray_environment

from conftest import PACKAGE_ROOT

ENVIRONMENT = ray_environment(PACKAGE_ROOT)
ray = pytest.importorskip(
    "ray", reason="the sweep tests need ray[tune] (in requirements-test.txt)"
)
pytest.importorskip("ray.tune")

from lamina.tune import SweepResult, sweep_kan  # noqa: E402


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch):
    # Tune's workers are started by this Ray and must find this checkout's package.
    monkeypatch.setenv("PYTHONPATH", ENVIRONMENT["PYTHONPATH"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_sweep_covers_the_grid_ranks_the_trials_and_stops_the_laggards(
    local_ray: None, tmp_path: Path
) -> None:
    r = np.random.default_rng(0)
    x = r.uniform(-1, 1, (600, 2)).astype(np.float32)
    y = (np.sin(np.pi * x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)
    data = {
        "train_input": x[:500],
        "train_label": y[:500],
        "test_input": x[500:],
        "test_label": y[500:],
    }
    result = sweep_kan(
        data,
        {"width": [[2, 3, 1], [2, 5, 1]], "grid": [3, 5, 10]},
        steps=60,
        report_every=5,
        fixed={"lr": 1e-2},
        storage_path=str(tmp_path),
        verbose=0,
    )
    assert isinstance(result, SweepResult) and len(result.rows) == 6
    configs = sorted((tuple(row["config"]["width"]), row["config"]["grid"]) for row in result.rows)
    assert configs == sorted((tuple(w), g) for w in ([2, 3, 1], [2, 5, 1]) for g in (3, 5, 10))
    losses = [row["test_loss"] for row in result.rows]
    assert losses == sorted(losses) and result.best is result.rows[0]
    assert all(row["error"] is None for row in result.rows)
    # ASHA keeps the best trials to the end and stops others at a rung.
    assert result.best["steps"] == 60 and not result.best["stopped"]
    assert all(5 <= row["steps"] <= 60 and row["steps"] % 5 == 0 for row in result.rows)
    # The best trial beats the worst clearly (the fits learned something).
    assert result.best["test_loss"] < 0.8 * max(losses)
    text = str(result)
    assert text.splitlines()[0].split()[:2] == ["grid", "width"] and len(text.splitlines()) == 7
