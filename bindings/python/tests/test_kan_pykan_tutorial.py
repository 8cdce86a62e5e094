"""pykan's tutorial runs on f(x, y) = exp(sin(pi x) + y^2), started from pykan's own weights.

Whether KAN(width=[2, 1, 1], grid=3, k=3, seed=s).fit(dataset, opt="LBFGS", steps=20)
reaches RMSE ~1.4e-2 or stalls at ~0.65 depends on the initial weights alone, in pykan as
in Lamina (pykan stalls for about half of its seeds: 22 of seeds 0 ... 39; Lamina's seeds
draw other weights, so its seed 1 is not pykan's tutorial seed 1). These tests load pykan's
initial tensors (stored by Tests/Reference/pykan_tutorial_reference.py) and check that
Lamina's fit, refine and prune then give pykan's results: convergence exactly for pykan's
converging seeds, the tutorial's grid extension, and pruning [2, 5, 1] to [2, 1, 1].
Lamina's own dataset is used (numpy's draws, not torch's): the outcome does not depend on it.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import lamina

REFERENCE = json.loads((Path(__file__).parent / "data" / "pykan_tutorial.json").read_text())


def f(x):
    return np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2)


@pytest.fixture(scope="module")
def dataset():
    return lamina.create_dataset(f, n_var=2, train_num=1000)


def pykan_model(width, grid, state):
    model = lamina.KAN(width=width, grid=grid, k=3, seed=0)
    model.load_state_dict(
        {k: np.array(v["values"], np.float32).reshape(v["shape"]) for k, v in state.items()}
    )
    return model


@pytest.mark.parametrize(
    "run", REFERENCE["fit_211"]["runs"], ids=lambda r: f"pykan_seed{r['seed']}"
)
def test_lbfgs_converges_exactly_where_pykan_does(dataset, run):
    model = pykan_model([2, 1, 1], 3, run["state"])
    results = model.fit(dataset, opt="LBFGS", steps=20, progress=False)
    ours, theirs = results["train_loss"][-1], run["train_loss"]
    assert (ours < 0.1) == (theirs < 0.1), (ours, theirs)
    if theirs < 0.1:  # pykan 1.3e-2 ... 1.5e-2
        assert ours < 2e-2
        assert results["test_loss"][-1] < 2e-2
    else:  # pykan's stall, 0.64 ... 0.66
        assert 0.3 < ours < 1.0


def test_grid_extension_as_pykans_tutorial(dataset):
    """pykan's Example_1 with its seed 1: grid 3 then refine(10), 20 LBFGS steps each
    (pykan: 1.38e-2, then 5.9e-4)."""
    run = next(r for r in REFERENCE["fit_211"]["runs"] if r["seed"] == 1)
    model = pykan_model([2, 1, 1], 3, run["state"])
    model.fit(dataset, opt="LBFGS", steps=20, progress=False)
    finer = model.refine(10, dataset["train_input"])
    results = finer.fit(dataset, opt="LBFGS", steps=20, progress=False)
    assert results["train_loss"][-1] < 1.5e-3
    assert results["test_loss"][-1] < 1.5e-3


def test_prune_gives_pykans_widths(dataset):
    """pykan's API_2/API_7 with its seed 1: fit(lamb=0.01) and prune() give [2, 1, 1]."""
    run = REFERENCE["prune_251"]
    model = pykan_model([2, 5, 1], 3, run["state"])
    results = model.fit(dataset, opt="LBFGS", steps=20, lamb=0.01, progress=False)
    assert results["train_loss"][-1] < 0.1
    assert abs(results["reg"][-1] - run["reg"]) < 0.15 * run["reg"]
    assert model.prune().width == run["pruned_width"] == [2, 1, 1]
