"""Loss terms and input derivatives from Python: `Model.derivatives` against numpy's
analytic derivatives, `fit_terms` on an SDF from oriented points and on Poisson's equation
(Adam and L-BFGS), histories, progress, and clear errors for bad terms."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def one_hidden_tanh(seed: int = 0) -> lamina.Model:
    return lamina.Model({"kind": "mlp", "input": 3, "hidden": [16], "output": 1,
                         "activation": "tanh", "seed": seed})


def test_derivatives_match_numpy_analytic_values() -> None:
    model = one_hidden_tanh()
    state = model.state_dict()
    w1, b1, w2, b2 = state["0.weight"], state["0.bias"], state["2.weight"], state["2.bias"]
    x = np.random.default_rng(1).uniform(-1, 1, (50, 3)).astype(np.float32)
    z = x.astype(np.float64) @ w1.T + b1
    t = np.tanh(z)
    y_ref = t @ w2.T + b2
    d1 = 1 - t**2
    d2 = -2 * t * d1
    jac_ref = (d1 * w2[0]) @ w1  # (n, 3)
    second_ref = (d2 * w2[0]) @ (w1**2)
    y, jac, second = model.derivatives(x)
    assert y.shape == (50, 1) and jac.shape == (50, 1, 3) and second.shape == (50, 1, 3)
    np.testing.assert_allclose(y[:, 0], y_ref[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jac[:, 0], jac_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second[:, 0], second_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(y, model.predict(x))
    y1, jac1, none = model.derivatives(x, order=1)
    assert none is None
    np.testing.assert_array_equal(jac1, jac)
    with pytest.raises(lamina.InvalidArgumentError):
        model.derivatives(x, order=3)


def sphere_terms(rng: np.random.Generator) -> list:
    v = rng.normal(size=(400, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    surface = 0.5 * v
    space = rng.uniform(-1, 1, (1000, 3))
    return [
        {"loss": "value", "x": surface, "y": np.zeros(400), "weight": 10},
        {"loss": "normal", "x": surface, "normals": 3 * v},  # stored normalised
        {"loss": "eikonal", "x": space, "batch_size": 256, "name": "unit gradient"},
    ]


def test_sdf_from_oriented_points() -> None:
    model = lamina.MLP(3, [32, 32], 1, activation={"name": "softplus", "beta": 10}, seed=1)
    terms = sphere_terms(np.random.default_rng(0))
    history = model.fit_terms(terms, steps=300, learning_rate=5e-3, progress=False)
    assert isinstance(history, lamina.TermsHistory)
    assert list(history) == ["value", "normal", "unit gradient"]
    assert len(history.total) == 300 and all(len(v) == 300 for v in history.values())
    for s in (0, 150, 299):
        weighted = 10 * history["value"][s] + history["normal"][s] + history["unit gradient"][s]
        assert history.total[s] == pytest.approx(weighted, rel=1e-5)
    assert history.total[-1] < history.total[0] / 20
    probes = np.array([[0.8, 0, 0], [0, -0.3, 0], [0.2, 0.2, 0.2], [0, 0, 0.6]], np.float32)
    exact = np.linalg.norm(probes, axis=1) - 0.5
    np.testing.assert_allclose(model.predict(probes)[:, 0], exact, atol=0.06)
    _, jac, _ = model.derivatives(probes[[0, 3]], order=1)
    norms = np.linalg.norm(jac[:, 0], axis=1)
    np.testing.assert_allclose(norms, 1, atol=0.1)


@pytest.mark.parametrize("optimizer,steps,lr", [("adam", 1500, 1e-2), ("lbfgs", 30, 1.0)])
def test_poisson_1d(optimizer: str, steps: int, lr: float) -> None:
    """u'' = -pi^2 sin(pi x) on [-1, 1], u(+-1) = 0: u = sin(pi x)."""
    model = lamina.MLP(1, [32, 32], 1, activation="tanh", seed=3)
    x = np.linspace(-1, 1, 101, dtype=np.float32).reshape(-1, 1)
    rhs = -np.pi**2 * np.sin(np.pi * x[:, 0])
    xb = np.array([[-1.0], [1.0]], np.float32)
    terms = [
        {"loss": "laplacian", "x": x, "rhs": rhs, "weight": 0.01},
        {"loss": "boundary", "x": xb, "y": np.zeros(2)},
    ]
    history = model.fit_terms(terms, steps=steps, optimizer=optimizer, learning_rate=lr,
                              progress=False)
    assert not history.stopped
    test = np.linspace(-1, 1, 57, dtype=np.float32).reshape(-1, 1)
    error = np.abs(model.predict(test)[:, 0] - np.sin(np.pi * test[:, 0])).max()
    assert error < 2e-2, f"{optimizer}: max error {error}"


def test_trainer_step_terms_and_reuse_of_loss_terms() -> None:
    model = one_hidden_tanh()
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (30, 3))
    g = rng.uniform(-1, 1, (30, 3))
    terms = lamina.LossTerms(model, [{"loss": "gradient", "x": x, "gradients": g},
                                     {"loss": "eikonal", "x": x, "weight": 0.5}])
    assert len(terms) == 2
    assert terms.config[1] == {"loss": "eikonal", "weight": 0.5, "batch_size": 0}
    with lamina.Trainer(model, optimizer="sgd", learning_rate=0.1) as trainer:
        first = trainer.step_terms(terms)
        assert set(first) == {"gradient", "eikonal", "total"}
        assert first["total"] == pytest.approx(first["gradient"] + 0.5 * first["eikonal"])
        _, jac, _ = model.derivatives(x, order=1)
        # The loss reported is that of the weights after the first step.
        second = trainer.step_terms(terms)
        assert second["gradient"] == pytest.approx(np.mean((jac[:, 0] - g) ** 2), rel=1e-5)
        assert second["total"] < first["total"]


def test_progress_callable_stops_the_fit() -> None:
    model = one_hidden_tanh()
    terms = sphere_terms(np.random.default_rng(4))
    seen = []
    history = model.fit_terms(terms, steps=50, progress=lambda p: seen.append(p.step) or p.step >= 4)
    assert seen == [1, 2, 3, 4]
    assert history.stopped and history.reason == "cancelled" and len(history.total) == 4


@pytest.mark.parametrize(
    "terms,error,fragment",
    [
        ([{"loss": "curl", "x": np.zeros((2, 3))}], lamina.InvalidArgumentError, "unknown loss"),
        ([{"loss": "normal", "x": np.zeros((2, 3))}], lamina.InvalidArgumentError, "'normals'"),
        ([{"loss": "eikonal", "x": np.zeros((2, 3)), "y": np.zeros(2)}],
         lamina.InvalidArgumentError, "takes no targets"),
        ([{"loss": "eikonal", "x": np.zeros((2, 2))}], lamina.InvalidArgumentError, "(n, 3)"),
        ([{"loss": "eikonal"}], lamina.InvalidArgumentError, "'x'"),
        ([{"loss": "eikonal", "x": np.zeros((2, 3)), "wieght": 1}],
         lamina.InvalidArgumentError, "wieght"),
        ([{"loss": "value", "x": np.zeros((2, 3)), "y": np.zeros(3)}], lamina.ShapeError, "target"),
        ([{"loss": "value", "x": np.full((2, 3), np.nan), "y": np.zeros(2)}],
         lamina.NumericError, "non-finite"),
        ([{"loss": "laplacian", "x": np.zeros((2, 3)), "rhs": np.zeros(2), "b": [1, 2]}],
         lamina.ShapeError, "3 numbers"),
        ([], lamina.InvalidArgumentError, "no terms"),
    ],
)
def test_bad_terms_are_refused_clearly(terms: list, error: type, fragment: str) -> None:
    model = one_hidden_tanh()
    before = model.state_dict()
    with pytest.raises(error, match=None) as info:
        model.fit_terms(terms, steps=3, progress=False)
    assert fragment in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_fit_terms_resumes_bit_for_bit_from_saved_state(tmp_path) -> None:
    """Batched terms draw from the trainer's generator alone, which the state file keeps."""
    terms = sphere_terms(np.random.default_rng(5))
    whole = one_hidden_tanh(seed=4)
    with lamina.Trainer(whole, learning_rate=1e-2) as trainer:
        trainer.fit_terms(terms, steps=20, progress=False)
    first = one_hidden_tanh(seed=4)
    with lamina.Trainer(first, learning_rate=1e-2) as trainer:
        trainer.fit_terms(terms, steps=12, progress=False)
        trainer.save_state(tmp_path / "state.safetensors")
    first.save(tmp_path / "model.safetensors")
    resumed = lamina.load(tmp_path / "model.safetensors")
    with lamina.Trainer(resumed, learning_rate=1e-2) as trainer:
        trainer.load_state(tmp_path / "state.safetensors")
        trainer.fit_terms(terms, steps=8, progress=False)
    for name, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)


def poisson_terms(rng: np.random.Generator) -> list:
    xi = rng.uniform(-1, 1, (441, 2)).astype(np.float32)
    rhs = -2 * np.pi**2 * np.sin(np.pi * xi[:, 0]) * np.sin(np.pi * xi[:, 1])
    t = np.linspace(-1, 1, 21, dtype=np.float32)
    one = np.ones(21, np.float32)
    xb = np.concatenate([np.stack(p, 1) for p in ((-one, t), (one, t), (t, -one), (t, one))])
    return [{"loss": "laplacian", "x": xi, "rhs": rhs, "weight": 0.01, "name": "pde"},
            {"loss": "boundary", "x": xb, "y": np.zeros(84)}]


def test_poisson_kan_with_grid_updates() -> None:
    """pykan's Example_6 set-up: KAN [2, 2, 1], G = 5, 20 L-BFGS steps, grids updated from
    the interior points every 5 steps."""
    terms = poisson_terms(np.random.default_rng(0))
    model = lamina.Model({"kind": "kan", "widths": [2, 2, 1], "grid": 5, "seed": 2})
    grid_before = model.state_dict()["0.grid"]
    history = model.fit_terms(
        terms, steps=20, optimizer="lbfgs", progress=False, history_size=10,
        tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32,
        grid_update_every=5, grid_update_term="pde")
    assert list(history) == ["pde", "boundary"] and len(history.total) == 20
    assert not np.array_equal(model.state_dict()["0.grid"], grid_before), "grids moved"
    xi = terms[0]["x"]
    u = np.sin(np.pi * xi[:, 0]) * np.sin(np.pi * xi[:, 1])
    mse = float(np.mean((model.predict(xi)[:, 0] - u) ** 2))
    # This seed's figure; across seeds it ranges from 1e-4 to 4e-2 (pykan's own is as seed-
    # dependent; its notebook reports 3.8e-3).
    assert mse < 3.8e-3, mse
    with pytest.raises(lamina.InvalidArgumentError, match="names no term"):
        model.fit_terms(terms, steps=1, progress=False, grid_update_every=1,
                        grid_update_term="interior")
    mlp = one_hidden_tanh()
    with pytest.raises(lamina.UnsupportedError, match="grid"):
        mlp.fit_terms(sphere_terms(np.random.default_rng(1)), steps=1, progress=False,
                      grid_update_every=1)
