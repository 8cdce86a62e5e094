"""The wavelet basis (Wav-KAN) from Python: forward against a numpy evaluation of its
formula for both mother wavelets, and a per-edge mixture with B-splines whose edge curves
add up to the output and which survives save/load. Spec, tensors, input gradients and
pykan's tutorial fit are in test_kan_bases.py with the other bases."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

from conftest import states_equal

#: The Mexican hat's unit-energy constant 2 / (sqrt(3) pi^(1/4)).
MEXICAN_HAT_NORM = 2 / (np.sqrt(3) * np.pi ** 0.25)


def psi(name: str, t: np.ndarray) -> np.ndarray:
    """The mother wavelet ``name`` at ``t``, in float64."""
    envelope = np.exp(-t * t / 2)
    if name == "mexican_hat":
        return MEXICAN_HAT_NORM * (1 - t * t) * envelope
    return np.cos(5 * t) * envelope


def reference(state, prefix: str, name: str, x: np.ndarray) -> np.ndarray:
    """y_j = sum_i w_ji psi((x_i - tau_ji) / s_ji) for one layer's tensors."""
    s = state[prefix + "scale"].astype(np.float64)
    tau = state[prefix + "translation"].astype(np.float64)
    w = state[prefix + "wavelet_weights"].astype(np.float64)
    t = (x[:, None, :] - tau[None]) / s[None]
    return (w[None] * psi(name, t)).sum(axis=2)


@pytest.mark.parametrize("name", ["mexican_hat", "morlet"])
def test_forward_matches_the_formula(name: str) -> None:
    model = lamina.KAN(width=[3, 4, 2], basis="wavelet", wavelet=name, seed=2)
    rng = np.random.default_rng(3)
    # Scales and translations away from their initial 1 and 0, so both enter the check.
    state = {k: v.copy() for k, v in model.state_dict().items()}
    for k in state:
        if k.endswith("scale"):
            state[k] = rng.uniform(0.5, 2.0, state[k].shape).astype(np.float32)
        elif k.endswith("translation"):
            state[k] = rng.uniform(-1, 1, state[k].shape).astype(np.float32)
    model.load_state_dict(state)
    x = rng.uniform(-2, 2, (30, 3))
    hidden = reference(state, "0.", name, x)
    expected = reference(state, "1.", name, hidden)
    np.testing.assert_allclose(model.predict(x.astype(np.float32)), expected, rtol=1e-4, atol=1e-5)


def test_unknown_wavelet_is_refused() -> None:
    with pytest.raises(lamina.InvalidArgumentError, match='unknown "wavelet" "haar"'):
        lamina.KAN(width=[2, 1], basis="wavelet", wavelet="haar")


def test_mixture_with_bsplines_edges_add_up_and_save_load(tmp_path) -> None:
    model = lamina.KAN(width=[2, 3], basis="mixed",
                       bases=["bspline", {"name": "wavelet", "wavelet": "morlet"}], seed=4)
    assert model.mixture_bases(0) == ["bspline", "wavelet"]
    rng = np.random.default_rng(1)
    logits = (0.5 * rng.normal(size=(3, 2, 2))).astype(np.float32)
    model.load_state_dict({"0.mix_logits": logits, "0.bases.1.scale":
                           rng.uniform(0.5, 2, (3, 2)).astype(np.float32)}, strict=False)
    x = rng.uniform(-1.5, 1.5, size=(9, 2)).astype(np.float32)
    y = model.predict(x)
    total = sum(np.stack([model.edge_curve(0, i, j, x[:, i]) for j in range(3)], axis=1)
                for i in range(2))
    np.testing.assert_allclose(total, y, atol=1e-5)
    path = tmp_path / "mixed_wavelet.safetensors"
    model.save(path)
    loaded = lamina.load(path)
    assert loaded.spec == model.spec
    assert states_equal(loaded.state_dict(), model.state_dict())
    np.testing.assert_array_equal(loaded.predict(x), y)


def test_single_basis_edge_curves_add_up() -> None:
    model = lamina.KAN(width=[2, 3], basis="wavelet", seed=6)
    x = np.random.default_rng(2).uniform(-2, 2, size=(11, 2)).astype(np.float32)
    total = sum(np.stack([model.edge_curve(0, i, j, x[:, i]) for j in range(3)], axis=1)
                for i in range(2))
    np.testing.assert_allclose(total, model.predict(x), atol=1e-5)


def test_morlet_fits_the_pykan_tutorial_function() -> None:
    """[2, 5, 1] Morlet KAN on f(x, y) = exp(sin(pi x) + y^2) with pykan's LBFGS fit: test
    RMSE 0.0277 at seed 0 (seeds 0-4: 0.0227-0.084; Adam reached 0.033 at best). The
    Mexican hat's fit is in test_kan_bases.py."""
    dataset = lamina.create_dataset(
        lambda x: np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2), n_var=2)
    model = lamina.KAN(width=[2, 5, 1], basis="wavelet", wavelet="morlet", seed=0)
    results = model.fit(dataset, opt="LBFGS", steps=200, progress=False)
    rmse = float(np.sqrt(np.mean((model.predict(dataset["test_input"]) - dataset["test_label"]) ** 2)))
    assert rmse == pytest.approx(results["test_loss"][-1], rel=1e-4)
    assert rmse < 3e-2, f"morlet: test RMSE {rmse}"
