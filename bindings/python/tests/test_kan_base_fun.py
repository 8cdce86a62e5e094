"""The B-spline KAN key "base_fun" (pykan's ``base_fun``: "silu", "identity", "zero")
against a numpy transcription of pykan 0.2.8's KANLayer.forward: ``B_batch`` on the
model's knots, ``y = scale_base * base_fun(x) + scale_sp * coef2curve``, masked and summed
over the inputs; plus the spec echo, the refusal of other names and a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

BASE_FUNS = {
    "silu": lambda x: x / (1 + np.exp(-x)),
    "identity": lambda x: x,
    "zero": lambda x: x * 0.0,
}


def b_batch(x: np.ndarray, grid: np.ndarray, k: int) -> np.ndarray:
    """pykan's B_batch: x (n, in), grid (in, G + 2k + 1) -> (n, in, G + k), in float64."""
    x = x[:, :, None]
    g = grid[None, :, :]
    b = ((x >= g[:, :, :-1]) & (x < g[:, :, 1:])).astype(np.float64)
    for d in range(1, k + 1):
        b = (x - g[:, :, : -(d + 1)]) / (g[:, :, d:-1] - g[:, :, : -(d + 1)]) * b[:, :, :-1] + (
            g[:, :, d + 1 :] - x
        ) / (g[:, :, d + 1 :] - g[:, :, 1:-d]) * b[:, :, 1:]
    return b


def kan_layer(x: np.ndarray, state: dict, l: int, k: int, base_fun: str) -> np.ndarray:
    """pykan's KANLayer.forward (the numeric branch), in float64."""
    grid = state[f"{l}.grid"].astype(np.float64)
    coef = state[f"{l}.coef"].astype(np.float64)
    spline = np.einsum("ijk,jlk->ijl", b_batch(x, grid, k), coef)  # coef2curve
    base = BASE_FUNS[base_fun](x)
    y = (state[f"{l}.scale_base"][None] * base[:, :, None]
         + state[f"{l}.scale_sp"][None] * spline)
    return (state[f"{l}.mask"][None] * y).sum(axis=1)


@pytest.mark.parametrize("base_fun", sorted(BASE_FUNS))
@pytest.mark.parametrize("grid", [5, 30])
def test_forward_matches_pykan_layer(base_fun: str, grid: int) -> None:
    model = lamina.Model({"kind": "kan", "widths": [3, 4, 2], "grid": grid,
                          "base_fun": base_fun, "seed": 2})
    assert model.spec["base_fun"] == base_fun
    rng = np.random.default_rng(1)
    x = rng.uniform(-2.5, 2.5, (200, 3)).astype(np.float32)
    x[::13] = 7.5  # outside the extended grid: only the base branch
    state = model.state_dict()
    h = kan_layer(x.astype(np.float64), state, 0, 3, base_fun)
    want = kan_layer(h, state, 1, 3, base_fun)
    np.testing.assert_allclose(model.predict(x), want, rtol=2e-5, atol=2e-5)


def test_default_is_silu_and_files_keep_the_key(tmp_path) -> None:
    assert lamina.Model({"kind": "kan", "widths": [2, 1]}).spec["base_fun"] == "silu"
    model = lamina.Model({"kind": "kan", "widths": [2, 3, 1], "base_fun": "identity"})
    path = tmp_path / "identity.safetensors"
    model.save(str(path))
    back = lamina.load(str(path))
    assert back.spec == model.spec
    x = np.linspace(-3, 3, 40, dtype=np.float32).reshape(20, 2)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_unknown_base_fun_is_refused() -> None:
    with pytest.raises(ValueError, match=r'unknown "base_fun" "tanh" \(known: "silu", "identity", "zero"\)'):
        lamina.Model({"kind": "kan", "widths": [2, 1], "base_fun": "tanh"})


@pytest.mark.parametrize("base_fun", ["identity", "zero"])
def test_regulariser_scores_the_edges_with_base_fun(base_fun: str) -> None:
    """pykan's reg with lamb_l1 only: sum over layers and edges of
    std(phi_ij(x_i)) / (std(x_i) + 0.1), phi with this base function."""
    model = lamina.KAN(width=[2, 3, 1], grid=5, seed=3, base_fun=base_fun)
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (100, 2)).astype(np.float32)
    state = model.state_dict()
    want, h = 0.0, x.astype(np.float64)
    for l in range(2):
        grid = state[f"{l}.grid"].astype(np.float64)
        spline = np.einsum("ijk,jlk->ijl", b_batch(h, grid, 3), state[f"{l}.coef"])
        phi = state[f"{l}.mask"][None] * (state[f"{l}.scale_base"][None]
                                          * BASE_FUNS[base_fun](h)[:, :, None]
                                          + state[f"{l}.scale_sp"][None] * spline)
        want += (phi.std(axis=0, ddof=1) / (h.std(axis=0, ddof=1)[:, None] + 0.1)).sum()
        h = phi.sum(axis=1)
    got = model.reg(x, lamb_l1=1.0, lamb_entropy=0.0)
    assert got == pytest.approx(want, rel=1e-4)
