"""Trainer config, step/evaluate, fit history, validation, early stopping, progress,
cancellation, determinism and classification with integer labels."""

from __future__ import annotations

import gc
import math
import os
import signal
import sys

import numpy as np
import pytest

import lamina

from conftest import regression_data, states_equal

DEFAULTS = {
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "momentum": 0.0,
    "nesterov": False,
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-8,
    "weight_decay": 0.0,
    "clip_norm": 0.0,
    "loss": "mse",
    "huber_delta": 1.0,
    "schedule": "constant",
    "warmup_steps": 0,
    "decay_steps": 0,
    "min_learning_rate": 0.0,
    "batch_size": 256,
    "epochs": 10,
    "shuffle": True,
    "seed": 0,
    "validation_split": 0.0,
    "patience": 0,
    "restore_best": True,
    "progress_every": 0,
}


def test_config_has_every_default(small_model):
    config = lamina.Trainer(small_model).config
    for key, value in DEFAULTS.items():
        assert key in config, f"config lacks {key!r}: {config}"
        if isinstance(value, float):
            assert config[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert config[key] == value, key
    assert "gamma" in config


def test_config_echoes_given_values(small_model):
    trainer = lamina.Trainer(
        small_model,
        optimizer="sgd",
        learning_rate=np.float32(0.05),
        momentum=0.9,
        loss="huber",
        huber_delta=0.5,
        epochs=np.int64(3),
        batch_size=32,
    )
    config = trainer.config
    assert config["optimizer"] == "sgd"
    assert config["learning_rate"] == pytest.approx(0.05, rel=1e-6)
    assert config["momentum"] == pytest.approx(0.9, rel=1e-6)
    assert config["loss"] == "huber" and config["huber_delta"] == pytest.approx(0.5)
    assert config["epochs"] == 3 and config["batch_size"] == 32
    assert trainer.model is small_model
    assert "sgd" in repr(trainer)


def test_adamw_default_weight_decay(small_model):
    assert lamina.Trainer(small_model, optimizer="adamw").config["weight_decay"] == pytest.approx(
        0.01
    )


def test_step_and_evaluate():
    x, y = regression_data(64)
    model = lamina.MLP(2, [16], 1, activation="tanh")
    trainer = lamina.Trainer(model, learning_rate=0.01)
    before = model.state_dict()
    first = trainer.evaluate(x, y)
    assert isinstance(first, float)
    assert states_equal(model.state_dict(), before)  # evaluate changes nothing
    assert trainer.evaluate(x, y) == first
    step_loss = trainer.step(x, y)
    assert step_loss == pytest.approx(first, rel=1e-6)  # the loss before the step
    assert not states_equal(model.state_dict(), before)
    losses = [trainer.step(x, y) for _ in range(30)]
    assert losses[-1] < 0.5 * first
    assert trainer.evaluate(x, y[:, 0]) == trainer.evaluate(x, y)  # (n,) for one output


def test_step_passes_float32_without_copies(spy):
    model = lamina.MLP(2, [4], 1)
    trainer = lamina.Trainer(model)
    calls = spy("lamina_trainer_step")
    x, y = regression_data(8)
    trainer.step(x, y)
    assert calls[-1][1] == x.ctypes.data and calls[-1][2] == y.ctypes.data and calls[-1][3] == 8
    fit_calls = spy("lamina_trainer_fit")
    trainer.fit(x, y, progress=False)
    assert fit_calls[-1][1] == x.ctypes.data and fit_calls[-1][2] == y.ctypes.data


def test_target_shape_mismatch_raises_before_c(spy):
    model = lamina.MLP(2, [4], 3)
    trainer = lamina.Trainer(model)
    spied = [
        spy(name)
        for name in ("lamina_trainer_step", "lamina_trainer_fit", "lamina_trainer_evaluate")
    ]
    x = np.zeros((5, 2), np.float32)
    for y in (np.zeros((5, 2)), np.zeros((4, 3)), np.zeros(5), np.zeros((5, 3, 1))):
        with pytest.raises(lamina.ShapeError):
            trainer.step(x, y)
        with pytest.raises(lamina.ShapeError):
            trainer.evaluate(x, y)
        with pytest.raises(lamina.ShapeError):
            trainer.fit(x, y, progress=False)
    with pytest.raises(lamina.ShapeError, match="cross_entropy"):
        trainer.step(x, np.zeros(5, np.int64))  # integer labels need cross_entropy
    with pytest.raises(lamina.ShapeError):
        trainer.step(np.zeros((5, 3)), np.zeros((5, 3)))
    assert spied == [[], [], []]


def test_trainer_keeps_its_model_alive():
    x, y = regression_data(16)
    trainer = lamina.Trainer(lamina.MLP(2, [4], 1))
    gc.collect()
    assert math.isfinite(trainer.step(x, y))
    assert trainer.model.predict(x).shape == (16, 1)


# ---- fit ------------------------------------------------------------------------------------
def test_fit_history_decreases():
    x, y = regression_data(512)
    model = lamina.MLP(2, [32], 1, activation="tanh")
    history = model.fit(x, y, epochs=15, batch_size=32, learning_rate=0.01, progress=False)
    assert isinstance(history, lamina.History) and isinstance(history, list)
    assert len(history) == 15
    assert all(isinstance(v, float) and math.isfinite(v) for v in history)
    assert history[-1] < 0.3 * history[0]
    assert history.val_loss == []
    assert not history.stopped
    final = lamina.Trainer(model, loss="mse").evaluate(x, y)
    assert final < history[0]


def test_fit_continues_from_current_weights():
    x, y = regression_data(256)
    model = lamina.MLP(2, [32], 1, activation="tanh")
    first = model.fit(x, y, epochs=5, batch_size=32, learning_rate=0.01, progress=False)
    second = model.fit(x, y, epochs=5, batch_size=32, learning_rate=0.01, progress=False)
    assert second[0] < first[0]


def test_validation_split_gives_val_loss():
    """restore_best (default true) leaves the best validation epoch's weights. The held-out
    rows (the last 25%) want y = x, the training rows y = 2x: from w = 0 the validation loss
    falls while w < 1 and rises after, so the best epoch is not the last."""
    x = np.random.default_rng(0).uniform(-1, 1, (64, 1)).astype(np.float32)
    y = np.where(np.arange(64)[:, None] < 48, 2 * x, x).astype(np.float32)
    model = lamina.Model.from_spec({"kind": "mlp", "input": 1, "output": 1})
    model.load_state_dict({"0.weight": np.zeros((1, 1), np.float32), "0.bias": np.zeros(1, np.float32)})
    seen = []  # the weights after each epoch, as the progress callback sees them
    history = model.fit(
        x, y, epochs=10, batch_size=8, optimizer="sgd", learning_rate=0.05, validation_split=0.25,
        progress=lambda info: seen.append(model.state_dict()),
    )
    assert len(history) == len(history.val_loss) == len(seen) == 10
    assert all(math.isfinite(v) for v in history.val_loss)
    best = int(np.argmin(history.val_loss))
    assert 0 < best < 9 and history.val_loss[-1] > 4 * history.val_loss[best]  # the premise
    assert states_equal(model.state_dict(), seen[best])  # bit for bit
    assert not states_equal(model.state_dict(), seen[-1])
    trainer = lamina.Trainer(model)
    assert trainer.evaluate(x[48:], y[48:]) == pytest.approx(history.val_loss[best], rel=1e-6)


def test_early_stopping_stops_early():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = rng.normal(size=(80, 1)).astype(
        np.float32
    )  # no signal: validation cannot improve for long
    model = lamina.MLP(4, [64, 64], 1, activation="relu")
    history = model.fit(
        x,
        y,
        epochs=300,
        batch_size=16,
        learning_rate=0.01,
        validation_split=0.25,
        patience=3,
        progress=False,
    )
    assert 4 <= len(history) < 300
    assert len(history.val_loss) == len(history)
    best = int(np.argmin(history.val_loss))
    assert len(history) - 1 - best == 3  # stopped after `patience` epochs without improvement
    # restore_best (default true): the weights are the best validation epoch's
    val = lamina.Trainer(model).evaluate(x[60:], y[60:])
    assert val == pytest.approx(min(history.val_loss), rel=1e-4, abs=1e-6)


def test_progress_callable_sees_every_epoch():
    x, y = regression_data(100)
    seen = []
    model = lamina.MLP(2, [8], 1)
    history = model.fit(x, y, epochs=4, batch_size=32, progress=seen.append)
    assert [p.epoch for p in seen] == [1, 2, 3, 4]
    assert all(isinstance(p, lamina.Progress) for p in seen)
    assert all(p.epochs == 4 and p.steps == 4 * 4 for p in seen)  # ceil(100 / 32) = 4 per epoch
    assert [p.step for p in seen] == [4, 8, 12, 16]
    assert [p.loss for p in seen] == pytest.approx(list(history), rel=1e-7)
    assert all(p.val_loss is None for p in seen)
    assert all(b.elapsed_seconds >= a.elapsed_seconds >= 0 for a, b in zip(seen, seen[1:]))


def test_progress_every_keeps_history_per_epoch():
    x, y = regression_data(100)
    seen = []
    a = lamina.MLP(2, [8], 1)
    b = a.copy()
    per_epoch = a.fit(x, y, epochs=3, batch_size=10, progress=False)
    fine = b.fit(x, y, epochs=3, batch_size=10, progress_every=3, progress=seen.append)
    assert len(seen) > 3
    assert list(fine) == list(per_epoch)
    assert states_equal(a.state_dict(), b.state_dict())


def test_progress_callable_can_stop_training():
    x, y = regression_data(64)
    model = lamina.MLP(2, [8], 1)
    history = model.fit(x, y, epochs=50, batch_size=16, progress=lambda p: p.epoch >= 3)
    assert len(history) == 3 and history.stopped
    assert np.isfinite(model.predict(x)).all()


def _interrupting(at_epoch, exc):
    def callback(p):
        if p.epoch == at_epoch:
            raise exc

    return callback


@pytest.mark.parametrize("exc", [KeyboardInterrupt, ValueError("boom"), SystemExit(3)])
def test_exception_in_callback_cancels_and_is_reraised(exc):
    x, y = regression_data(64)
    model = lamina.MLP(2, [8], 1, activation="tanh")
    initial = model.state_dict()
    expected = exc if isinstance(exc, type) else type(exc)
    with pytest.raises(expected) as info:
        model.fit(
            x, y, epochs=100, batch_size=16, learning_rate=0.01, progress=_interrupting(2, exc)
        )
    if not isinstance(exc, type):
        assert info.value is exc
    # the model is valid, trained for the epochs before the interrupt, and still trainable
    assert np.isfinite(model.predict(x)).all()
    assert not states_equal(model.state_dict(), initial)
    history = model.fit(x, y, epochs=2, batch_size=16, progress=False)
    assert len(history) == 2


def test_ctrl_c_stops_training_cleanly():
    if sys.platform == "win32":
        pytest.skip("POSIX signals")
    x, y = regression_data(64)
    model = lamina.MLP(2, [8], 1)
    epochs = []

    def press_ctrl_c(p):
        epochs.append(p.epoch)
        if p.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=100, batch_size=16, progress=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is handler  # restored
    assert epochs[-1] <= 3 and len(epochs) <= 3
    assert np.isfinite(model.predict(x)).all()


def test_tqdm_bar(capsys):
    pytest.importorskip("tqdm")
    x, y = regression_data(64)
    lamina.MLP(2, [8], 1).fit(x, y, epochs=3, batch_size=16, validation_split=0.25, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "val_loss=" in err


def test_no_output_without_progress(capsys):
    x, y = regression_data(64)
    lamina.MLP(2, [8], 1).fit(x, y, epochs=2, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_true_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    x, y = regression_data(64)
    history = lamina.MLP(2, [8], 1).fit(x, y, epochs=2, progress=True)
    assert len(history) == 2
    assert capsys.readouterr().err == ""


def test_bad_progress_argument():
    x, y = regression_data(16)
    with pytest.raises(TypeError):
        lamina.MLP(2, [8], 1).fit(x, y, epochs=1, progress="yes")


# ---- determinism ------------------------------------------------------------------------------
def test_same_seed_gives_identical_weights():
    x, y = regression_data(300)

    def train(seed):
        model = lamina.MLP(2, [32, 32], 1, activation="silu", seed=1)
        history = model.fit(
            x,
            y,
            epochs=4,
            batch_size=32,
            learning_rate=0.01,
            validation_split=0.2,
            seed=seed,
            progress=False,
        )
        return model.state_dict(), list(history)

    a, ha = train(0)
    b, hb = train(0)
    c, _ = train(1)
    assert states_equal(a, b) and ha == hb
    assert not states_equal(a, c)  # a different shuffle


# ---- classification ---------------------------------------------------------------------------
def _blobs(n_per_class=100, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 1.0], [-1.0, -0.6], [1.0, -0.6]])
    x = np.concatenate([c + 0.3 * rng.normal(size=(n_per_class, 2)) for c in centres])
    labels = np.repeat(np.arange(3), n_per_class)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), labels[order]


def test_cross_entropy_with_integer_labels_learns():
    x, labels = _blobs()
    model = lamina.MLP(2, [16], 3, activation="tanh")
    history = model.fit(
        x,
        labels,
        epochs=40,
        batch_size=32,
        learning_rate=0.01,
        loss="cross_entropy",
        progress=False,
    )
    assert history[-1] < 0.5 * history[0]
    accuracy = float((model.predict(x).argmax(axis=1) == labels).mean())
    assert accuracy > 0.9


def test_integer_labels_equal_one_hot():
    x, labels = _blobs(10)
    model = lamina.MLP(2, [8], 3)
    trainer = lamina.Trainer(model, loss="cross_entropy")
    one_hot = np.eye(3, dtype=np.float32)[labels]
    assert trainer.evaluate(x, labels) == trainer.evaluate(x, one_hot)
    assert trainer.evaluate(x, labels.tolist()) == trainer.evaluate(x, one_hot)
    assert trainer.evaluate(x, labels.astype(np.uint8)) == trainer.evaluate(x, one_hot)


def test_labels_out_of_range():
    x, labels = _blobs(5)
    trainer = lamina.Trainer(lamina.MLP(2, [8], 3), loss="cross_entropy")
    for bad in (3, -1):
        wrong = labels.copy()
        wrong[4] = bad
        with pytest.raises(lamina.InvalidArgumentError, match=str(bad)):
            trainer.step(x, wrong)


def test_ctrl_c_from_the_terminal(tmp_path):
    """A real SIGINT sent from outside while the library is training."""
    import subprocess
    import textwrap

    script = textwrap.dedent(
        """
        import sys, numpy as np, lamina
        x = np.random.default_rng(0).uniform(-1, 1, (2048, 2)).astype(np.float32)
        y = np.sin(3 * x[:, :1])
        model = lamina.MLP(2, [64, 64], 1, activation="tanh")
        def started(p):
            if p.epoch == 1:
                print("started", flush=True)
        try:
            model.fit(x, y, epochs=100000, batch_size=32, progress=started)
        except KeyboardInterrupt:
            print("interrupted", np.isfinite(model.predict(x)).all(), flush=True)
            sys.exit(0)
        print("finished without interruption", flush=True)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == "started"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert out.strip() == "interrupted True", out + err
