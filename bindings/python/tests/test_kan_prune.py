"""KAN.attribute and KAN.prune: pykan's attribution scores and pruning."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

import kan_reference_model

# pykan 0.2.8 on the model of Tests/Reference/kan_prune_reference.py (edge_scores transposed
# to [in, out]); the same values are checked in Swift (KANPruneTests).
EDGE_SCORES = [
    [[0.48461320996284485, 0.1797933131456375, 0.38408538699150085],
     [0.32483190298080444, 0.4193955659866333, 0.0]],
    [[0.32668933272361755, 0.32926562428474426], [0.16367200016975403, 0.19926773011684418],
     [0.16469697654247284, 0.21947933733463287]],
]
NODE_SCORES = [
    [1.0484919548034668, 0.7442275285720825],
    [0.6559549570083618, 0.362939715385437, 0.3841763138771057],
    [0.5, 0.5],
]


def reference_model() -> lamina.KAN:
    """The reference scripts' model, width [2, 3, 2]."""
    return kan_reference_model.reference_model([2, 3, 2])


def reference_x() -> np.ndarray:
    """The reference scripts' 16 samples."""
    return kan_reference_model.reference_inputs()


def test_attribute_matches_pykan():
    model = reference_model()
    edges = model.attribute(reference_x())
    assert [e.shape for e in edges] == [(2, 3), (3, 2)]
    for got, want in zip(edges, EDGE_SCORES):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-7)
    for got, want in zip(model.node_scores, NODE_SCORES):
        np.testing.assert_allclose(got, want, rtol=2e-5)
    assert edges[0][1, 2] == 0  # the masked edge contributes nothing


def test_prune_masks_low_edges_and_keeps_source():
    model = reference_model()
    pruned = model.prune(edge_th=0.2, x=reference_x())
    assert pruned.width == [2, 3, 2]
    mask = pruned.state_dict()["1.mask"]
    np.testing.assert_array_equal(mask, (np.asarray(EDGE_SCORES[1]) > 0.2).astype(np.float32))
    np.testing.assert_array_equal(model.state_dict()["1.mask"], np.ones((3, 2), np.float32))


def test_dead_node_is_removed_and_predictions_stay():
    model = lamina.KAN(width=[2, 4, 1], grid=5, k=3, seed=3)
    state = model.state_dict()
    state["1.mask"][2, 0] = 0  # hidden node 2 feeds nothing
    model.load_state_dict(state)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    model.attribute(x)
    assert model.node_scores[1][2] == 0
    pruned = model.prune(node_th=1e-2, edge_th=-1.0, x=x)
    assert pruned.width == [2, 3, 1]
    kept = [i for i in range(4) if i != 2]
    np.testing.assert_array_equal(pruned.state_dict()["0.coef"], state["0.coef"][:, kept, :])
    np.testing.assert_array_equal(pruned.state_dict()["1.grid"], state["1.grid"][kept, :])
    np.testing.assert_allclose(pruned.predict(x), model.predict(x), rtol=0, atol=1e-6)


def test_prune_defaults_to_the_fit_data():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(64, 2)).astype(np.float32)
    y = (np.sin(np.pi * x[:, :1]) + 0 * x[:, 1:]).astype(np.float32)
    dataset = {"train_input": x, "train_label": y, "test_input": x, "test_label": y}
    model = lamina.KAN(width=[2, 3, 1], grid=5, k=3, seed=0)
    with pytest.raises(lamina.InvalidArgumentError):
        model.prune()
    model.fit(dataset, opt="Adam", steps=5, lr=1e-2, progress=False, update_grid=False)
    pruned = model.prune()
    assert pruned.width[0] == 2 and pruned.width[-1] == 1
    assert len(pruned.attribute()) == 2  # the pruned model keeps the default samples
    for a, b in zip(model.attribute(), model.attribute(x)):
        np.testing.assert_array_equal(a, b)


def test_bad_calls():
    model = reference_model()
    with pytest.raises(lamina.ShapeError):
        model.attribute(reference_x()[:1])
    with pytest.raises(lamina.InvalidArgumentError):
        model.prune(node_th=float("nan"), x=reference_x())
    with pytest.raises(lamina.UnsupportedError):
        lamina.KAN(width=[2, 3, 1], basis="chebyshev").attribute(reference_x())
