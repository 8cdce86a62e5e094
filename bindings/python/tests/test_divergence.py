"""Fits that diverge: by default a DivergenceWarning and the history so far, the model at its
last finite weights; ``on_divergence="raise"`` raises NumericError (Model.fit, Trainer.fit
and the field fits)."""

from __future__ import annotations

import warnings
from typing import Dict

import numpy as np
import pytest

import lamina

from conftest import states_equal

#: SGD whose rate warms up to 10 over 20 steps of 32 rows: the first two epochs (16 steps)
#: are finite, then the loss overflows (at step 22 on this data).
DIVERGING = dict(
    epochs=20, batch_size=32, optimizer="sgd", learning_rate=10.0, warmup_steps=20,
    progress_every=1,
)


def data() -> tuple:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    return x, (np.sin(3 * x[:, :1]) * x[:, 1:]).astype(np.float32)


class Watch:
    """A progress callable that keeps each epoch's loss and the weights after every step."""

    def __init__(self, model: lamina.Model) -> None:
        self.model = model
        self.epoch_losses: Dict[int, float] = {}
        self.last_step = 0
        self.weights: Dict[str, np.ndarray] = {}

    def __call__(self, info: lamina.Progress) -> None:
        if info.step == info.epoch * (info.steps // info.epochs):
            self.epoch_losses[info.epoch] = info.loss
        self.last_step = info.step
        self.weights = self.model.state_dict()  # READ-ONLY from the callback: allowed


def all_finite(state: Dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(v).all() for v in state.values())


def test_model_fit_warns_and_returns_the_history_so_far() -> None:
    x, y = data()
    model = lamina.MLP(2, [16], 1, activation="relu", seed=0)
    watch = Watch(model)
    with pytest.warns(lamina.DivergenceWarning, match=r"training diverged at step 22 of 160"):
        history = model.fit(x, y, progress=watch, **DIVERGING)
    # The history of the epochs before the divergence, as the callback saw them.
    assert list(history) == [watch.epoch_losses[1], watch.epoch_losses[2]]
    assert all(np.isfinite(history))
    assert history.stopped is True
    assert history.reason.startswith("training diverged at step 22 of 160 (epoch 3)")
    assert watch.last_step == 21
    # The model keeps the last finite weights: those after step 21, before the failing one.
    after = model.state_dict()
    assert all_finite(after)
    assert states_equal(after, watch.weights)
    assert "stopped=True" in repr(history) and "training diverged" in repr(history)
    assert history.learning_rate == 10.0


def test_warning_points_at_the_callers_line() -> None:
    x, y = data()
    model = lamina.MLP(2, [16], 1, activation="relu", seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, progress=False, **DIVERGING)
    assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
    assert caught[0].filename == __file__


def test_raise_option_raises_and_keeps_finite_weights() -> None:
    x, y = data()
    model = lamina.MLP(2, [16], 1, activation="relu", seed=0)
    watch = Watch(model)
    with pytest.raises(lamina.NumericError, match="training diverged at step 22"):
        model.fit(x, y, progress=watch, on_divergence="raise", **DIVERGING)
    assert states_equal(model.state_dict(), watch.weights) and all_finite(watch.weights)
    # Trainer.fit the same, and with the default a warning.
    trainer = lamina.Trainer(lamina.MLP(2, [16], 1, activation="relu", seed=0), **DIVERGING)
    with pytest.raises(lamina.NumericError):
        trainer.fit(x, y, progress=False, on_divergence="raise")
    trainer = lamina.Trainer(lamina.MLP(2, [16], 1, activation="relu", seed=0), **DIVERGING)
    with pytest.warns(lamina.DivergenceWarning):
        history = trainer.fit(x, y, progress=False)
    assert len(history) == 2 and history.stopped
    with pytest.raises(lamina.InvalidArgumentError, match="on_divergence"):
        trainer.fit(x, y, progress=False, on_divergence="ignore")


def test_bad_data_still_raises() -> None:
    """NaN in the data is not a divergence: it raises whatever on_divergence says."""
    x, y = data()
    y = y.copy()
    y[3, 0] = np.nan
    model = lamina.MLP(2, [16], 1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(lamina.NumericError, match="target"):
            model.fit(x, y, progress=False)


def test_a_fit_that_does_not_diverge_has_no_reason() -> None:
    x, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = lamina.MLP(2, [16], 1, seed=0).fit(x, y, epochs=3, progress=False)
    assert len(history) == 3 and not history.stopped and history.reason is None


def test_field_fits_warn_too() -> None:
    field = lamina.TriplaneField(resolution=8, channels=4, decoder={"hidden": [16]}, seed=3)
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1, (2048, 3)).astype(np.float32)
    sdf = lamina.shape_sdf({"type": "sphere", "radius": 0.5}, points)
    with pytest.warns(lamina.DivergenceWarning):
        history = field.fit_sdf(points, sdf, steps=40, batch_size=256, optimizer="sgd",
                                learning_rate=1e5, plane_learning_rate=1e5, progress=False)
    assert history.stopped and history.reason.startswith("training diverged")
    assert all_finite(field.state_dict())
    with pytest.raises(lamina.NumericError):
        field.fit_sdf(points, sdf, steps=40, batch_size=256, optimizer="sgd", learning_rate=1e5,
                      plane_learning_rate=1e5, progress=False, on_divergence="raise")
    mesh = lamina.shape_mesh({"type": "sphere", "radius": 0.5}, resolution=16)
    with pytest.warns(lamina.DivergenceWarning):
        history = field.fit_mesh(*mesh, samples=2048, steps=40, batch_size=256, optimizer="sgd",
                                 learning_rate=1e5, plane_learning_rate=1e5, progress=False)
    assert history.stopped and "lamina_model_fit_mesh: training diverged" in history.reason
    assert all_finite(field.state_dict())
