"""TriplaneField.split_fields / field(k) and lamina.stack_fields (lamina_model_field_split and
lamina_model_field_stack): parts predict their field, they save and load alone, stacks give
the model back, and the refusals raise InvalidArgumentError."""

from __future__ import annotations

import numpy as np
import pytest

import lamina


def points(n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.2, 1.2, (n, 3)).astype(np.float32)


def many(**extra) -> lamina.TriplaneField:
    spec = dict(resolution=8, channels=8, decoder={"hidden": [16]}, fields=3, init_std=0.5, seed=3)
    spec.update(extra)
    return lamina.TriplaneField(**spec)


@pytest.mark.parametrize(
    "extra",
    [{}, {"resolution": [6, 12], "fourier": 1}, {"decoder": {"kind": "kan", "hidden": [4]}}],
    ids=["mlp", "multires", "kan"],
)
def test_split_shared_decoder_is_bit_exact(extra):
    model = many(**extra)
    parts = model.split_fields()
    assert len(parts) == 3
    p = points()
    for k, part in enumerate(parts):
        assert isinstance(part, lamina.TriplaneField)
        assert part.input_dim == 3 and part.fields == 1
        assert part.spec["decoder_per_field"] is False
        assert part.spec["decoder"] == model.spec["decoder"]
        np.testing.assert_array_equal(part.predict(p), model.predict(model.field_points(k, p)))
        for name, planes in part.planes.items():
            np.testing.assert_array_equal(planes, model.field_planes(k)[name])
    back = lamina.stack_fields(parts, decoder="shared")
    assert back.spec == model.spec
    for k in range(3):
        q = model.field_points(k, p)
        np.testing.assert_array_equal(back.predict(q), model.predict(q))


def test_field_k_and_per_field_decoders():
    model = many(decoder_per_field=True)
    p = points()
    part = model.field(2)
    np.testing.assert_array_equal(part.state_dict()["1.weight"], model.state_dict()["1.0.weight"][2])
    np.testing.assert_allclose(part.predict(p), model.predict(model.field_points(2, p)), rtol=1e-5, atol=1e-6)
    back = lamina.stack_fields(model.split_fields())  # per_field is the default
    assert back.spec == model.spec
    q = model.field_points(1, p)
    np.testing.assert_array_equal(back.predict(q), model.predict(q))


def test_round_trip_through_save_and_load(tmp_path):
    model = many()
    path = tmp_path / "field1.safetensors"
    model.field(1).save(path)
    loaded = lamina.load(path)
    assert isinstance(loaded, lamina.TriplaneField)
    p = points()
    np.testing.assert_array_equal(loaded.predict(p), model.predict(model.field_points(1, p)))


def test_stack_independent_models():
    a = lamina.TriplaneField(resolution=8, channels=8, decoder={"hidden": [16]}, init_std=0.5, seed=1)
    b = lamina.TriplaneField(resolution=8, channels=8, decoder={"hidden": [16]}, init_std=0.5, seed=2)
    stacked = lamina.stack_fields([a, b])
    assert stacked.fields == 2 and stacked.spec["seed"] == 1 and stacked.spec["decoder_per_field"]
    p = points()
    for k, m in enumerate([a, b]):
        np.testing.assert_allclose(stacked.predict(stacked.field_points(k, p)), m.predict(p), rtol=1e-5, atol=1e-6)
    with pytest.raises(lamina.InvalidArgumentError, match="model 1"):
        lamina.stack_fields([a, b], decoder="shared")
    b.load_state_dict({k: v for k, v in a.state_dict().items() if not k.startswith("0.")}, strict=False)
    shared = lamina.stack_fields([a, b], decoder="shared")
    np.testing.assert_array_equal(shared.predict(shared.field_points(1, p)), b.predict(p))


def test_errors():
    model = many()
    one = lamina.TriplaneField(resolution=4, channels=2, decoder={"hidden": [4]})
    with pytest.raises(lamina.InvalidArgumentError, match="out of range"):
        model.field(3)
    with pytest.raises(lamina.InvalidArgumentError):
        model.field(-1)
    with pytest.raises(lamina.InvalidArgumentError, match="not a tri-plane field"):
        lamina.TriplaneField.field(lamina.MLP(3, [4], 1), 0)
    with pytest.raises(lamina.InvalidArgumentError, match="at least one"):
        lamina.stack_fields([])
    with pytest.raises(lamina.InvalidArgumentError, match="holds 3 fields"):
        lamina.stack_fields([one, model])
    with pytest.raises(lamina.InvalidArgumentError, match='"channels"'):
        lamina.stack_fields([one, lamina.TriplaneField(resolution=4, channels=3, decoder={"hidden": [4]})])
    with pytest.raises(lamina.InvalidArgumentError, match="per_field"):
        lamina.stack_fields([one, one], decoder="both")
    kan = lamina.TriplaneField(resolution=4, channels=2, decoder={"kind": "kan", "hidden": [3]})
    with pytest.raises(lamina.InvalidArgumentError, match="KAN"):
        lamina.stack_fields([kan, kan])
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.stack_fields([one, "model"])
