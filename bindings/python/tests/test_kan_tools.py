"""pykan's toolset on lamina.KAN: update_grid, refine, edge curves, plot, fit's grid schedule
and LBFGS, and the KAN paper's grid-extension result."""

from __future__ import annotations

import ctypes
import json
import math
import sys
import time

import numpy as np
import pytest

import lamina
from lamina import _library


def tutorial(x: np.ndarray) -> np.ndarray:
    """pykan's tutorial function f(x, y) = exp(sin(pi x) + y^2), computed in float64 so the
    float32 labels do not depend on the CPU's vectorised float32 exp."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2)


def samples(n: int = 500, seed: int = 0) -> np.ndarray:
    """Points on [-0.5, 0.9] x [-0.2, 0.6], denser near the low end of the first input."""
    r = np.random.default_rng(seed)
    u, v = r.random(n), r.random(n)
    return np.stack([-0.5 + 1.4 * u * u, -0.2 + 0.8 * v], axis=1).astype(np.float32)


def smooth_model(widths=(2, 3, 1), grid: int = 8, seed: int = 2) -> lamina.KAN:
    """A KAN whose splines vary slowly (which new knots can represent)."""
    model = lamina.KAN(width=list(widths), grid=grid, seed=seed)
    state = model.state_dict()
    for name, value in state.items():
        if name.endswith(".coef"):
            e = np.arange(value.size)
            nb = value.shape[2]
            state[name] = (0.5 * np.sin(0.5 * (e % nb) + e // nb)).reshape(value.shape).astype(np.float32)
    model.load_state_dict(state)
    return model


def unexplained(before: np.ndarray, after: np.ndarray) -> float:
    before = before.astype(np.float64)
    return float(np.sum((before - after) ** 2) / np.sum((before - before.mean()) ** 2))


# ---- update_grid ---------------------------------------------------------------------------
def test_update_grid_follows_the_samples_and_keeps_the_function() -> None:
    model = smooth_model()
    x = samples()
    before = model.predict(x)
    spec = model.spec
    grid0 = model.state_dict()["0.grid"]
    model.update_grid(x)
    after = model.predict(x)
    assert model.spec == spec
    knots = model.state_dict()["0.grid"]
    assert not np.array_equal(knots, grid0)
    k, g = 3, 8
    assert knots[0, k] == x[:, 0].min() and knots[0, k + g] == x[:, 0].max()
    assert knots[1, k] == x[:, 1].min() and knots[1, k + g] == x[:, 1].max()
    assert np.all(np.diff(knots, axis=1) > 0)
    # pykan's refit is least squares: close on the samples, not exact.
    assert unexplained(before, after) < 1e-4
    assert not np.array_equal(before, after)


def test_update_grid_from_samples_is_an_alias_and_grid_eps_one_is_uniform() -> None:
    x = samples()
    a, b = smooth_model(), smooth_model()
    a.update_grid(x, grid_eps=0.3)
    b.update_grid_from_samples(x, grid_eps=0.3)
    assert np.array_equal(a.state_dict()["0.grid"], b.state_dict()["0.grid"])
    a.update_grid(x, grid_eps=1.0)
    knots = a.state_dict()["0.grid"][0]
    h = (x[:, 0].max() - x[:, 0].min()) / 8
    np.testing.assert_allclose(np.diff(knots), h, atol=1e-5)


def test_update_grid_errors_change_nothing() -> None:
    model = smooth_model()
    x = samples(20)
    state = model.state_dict()
    bad = x.copy()
    bad[-1, 1] = np.nan
    with pytest.raises(lamina.NumericError):
        model.update_grid(bad)
    with pytest.raises(lamina.InvalidArgumentError, match="grid_eps"):
        model.update_grid(x, grid_eps=1.5)
    with pytest.raises(lamina.ShapeError):
        model.update_grid(x[:, :1])
    with pytest.raises(lamina.ShapeError):
        model.update_grid(np.zeros((0, 2), np.float32))
    after = model.state_dict()
    assert all(np.array_equal(state[name], after[name]) for name in state)


# ---- refine --------------------------------------------------------------------------------
@pytest.mark.parametrize("with_samples", [True, False])
def test_refine_extends_the_grid_and_keeps_the_function(with_samples: bool) -> None:
    model = smooth_model()
    x = samples()
    model.update_grid(x)  # non-uniform knots, as after training
    before = model.predict(x)
    fine = model.refine(16, x if with_samples else None)
    assert isinstance(fine, lamina.KAN)
    assert fine.grid == 16 and model.grid == 8
    state = fine.state_dict()
    assert state["0.coef"].shape == (2, 3, 19) and state["0.grid"].shape == (2, 23)
    assert state["1.coef"].shape == (3, 1, 19) and state["1.grid"].shape == (3, 23)
    np.testing.assert_array_equal(state["0.scale_base"], model.state_dict()["0.scale_base"])
    # 8 -> 16 splits every interval, so the old splines lie in the new space.
    np.testing.assert_allclose(fine.predict(x), before, atol=1e-3, rtol=0)
    np.testing.assert_array_equal(model.predict(x), before)
    # Not nested (8 -> 12): close, not exact.
    assert unexplained(before, model.refine(12, x if with_samples else None).predict(x)) < 1e-3


def test_refine_errors() -> None:
    model = lamina.KAN(width=[2, 1], grid=4)
    for bad in (0, -3, True, 2.5):
        with pytest.raises(lamina.InvalidArgumentError, match="new_grid"):
            model.refine(bad)
    with pytest.raises(lamina.InvalidArgumentError, match="grid"):
        model.refine(10001)
    with pytest.raises(lamina.NumericError):
        model.refine(8, np.array([[0.1, np.inf]], np.float32))
    # A model without B-spline KAN layers: the C call says LAMINA_E_UNSUPPORTED.
    mlp = lamina.MLP(2, [3], 1)
    out = ctypes.c_void_p()
    status = _library.lib().lamina_model_kan_refine(mlp._ptr, 8, None, 0, ctypes.byref(out))
    assert status == 7 and out.value is None
    with pytest.raises(lamina.UnsupportedError, match="no B-spline KAN layers"):
        lamina.KAN.refine(mlp, 8)  # type: ignore[arg-type]


# ---- edge curves and activations -------------------------------------------------------
def test_edge_curve_of_a_single_edge_is_the_model() -> None:
    model = lamina.KAN(width=[1, 1], grid=5, seed=3)
    x = np.concatenate([[-1, 1, 0, -2.2, 2.2, -3, 3], np.linspace(-2.6, 2.6, 301)]).astype(np.float32)
    y = model.edge_curve(0, 0, 0, x)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, model.predict(x)[:, 0])
    # Any shape of points; the result has the same shape.
    assert model.edge_curve(0, 0, 0, x[:300].reshape(3, 10, 10)).shape == (3, 10, 10)


def test_edge_curves_sum_to_each_layer() -> None:
    model = lamina.KAN(width=[3, 4, 2], grid=4, k=2, grid_range=[-1.5, 1], seed=5)
    x = np.random.default_rng(1).uniform(-3, 3, (200, 3)).astype(np.float32)
    acts = x
    for l, (n_in, n_out) in enumerate([(3, 4), (4, 2)]):
        following = np.zeros((x.shape[0], n_out), np.float32)
        for i in range(n_in):
            for j in range(n_out):
                following[:, j] += model.edge_curve(l, i, j, acts[:, i])
        acts = following
    np.testing.assert_allclose(acts, model.predict(x), rtol=1e-5, atol=1e-5)


def bspline(t: np.ndarray, m: int, k: int, x: np.ndarray) -> np.ndarray:
    """B_{m,k}(x) by the Cox-de Boor recursion on knots t (half-open intervals), float64."""
    if k == 0:
        return ((t[m] <= x) & (x < t[m + 1])).astype(np.float64)
    left = (x - t[m]) / (t[m + k] - t[m]) * bspline(t, m, k - 1, x)
    right = (t[m + k + 1] - x) / (t[m + k + 1] - t[m + 1]) * bspline(t, m + 1, k - 1, x)
    return left + right


@pytest.mark.parametrize("update", [False, True])
def test_edge_curve_matches_a_hand_evaluation(update: bool) -> None:
    model = lamina.KAN(width=[2, 2], grid=3, k=2, grid_range=[-1, 2], seed=7)
    state = model.state_dict()
    state["0.mask"] = np.array([[1, 0.5], [0, 1]], np.float32)
    state["0.scale_base"] = np.array([[0.7, -0.4], [1.3, 0.2]], np.float32)
    model.load_state_dict(state)
    if update:  # non-uniform knots take the evaluator's general path
        model.update_grid(samples())
    s = {name: value.astype(np.float64) for name, value in model.state_dict().items()}
    x = np.linspace(-4, 4.5, 171)
    for i in range(2):
        for j in range(2):
            t = s["0.grid"][i]
            spline = sum(s["0.coef"][i, j, m] * bspline(t, m, 2, x) for m in range(5))
            silu = x / (1 + np.exp(-x))
            want = s["0.mask"][i, j] * (s["0.scale_base"][i, j] * silu + s["0.scale_sp"][i, j] * spline)
            got = model.edge_curve(0, i, j, x)
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    assert not np.any(model.edge_curve(0, 1, 0, x))  # mask 0: a pruned edge


def test_activation_spans_the_grid_range() -> None:
    model = smooth_model()
    xs, ys = model.activation(0, 1, 2)
    assert xs.shape == ys.shape == (100,) and xs.dtype == ys.dtype == np.float32
    assert (xs[0], xs[-1]) == (-1.0, 1.0)
    np.testing.assert_array_equal(ys, model.edge_curve(0, 1, 2, xs))
    x = samples()
    model.update_grid(x)
    xs, _ = model.activation(0, 0, 0, n=7)
    assert len(xs) == 7 and xs[0] == x[:, 0].min() and xs[-1] == pytest.approx(x[:, 0].max(), abs=1e-6)
    xs, _ = model.activation(1, 2, 0, n=5, x_range=(-3, 4))
    np.testing.assert_allclose(xs, [-3, -1.25, 0.5, 2.25, 4])


def test_edge_and_activation_errors() -> None:
    model = lamina.KAN(width=[2, 3, 1])
    with pytest.raises(lamina.InvalidArgumentError, match="layer 2 is out of range"):
        model.edge_curve(2, 0, 0, [0.0])
    with pytest.raises(lamina.InvalidArgumentError, match="input i = 2"):
        model.edge_curve(0, 2, 0, [0.0])
    with pytest.raises(lamina.InvalidArgumentError, match="output j = 1"):
        model.edge_curve(1, 0, 1, [0.0])
    with pytest.raises(lamina.InvalidArgumentError, match="non-negative"):
        model.edge_curve(0, -1, 0, [0.0])
    with pytest.raises(lamina.NumericError):
        model.edge_curve(0, 0, 0, [0.0, np.nan])
    with pytest.raises(lamina.InvalidArgumentError, match="n must"):
        model.activation(0, 0, 0, n=0)
    with pytest.raises(lamina.InvalidArgumentError, match="out of range"):
        model.activation(0, 5, 0)
    with pytest.raises(lamina.InvalidArgumentError, match="x_range"):
        model.activation(0, 0, 0, x_range=[1])
    with pytest.raises(lamina.NumericError):
        model.activation(0, 0, 0, x_range=[0, np.inf])
    assert model.edge_curve(0, 0, 0, np.zeros(0)).shape == (0,)


# ---- plot ----------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png_of_the_network(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    model = smooth_model((2, 5, 1))
    state = model.state_dict()
    state["0.mask"][1, 3] = 0  # a pruned edge is drawn invisible
    model.load_state_dict(state)
    path = tmp_path / "kan.png"
    figure = model.plot(path, n=50)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000
    image = imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].min() < 0.2  # something dark was drawn on the white page
    # One main axes plus one inset per edge (2 x 5 + 5 x 1).
    assert len(figure.axes) == 1 + 15
    # With samples, labels and a title.
    path2 = tmp_path / "kan_samples.png"
    model.plot(path2, x=samples(200), in_vars=["x", "y"], out_vars=["f"], title="KAN", beta=10)
    assert path2.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_curves_with_samples_follow_the_model() -> None:
    model = smooth_model((2, 3, 1))
    x = samples(200)
    layers = model._edge_curves(20, x)
    assert [len(layer) for layer in layers] == [6, 3]
    # Each curve is drawn at the (sorted) values its layer receives for x: layer 1 at the
    # hidden values, which are the sums of layer 0's edge curves; and layer 1's edge curves,
    # summed at each sample, give the model's output.
    output = np.zeros(len(x))
    for i in range(3):
        xs, ys, score = layers[1][(i, 0)]
        assert np.all(np.diff(xs) >= 0) and score > 0
    hidden = np.stack([sum(model.edge_curve(0, i, j, x[:, i]) for i in range(2)) for j in range(3)], axis=1)
    for i in range(3):
        np.testing.assert_allclose(layers[1][(i, 0)][0], np.sort(hidden[:, i]), rtol=1e-6, atol=1e-6)
        output += model.edge_curve(1, i, 0, hidden[:, i])
    np.testing.assert_allclose(output, model.predict(x)[:, 0], rtol=1e-5, atol=1e-5)


def test_plot_without_matplotlib_says_so(monkeypatch, tmp_path) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        lamina.KAN(width=[2, 1]).plot(tmp_path / "x.png")


# ---- fit: grid updates on pykan's schedule, LBFGS ------------------------------------
def pykan_schedule(steps, update_grid=True, num=10, start=-1, stop=50):
    """The steps before which pykan's MultKAN.fit calls update_grid (its loop, verbatim in
    meaning: freq = int(stop / num); update when s % freq == 0 and s < stop and s >= start)."""
    freq = int(stop / num)
    return [s for s in range(steps) if update_grid and s % freq == 0 and s < stop and s >= start]


def grid_changes(model: lamina.KAN, name: str):
    """(progress callable, list of the steps, 0-based, after which tensor `name` differed
    from the step before): the callable reads the model, a READ-ONLY call the library allows
    from its progress callback."""
    last = [model.state_dict()[name]]
    changed = []

    def progress(step, train_loss, test_loss):
        grid = model.state_dict()[name]
        if not np.array_equal(grid, last[0]):
            changed.append(step - 1)
        last[0] = grid

    return progress, changed


def hand_fit(model, d, steps, lr, updates):
    """The loop KAN.fit ran in Python before the library took it over, full batch: Adam
    steps on every training row, update_grid(train_input) before each step in `updates`."""
    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=lr)
    for s in range(steps):
        if s in updates:
            model.update_grid(d["train_input"])
        trainer.step(d["train_input"], d["train_label"])
    trainer.close()


SCHEDULES = [
    (60, {}),
    (12, {}),
    (60, {"grid_update_num": 4, "stop_grid_update_step": 30}),
    (60, {"start_grid_update_step": 12}),
    (60, {"update_grid": False}),
    (60, {"grid_update_num": 3, "stop_grid_update_step": 20}),
]


@pytest.mark.parametrize("steps, kwargs", SCHEDULES)
def test_fit_updates_the_grid_on_pykans_schedule(steps, kwargs) -> None:
    d = lamina.create_dataset(tutorial, train_num=64, test_num=16)
    expected = pykan_schedule(
        steps,
        kwargs.get("update_grid", True),
        kwargs.get("grid_update_num", 10),
        kwargs.get("start_grid_update_step", -1),
        kwargs.get("stop_grid_update_step", 50),
    )
    # Layer 1's inputs move with training, so each update moves its knots, and nothing
    # else does.
    model = lamina.KAN(width=[2, 2, 1], grid=3)
    progress, changed = grid_changes(model, "1.grid")
    model.fit(d, steps=steps, lr=0.01, progress=progress, **kwargs)
    assert changed == expected
    # Bit for bit the hand-run loop, on every training row (the step's batch).
    by_hand = lamina.KAN(width=[2, 2, 1], grid=3)
    hand_fit(by_hand, d, steps, 0.01, set(expected))
    for name, value in model.state_dict().items():
        assert value.tobytes() == by_hand.state_dict()[name].tobytes(), name


def test_fit_schedule_when_pykan_would_divide_by_zero() -> None:
    # pykan: freq = int(5 / 10) = 0 and `s % 0` raises; Lamina updates every step instead.
    d = lamina.create_dataset(tutorial, train_num=32, test_num=8)
    model = lamina.KAN(width=[2, 2, 1])
    progress, changed = grid_changes(model, "1.grid")
    model.fit(d, steps=8, progress=progress, stop_grid_update_step=5)
    assert changed == [0, 1, 2, 3, 4]


def test_fit_batches_update_the_grid_from_the_step_batch() -> None:
    d = lamina.create_dataset(tutorial, train_num=100, test_num=20)
    model = lamina.KAN(width=[2, 1])
    k = model.k
    seen = []

    def progress(step, train_loss, test_loss):
        seen.append(model.state_dict()["0.grid"])

    model.fit(d, steps=6, batch=16, lr=0.01, progress=progress)
    # Updated before steps 0 and 5 only, each time from that step's 16 rows: the interior
    # knots span a subset of the training inputs, not all of them.
    assert [s for s in range(1, 6) if not np.array_equal(seen[s], seen[s - 1])] == [5]
    column = d["train_input"][:, 0]
    for grid in (seen[0], seen[5]):
        lo, hi = grid[0, k], grid[0, -1 - k]
        assert lo in column and hi in column
        assert np.count_nonzero((column >= lo) & (column <= hi)) >= 16
        assert (lo, hi) != (column.min(), column.max())


@pytest.mark.parametrize(
    "spec",
    [
        {"basis": "chebyshev"},
        {"basis": "mixed", "bases": ["bspline", "fourier"]},
    ],
)
def test_fit_skips_grid_updates_a_model_cannot_do(spec) -> None:
    """Models without B-spline grids, and models with mixed-basis layers (which
    update_grid refuses), train with update_grid=True as with update_grid=False."""
    d = lamina.create_dataset(tutorial, train_num=32, test_num=8)
    model = lamina.KAN(width=[2, 2, 1], **spec)
    with pytest.raises(lamina.UnsupportedError):
        model.copy().update_grid(d["train_input"])
    still = model.copy()
    results = model.fit(d, steps=20, lr=0.01, progress=False)
    again = still.fit(d, steps=20, lr=0.01, progress=False, update_grid=False)
    assert len(results["train_loss"]) == 20 and results == again
    for name, value in model.state_dict().items():
        assert value.tobytes() == still.state_dict()[name].tobytes(), name


def test_fit_progress_exception_stops_and_propagates() -> None:
    d = lamina.create_dataset(tutorial, train_num=32, test_num=8)
    model = lamina.KAN(width=[2, 1])
    reference = model.copy()

    def progress(step, train_loss, test_loss):
        if step == 3:
            raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        model.fit(d, steps=20, lr=0.01, progress=progress)
    # The run stopped after the step that raised: three steps, as a 3-step fit.
    reference.fit(d, steps=3, lr=0.01, progress=False)
    np.testing.assert_array_equal(model.state_dict()["0.coef"], reference.state_dict()["0.coef"])


def test_fit_lbfgs_uses_pykans_settings(spy) -> None:
    d = lamina.create_dataset(tutorial, train_num=100, test_num=20)
    calls = spy("lamina_trainer_create")
    model = lamina.KAN(width=[2, 1], grid=3, seed=3)
    results = model.fit(d, opt="LBFGS", steps=3, progress=False, update_grid=False)
    config = json.loads(calls[0][1].decode())
    assert config == {
        "optimizer": "lbfgs",
        "learning_rate": 1.0,
        "history_size": 10,
        "line_search": "strong_wolfe",
        "tolerance_grad": 1e-32,
        "tolerance_change": 1e-32,
        "tolerance_ys": 1e-32,
    }
    assert results["train_loss"][-1] < results["train_loss"][0]
    lamina.KAN(width=[2, 1]).fit(d, opt="lbfgs", steps=1, lr=0.5, max_iter=5, progress=False)
    config = json.loads(calls[1][1].decode())
    assert (config["learning_rate"], config["max_iter"], config["optimizer"]) == (0.5, 5, "lbfgs")
    lamina.KAN(width=[2, 1]).fit(d, opt="Adam", steps=1, progress=False)
    assert json.loads(calls[2][1].decode()) == {"optimizer": "adam", "learning_rate": 1e-3}


def test_trainer_has_pykans_tolerance_ys() -> None:
    model = lamina.KAN(width=[2, 1])
    assert lamina.Trainer(model, optimizer="lbfgs").config["tolerance_ys"] == pytest.approx(1e-10)
    assert lamina.Trainer(model, optimizer="lbfgs", tolerance_ys=1e-32).config["tolerance_ys"] == 1e-32
    with pytest.raises(lamina.InvalidArgumentError, match="tolerance_ys"):
        lamina.Trainer(model, optimizer="lbfgs", tolerance_ys=-1.0)


# ---- the KAN paper's grid-extension result --------------------------------------------
# Liu et al., "KAN: Kolmogorov-Arnold Networks" (2024), figure 2.3 / pykan's tutorial
# "Example 1": f(x, y) = exp(sin(pi x) + y^2), width [2, 1, 1], k = 3, 1000 training and
# 1000 test points on U[-1, 1]^2, LBFGS 200 steps per grid (with fit's grid updates), grids
# 3 -> 10 -> 20 by refine. The paper's test RMSE: 1.5e-2, 3.3e-4, 4.0e-5.
#
# Measured here (Lamina float32, seed 9, refine at the training inputs, 2-4 s on 2 cores,
# the same bits on 1 core): 1.46e-2, 2.73e-4, 6.9e-5 -- within 2x of the paper at every
# grid, which is what is asserted. For comparison, the same script with pykan 0.2.8 gives
# in float32 (seed 1) 1.39e-2, 4.9e-4, 1.27e-4 and in float64 (seed 0; seed 1 stalls there)
# 1.70e-2, 4.7e-4, 4.7e-5: float32 costs about 1.5x (Lamina) to 3x (pykan) at G = 20 and
# nothing at G = 3 and 10. Lamina matches pykan's float32 run when given pykan's initial
# weights (1.39e-2, 4.9e-4, 1.0e-4), once L-BFGS keeps curvature pairs down to pykan's
# tolerance_ys = 1e-32 (PyTorch's fixed 1e-10 left G = 20 at 4.5e-4).
#
# The seed matters as it does in pykan: at G = 3 some initialisations settle in a local
# minimum near RMSE 0.6 whatever the grid does later (surveyed with float32 labels).
# Lamina seeds 0-9 reach 1.5e-2 for 3, 5, 8, 9 (and 13, 15 of 10-15); pykan's seeds 0-9
# for 0, 1, 4, 7, 9 (seed 5 gives NaN).
# Across Lamina's good seeds G = 10 gives 2.7e-4 to 6.3e-4 and G = 20 6.7e-5 to 3.0e-4.
PAPER_RMSE = {3: 1.5e-2, 10: 3.3e-4, 20: 4.0e-5}


def test_grid_extension_reaches_the_papers_accuracy() -> None:
    dataset = lamina.create_dataset(tutorial, n_var=2, train_num=1000, test_num=1000, seed=0)
    start = time.perf_counter()
    rmse = {}
    model = lamina.KAN(width=[2, 1, 1], grid=3, k=3, seed=9)
    for g in (3, 10, 20):
        if g != 3:
            model = model.refine(g, dataset["train_input"])
        results = model.fit(dataset, opt="LBFGS", steps=200, progress=False)
        error = model.predict(dataset["test_input"]).astype(np.float64) - dataset["test_label"]
        rmse[g] = math.sqrt(float(np.mean(error**2)))
        assert results["test_loss"][-1] == pytest.approx(rmse[g], rel=1e-3)
    elapsed = time.perf_counter() - start
    print(f"grid extension: test RMSE {rmse} in {elapsed:.1f} s")
    for g, paper in PAPER_RMSE.items():
        assert rmse[g] < 2 * paper, f"G = {g}: test RMSE {rmse[g]:.3g}, paper {paper:.3g}"
    assert rmse[3] > rmse[10] > rmse[20]
