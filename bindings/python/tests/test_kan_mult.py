"""KANs with multiplication nodes (pykan's MultKAN) through ``lamina.Model({...})``: the
spec keys ("widths" entries [n_sum, n_mult], "mult_arity", the sequential "multiply"
layer) as include/lamina.h documents them, values against numpy, input gradients against
differences, training on x1 * x2 and a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

from conftest import HEADER


def test_full_spec_echoes_the_widths_and_mult_arity() -> None:
    model = lamina.Model({"kind": "kan", "widths": [2, [5, 2], 1]})
    assert model.spec["widths"] == [2, [5, 2], 1]
    assert model.spec["mult_arity"] == 2
    names = model.tensor_names()
    assert "0.coef" in names and "2.coef" in names and not any(n.startswith("1.") for n in names)
    assert model.state_dict()["0.coef"].shape == (2, 9, 8)
    assert model.state_dict()["2.coef"].shape == (7, 1, 8)
    listed = lamina.Model({"kind": "kan", "widths": [2, [1, 2], 1], "mult_arity": [[], [2, 3], []]})
    assert listed.spec["mult_arity"] == [[], [2, 3], []]
    # A plain KAN's full spec has no "mult_arity".
    assert "mult_arity" not in lamina.Model({"kind": "kan", "widths": [2, 3, 1]}).spec


def test_header_documents_the_keys() -> None:
    text = HEADER.read_text(encoding="utf-8")
    for word in ["mult_arity", "[n_sum, n_mult]", '"multiply"', "arity", "mult"]:
        assert word in text


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "kan", "widths": [[2, 1], 1]},
        {"kind": "kan", "widths": [2, [1, 1], 1], "mult_arity": 1},
        {"kind": "kan", "widths": [2, [1, 1], 1], "mult_arity": [[2]]},
        {"kind": "kan", "widths": [2, [1, 2, 3], 1]},
    ],
)
def test_bad_specs_are_refused(spec) -> None:
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.Model(spec)


def test_multiply_layer_against_numpy(rng: np.random.Generator) -> None:
    plain = lamina.Model({"kind": "sequential", "input": 2, "layers": [{"type": "kan", "output": 5}]})
    mult = lamina.Model(
        {
            "kind": "sequential",
            "input": 2,
            "layers": [{"type": "kan", "output": 5}, {"type": "multiply", "sum": 1, "arity": [2, 2]}],
        }
    )
    mult.load_state_dict(plain.state_dict())
    x = rng.uniform(-1, 1, size=(32, 2)).astype(np.float32)
    o = plain.predict(x)
    expected = np.stack([o[:, 0], o[:, 1] * o[:, 2], o[:, 3] * o[:, 4]], axis=1)
    np.testing.assert_array_equal(mult.predict(x), expected)
    assert mult.spec["layers"][1] == {"type": "multiply", "sum": 1, "mult": 2, "arity": [2, 2]}


def test_gradient_matches_differences(rng: np.random.Generator) -> None:
    model = lamina.Model({"kind": "kan", "widths": [2, [3, 2], 2], "mult_arity": 3, "seed": 2})
    x = rng.uniform(-0.9, 0.9, size=(6, 2)).astype(np.float64)
    jac = model.gradient(x.astype(np.float32))
    h = 1e-2
    for d in range(2):
        step = np.zeros(2)
        step[d] = h
        numeric = (model.predict((x + step).astype(np.float32)).astype(np.float64)
                   - model.predict((x - step).astype(np.float32))) / (2 * h)
        np.testing.assert_allclose(jac[:, :, d], numeric, rtol=2e-3, atol=2e-3)


def test_trains_on_a_product_and_round_trips(tmp_path, rng: np.random.Generator) -> None:
    model = lamina.Model({"kind": "kan", "widths": [2, [5, 2], 1], "seed": 1})
    x = rng.uniform(-1, 1, size=(256, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1])[:, None]
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.02, batch_size=256)
    before = float(np.mean((model.predict(x) - y) ** 2))
    for _ in range(60):
        trainer.step(x, y)
    after = float(np.mean((model.predict(x) - y) ** 2))
    assert after < 0.3 * before
    path = tmp_path / "mult.safetensors"
    model.save(path)
    back = lamina.load(path)
    assert back.spec == model.spec
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
