"""The first optimizer steps of an MLP (Adam, AdamW, SGD with momentum), a tri-plane field
(Adam) and a B-spline KAN (Adam) against stored float64 references.

Tests/Data/optimizer_trajectories.json holds, per case, the spec, config, batch, initial
weights, the loss before each of the first steps and every tensor after each step, made by
Tests/Reference/optimizer_trajectory_reference.py: torch.optim in float64 for the MLP and
the tri-plane field (F.grid_sample, align_corners true), a float64 re-implementation of
torch's Adam fed Lamina's own gradients for the KAN. The script checks that the tolerance
stored with the values is at least 10 times tighter than what dropping Adam's bias
correction, beta1 0.85, beta2 0.99 or epsilon 1e-7 would give (the ``mutant_margins``). The
same values are checked from C (Tests/C/test_trajectories.c) and Swift
(OptimizerTrajectoryTests).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import lamina

from conftest import REPO_ROOT

REFERENCE = json.loads((REPO_ROOT / "Tests" / "Data" / "optimizer_trajectories.json").read_text())
TOL = REFERENCE["tolerance"]
CASES = REFERENCE["cases"]


def test_the_reference_holds_every_model_and_optimizer() -> None:
    names = {c["name"] for c in CASES}
    assert names == {"mlp_adam", "mlp_adamw", "mlp_sgd_momentum", "triplane_adam", "kan_adam"}
    assert REFERENCE["steps"] >= 3
    for case in CASES:
        assert all(margin > 10 for margin in case["mutant_margins"].values()), case["name"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_first_steps_match_the_reference(case: dict) -> None:
    x = np.array(case["x"], np.float32)
    y = np.array(case["y"], np.float32)
    model = lamina.Model.from_spec(case["spec"])
    model.load_state_dict(
        {k: np.array(v, np.float32).reshape(case["shapes"][k]) for k, v in case["init"].items()}
    )
    trainer = lamina.Trainer(model, batch_size=len(x), shuffle=False, **case["config"])
    for step in range(REFERENCE["steps"]):
        loss = trainer.step(x, y)
        assert loss == pytest.approx(case["losses"][step], rel=TOL["loss_rtol"]), f"loss before step {step + 1}"
        state = model.state_dict()
        for name, want in case["weights"][step].items():
            np.testing.assert_allclose(
                state[name].reshape(-1).astype(np.float64), want,
                rtol=TOL["weight_rtol"], atol=TOL["weight_atol"],
                err_msg=f"{case['name']}: {name} after step {step + 1}",
            )
