"""KAN.fit(lamb=...): pykan's sparsity regularisation through the trainer config."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lamina

import kan_reference_model

# pykan 0.2.8, model.reg('edge_forward_spline_n', 1, 2, 0, 0) on the model and samples of
# Tests/Reference/kan_reg_reference.py (also checked in Swift, KANRegularizationTests).
PYKAN_REG = 11.863182067871094
# model.reg(metric, *settings) for the three settings of the reference scripts
# (Tests/Reference/kan_reg_reference.py and kan_reg_metrics_reference.py).
SETTINGS = [(1.0, 2.0, 0.0, 0.0), (1.0, 2.0, 1.0, 1.0), (0.5, 0.0, 0.3, 0.7)]
PYKAN_REGS = {
    "edge_forward_spline_n": [11.863182067871094, 54.66404724121094, 23.71504783630371],
    "edge_forward_spline_u": [10.235236167907715, 53.036102294921875, 23.12918472290039],
    "edge_forward_sum": [11.863182067871094, 54.66404724121094, 23.71504783630371],
}


def reference_model() -> lamina.KAN:
    """The reference scripts' model, width [2, 3, 1]."""
    return kan_reference_model.reference_model([2, 3, 1])


def reference_dataset():
    x = kan_reference_model.reference_inputs()
    y = np.sin(np.pi * x[:, :1]).astype(np.float32)
    return {"train_input": x, "train_label": y, "test_input": x, "test_label": y}


def test_fit_reports_pykan_reg_before_the_first_step():
    model = reference_model()
    results = model.fit(
        reference_dataset(), opt="Adam", steps=2, lr=1e-3, lamb=1.0, update_grid=False,
        progress=False,
    )
    assert len(results["reg"]) == 2
    assert results["reg"][0] == pytest.approx(PYKAN_REG, rel=1e-4)
    assert all(math.isfinite(v) for v in results["train_loss"])


def test_fit_without_lamb_has_no_reg_and_lamb_changes_training():
    data = reference_dataset()
    plain = reference_model()
    r0 = plain.fit(data, opt="Adam", steps=5, lr=1e-2, update_grid=False, progress=False)
    assert "reg" not in r0
    regularized = reference_model()
    regularized.fit(
        data, opt="Adam", steps=5, lr=1e-2, update_grid=False, progress=False, lamb=0.1,
        lamb_coef=0.5, lamb_coefdiff=0.5,
    )
    a, b = plain.state_dict()["0.coef"], regularized.state_dict()["0.coef"]
    assert not np.allclose(a, b)


def test_regularisation_makes_the_network_sparser():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(256, 2)).astype(np.float32)
    y = np.sin(np.pi * x[:, :1]).astype(np.float32)
    data = {"train_input": x, "train_label": y, "test_input": x, "test_label": y}

    def small_edges(lamb):
        model = lamina.KAN(width=[2, 4, 1], grid=5, k=3, seed=1)
        model.fit(data, opt="LBFGS", steps=10, lamb=lamb, progress=False)
        scores = np.concatenate([e.ravel() for e in model.attribute(x)])
        return int(np.sum(scores < 1e-2 * scores.max()))

    assert small_edges(0.01) > small_edges(0.0)


def test_bad_settings_are_refused():
    model = reference_model()
    with pytest.raises(lamina.InvalidArgumentError):
        model.fit(reference_dataset(), steps=1, lamb=0.1, reg_metric="edge_backward",
                  progress=False)
    with pytest.raises(lamina.InvalidArgumentError):
        model.fit(reference_dataset(), steps=1, lamb=-1.0, progress=False)
    with pytest.raises(lamina.UnsupportedError):
        lamina.Trainer(lamina.MLP(2, [4], 1), lamb=0.1)


@pytest.mark.parametrize("metric", sorted(PYKAN_REGS))
def test_reg_value_matches_pykan(metric):
    model = reference_model()
    x = reference_dataset()["train_input"]
    for (l1, entropy, coef, coefdiff), expected in zip(SETTINGS, PYKAN_REGS[metric]):
        value = model.reg(x, reg_metric=metric, lamb_l1=l1, lamb_entropy=entropy,
                          lamb_coef=coef, lamb_coefdiff=coefdiff)
        assert value == pytest.approx(expected, rel=2e-5)


def test_reg_defaults_and_fit_agree():
    model = reference_model()
    data = reference_dataset()
    with pytest.raises(lamina.InvalidArgumentError):
        model.reg()  # no samples yet
    results = model.fit(data, opt="Adam", steps=1, lr=0.0, lamb=1.0, update_grid=False,
                        progress=False)
    # lr 0 leaves the weights, so the cached training inputs give fit's value.
    assert model.reg() == pytest.approx(results["reg"][0], rel=1e-4)
    assert model.reg(data["train_input"]) == pytest.approx(PYKAN_REG, rel=2e-5)


def test_reg_metrics_train():
    data = reference_dataset()
    for metric in ("edge_forward_spline_u", "edge_forward_sum"):
        model = reference_model()
        results = model.fit(data, opt="Adam", steps=2, lr=1e-3, lamb=1.0, update_grid=False,
                            progress=False, reg_metric=metric)
        assert results["reg"][0] == pytest.approx(PYKAN_REGS[metric][0], rel=1e-4)


def test_reg_bad_calls():
    model = reference_model()
    x = reference_dataset()["train_input"]
    with pytest.raises(lamina.InvalidArgumentError):
        model.reg("edge_forward_spline_n")  # pykan's positional form: x comes first here
    with pytest.raises(lamina.InvalidArgumentError):
        model.reg(x, reg_metric="edge_backward")
    with pytest.raises(lamina.InvalidArgumentError):
        model.reg(x, lamb_l1=-1.0)
    with pytest.raises(lamina.ShapeError):
        model.reg(x[:0])
    with pytest.raises(lamina.NumericError):
        model.reg(np.full((4, 2), np.nan, dtype=np.float32))
    cheby = lamina.KAN(width=[2, 3, 1], basis="chebyshev")
    with pytest.raises(lamina.UnsupportedError):
        cheby.reg(x)
