"""optimizer="lbfgs": config keys and defaults, full-batch fitting against Adam, errors,
failure handling and determinism through the Python package."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

from conftest import states_equal


def data(n: int = 200, seed: int = 3):
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) * np.cos(x[:, 1:]) + 0.3 * x[:, 1:] ** 2).astype(np.float32)
    return x, y


def mse(model: lamina.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((model.predict(x) - y) ** 2))


def test_config_defaults_and_keys():
    model = lamina.MLP(2, [8], 1, activation="tanh")
    config = lamina.Trainer(model, optimizer="lbfgs").config
    assert config["optimizer"] == "lbfgs"
    assert config["learning_rate"] == 1.0  # PyTorch's LBFGS lr, not the global 1e-3
    assert config["max_iter"] == 20
    assert config["history_size"] == 10
    assert config["tolerance_grad"] == pytest.approx(1e-7)
    assert config["tolerance_change"] == pytest.approx(1e-9)
    assert config["line_search"] == "strong_wolfe"
    given = lamina.Trainer(
        model, optimizer="lbfgs", learning_rate=0.5, max_iter=7, history_size=3,
        tolerance_grad=1e-32, tolerance_change=1e-32, line_search="none",
    ).config
    assert (given["learning_rate"], given["max_iter"], given["history_size"]) == (0.5, 7, 3)
    assert given["line_search"] == "none" and given["tolerance_grad"] == pytest.approx(1e-32)
    # Adam's default is unchanged.
    assert lamina.Trainer(model).config["learning_rate"] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"weight_decay": 0.1}, "weight_decay"),
        ({"clip_norm": 1.0}, "clip_norm"),
        ({"line_search": "backtracking"}, "line_search"),
        ({"max_iter": 0}, "max_iter"),
        ({"history_size": 0}, "history_size"),
        ({"tolerance_change": -1.0}, "tolerance_change"),
    ],
)
def test_config_errors(bad, key):
    model = lamina.MLP(2, [8], 1, activation="tanh")
    with pytest.raises(lamina.InvalidArgumentError, match=key):
        lamina.Trainer(model, optimizer="lbfgs", **bad)


def test_full_batch_fit_beats_adam():
    x, y = data()
    lbfgs = lamina.MLP(2, [16], 1, activation="tanh", seed=0)
    adam = lamina.MLP(2, [16], 1, activation="tanh", seed=0)
    fast = lamina.MLP(2, [16], 1, activation="tanh", seed=0)
    start = mse(lbfgs, x, y)
    history = lbfgs.fit(x, y, optimizer="lbfgs", batch_size=len(x), epochs=20, progress=False)
    adam.fit(x, y, optimizer="adam", batch_size=len(x), epochs=20, progress=False)
    fast.fit(x, y, optimizer="adam", learning_rate=0.01, batch_size=len(x), epochs=20, progress=False)
    assert len(history) == 20
    final = mse(lbfgs, x, y)
    assert np.isfinite(final)
    assert final < 1e-3 * start
    assert final < 0.01 * mse(adam, x, y)
    assert final < 0.01 * mse(fast, x, y)
    # history holds each epoch's loss before its step: it falls as training goes on.
    assert history[-1] < 0.01 * history[0]


def test_step_returns_loss_before_and_changes_weights():
    x, y = data(50)
    model = lamina.MLP(2, [8], 1, activation="tanh", seed=1)
    trainer = lamina.Trainer(model, optimizer="lbfgs")
    before = trainer.evaluate(x, y)
    assert trainer.step(x, y) == pytest.approx(before, rel=1e-6)
    assert trainer.evaluate(x, y) < 0.5 * before


def test_non_finite_inside_a_step_restores_the_weights():
    model = lamina.MLP(1, [], 1, seed=3)
    before = model.state_dict()
    x, y = np.array([[1e9]], np.float32), np.array([[0.0]], np.float32)
    # The first loss and gradient are finite; the first move (1e6) overflows the next.
    # Without a line search that is an error, with the weights restored.
    plain = lamina.Trainer(model, optimizer="lbfgs", learning_rate=1e6, line_search="none")
    with pytest.raises(lamina.NumericError, match="weights left as before"):
        plain.step(x, y)
    assert states_equal(model.state_dict(), before)
    # The strong-Wolfe search counts overflowing trial points as infinite losses and backs
    # off from them: the step completes at finite weights, no worse than the start.
    trainer = lamina.Trainer(model, optimizer="lbfgs", learning_rate=1e6)
    start = trainer.evaluate(x, y)
    assert trainer.step(x, y) == pytest.approx(start, rel=1e-6)
    assert all(np.isfinite(v).all() for v in model.state_dict().values())
    assert trainer.evaluate(x, y) <= start


def test_fit_is_deterministic():
    x, y = data(64)

    def run():
        model = lamina.MLP(2, [8], 1, activation="tanh", seed=5)
        model.fit(x, y, optimizer="lbfgs", batch_size=16, epochs=3, seed=9, progress=False)
        return model.state_dict()

    assert states_equal(run(), run())
