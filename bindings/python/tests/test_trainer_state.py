"""Trainer.save_state / Trainer.load_state (issue 15, part 4): a run stopped after k calls
and resumed from the model file and the state file reaches the weights of a run that never
stopped, bit for bit, for adam, adamw, sgd with momentum, plain sgd and lbfgs, on an MLP and
a KAN; refused files (truncated, damaged, a model file, another model, another optimizer)
raise and leave the trainer unchanged; the file is a safetensors file."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import lamina

from conftest import regression_data, states_equal

MLP_SPEC = dict(kind="mlp", input=2, hidden=[8, 8], output=1, activation="tanh", seed=3)
KAN_SPEC = dict(kind="kan", widths=[2, 3, 1], grid=5, seed=1)

CONFIGS = [
    dict(optimizer="adam", learning_rate=0.01, schedule="cosine", decay_steps=10),
    dict(optimizer="adamw", learning_rate=0.01, schedule="step", decay_steps=2, gamma=0.5),
    dict(optimizer="sgd", learning_rate=0.05, momentum=0.9),
    dict(optimizer="sgd", learning_rate=0.05, momentum=0.9, nesterov=True),
    dict(optimizer="sgd", learning_rate=0.1, schedule="exponential", gamma=0.5),
    dict(optimizer="lbfgs", max_iter=5, history_size=3),
    dict(optimizer="lbfgs", learning_rate=0.1, max_iter=4, history_size=2, line_search="none"),
]


def _model(spec):
    return lamina.Model(spec)


def _run(trainer, calls, x, y, fit):
    for i in calls:
        if fit:
            trainer.fit(x, y, progress=False)
        else:
            half = i % 2
            trainer.step(x[half::2], y[half::2])


def _resume_matches(tmp_path, spec, config, fit=False, k=3, m=3):
    x, y = regression_data(40)
    a = _model(spec)
    ta = lamina.Trainer(a, **config)
    _run(ta, range(k + m), x, y, fit)

    b = _model(spec)
    tb = lamina.Trainer(b, **config)
    _run(tb, range(k), x, y, fit)
    model_path = tmp_path / "model.safetensors"
    state_path = tmp_path / "state.safetensors"
    b.save(model_path)
    tb.save_state(state_path)  # an os.PathLike
    del tb, b

    c = lamina.load(str(model_path))
    tc = lamina.Trainer(c, **config)
    tc.load_state(str(state_path))  # a str
    _run(tc, range(k, k + m), x, y, fit)
    assert states_equal(a.state_dict(), c.state_dict()), f"{config}: resumed run differs"

    d = lamina.load(model_path)
    td = lamina.Trainer(d, **config)
    _run(td, range(k, k + m), x, y, fit)
    assert not states_equal(a.state_dict(), d.state_dict()), f"{config}: state made no difference"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_resumed_steps_match_an_uninterrupted_run(tmp_path, config):
    _resume_matches(tmp_path, MLP_SPEC, config)


@pytest.mark.parametrize(
    "config",
    [
        dict(optimizer="adam", learning_rate=0.01, batch_size=7, epochs=2),
        dict(optimizer="sgd", learning_rate=0.05, momentum=0.9, batch_size=9, epochs=2),
    ],
    ids=["adam", "sgd-momentum"],
)
def test_resumed_fits_match_an_uninterrupted_run(tmp_path, config):
    """fit shuffles with the trainer's generator: the state carries it."""
    _resume_matches(tmp_path, MLP_SPEC, config, fit=True, k=1, m=2)


@pytest.mark.parametrize(
    "config",
    [
        dict(optimizer="adam", learning_rate=0.02),
        dict(optimizer="lbfgs", max_iter=4, history_size=3),
    ],
    ids=["adam", "lbfgs"],
)
def test_resumed_kan_matches(tmp_path, config):
    _resume_matches(tmp_path, KAN_SPEC, config, k=2, m=2)


def test_state_file_is_safetensors(tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    model = _model(MLP_SPEC)
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.01)
    x, y = regression_data(40)
    trainer.step(x, y)
    trainer.step(x, y)
    path = tmp_path / "state.safetensors"
    trainer.save_state(path)
    tensors = safetensors.load_file(str(path))
    assert tensors["trainer.steps_taken"].dtype == np.int64
    assert int(tensors["trainer.steps_taken"]) == 2
    assert int(tensors["optimizer.steps"]) == 2
    assert tensors["trainer.rng"].dtype == np.uint64
    for name, weight in model.state_dict().items():
        assert tensors[f"optimizer.first.{name}"].shape == weight.shape
        assert (tensors[f"optimizer.second.{name}"] >= 0).all()
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "lamina-trainer-state"
    assert '"optimizer": "adam"' in meta["config"]


def test_other_learning_rate_and_epochs_are_allowed(tmp_path):
    model = _model(MLP_SPEC)
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.01)
    x, y = regression_data(40)
    trainer.step(x, y)
    trainer.save_state(tmp_path / "s.safetensors")
    other = lamina.Trainer(model.copy(), optimizer="adam", learning_rate=0.1, epochs=3)
    other.load_state(tmp_path / "s.safetensors")


def _state_bytes(trainer, path):
    trainer.save_state(path)
    return pathlib.Path(path).read_bytes()


def test_refused_states_leave_the_trainer_unchanged(tmp_path):
    x, y = regression_data(40)
    model = _model(MLP_SPEC)
    source = lamina.Trainer(model, optimizer="adam", learning_rate=0.01)
    for _ in range(3):
        source.step(x, y)
    good = _state_bytes(source, tmp_path / "good.safetensors")

    victim_model = _model(MLP_SPEC)
    shadow_model = _model(MLP_SPEC)
    victim = lamina.Trainer(victim_model, optimizer="adam", learning_rate=0.01)
    shadow = lamina.Trainer(shadow_model, optimizer="adam", learning_rate=0.01)
    victim.step(x, y)
    shadow.step(x, y)
    before = _state_bytes(victim, tmp_path / "before.safetensors")
    bad = tmp_path / "bad.safetensors"

    def refused(data, error, what):
        bad.write_bytes(data)
        with pytest.raises(error) as info:
            victim.load_state(bad)
        assert str(info.value), what
        assert _state_bytes(victim, tmp_path / "now.safetensors") == before, what
        return str(info.value)

    for length in range(0, len(good), 11):
        refused(good[:length], lamina.FormatError, f"truncated to {length}")
    for i in range(0, len(good), 13):
        damaged = bytearray(good)
        damaged[i] ^= 0x40
        refused(bytes(damaged), lamina.FormatError, f"byte {i} changed")
    model.save(tmp_path / "model.safetensors")
    message = refused(
        (tmp_path / "model.safetensors").read_bytes(), lamina.FormatError, "a model file"
    )
    assert "model file" in message

    other = lamina.Trainer(lamina.Model(KAN_SPEC), optimizer="adam")
    refused(_state_bytes(other, tmp_path / "o.safetensors"), lamina.ShapeError, "a KAN's state")
    sgd = lamina.Trainer(_model(MLP_SPEC), optimizer="sgd", momentum=0.9)
    message = refused(
        _state_bytes(sgd, tmp_path / "o.safetensors"), lamina.InvalidArgumentError, "sgd"
    )
    assert '"optimizer"' in message

    with pytest.raises(lamina.LaminaIOError):
        victim.load_state(tmp_path / "missing.safetensors")
    with pytest.raises(lamina.InvalidArgumentError):
        victim.load_state("")
    assert _state_bytes(victim, tmp_path / "now.safetensors") == before

    victim.step(x, y)
    shadow.step(x, y)
    assert states_equal(victim_model.state_dict(), shadow_model.state_dict())


def test_failed_save_leaves_no_file(tmp_path):
    trainer = lamina.Trainer(_model(MLP_SPEC))
    (tmp_path / "target").mkdir()
    with pytest.raises(lamina.LaminaIOError):
        trainer.save_state(tmp_path / "target")
    assert sorted(os.listdir(tmp_path)) == ["target"]

