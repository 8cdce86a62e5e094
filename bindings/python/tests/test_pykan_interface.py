"""lamina.kan is pykan 0.2.8's interface: names, defaults, devices, torch at the boundary,
results, version history.

pykan itself is not installed here; its 0.2.8 defaults are written out below from its
source (kan/MultKAN.py, kan/utils.py), and behaviour is checked against what pykan's
tutorials print. torch is in the test venv (CI installs the CPU wheel); the numpy-only
paths are checked by hiding torch from lamina.kan.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import lamina
from lamina.errors import InvalidArgumentError, UnsupportedError

torch = pytest.importorskip("torch")
kan = pytest.importorskip("lamina.kan")

# pykan 0.2.8's MultKAN.__init__ and MultKAN.fit defaults (facts from its source).
PYKAN_INIT = dict(
    width=None, grid=3, k=3, mult_arity=2, noise_scale=0.3, scale_base_mu=0.0,
    scale_base_sigma=1.0, base_fun="silu", symbolic_enabled=True, affine_trainable=False,
    grid_eps=0.02, sp_trainable=True, sb_trainable=True, seed=1, save_act=True,
    sparse_init=False, auto_save=True, first_init=True, ckpt_path="./model", state_id=0,
    round=0, device="cpu",
)
PYKAN_FIT = dict(
    opt="LBFGS", steps=100, log=1, lamb=0.0, lamb_l1=1.0, lamb_entropy=2.0, lamb_coef=0.0,
    lamb_coefdiff=0.0, update_grid=True, grid_update_num=10, loss_fn=None, lr=1.0,
    start_grid_update_step=-1, stop_grid_update_step=50, batch=-1, metrics=None,
    save_fig=False, in_vars=None, out_vars=None, beta=3, save_fig_freq=1, img_folder="./video",
    singularity_avoiding=False, y_th=1000.0, reg_metric="edge_forward_spline_n",
    display_metrics=None,
)
PYKAN_LIBRARY = [
    "x", "x^2", "x^3", "x^4", "x^5", "1/x", "1/x^2", "1/x^3", "1/x^4", "1/x^5", "sqrt",
    "x^0.5", "x^1.5", "1/sqrt(x)", "1/x^0.5", "exp", "log", "abs", "sin", "cos", "tan", "tanh",
    "sgn", "arcsin", "arccos", "arctan", "arctanh", "0", "gaussian",
]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """pykan's auto_save writes ./model: keep it in a scratch directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hellokan_f(x):
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def test_star_import_gives_what_pykan_scripts_use():
    names: dict = {}
    exec("from lamina.kan import *", names)
    for name in ("KAN", "MultKAN", "create_dataset", "ex_round", "SYMBOLIC_LIB", "add_symbolic",
                 "create_dataset_from_data", "B_batch", "extend_grid", "torch", "np", "plt",
                 "sympy", "Symbol", "nsimplify", "symbols"):
        assert name in names, name
    assert names["KAN"] is names["MultKAN"]
    assert names["torch"] is torch
    assert list(names["SYMBOLIC_LIB"]) == PYKAN_LIBRARY
    from lamina.kan.spline import B_batch, extend_grid  # noqa: F401
    from lamina.kan.utils import create_dataset, ex_round  # noqa: F401

    assert lamina.kan is kan  # the attribute imports the subpackage on first use
    assert lamina.KAN is not kan.KAN  # Lamina's own class keeps Lamina's defaults


def test_defaults_are_pykans():
    init = inspect.signature(kan.KAN.__init__).parameters
    for name, value in PYKAN_INIT.items():
        assert init[name].default == value, name
    assert tuple(init["grid_range"].default) == (-1, 1)
    fit = inspect.signature(kan.KAN.fit).parameters
    for name, value in PYKAN_FIT.items():
        assert fit[name].default == value, name
    model = kan.KAN(width=[2, 5, 1], auto_save=False)
    spec = model.spec
    assert (spec["grid"], spec["order"], spec["seed"]) == (3, 3, 1)
    assert spec["noise_scale"] == pytest.approx(0.3) and spec["symbolic"] is True
    assert model.width == [[2, 0], [5, 0], [1, 0]]
    assert (model.width_in, model.width_out) == ([2, 5, 1], [2, 5, 1])
    assert (model.grid, model.k, model.depth) == (3, 3, 2)


def test_devices_cpu_only():
    model = kan.KAN(width=[2, 3, 1], device=torch.device("cpu"), auto_save=False)
    assert model.to("cpu") is model and model.to(torch.device("cpu")) is model
    with pytest.raises(UnsupportedError, match="CPU only"):
        kan.KAN(width=[2, 3, 1], device="cuda", auto_save=False)
    with pytest.raises(UnsupportedError, match="CPU only"):
        model.to("cuda:0")
    with pytest.raises(UnsupportedError, match="CPU only"):
        kan.create_dataset(hellokan_f, n_var=2, device="cuda")


def test_create_dataset_draws_pykans_samples():
    data = kan.create_dataset(hellokan_f, n_var=2, train_num=50, test_num=40, seed=3)
    torch.manual_seed(3)
    expected = torch.zeros(50, 2)
    test = torch.zeros(40, 2)
    for i in range(2):  # pykan's order: a training column, then a test column
        expected[:, i] = torch.rand(50) * 2 - 1
        test[:, i] = torch.rand(40) * 2 - 1
    assert torch.equal(data["train_input"], expected) and torch.equal(data["test_input"], test)
    assert torch.allclose(data["train_label"], hellokan_f(expected))
    assert data["train_label"].shape == (50, 1)
    rows = kan.create_dataset(lambda x: x[0] * x[1], n_var=2, f_mode="row", train_num=8, test_num=8)
    assert rows["train_label"].shape == (8, 1)
    assert torch.allclose(rows["train_label"][:, 0], rows["train_input"][:, 0] * rows["train_input"][:, 1])


def test_tensors_in_tensors_out_and_numpy_in_numpy_out():
    model = kan.KAN(width=[2, 3, 1], auto_save=False)
    x = torch.rand(7, 2, dtype=torch.float64)
    y = model(x)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float64 and y.shape == (7, 1)
    z = model(x.numpy().astype(np.float32))
    assert isinstance(z, np.ndarray) and z.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), z, rtol=1e-6)
    np.testing.assert_allclose(z, model.predict(x.numpy()), rtol=0)
    assert torch.equal(model.forward(x), y)


def test_without_torch_numpy_throughout(monkeypatch):
    from lamina.kan import tensors

    monkeypatch.setitem(tensors._cache, "torch", None)
    data = kan.create_dataset(lambda x: np.sin(x[:, [0]]) + x[:, [1]], n_var=2, train_num=64, test_num=32)
    assert isinstance(data["train_input"], np.ndarray) and data["train_input"].dtype == np.float32
    model = kan.KAN(width=[2, 3, 1], auto_save=False)
    results = model.fit(data, steps=3)
    assert isinstance(model.act_fun[0].coef, np.ndarray)
    assert isinstance(results["train_loss"][0], np.ndarray)


def test_fit_results_as_pykans_and_cache_is_the_test_set():
    data = kan.create_dataset(hellokan_f, n_var=2)
    model = kan.KAN(width=[2, 5, 1], grid=3, k=3, seed=1, auto_save=False)
    results = model.fit(data, steps=20, lamb=0.01)
    assert set(results) == {"train_loss", "test_loss", "reg"}
    assert all(len(v) == 20 for v in results.values())
    last = results["train_loss"][-1]
    assert isinstance(last, np.ndarray) and last.shape == () and isinstance(last.item(), float)
    # pykan's API_6 notebook: 3.34e-02 (train) after these settings; within 2x.
    assert results["train_loss"][-1] < 2 * 3.34e-2 and results["test_loss"][-1] < 2 * 3.29e-2
    assert all(r > 0 for r in results["reg"])
    # pykan's model ends fit with a forward pass on the test rows.
    np.testing.assert_array_equal(model.cache_data, data["test_input"].numpy())
    no_reg = model.fit(data, steps=2)
    assert [float(r) for r in no_reg["reg"]] == [0.0, 0.0]


def test_fit_metrics_and_cross_entropy_loss_fn():
    g = np.random.default_rng(0)
    x = g.uniform(-1, 1, (400, 2)).astype(np.float32)
    labels = (x[:, 1] > np.sin(np.pi * x[:, 0]) * 0.5).astype(np.int64)
    data = {"train_input": torch.from_numpy(x[:300]), "train_label": torch.from_numpy(labels[:300]),
            "test_input": torch.from_numpy(x[300:]), "test_label": torch.from_numpy(labels[300:])}
    model = kan.KAN(width=[2, 2], grid=3, k=3, seed=0, auto_save=False)

    def train_acc():
        return torch.mean((torch.argmax(model(data["train_input"]), dim=1) == data["train_label"]).float())

    def test_acc():
        return torch.mean((torch.argmax(model(data["test_input"]), dim=1) == data["test_label"]).float())

    results = model.fit(data, steps=20, metrics=(train_acc, test_acc), loss_fn=torch.nn.CrossEntropyLoss())
    assert len(results["train_acc"]) == 20 and isinstance(results["train_acc"][-1], float)
    assert results["train_acc"][-1] > 0.9 and results["test_acc"][-1] > 0.85
    # pykan reports sqrt of the loss; cross-entropy of a good classifier is well below 1
    # (0 once float32 rounds a separated training set's loss away).
    assert 0 <= results["train_loss"][-1] < 0.6 and 0 < results["test_loss"][-1] < 0.6
    with pytest.raises(UnsupportedError, match="lamb > 0"):
        model.fit(data, steps=1, lamb=0.01, loss_fn=lambda a, b: ((a - b) ** 2).mean())
    with pytest.raises(InvalidArgumentError, match="not recognized"):
        model.fit(data, steps=1, display_metrics=["nope"])


def test_fit_with_a_torch_written_loss_fn():
    """A loss the engine does not have: torch differentiates it, the engine's VJP gives the
    weights' gradient, torch's LBFGS (pykan's settings) steps. Same optimum as the engine's
    own MSE run from the same weights, for a loss that is MSE written by hand."""
    data = kan.create_dataset(hellokan_f, n_var=2, train_num=400, test_num=200)
    by_hand = kan.KAN(width=[2, 5, 1], auto_save=False)
    engine = by_hand.copy()
    custom = by_hand.fit(data, steps=15, loss_fn=lambda p, y: torch.mean((p - y) ** 2))
    native = engine.fit(data, steps=15)
    assert len(custom["train_loss"]) == 15 and custom["train_loss"][-1].shape == ()
    assert custom["train_loss"][-1] < 3e-2 and native["train_loss"][-1] < 3e-2
    assert abs(float(custom["test_loss"][-1]) - float(native["test_loss"][-1])) < 1e-2
    np.testing.assert_array_equal(by_hand.cache_data, data["test_input"].numpy())
    # a loss with no engine counterpart trains too (Adam): a weighted MSE
    weighted = kan.KAN(width=[2, 3, 1], auto_save=False)
    w = torch.linspace(0.5, 1.5, 400)[:, None]
    out = weighted.fit({**data, "train_label": data["train_label"]}, opt="Adam", lr=1e-2, steps=30,
                       update_grid=False, loss_fn=lambda p, y: torch.mean(w[: len(y)] * (p - y) ** 2))
    assert out["train_loss"][-1] < out["train_loss"][0]


def test_refine_update_grid_and_the_api5_spline_check():
    data = kan.create_dataset(hellokan_f, n_var=2)
    model = kan.KAN(width=[2, 5, 1], auto_save=False)
    model.fit(data, steps=10)
    fine = model.refine(10)
    also = model.refine(grid=10)  # Example_3 calls refine(grid=...)
    assert fine.grid == 10 and fine.act_fun[0].coef.shape == (2, 5, 13)
    np.testing.assert_array_equal(fine.predict(data["test_input"]), also.predict(data["test_input"]))
    # API_5: on [-10, 10] samples the grid spans -22..22 in steps of 4 (grid 5, k 3, eps 0.02).
    one = kan.KAN(width=[1, 1], grid=5, k=3, auto_save=False)
    one.update_grid_from_samples(torch.linspace(-10, 10, steps=101)[:, None])
    np.testing.assert_allclose(one.act_fun[0].grid.numpy()[0], np.arange(-22, 23, 4), atol=1e-4)
    # the spline part of the edge, from pykan's B_batch, plus the silu part is the output.
    x = torch.linspace(-10, 10, steps=101)[:, None]
    layer = one.act_fun[0]
    spline = torch.einsum("bim,iom->bo", kan.B_batch(x, layer.grid, k=3), layer.coef)
    silu = x * torch.sigmoid(x)
    total = layer.scale_base[0, 0] * silu + layer.scale_sp[0, 0] * spline
    np.testing.assert_allclose(one(x).numpy(), total.numpy(), atol=2e-5)
    extended = kan.extend_grid(torch.tensor([[0.0, 1.0, 2.0]]), k_extend=2)
    assert extended.tolist() == [[-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0]]


def test_version_history_as_pykans_api12(in_tmp, capsys):
    data = kan.create_dataset(hellokan_f, n_var=2)
    model = kan.KAN(width=[2, 5, 1], grid=3, k=3, seed=1)
    assert model.auto_save and "checkpoint directory created: ./model" in capsys.readouterr().out
    model.fit(data, steps=5, lamb=0.01)
    saved = model.predict(data["test_input"])
    model = model.prune()
    out = capsys.readouterr().out
    assert "saving model version 0.1" in out and "saving model version 0.2" in out
    for name in ("0.0", "0.1", "0.2"):
        assert (in_tmp / "model" / f"{name}.safetensors").exists()
        assert lamina.load(in_tmp / "model" / f"{name}.safetensors").input_dim == 2
    back = model.rewind("0.1")
    assert "rewind to model version 0.1, renamed as 1.1" in capsys.readouterr().out
    np.testing.assert_array_equal(back.predict(data["test_input"]), saved)
    assert back.width == [[2, 0], [5, 0], [1, 0]] and back.round == 1
    np.testing.assert_array_equal(back.cache_data, data["test_input"].numpy())
    history = (in_tmp / "model" / "history.txt").read_text().splitlines()
    assert history[:3] == ["### Round 0 ###", "init => 0.0", "0.0 => fit => 0.1"]
    assert history[-1] == "### Round 1 ###"
    assert not [p for p in os.listdir(in_tmp / "model") if p.startswith(".lamina")]  # no temp files
    copy = kan.KAN.loadckpt("./model/0.1")
    np.testing.assert_array_equal(copy.predict(data["test_input"]), saved)
    with pytest.raises(lamina.LaminaIOError, match="no checkpoint"):
        kan.KAN.loadckpt("./model/9.9")


def test_base_fun_is_pykans():
    x = torch.linspace(-1, 1, 50)[:, None]
    for name, base in (("identity", lambda v: v), ("zero", lambda v: 0 * v), ("silu", lambda v: v * torch.sigmoid(v))):
        model = kan.KAN(width=[1, 1], base_fun=name, auto_save=False)
        layer = model.act_fun[0]
        spline = torch.einsum("bim,iom->bo", kan.B_batch(x, layer.grid, k=3), layer.coef)
        expected = layer.scale_base[0, 0] * base(x) + layer.scale_sp[0, 0] * spline
        np.testing.assert_allclose(model(x).numpy(), expected.numpy(), atol=2e-6, err_msg=name)
        assert model.base_fun_name == name and model.refine(5).spec["base_fun"] == name
    with pytest.raises(InvalidArgumentError, match="base_fun"):
        kan.KAN(width=[1, 1], base_fun="tanh", auto_save=False)


def test_unsupported_options_say_so():
    with pytest.raises(UnsupportedError, match="affine_trainable"):
        kan.KAN(width=[2, 1], affine_trainable=True, auto_save=False)
    with pytest.raises(InvalidArgumentError, match="width"):
        kan.KAN(width=[2, [1, 2, 3], 1], auto_save=False)
    with pytest.raises(UnsupportedError, match="symbolic_enabled=False"):
        kan.KAN(width=[2, 1], symbolic_enabled=False, auto_save=False).expand_depth()
    with pytest.raises(UnsupportedError, match="singularity_avoiding"):
        kan.KAN(width=[2, 1], auto_save=False)(torch.zeros(3, 2), singularity_avoiding=True)


def test_singularity_avoiding_fit_and_frozen_scales():
    # a 1/x edge and a sample at its pole: the plain training pass overflows, pykan's
    # protected form (y_th) trains
    x = torch.linspace(-1, 1, 41)[:, None]  # holds 0 exactly
    data = {"train_input": x, "train_label": 0.5 * x, "test_input": x[1::2], "test_label": 0.5 * x[1::2]}
    model = kan.KAN(width=[1, 1], auto_save=False)
    model.fix_symbolic(0, 0, 0, "1/x", fit_params_bool=False)
    with pytest.raises(lamina.NumericError):
        model.copy().fit(data, opt="Adam", lr=1e-3, steps=2, update_grid=False)
    results = model.fit(data, opt="Adam", lr=1e-3, steps=2, update_grid=False, singularity_avoiding=True, y_th=10.0)
    assert all(np.isfinite(float(v)) for v in results["train_loss"])
    frozen = kan.KAN(width=[2, 3, 1], sp_trainable=False, sb_trainable=False, auto_save=False)
    sp, sb = frozen.act_fun[0].scale_sp.clone(), frozen.act_fun[0].scale_base.clone()
    frozen.fit(kan.create_dataset(hellokan_f, n_var=2, train_num=100, test_num=50), steps=3)
    assert torch.equal(frozen.act_fun[0].scale_sp, sp) and torch.equal(frozen.act_fun[0].scale_base, sb)
    assert "0.scale_sp" not in frozen.get_params() and "0.coef" in frozen.get_params()


def test_sparse_init_mask_is_pykans():
    # pykan's sparse_mask(3, 5): each input to its nearest output and back.
    expected = np.array([[1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=np.float32)
    np.testing.assert_array_equal(kan.sparse_mask(3, 5).numpy(), expected)
    model = kan.KAN(width=[3, 5, 1], sparse_init=True, auto_save=False)
    np.testing.assert_array_equal(model.act_fun[0].mask.numpy(), expected)


def test_ex_round_rounds_every_number():
    sympy = pytest.importorskip("sympy")
    x1, x2 = sympy.symbols("x_1 x_2")
    # (a x + b)**2 with b rounding to 0 folds a**2 into a new number: it is rounded too
    e = 0.99993 * sympy.exp(1.0000543 * (1.00003 * x2 + 0.00001) ** 2 + 1.00012 * sympy.sin(3.14159 * x1)) + 0.00012
    rounded = kan.ex_round(e, 4)
    numbers = [f for f in sympy.preorder_traversal(rounded) if isinstance(f, sympy.Float)]
    assert numbers and all(len(str(f).split(".")[-1]) <= 4 for f in numbers)
    assert str(rounded) == "0.9999*exp(1.0002*x_2**2 + 1.0001*sin(3.1416*x_1)) + 0.0001"
