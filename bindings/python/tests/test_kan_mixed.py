"""Mixed-basis KAN layers from Python: KAN(basis="mixed"), mixture_weights, keep_strongest,
state_dict / save / load, edge curves and the B-spline tools' refusals."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def mixed(**keys) -> lamina.KAN:
    return lamina.KAN(width=[2, 3, 1], basis="mixed", seed=1, **keys)


def test_spec_defaults_and_tensor_names():
    model = mixed()
    spec = model.spec
    assert spec["basis"] == "mixed"
    assert [b["name"] for b in spec["bases"]] == ["bspline", "chebyshev", "fourier", "rbf"]
    assert spec["temperature"] == 1 and spec["selected"] is False
    assert model.mixture_bases(0) == ["bspline", "chebyshev", "fourier", "rbf"]
    state = model.state_dict()
    assert state["0.mix_logits"].shape == (3, 2, 4)
    assert not state["0.mix_logits"].any()
    for name in ("0.bases.0.coef", "0.bases.0.grid", "0.bases.1.coef", "0.bases.2.fouriercoeffs",
                 "0.bases.3.spline_linear.weight", "1.mix_logits"):
        assert name in state
    w = model.mixture_weights(0)
    assert w.shape == (3, 2, 4) and w.dtype == np.float32
    np.testing.assert_allclose(w, 0.25, atol=1e-7)
    assert "mixed" in repr(model)


def test_mixture_weights_are_the_softmax_of_the_logits():
    model = mixed(bases=["chebyshev", {"name": "fourier", "grid": 3}, "rational"], temperature=0.5)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 2, 3)).astype(np.float32)
    model.load_state_dict({"0.mix_logits": logits}, strict=False)
    z = logits.astype(np.float64) / 0.5
    expected = np.exp(z - z.max(axis=2, keepdims=True))
    expected /= expected.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(model.mixture_weights(0), expected, rtol=1e-6, atol=1e-7)
    assert model.mixture_bases(0) == ["chebyshev", "fourier", "rational"]


def test_edge_curves_sum_to_the_output_and_save_load(tmp_path):
    model = mixed(bases=["bspline", "fourier", "rbf", "rational"])
    rng = np.random.default_rng(1)
    state = {k: (0.3 * rng.normal(size=v.shape)).astype(np.float32)
             for k, v in model.state_dict().items() if k.endswith("mix_logits")}
    model.load_state_dict(state, strict=False)
    single = lamina.KAN(width=[2, 3], basis="mixed", bases=["bspline", "fourier", "rbf", "rational"], seed=4)
    x = rng.uniform(-1.5, 1.5, size=(7, 2)).astype(np.float32)
    y = single.predict(x)
    total = sum(np.stack([single.edge_curve(0, i, j, x[:, i]) for j in range(3)], axis=1) for i in range(2))
    np.testing.assert_allclose(total, y, atol=1e-5)
    path = tmp_path / "mixed.safetensors"
    model.save(path)
    loaded = lamina.load(path)
    assert isinstance(loaded, lamina.KAN)
    assert loaded.spec == model.spec
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.mixture_weights(1), model.mixture_weights(1))


def test_keep_strongest():
    model = mixed(bases=["bspline", "chebyshev", "fourier"])
    logits = np.zeros((3, 2, 3), np.float32)
    for j in range(3):
        for i in range(2):
            logits[j, i, (j * 2 + i) % 3] = 1.0
    model.load_state_dict({"0.mix_logits": logits, "1.mix_logits": np.array([[[0, 0, 2]] * 3], np.float32)},
                          strict=False)
    kept = model.keep_strongest()
    assert isinstance(kept, lamina.KAN)
    assert kept.spec["basis"][0]["name"] == "mixed" and kept.spec["basis"][0]["selected"] is True
    assert kept.spec["basis"][1]["name"] == "fourier"
    w = kept.mixture_weights(0)
    np.testing.assert_array_equal(w, (logits == 1).astype(np.float32))
    names = kept.tensor_names()
    assert "0.selection" in names and "0.mix_logits" not in names
    assert "1.fouriercoeffs" in names
    np.testing.assert_array_equal(kept.state_dict()["1.fouriercoeffs"], model.state_dict()["1.bases.2.fouriercoeffs"])
    # The kept layer-1 edges equal the Fourier component's, which the mixed model shows
    # at full weight once its logits make the mixture one-hot.
    model.load_state_dict({"1.mix_logits": np.array([[[-200, -200, 200]] * 3], np.float32)}, strict=False)
    xs = np.linspace(-2, 2, 9, dtype=np.float32)
    for i in range(3):
        np.testing.assert_allclose(kept.edge_curve(1, i, 0, xs), model.edge_curve(1, i, 0, xs), atol=1e-6)
    with pytest.raises(lamina.UnsupportedError):
        lamina.KAN(width=[2, 1]).keep_strongest()
    with pytest.raises(lamina.UnsupportedError):
        lamina.KAN(width=[2, 1]).mixture_weights(0)
    with pytest.raises(lamina.InvalidArgumentError):
        model.mixture_weights(5)


def test_bspline_tools_refuse_mixed_layers():
    model = mixed(bases=["bspline", "fourier"])
    x = np.random.default_rng(2).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    with pytest.raises(lamina.UnsupportedError, match="mixed-basis"):
        model.update_grid(x)
    with pytest.raises(lamina.UnsupportedError):
        model.refine(10)
    with pytest.raises(lamina.UnsupportedError):
        model.prune(x=x)
    # The plot range comes from the B-spline component's knots.
    xs, ys = model.activation(0, 1, 2, n=11)
    assert xs[0] == pytest.approx(-1) and xs[-1] == pytest.approx(1) and ys.shape == (11,)


def test_bad_specs():
    for keys in ({"bases": ["rbf"]}, {"bases": ["rbf", "rbf"]}, {"bases": ["rbf", "mixed"]},
                 {"temperature": 0.0}, {"bases": [{"name": "rbf", "normalize": True}, "fourier"]}):
        with pytest.raises(lamina.InvalidArgumentError):
            mixed(**keys)


def test_training_moves_the_mixture_to_fourier_on_a_periodic_target():
    model = lamina.KAN(width=[1, 1], basis="mixed", bases=["bspline", "chebyshev", "fourier"], seed=0)
    rng = np.random.default_rng(9)
    x = rng.uniform(-3, 3, size=(512, 1)).astype(np.float32)
    y = (np.sin(3 * x) + 0.5 * np.cos(x)).astype(np.float32)
    dataset = {"train_input": x, "train_label": y, "test_input": x, "test_label": y}
    model.fit(dataset, opt="Adam", steps=600, lr=0.03, batch=128)
    w = model.mixture_weights(0)[0, 0]
    assert w[2] > 0.45 and w[2] == w.max(), w
    kept = model.keep_strongest()
    assert kept.spec["basis"][0]["name"] == "fourier"
