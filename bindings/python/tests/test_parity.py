"""Parity with hand-written numpy references (float64): forward pass, input Jacobian,
losses, and optimizer steps as PyTorch defines them (tests/reference.py)."""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np
import pytest

import lamina

from reference import ACTIVATIONS, Net, Optimizer, loss_gradient, loss_value

RTOL = 1e-5


def assert_close(got, want, rtol: float = RTOL, what: str = "") -> None:
    """Relative agreement, with an absolute floor scaled to the array's magnitude."""
    want = np.asarray(want, np.float64)
    scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-3)
    np.testing.assert_allclose(
        np.asarray(got, np.float64), want, rtol=rtol, atol=rtol * scale, err_msg=what
    )


def build(
    activation: str,
    sizes: Sequence[int] = (3, 5, 4, 2),
    seed: int = 0,
    scale: float = 0.6,
    output_activation: str = "identity",
) -> Tuple[lamina.Model, Net]:
    """An MLP with random weights set through load_state_dict, and its numpy twin."""
    spec_act, f = ACTIVATIONS[activation]
    out_spec, out_f = ACTIVATIONS[output_activation]
    model = lamina.MLP(
        sizes[0], list(sizes[1:-1]), sizes[-1], activation=spec_act, output_activation=out_spec
    )
    rng = np.random.default_rng(seed)
    state: Dict[str, np.ndarray] = {}
    for name, value in model.state_dict().items():
        if name.endswith(".weight") and value.ndim == 2:
            state[name] = (scale * rng.normal(size=value.shape)).astype(np.float32)
        elif name.endswith(".bias"):
            state[name] = rng.uniform(-0.5, 0.5, size=value.shape).astype(np.float32)
        else:
            state[name] = value
    model.load_state_dict(state)
    layers = len(sizes) - 1
    net = Net(
        [state[f"{2 * i}.weight"] for i in range(layers)],
        [state[f"{2 * i}.bias"] for i in range(layers)],
        f,
        out_f,
    )
    return model, net


def inputs(n: int, d: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, d)).astype(np.float32)


def params_of(model: lamina.Model, layers: int):
    state = model.state_dict()
    return [state[f"{2 * i}.weight"] for i in range(layers)] + [
        state[f"{2 * i}.bias"] for i in range(layers)
    ]


# ---- forward and input gradient --------------------------------------------------------------
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_and_input_gradient(activation):
    scale = 0.05 if activation == "sine" else 0.6
    model, net = build(activation, scale=scale)
    x = inputs(16, 3)
    assert_close(model.predict(x), net.predict(x), what=f"{activation} forward")
    assert_close(model.gradient(x), net.input_gradient(x), what=f"{activation} input gradient")


@pytest.mark.parametrize("output_activation", ["sigmoid", "tanh", "softplus"])
def test_output_activation(output_activation):
    model, net = build("relu", output_activation=output_activation)
    x = inputs(16, 3)
    assert_close(model.predict(x), net.predict(x))
    assert_close(model.gradient(x), net.input_gradient(x))


def test_wide_network_large_batch():
    model, net = build("tanh", sizes=(7, 64, 33, 5), scale=0.3)
    x = inputs(300, 7)
    assert_close(model.predict(x), net.predict(x))
    assert_close(model.gradient(x), net.input_gradient(x))


def test_prelu_slope_is_a_named_tensor():
    model = lamina.MLP(3, [5, 4], 2, activation="prelu")
    state = model.state_dict()
    assert "1.weight" in state and "3.weight" in state
    assert np.all(state["1.weight"] == np.float32(0.25))
    rng = np.random.default_rng(3)
    for name in list(state):
        if name.endswith("bias") or state[name].ndim == 2:
            state[name] = (0.6 * rng.normal(size=state[name].shape)).astype(np.float32)
    state["1.weight"] = np.full_like(state["1.weight"], 0.1)
    state["3.weight"] = np.full_like(state["3.weight"], -0.3)
    model.load_state_dict(state)

    def prelu(slope):
        return lambda z: np.where(z > 0, z, slope * z)

    net = Net(
        [state["0.weight"], state["2.weight"], state["4.weight"]],
        [state["0.bias"], state["2.bias"], state["4.bias"]],
        None,
        acts=[prelu(0.1), prelu(-0.3), lambda z: z],
    )
    x = inputs(16, 3)
    assert_close(model.predict(x), net.predict(x))
    assert_close(model.gradient(x), net.input_gradient(x))


# ---- losses ------------------------------------------------------------------------------------
def _targets(loss: str, n: int, k: int, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if loss == "bce_with_logits":
        return rng.uniform(0, 1, size=(n, k)).astype(np.float32)
    if loss == "cross_entropy":
        return np.eye(k, dtype=np.float32)[rng.integers(0, k, size=n)]
    return (1.5 * rng.normal(size=(n, k))).astype(np.float32)


LOSSES = [
    ("mse", {}),
    ("l1", {}),
    ("huber", {}),
    ("huber", {"huber_delta": 0.5}),
    ("bce_with_logits", {}),
    ("cross_entropy", {}),
]


@pytest.mark.parametrize("loss,extra", LOSSES, ids=[f"{name}{extra}" for name, extra in LOSSES])
def test_loss_values_and_one_sgd_step(loss, extra):
    model, net = build("tanh", sizes=(3, 6, 4), seed=4)
    x = inputs(12, 3)
    t = _targets(loss, 12, 4)
    delta = extra.get("huber_delta", 1.0)
    trainer = lamina.Trainer(
        model, loss=loss, optimizer="sgd", learning_rate=0.1, batch_size=12, shuffle=False, **extra
    )
    want = loss_value(loss, net.predict(x), t, delta)
    assert trainer.evaluate(x, t) == pytest.approx(want, rel=RTOL)
    if loss == "huber":  # both branches are exercised
        d = np.abs(net.predict(x) - t)
        assert (d < delta).any() and (d >= delta).any()
    # one SGD step checks the loss gradient too
    gW, gb = net.parameter_gradients(x, loss_gradient(loss, t.astype(np.float64), delta))
    assert trainer.step(x, t) == pytest.approx(want, rel=RTOL)
    expected = [w - 0.1 * g for w, g in zip(net.W, gW)] + [b - 0.1 * g for b, g in zip(net.b, gb)]
    for got, ref in zip(params_of(model, 2), expected):
        assert_close(got, ref, what=f"{loss} step")


def test_cross_entropy_integer_labels_match_numpy():
    model, net = build("relu", sizes=(3, 6, 4), seed=5)
    x = inputs(20, 3)
    labels = np.random.default_rng(6).integers(0, 4, size=20)
    trainer = lamina.Trainer(model, loss="cross_entropy")
    want = loss_value("cross_entropy", net.predict(x), np.eye(4)[labels])
    assert trainer.evaluate(x, labels) == pytest.approx(want, rel=RTOL)


# ---- optimizers ------------------------------------------------------------------------------
OPTIMIZERS = [
    ({"optimizer": "adam", "learning_rate": 0.01}, dict(kind="adam", lr=0.01)),
    (
        {"optimizer": "adam", "learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
        dict(kind="adam", lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
    ),
    (
        {"optimizer": "adam", "learning_rate": 0.01, "weight_decay": 0.1},
        dict(kind="adam", lr=0.01, weight_decay=0.1),
    ),
    (
        {"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.1},
        dict(kind="adamw", lr=0.01, weight_decay=0.1),
    ),
    ({"optimizer": "sgd", "learning_rate": 0.1}, dict(kind="sgd", lr=0.1)),
    (
        {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9},
        dict(kind="sgd", lr=0.1, momentum=0.9),
    ),
    (
        {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
        dict(kind="sgd", lr=0.1, momentum=0.9, nesterov=True),
    ),
    (
        {"optimizer": "sgd", "learning_rate": 0.1, "weight_decay": 0.05},
        dict(kind="sgd", lr=0.1, weight_decay=0.05),
    ),
    (
        {"optimizer": "sgd", "learning_rate": 0.1, "clip_norm": 0.05},
        dict(kind="sgd", lr=0.1, clip_norm=0.05),
    ),
]


def _run_steps(activation: str, config: dict, reference: dict, steps: int = 3) -> None:
    model, net = build(activation)
    x = inputs(8, 3)
    y = (np.random.default_rng(9).normal(size=(8, 2))).astype(np.float32)
    trainer = lamina.Trainer(model, loss="mse", batch_size=8, shuffle=False, **config)
    opt = Optimizer(**reference)
    for step in range(steps):
        want = loss_value("mse", net.predict(x), y)
        gW, gb = net.parameter_gradients(x, loss_gradient("mse", y.astype(np.float64)))
        if reference.get("clip_norm"):
            norm = np.sqrt(sum((g * g).sum() for g in gW + gb))
            assert norm > reference["clip_norm"], "clipping must be active for this test"
        got = trainer.step(x, y)
        assert got == pytest.approx(want, rel=RTOL), f"loss before step {step + 1}"
        params = net.W + net.b
        opt.step(params, gW + gb)
        for got_p, ref_p in zip(params_of(model, 3), params):
            assert_close(got_p, ref_p, what=f"{config} after step {step + 1}")


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_three_adam_steps(activation):
    """3-5-4-2 network, MSE, one fixed batch: torch's Adam (0.9, 0.999, 1e-8, bias correction)."""
    _run_steps(
        activation, {"optimizer": "adam", "learning_rate": 0.01}, dict(kind="adam", lr=0.01)
    )


@pytest.mark.parametrize("config,reference", OPTIMIZERS, ids=[str(c) for c, _ in OPTIMIZERS])
def test_optimizer_steps(config, reference):
    _run_steps("tanh", config, reference)


def test_default_adam_config_is_torch_default():
    """No optimizer keys at all: Adam with lr 1e-3 and torch's defaults."""
    _run_steps("tanh", {}, dict(kind="adam", lr=1e-3))


# ---- learning-rate schedules (per optimizer step, PyTorch's conventions) ----------------------
def _learning_rates(steps: int = 6, **config) -> np.ndarray:
    """Effective SGD learning rate of each step on loss (w * 1 - 0)^2, whose gradient is 2w."""
    spec = {
        "kind": "sequential",
        "input": 1,
        "layers": [{"type": "dense", "output": 1, "bias": False}],
    }
    model = lamina.Model.from_spec(spec)
    model.load_state_dict({"0.weight": np.array([[1000.0]])})
    trainer = lamina.Trainer(
        model, optimizer="sgd", learning_rate=0.1, batch_size=1, shuffle=False, **config
    )
    x, y = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    rates = []
    for _ in range(steps):
        w = float(model.state_dict()["0.weight"][0, 0])
        trainer.step(x, y)
        rates.append((w - float(model.state_dict()["0.weight"][0, 0])) / (2 * w))
    return np.array(rates)


def test_schedules():
    lr = 0.1
    t = np.arange(6)
    np.testing.assert_allclose(_learning_rates(), np.full(6, lr), rtol=1e-4)
    np.testing.assert_allclose(
        _learning_rates(schedule="step", decay_steps=2, gamma=0.5), lr * 0.5 ** (t // 2), rtol=1e-4
    )
    np.testing.assert_allclose(
        _learning_rates(schedule="exponential", gamma=0.5), lr * 0.5**t, rtol=1e-4
    )
    cosine = 0.02 + (lr - 0.02) * (1 + np.cos(np.pi * np.minimum(t, 4) / 4)) / 2
    np.testing.assert_allclose(
        _learning_rates(schedule="cosine", decay_steps=4, min_learning_rate=0.02),
        cosine,
        rtol=1e-4,
    )
    warm = _learning_rates(warmup_steps=3)
    assert 0 < warm[0] < warm[1] < warm[2] <= lr * (1 + 1e-4)  # linear warm-up from 0
    np.testing.assert_allclose(np.diff(warm[:3]), warm[1] - warm[0], rtol=1e-3)
    np.testing.assert_allclose(warm[3:], lr, rtol=1e-4)
