"""lamina.KAN and lamina.create_dataset: pykan's interface over the "kan" model kind."""

from __future__ import annotations

import json
import math
import pickle
import sys
import types

import numpy as np
import pytest

import lamina

from conftest import PACKAGE_ROOT


def tutorial(x: np.ndarray) -> np.ndarray:
    """pykan's tutorial function f(x, y) = exp(sin(pi x) + y^2)."""
    return np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2)


class TensorLike:
    """What lamina relies on in a torch tensor (``detach().cpu().numpy()``) and what pykan's
    lambdas use (indexing, ``**``, ``+``, ``*``), over a numpy array; so the torch paths run
    where torch is not installed (the tests' requirements do not include it)."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array

    def __getitem__(self, index):
        return TensorLike(self.array[index])

    def __pow__(self, p):
        return TensorLike(self.array**p)

    def __add__(self, other):
        return TensorLike(self.array + getattr(other, "array", other))

    __radd__ = __add__

    def __mul__(self, other):
        return TensorLike(self.array * getattr(other, "array", other))

    __rmul__ = __mul__


def _tensor_only(f):
    """f on tensors; TypeError for anything else, as torch.exp(np.ndarray) does."""

    def op(value):
        if not isinstance(value, TensorLike):
            raise TypeError(f"{f.__name__}(): argument 'input' must be Tensor, not {type(value).__name__}")
        return TensorLike(f(value.array))

    return op


@pytest.fixture
def torch_like(monkeypatch):
    """The real torch when it is installed, else a stand-in module with the part of torch's
    interface these tests and lamina use (from_numpy, exp, sin, pi, tensors as above)."""
    try:
        import torch

        return torch
    except ImportError:
        module = types.ModuleType("torch")
        module.from_numpy = TensorLike
        module.exp, module.sin, module.pi = _tensor_only(np.exp), _tensor_only(np.sin), math.pi
        monkeypatch.setitem(sys.modules, "torch", module)
        return module


# ---- construction ------------------------------------------------------------------------
def test_kan_builds_the_kan_spec_with_every_default() -> None:
    model = lamina.KAN(width=[2, 5, 1])
    assert model.spec == {
        "kind": "kan",
        "widths": [2, 5, 1],
        "basis": "bspline",
        "grid": 5,
        "order": 3,
        "grid_range": [-1, 1],
        "noise_scale": 0.3,
        "scale_base_mu": 0,
        "scale_base_sigma": 1,
        "base_fun": "silu",
        "seed": 0,
    }
    assert model.width == [2, 5, 1]
    assert (model.grid, model.k) == (5, 3)
    assert (model.input_dim, model.output_dim) == (2, 1)
    assert model.parameter_count == 2 * 5 * (5 + 3 + 2) + 5 * 1 * (5 + 3 + 2)
    assert repr(model) == "KAN(width=[2, 5, 1], grid=5, k=3, basis='bspline', parameters=150)"
    assert isinstance(model, lamina.Model)


def test_kan_tensors_are_named_and_shaped_as_pykan() -> None:
    model = lamina.KAN(width=[3, 4, 2], grid=7, k=2, grid_range=[-2, 3], seed=1, noise_scale=0.1)
    state = model.state_dict()
    assert list(state) == [
        f"{layer}.{name}"
        for layer in (0, 1)
        for name in ("coef", "scale_base", "scale_sp", "grid", "mask")
    ]
    assert state["0.coef"].shape == (3, 4, 7 + 2)
    assert state["0.grid"].shape == (3, 7 + 2 * 2 + 1)
    assert state["1.scale_sp"].shape == (4, 2)
    assert np.all(state["0.mask"] == 1)
    np.testing.assert_allclose(state["0.scale_sp"], 1 / np.sqrt(3), rtol=1e-6)
    np.testing.assert_allclose(state["1.scale_sp"], 1 / np.sqrt(4), rtol=1e-6)
    # Knots: 7 intervals on [-2, 3] extended by 2 on each side with the same spacing.
    h = 5 / 7
    np.testing.assert_allclose(state["0.grid"][1], -2 + h * np.arange(-2, 10), atol=1e-6)
    assert model.spec["grid_range"] == [-2, 3]
    assert model.spec["noise_scale"] == 0.1


def test_kan_seed_is_reproducible() -> None:
    a = lamina.KAN(width=[2, 3, 1], seed=4).state_dict()
    b = lamina.KAN(width=[2, 3, 1], seed=4).state_dict()
    c = lamina.KAN(width=[2, 3, 1], seed=5).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["0.coef"], c["0.coef"])


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"width": [2]}, "at least two"),
        ({"width": [2, 0, 1]}, "widths[1]"),
        ({"width": [2, 1], "grid": 0}, '"grid"'),
        ({"width": [2, 1], "k": 11}, '"order"'),
        ({"width": [2, 1], "grid_range": [1, -1]}, '"grid_range"'),
        ({"width": [2, 1], "basis": "bessel"}, 'unknown "basis"'),
        ({"width": [2, 1], "noise": 0.1}, 'unknown key "noise"'),
    ],
)
def test_bad_kan_arguments_raise(kwargs, fragment) -> None:
    with pytest.raises(lamina.InvalidArgumentError, match=None) as info:
        lamina.KAN(**kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_kan_needs_width() -> None:
    with pytest.raises(lamina.InvalidArgumentError, match="width"):
        lamina.KAN()
    with pytest.raises(lamina.InvalidArgumentError, match="width"):
        lamina.KAN(width=["a", 1])


def test_load_and_copy_give_a_kan(tmp_path) -> None:
    model = lamina.KAN(width=[2, 3, 1], grid=4, seed=2)
    state = model.state_dict()
    state["0.mask"][1, 2] = 0.0  # a pruned edge and a moved grid survive the file
    state["0.grid"] = state["0.grid"] * 1.5
    model.load_state_dict(state)
    path = tmp_path / "kan.safetensors"
    model.save(path)
    loaded = lamina.load(path)
    assert isinstance(loaded, lamina.KAN)
    assert loaded.width == [2, 3, 1]
    x = np.random.default_rng(0).uniform(-2, 2, (50, 2)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert all(np.array_equal(loaded.state_dict()[k], state[k]) for k in state)
    assert isinstance(model.copy(), lamina.KAN)
    assert isinstance(pickle.loads(pickle.dumps(model)), lamina.KAN)
    assert isinstance(lamina.Model.from_spec(model.spec), lamina.KAN)


def test_outside_the_grid_only_the_silu_branch_remains() -> None:
    model = lamina.KAN(width=[1, 2], grid=5, k=3, seed=3)
    state = model.state_dict()
    x = np.array([[-2.3], [2.2], [5.0], [-40.0]], dtype=np.float32)  # extended grid: [-2.2, 2.2)
    silu = x / (1 + np.exp(-x))
    expected = silu * (state["0.scale_base"] * state["0.mask"])
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_input_gradient_matches_finite_differences() -> None:
    model = lamina.KAN(width=[2, 4, 1], grid=6, seed=7)
    x = np.random.default_rng(1).uniform(-1.5, 1.5, (20, 2))
    jac = model.gradient(x)
    assert jac.shape == (20, 1, 2)
    h = 1e-3
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        numeric = (model.predict(x + step) - model.predict(x - step))[:, 0] / (2 * h)
        np.testing.assert_allclose(jac[:, 0, i], numeric, atol=2e-3, rtol=2e-2)


# ---- create_dataset ----------------------------------------------------------------------
def test_create_dataset_shapes_ranges_and_seed() -> None:
    d = lamina.create_dataset(tutorial, n_var=2, train_num=300, test_num=200)
    assert set(d) == {"train_input", "train_label", "test_input", "test_label"}
    assert d["train_input"].shape == (300, 2) and d["test_input"].shape == (200, 2)
    assert d["train_label"].shape == (300, 1) and d["test_label"].shape == (200, 1)
    assert all(v.dtype == np.float32 for v in d.values())
    assert d["train_input"].min() >= -1 and d["train_input"].max() <= 1
    np.testing.assert_allclose(d["train_label"], tutorial(d["train_input"]), rtol=1e-6)
    again = lamina.create_dataset(tutorial, n_var=2, train_num=300, test_num=200)
    assert all(np.array_equal(d[k], again[k]) for k in d)
    other = lamina.create_dataset(tutorial, n_var=2, train_num=300, test_num=200, seed=1)
    assert not np.array_equal(d["train_input"], other["train_input"])


def test_create_dataset_per_variable_ranges_and_flat_labels() -> None:
    d = lamina.create_dataset(
        lambda x: x[:, 0] * x[:, 1] - x[:, 2], n_var=3, ranges=[[0, 1], [-5, -4], [2, 3]],
        train_num=500, test_num=10,
    )
    x = d["train_input"]
    assert d["train_label"].shape == (500, 1)
    for i, (lo, hi) in enumerate([(0, 1), (-5, -4), (2, 3)]):
        assert lo <= x[:, i].min() and x[:, i].max() <= hi
    normalized = lamina.create_dataset(
        tutorial, normalize_input=True, normalize_label=True, train_num=400, test_num=10
    )
    np.testing.assert_allclose(normalized["train_input"].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(normalized["train_label"].std(axis=0, ddof=1), 1, rtol=1e-4)


def test_create_dataset_accepts_torch_functions(torch_like) -> None:
    torch = torch_like
    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)  # noqa: E731
    with pytest.raises(TypeError):
        f(np.zeros((1, 2), np.float32))  # a torch-only function, as pykan's lambdas are
    d = lamina.create_dataset(f, n_var=2, train_num=50, test_num=50)
    assert isinstance(d["train_label"], np.ndarray)
    np.testing.assert_allclose(d["train_label"], tutorial(d["train_input"]), rtol=1e-5)


def test_create_dataset_errors() -> None:
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.create_dataset(tutorial, n_var=0)
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.create_dataset(tutorial, n_var=2, ranges=[[0, 1]])
    with pytest.raises(lamina.ShapeError):
        lamina.create_dataset(lambda x: x[:3], n_var=2)


# ---- fit ---------------------------------------------------------------------------------
def test_fit_learns_the_pykan_tutorial_function() -> None:
    dataset = lamina.create_dataset(tutorial, n_var=2, train_num=1000, test_num=1000)
    model = lamina.KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
    results = model.fit(dataset, opt="Adam", steps=300, lr=0.05, progress=False)
    assert set(results) == {"train_loss", "test_loss"}
    assert len(results["train_loss"]) == len(results["test_loss"]) == 300
    assert results["train_loss"][0] > 1.0
    assert results["test_loss"][-1] < 0.05
    # test_loss is the RMSE of the model after the last step, as pykan reports it.
    rmse = math.sqrt(float(np.mean((model.predict(dataset["test_input"]) - dataset["test_label"]) ** 2)))
    assert results["test_loss"][-1] == pytest.approx(rmse, rel=1e-4)


def test_fit_with_mini_batches_and_torch_dataset(torch_like) -> None:
    torch = torch_like
    d = lamina.create_dataset(tutorial, n_var=2, train_num=500, test_num=200)
    tensors = {k: torch.from_numpy(v) for k, v in d.items()}
    model = lamina.KAN(width=[2, 5, 1], seed=0)
    results = model.fit(tensors, steps=200, lr=0.02, batch=64, progress=False, seed=3)
    assert len(results["train_loss"]) == 200
    assert results["test_loss"][-1] < 0.5 * results["test_loss"][0]
    # The same seed gives the same run.
    again = lamina.KAN(width=[2, 5, 1], seed=0).fit(tensors, steps=200, lr=0.02, batch=64, progress=False, seed=3)
    assert again == results


def test_fit_progress_callable_can_stop() -> None:
    d = lamina.create_dataset(tutorial, train_num=100, test_num=100)
    seen = []

    def progress(step, train_loss, test_loss):
        seen.append((step, train_loss, test_loss))
        return step == 5

    results = lamina.KAN(width=[2, 1]).fit(d, steps=50, lr=0.01, progress=progress)
    assert [s for s, _, _ in seen] == [1, 2, 3, 4, 5]
    assert len(results["train_loss"]) == 5


def test_fit_tqdm_bar(capsys) -> None:
    pytest.importorskip("tqdm")
    d = lamina.create_dataset(tutorial, train_num=100, test_num=100)
    lamina.KAN(width=[2, 1]).fit(d, steps=7, lr=0.01, progress=True)
    err = capsys.readouterr().err
    assert "7/7" in err and "step" in err and "train_loss=" in err and "test_loss=" in err


def test_fit_progress_true_without_tqdm(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    d = lamina.create_dataset(tutorial, train_num=100, test_num=100)
    results = lamina.KAN(width=[2, 1]).fit(d, steps=3, lr=0.01, progress=True)
    assert len(results["train_loss"]) == 3
    assert capsys.readouterr().err == ""


def test_fit_errors() -> None:
    model = lamina.KAN(width=[2, 1])
    d = lamina.create_dataset(tutorial, train_num=20, test_num=20)
    with pytest.raises(lamina.InvalidArgumentError, match="grid_update_num"):
        model.fit(d, opt="LBFGS", grid_update_num=0)
    with pytest.raises(lamina.InvalidArgumentError, match="opt"):
        model.fit(d, opt="Adagrad")
    with pytest.raises(lamina.InvalidArgumentError, match="batch"):
        model.fit(d, batch=0)
    with pytest.raises(lamina.InvalidArgumentError, match="test_label"):
        model.fit({k: v for k, v in d.items() if k != "test_label"})
    with pytest.raises(lamina.ShapeError):
        model.fit({**d, "train_input": d["train_input"][:, :1]})
    with pytest.raises(lamina.InvalidArgumentError, match="unknown key"):
        model.fit(d, steps=1, not_a_key=1)


# ---- against pykan itself (stored: Tests/Reference/pykan_forward_reference.py) ------------
def test_matches_pykan_forward_with_the_same_weights() -> None:
    """pykan's KAN(width=[2, 5, 1], grid=5, k=3, seed=1): its tensors loaded into lamina.KAN
    give pykan's outputs, inside the grid and outside it (200 points in [-2.5, 2.5]^2)."""
    reference = json.loads((PACKAGE_ROOT / "tests" / "data" / "pykan_forward.json").read_text())
    state = {k: np.array(v["values"], np.float32).reshape(v["shape"]) for k, v in reference["state"].items()}
    assert set(state) == {f"{l}.{t}" for l in (0, 1) for t in ("grid", "coef", "mask", "scale_base", "scale_sp")}
    model = lamina.KAN(width=[2, 5, 1], grid=5, k=3)
    model.load_state_dict(state)
    x = np.array(reference["x"], np.float32)
    expected = np.array(reference["y"], np.float32).reshape(-1, 1)
    assert (np.abs(x) > 1).any(axis=1).sum() > 100  # many points outside the grid [-1, 1]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    # Lamina's initial coefficients have pykan's scale (noise_scale 0.3 / G, fitted).
    ours = lamina.KAN(width=[2, 5, 1], grid=5, k=3, seed=1).state_dict()["0.coef"]
    ratio = ours.std() / state["0.coef"].std()
    assert 0.5 < ratio < 2.0
