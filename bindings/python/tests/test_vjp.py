"""The vector-Jacobian path from numpy: Model.vjp (dL/dx and, with parameters=True, every
trainable tensor's gradient) and Trainer.step_vjp, for an MLP, a KAN and a tri-plane field.

References that do not share the code under test:
- dx against dy contracted with Model.gradient's Jacobian (float64 sums; 1e-5 relative);
- parameter gradients against central differences of S(w) = sum(dy * f(x; w)) from predict,
  in float64, with dy scaled as a mean loss's gradient (1 / (n out)) so that the noise of
  the differences is a few 1e-5: ATOL 2e-4, RTOL 1e-2 as test_parameter_gradients.py;
- step_vjp with the mse gradient against Trainer.step with loss "mse", bit for bit;
- a pinball (quantile) loss, which Lamina does not have: its gradient through vjp matches
  finite differences of the loss, and training through step_vjp fits the 0.8 quantile.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina.vjp import trainable_tensors

ATOL = 2e-4
RTOL = 1e-2
ROWS = 16

SPECS = {
    "mlp": {"kind": "mlp", "input": 3, "hidden": [8, 8], "output": 2, "activation": "tanh",
            "seed": 3},
    "kan": {"kind": "kan", "widths": [3, 4, 2], "grid": 5, "order": 3, "seed": 4},
    "triplane": {"kind": "triplane", "resolution": 6, "channels": 4, "init_std": 0.5,
                 "decoder": {"hidden": [8], "activation": "tanh"}, "output": 2, "seed": 5},
}


def data(model, rng):
    x = rng.uniform(-0.9, 0.9, (ROWS, model.input_dim)).astype(np.float32)
    dy = (rng.uniform(-1, 1, (ROWS, model.output_dim)) / (ROWS * model.output_dim)).astype(
        np.float32
    )
    return x, dy


def differences(model, grads, objective, max_entries=48, seed=0):
    """Central differences of objective() for a subset of each trained tensor's entries
    (always the largest analytic one); returns the worst error / tolerance and the number of
    entries above 10 ATOL."""
    r = np.random.default_rng(seed)
    worst, strong = 0.0, 0
    state = model.state_dict()
    for name, g in grads.items():
        w = state[name].copy()
        flat = w.reshape(-1)
        entries = np.arange(flat.size)
        if flat.size > max_entries:
            entries = np.unique(
                np.concatenate([r.choice(flat.size, max_entries, replace=False),
                                [np.argmax(np.abs(g))]])
            )
        for e in entries:
            keep = flat[e]
            h = 1e-3 * max(1.0, abs(float(keep)))
            flat[e] = hi = np.float32(keep + h)
            model.load_state_dict({name: w}, strict=False)
            fp = objective()
            flat[e] = lo = np.float32(keep - h)
            model.load_state_dict({name: w}, strict=False)
            fm = objective()
            flat[e] = keep
            model.load_state_dict({name: w}, strict=False)
            numeric = (fp - fm) / (float(hi) - float(lo))
            analytic = float(g.reshape(-1)[e])
            err = abs(analytic - numeric) / (ATOL + RTOL * max(abs(analytic), abs(numeric)))
            assert err <= 1, f"{name}[{e}]: analytic {analytic:.7g}, numeric {numeric:.7g}"
            worst = max(worst, err)
            strong += abs(analytic) > 10 * ATOL
    return worst, strong


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_dx_is_dy_times_the_jacobian(kind, rng):
    model = lamina.Model.from_spec(SPECS[kind])
    x, dy = data(model, rng)
    dx = model.vjp(x, dy)
    assert dx.shape == x.shape and dx.dtype == np.float32
    want = np.einsum("sk,ski->si", dy.astype(np.float64), model.gradient(x).astype(np.float64))
    np.testing.assert_allclose(dx, want, rtol=1e-5, atol=1e-9)
    # parameters=True gives the same dx, and buffers are not among the gradients.
    dx2, grads = model.vjp(x, dy, parameters=True)
    np.testing.assert_allclose(dx2, dx, rtol=1e-6, atol=1e-9)
    names = [name for name, _ in trainable_tensors(model)]
    assert list(grads) == names
    assert sum(g.size for g in grads.values()) == model.parameter_count
    if kind == "kan":
        assert "0.grid" not in grads and "0.mask" not in grads and "0.coef" in grads


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_parameter_gradients_match_finite_differences(kind, rng):
    model = lamina.Model.from_spec(SPECS[kind])
    x, dy = data(model, rng)
    _, grads = model.vjp(x, dy, parameters=True)
    for name, g in grads.items():
        assert g.shape == model.state_dict()[name].shape

    def objective():
        return float(np.sum(dy.astype(np.float64) * model.predict(x).astype(np.float64)))

    worst, strong = differences(model, grads, objective)
    assert strong >= 5, f"only {strong} entries carry a gradient above 10 ATOL"


def test_shapes_and_inputs(rng):
    model = lamina.Model.from_spec(SPECS["mlp"])
    x, dy = data(model, rng)
    # Leading batch axes and one sample.
    dx = model.vjp(x.reshape(4, 4, 3), dy.reshape(4, 4, 2))
    np.testing.assert_array_equal(dx.reshape(ROWS, 3), model.vjp(x, dy))
    assert model.vjp(x[0], dy[0]).shape == (3,)
    # float64 and lists are converted.
    np.testing.assert_array_equal(model.vjp(x.astype(np.float64), dy.tolist()), model.vjp(x, dy))
    with pytest.raises(lamina.ShapeError, match="dy has shape"):
        model.vjp(x, dy[:, :1])
    bad = dy.copy()
    bad[3, 1] = np.nan
    with pytest.raises(lamina.NumericError, match="dy"):
        model.vjp(x, bad)
    with pytest.raises(lamina.NumericError, match="dy"):
        model.vjp(x, bad, parameters=True)
    # One output: dy may be (n,), as targets.
    one = lamina.MLP(2, [4], 1, activation="tanh", seed=1)
    xs = rng.uniform(-1, 1, (5, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        one.vjp(xs, np.ones(5, np.float32)), one.vjp(xs, np.ones((5, 1), np.float32))
    )


@pytest.mark.parametrize("optimizer", [{"optimizer": "adam", "learning_rate": 0.01},
                                       {"optimizer": "sgd", "learning_rate": 0.05,
                                        "momentum": 0.9}])
@pytest.mark.parametrize("kind", sorted(SPECS))
def test_step_vjp_with_the_mse_gradient_is_step(kind, optimizer, rng):
    a = lamina.Model.from_spec(SPECS[kind])
    b = a.copy()
    ta, tb = lamina.Trainer(a, **optimizer), lamina.Trainer(b, **optimizer)
    x, _ = data(a, rng)
    t = rng.uniform(-1, 1, (ROWS, a.output_dim)).astype(np.float32)
    scale = np.float32(2) / np.float32(t.size)
    for _ in range(3):
        ta.step(x, t)
        assert tb.step_vjp(x, scale * (b.predict(x) - t)) == 0.0
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[name], value, err_msg=name)


def pinball(y, t, tau):
    r = t.astype(np.float64) - y.astype(np.float64)
    return float(np.mean(np.where(r >= 0, tau * r, (tau - 1) * r)))


def pinball_gradient(y, t, tau):
    return (np.where(y > t, 1 - tau, np.where(y < t, -tau, 0)) / y.size).astype(np.float32)


def test_quantile_loss_gradient_matches_finite_differences(rng):
    tau = 0.8
    model = lamina.Model.from_spec(SPECS["kan"])
    x, _ = data(model, rng)
    y = model.predict(x)
    t = rng.uniform(-1, 1, y.shape).astype(np.float32)
    # No residual within 0.05 of the kink, so no perturbation crosses it.
    r = t - y
    t = np.where(np.abs(r) < 0.05, y + np.where(r >= 0, 0.05, -0.05), t).astype(np.float32)
    _, grads = model.vjp(x, pinball_gradient(y, t, tau), parameters=True)
    worst, strong = differences(model, grads, lambda: pinball(model.predict(x), t, tau))
    assert strong >= 5


def test_quantile_loss_trains_through_step_vjp():
    tau = 0.8
    r = np.random.default_rng(3)
    x = r.uniform(-1, 1, (256, 1)).astype(np.float32)
    t = (np.sin(2 * x) + r.uniform(-0.5, 0.5, x.shape)).astype(np.float32)
    model = lamina.MLP(1, [16], 1, activation="tanh", seed=7)
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.02)
    first = pinball(model.predict(x), t, tau)
    for _ in range(600):
        trainer.step_vjp(x, pinball_gradient(model.predict(x), t, tau))
    y = model.predict(x)
    assert pinball(y, t, tau) < 0.5 * first
    # About tau of the targets lie below the fitted 0.8 quantile, which is sin(2x) + 0.3.
    assert abs(np.mean(t < y) - tau) < 0.08
    # Measured: mean distance 0.054 (the largest, 0.26, at the ends of the data).
    assert np.mean(np.abs(y - (np.sin(2 * x) + 0.3))) < 0.1


def test_step_vjp_errors_change_nothing(rng):
    model = lamina.Model.from_spec(SPECS["kan"])
    before = model.state_dict()
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.1)
    x, dy = data(model, rng)
    bad = dy.copy()
    bad[0, 0] = np.inf
    with pytest.raises(lamina.NumericError, match="dy"):
        trainer.step_vjp(x, bad)
    with pytest.raises(lamina.ShapeError):
        trainer.step_vjp(x, dy[:3])
    with pytest.raises(lamina.InvalidArgumentError, match="n = 0"):
        trainer.step_vjp(x[:0], dy[:0])
    lbfgs = lamina.Trainer(model, optimizer="lbfgs")
    with pytest.raises(lamina.UnsupportedError, match="lbfgs"):
        lbfgs.step_vjp(x, dy)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    trainer.step_vjp(x, dy)
    assert any(
        not np.array_equal(value, before[name]) for name, value in model.state_dict().items()
    )


def test_step_vjp_reports_the_trainers_penalty(rng):
    model = lamina.Model.from_spec(SPECS["triplane"])
    trainer = lamina.Trainer(model, optimizer="sgd", learning_rate=0.01, plane_l2=0.5)
    x, dy = data(model, rng)
    planes = model.state_dict()["0.planes"].astype(np.float64)
    penalty = trainer.step_vjp(x, np.zeros_like(dy))
    # plane_l2 times the sum over the three planes of each plane's mean square (lamina.h,
    # TriplaneEncoding+Regularization.swift), at the weights the step started from.
    assert penalty == pytest.approx(0.5 * 3 * np.mean(planes**2), rel=1e-5)
    # With dy = 0 only the penalty moves the planes, and the decoder does not move.
    assert not np.array_equal(model.state_dict()["0.planes"], planes.astype(np.float32))
