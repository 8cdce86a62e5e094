"""Gradients of the training loss with respect to every trained tensor of every layer kind
(each KAN basis, RBF LayerNorm, rational groups, mixtures, symbolic affines, dense layers,
PReLU slopes, tri-plane planes), against central finite differences of ``predict``.

The library has no call that returns parameter gradients, so they are read off one plain
SGD step (momentum 0, no weight decay, no clipping, constant schedule): w' = w - lr g, so
g = (w - w') / lr. lr = 1024 is a power of two, so lr g is exact and the recovered g is off
by at most half an ulp of w' over lr (about 6e-8 |g| when lr |g| dominates |w|, 6e-11 |w|
otherwise), far below the noise of the differences.

The differences: L = mean((y - t)^2) over all outputs (the trainer's "mse"), in float64
from float32 predictions, at w_e +- h with h = 1e-3 max(1, |w_e|) measured as the float32
values written. Prediction rounding (a few 1e-8 relative per output, 16 rows) divided by 2h
puts about 3e-5 of noise into each difference; the smooth models here keep truncation
error (h^2 / 6 L''') below that. An entry passes when
|analytic - numeric| <= ATOL + RTOL max(|analytic|, |numeric|), ATOL = 2e-4 (several
times the noise) and RTOL = 1e-2; the worst entry measured uses about 0.2 of that. Every
tensor must have an entry of at least 10 ATOL among those checked, so that a sign flip, or a
dropped term worth more than a few percent of the largest entries, fails. Tensors
with more than MAX_ENTRIES entries are checked on a random subset that always includes the
entry with the largest analytic gradient.

Tests/C/test_parameter_gradients.c runs the same table through the C ABI on every entry.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np
import pytest

import lamina

LR = 1024.0
ATOL = 2e-4
RTOL = 1e-2
ROWS = 16
MAX_ENTRIES = 64
BUFFER_SUFFIXES = (".grid", ".mask", ".symbolic_mask", ".symbolic_fn", ".selection")


def trained(model: lamina.Model) -> Dict[str, np.ndarray]:
    """The trained tensors (every tensor but the buffers the header lists)."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith(BUFFER_SUFFIXES)}


def sgd_gradients(model: lamina.Model, x: np.ndarray, t: np.ndarray) -> Dict[str, np.ndarray]:
    """d mse / d tensor for every tensor, from one SGD step on a copy of ``model``."""
    twin = model.copy()
    trainer = lamina.Trainer(
        twin, optimizer="sgd", learning_rate=LR, momentum=0, weight_decay=0, clip_norm=0,
        loss="mse", batch_size=len(x), shuffle=False)
    before = twin.state_dict()
    trainer.step(x, t)
    after = twin.state_dict()
    return {k: (before[k].astype(np.float64) - after[k].astype(np.float64)) / LR for k in before}


def mse(model: lamina.Model, x: np.ndarray, t: np.ndarray) -> float:
    d = model.predict(x).astype(np.float64) - t
    return float(np.mean(d * d))


def safe_denominators(model: lamina.Model, name: str) -> None:
    """s(x) = x (b1 + b2 x + b3 x^2 + b4 x^3) with a cubic factor that stays away from 0 on
    [-3, 3]: |s| bends only at x = 0, which the inputs avoid. Signs alternate by group."""
    groups = model.state_dict()[name].shape[0]
    row = np.array([1, 0.2, 0.3, 0.05], np.float32)
    model.load_state_dict(
        {name: np.stack([row * (1 if g % 2 == 0 else -1) for g in range(groups)])}, strict=False)


def prepare_mixed_rational(model: lamina.Model, x: np.ndarray) -> None:
    """Safe denominators for the rational component, and a larger share of the mixture for
    it (logit + 0.5, e^1 at temperature 0.5), so its gradients are large enough to check."""
    safe_denominators(model, "0.bases.4.denominator")
    logits = model.state_dict()["0.mix_logits"]
    logits[..., 4] += 0.5
    model.load_state_dict({"0.mix_logits": logits}, strict=False)


def prepare_symbolic(model: lamina.Model, x: np.ndarray) -> None:
    """Fixes edges of both layers symbolic and gives every affine its own values."""
    for l, i, j, fn in [(0, 0, 0, "sin"), (0, 1, 2, "x^2"), (0, 1, 1, "tanh"), (1, 2, 0, "exp"),
                        (1, 0, 0, "gaussian")]:
        model.fix_symbolic(l, i, j, fn, x=x)
    e = np.arange(6, dtype=np.float32)
    a0 = np.stack([0.8 + 0.1 * e, np.full(6, 0.2), np.full(6, 1.1), -0.3 + 0.1 * e], axis=1)
    e = np.arange(3, dtype=np.float32)
    a1 = np.stack([0.6 + 0.2 * e, np.full(3, -0.1), np.full(3, 0.7), np.full(3, 0.25)], axis=1)
    model.load_state_dict({"0.symbolic_affine": a0.reshape(2, 3, 4).astype(np.float32),
                           "1.symbolic_affine": a1.reshape(3, 1, 4).astype(np.float32)},
                          strict=False)


Prepare = Optional[Callable[[lamina.Model, np.ndarray], None]]

#: label -> (spec, input range, keep |x| >= 0.2, jitter of every trained value, prepare)
CASES = {
    "bspline cubic uniform (AVX2 path), partly outside the grid": (
        {"kind": "kan", "widths": [3, 4, 2], "grid": 5, "order": 3, "seed": 1},
        (-1.4, 1.4), False, 0.3, None),
    "bspline order 2": (
        {"kind": "kan", "widths": [2, 3, 2], "grid": 4, "order": 2, "seed": 2},
        (-1, 1), False, 0.3, None),
    "chebyshev": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "chebyshev", "degree": 4, "seed": 3},
        (-2, 2), False, 0.3, None),
    "fourier": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "fourier", "grid": 4, "seed": 4},
        (-2, 2), False, 0.2, None),
    # Eight outputs: the products take the small-product kernel's AVX2 tiles and accumulate
    # into the output (beta 1): Fourier's cosine and sine halves, RBF's base and basis terms.
    "fourier with 8 outputs": (
        {"kind": "kan", "widths": [2, 8], "basis": "fourier", "grid": 4, "seed": 16},
        (-2, 2), False, 0.2, None),
    "rbf with 8 outputs": (
        {"kind": "kan", "widths": [2, 8], "basis": "rbf", "seed": 17},
        (-2, 2), False, 0.3, None),
    "rbf with LayerNorm": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "rbf", "normalize": True, "seed": 5},
        (-2, 2), False, 0.3, None),
    "rbf without LayerNorm": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "rbf", "grid": 6, "seed": 6},
        (-2, 2), False, 0.3, None),
    "rational groups 2": (
        {"kind": "kan", "widths": [4, 3], "basis": "rational", "groups": 2, "init": "gelu",
         "seed": 7},
        (-2.5, 2.5), True, 0.1, lambda m, x: safe_denominators(m, "0.denominator")),
    "mixed": (
        {"kind": "kan", "widths": [2, 3, 2], "basis": "mixed", "seed": 8},
        (-0.9, 0.9), False, 0.5, None),
    "mixed with every basis, temperature 0.5": (
        {"kind": "kan", "widths": [2, 3], "basis": "mixed", "temperature": 0.5,
         "bases": ["bspline", "chebyshev", "fourier", "rbf", "rational"], "seed": 9},
        (-0.9, 0.9), True, 0.6, prepare_mixed_rational),
    "bspline with symbolic edges": (
        {"kind": "kan", "widths": [2, 3, 1], "symbolic": True, "seed": 10},
        (-0.8, 0.8), False, 0.2, prepare_symbolic),
    "mlp tanh": (
        {"kind": "mlp", "input": 3, "hidden": [5, 4], "output": 2, "activation": "tanh",
         "seed": 11},
        (-1, 1), False, 0.2, None),
    "mlp prelu": (
        {"kind": "mlp", "input": 3, "hidden": [6, 5], "output": 2,
         "activation": {"name": "prelu", "init": -0.3}, "seed": 12},
        (-1, 1), False, 0.2, None),
    "triplane 16 channels sum (AVX2 gather and scatter)": (
        {"kind": "triplane", "resolution": 4, "channels": 16, "init_std": 0.5,
         "decoder": {"hidden": [8], "activation": "tanh"}, "seed": 13},
        (-1, 1), False, 0.0, None),
    "triplane product, border, align_corners false": (
        {"kind": "triplane", "resolution": 5, "channels": 8, "aggregation": "product",
         "padding": "border", "align_corners": False, "init_std": 0.3,
         "decoder": {"hidden": [6], "activation": "silu"}, "seed": 14},
        (-1.1, 1.1), False, 0.0, None),
    "triplane 16 channels mean, KAN decoder": (
        {"kind": "triplane", "resolution": 4, "channels": 16, "aggregation": "mean",
         "init_std": 0.5, "decoder": {"kind": "kan", "hidden": [3]}, "seed": 15},
        (-1, 1), False, 0.5, None),
    "wavelet mexican_hat (scale, translation, wavelet_weights)": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "wavelet", "seed": 18},
        (-2, 2), False, 0.3, None),
    "wavelet morlet": (
        {"kind": "kan", "widths": [3, 4, 2], "basis": "wavelet", "wavelet": "morlet", "seed": 19},
        (-2, 2), False, 0.3, None),
    "mixed bspline and wavelet": (
        {"kind": "kan", "widths": [2, 3], "basis": "mixed", "bases": ["bspline", "wavelet"],
         "seed": 20},
        (-0.9, 0.9), False, 0.5, None),
}


def check_parameter_gradients(spec, bounds, off_zero, jitter, prepare: Prepare, seed: int):
    """Returns {tensor: (checked entries, failures, largest |numeric|)}."""
    rng = np.random.default_rng(seed)
    model = lamina.Model.from_spec(spec)
    x = rng.uniform(*bounds, (ROWS, model.input_dim))
    if off_zero:
        x = np.where(np.abs(x) < 0.2, x + np.copysign(0.2, x), x)
    x = x.astype(np.float32)
    t = rng.uniform(-2, 2, (ROWS, model.output_dim)).astype(np.float32)
    state = trained(model)
    assert sum(v.size for v in state.values()) == model.parameter_count
    if jitter:
        model.load_state_dict(
            {k: (v + rng.uniform(-jitter, jitter, v.shape)).astype(np.float32)
             for k, v in state.items()}, strict=False)
    if prepare is not None:
        prepare(model, x)
    grads = sgd_gradients(model, x, t)
    full = model.state_dict()
    for name, value in full.items():
        if name not in state:  # a buffer: an SGD step must leave it alone
            assert not np.any(grads[name]), f"buffer {name} changed by an SGD step"
    report = {}
    for name in state:
        values = full[name]
        flat = values.ravel().copy()
        analytic = grads[name].ravel()
        entries = np.arange(flat.size)
        if flat.size > MAX_ENTRIES:
            entries = np.unique(np.append(rng.choice(flat.size, MAX_ENTRIES - 1, replace=False),
                                          np.argmax(np.abs(analytic))))
        failures, largest = [], 0.0
        for e in entries:
            original = flat[e]
            h = 1e-3 * max(1.0, abs(float(original)))
            plus, minus = np.float32(original + h), np.float32(original - h)
            flat[e] = plus
            model.load_state_dict({name: flat.reshape(values.shape)}, strict=False)
            lp = mse(model, x, t)
            flat[e] = minus
            model.load_state_dict({name: flat.reshape(values.shape)}, strict=False)
            lm = mse(model, x, t)
            flat[e] = original
            numeric = (lp - lm) / (float(plus) - float(minus))
            largest = max(largest, abs(numeric))
            a = float(analytic[e])
            if not abs(a - numeric) <= ATOL + RTOL * max(abs(a), abs(numeric)):
                failures.append(f"[{e}] analytic {a:.6g} numeric {numeric:.6g}")
        model.load_state_dict({name: values}, strict=False)
        report[name] = (len(entries), failures, largest)
    return report


@pytest.mark.parametrize("label", list(CASES))
def test_parameter_gradients_match_finite_differences(label: str) -> None:
    spec, bounds, off_zero, jitter, prepare = CASES[label]
    report = check_parameter_gradients(spec, bounds, off_zero, jitter, prepare,
                                       seed=list(CASES).index(label))
    problems = []
    for name, (checked, failures, largest) in report.items():
        if failures:
            problems.append(f"{name}: {len(failures)} of {checked} disagree: {failures[:3]}")
        if largest < 10 * ATOL:
            problems.append(f"{name}: largest gradient entry {largest:.3g} is too small to check")
    assert not problems, "\n".join(problems)
