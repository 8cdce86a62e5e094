"""Model construction, spec, prediction, gradients, persistence and named tensors."""

from __future__ import annotations

import copy
import json
import os
import pickle

import numpy as np
import pytest

import lamina
from lamina import _library

from conftest import bits, states_equal

EXPECTED_SHAPES = {
    "0.weight": (5, 3),
    "0.bias": (5,),
    "2.weight": (4, 5),
    "2.bias": (4,),
    "4.weight": (2, 4),
    "4.bias": (2,),
}


# ---- construction and spec ---------------------------------------------------------------
def test_mlp_dimensions_and_parameter_count(small_model):
    assert isinstance(small_model, lamina.MLP)
    assert isinstance(small_model, lamina.Model)
    assert small_model.input_dim == 3
    assert small_model.output_dim == 2
    assert small_model.parameter_count == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2
    assert small_model.parameter_count == sum(v.size for v in small_model.state_dict().values())


def test_hidden_may_be_an_int():
    model = lamina.MLP(2, 8, 1)
    assert model.tensor_names() == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.spec["hidden"] == [8]


def test_no_hidden_layers_is_linear():
    model = lamina.MLP(3, [], 2)
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias"]
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    ref = x.astype(np.float64) @ sd["0.weight"].T.astype(np.float64) + sd["0.bias"]
    np.testing.assert_allclose(model.predict(x), ref, rtol=1e-5, atol=1e-6)


def test_spec_is_full_form(small_model):
    spec = small_model.spec
    assert spec["kind"] == "mlp"
    assert spec["input"] == 3
    assert spec["hidden"] == [5, 4]
    assert spec["output"] == 2
    assert spec["seed"] == 7
    for key in ("activation", "output_activation", "init", "bias_init"):
        assert key in spec, f"full spec lacks default for {key!r}: {spec}"
    assert "tanh" in json.dumps(spec["activation"])
    assert "identity" in json.dumps(spec["output_activation"])
    assert spec is not small_model.spec  # a fresh dict every time


@pytest.mark.parametrize("as_json", [False, True])
def test_spec_round_trip(small_model, as_json):
    spec = small_model.spec
    other = lamina.Model.from_spec(json.dumps(spec) if as_json else spec)
    assert isinstance(other, lamina.MLP)
    assert other.spec == spec
    assert states_equal(other.state_dict(), small_model.state_dict())


def test_short_spec_equals_mlp_constructor():
    short = {
        "kind": "mlp",
        "input": 3,
        "hidden": [5, 4],
        "output": 2,
        "activation": "tanh",
        "seed": 7,
    }
    a = lamina.Model.from_spec(short)
    b = lamina.MLP(3, [5, 4], 2, activation="tanh", seed=7)
    assert a.spec == b.spec
    assert states_equal(a.state_dict(), b.state_dict())


def test_seed_controls_initialisation():
    a = lamina.MLP(3, [16], 2, seed=1).state_dict()
    b = lamina.MLP(3, [16], 2, seed=1).state_dict()
    c = lamina.MLP(3, [16], 2, seed=2).state_dict()
    assert states_equal(a, b)
    assert not np.array_equal(a["0.weight"], c["0.weight"])


def test_extra_spec_keys_are_passed_through():
    model = lamina.MLP(4, [8], 1, init="zeros", bias_init="zeros")
    assert model.spec["init"] == "zeros"
    assert all(not v.any() for v in model.state_dict().values())


def test_per_layer_activations():
    """activation=[a, b]: a after the first hidden layer, b after the second, in that order."""
    model = lamina.MLP(2, [4, 4], 1, activation=["tanh", "relu"], seed=3)
    assert [a["name"] for a in model.spec["activation"]] == ["tanh", "relu"]
    sd = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    x = np.random.default_rng(0).uniform(-2, 2, (64, 2)).astype(np.float32)

    def forward(first, second):
        h = first(x @ sd["0.weight"].T + sd["0.bias"])
        h = second(h @ sd["2.weight"].T + sd["2.bias"])
        return h @ sd["4.weight"].T + sd["4.bias"]

    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    got = model.predict(x)
    np.testing.assert_allclose(got, forward(np.tanh, relu), rtol=1e-5, atol=1e-6)
    swapped = forward(relu, np.tanh)
    assert np.abs(got - swapped).max() > 1e-2


def test_default_initialisers_follow_header():
    """init "auto": he_uniform for relu, xavier_uniform for tanh;
    bias_init "auto": uniform(+-1/sqrt(fan_in))."""
    fan_in, fan_out = 200, 300
    relu = lamina.MLP(fan_in, [fan_out], 1, activation="relu").state_dict()
    tanh = lamina.MLP(fan_in, [fan_out], 1, activation="tanh").state_dict()
    he = np.sqrt(6.0 / fan_in)
    xavier = np.sqrt(6.0 / (fan_in + fan_out))
    for w, bound in ((relu["0.weight"], he), (tanh["0.weight"], xavier)):
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.95 * bound  # spread over the whole range
        assert abs(float(w.std()) - bound / np.sqrt(3.0)) < 0.05 * bound
    for sd in (relu, tanh):
        assert np.abs(sd["0.bias"]).max() <= 1 / np.sqrt(fan_in) * (1 + 1e-6)
        assert np.abs(sd["0.bias"]).max() > 0.8 / np.sqrt(fan_in)


def test_sequential_spec():
    spec = {
        "kind": "sequential",
        "input": 3,
        "layers": [
            {"type": "dense", "output": 5},
            {"type": "activation", "name": "tanh"},
            {"type": "dense", "output": 2},
        ],
    }
    model = lamina.Model.from_spec(spec)
    assert model.input_dim == 3 and model.output_dim == 2
    assert model.tensor_names() == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.predict(np.zeros((4, 3), np.float32)).shape == (4, 2)
    again = lamina.Model.from_spec(model.spec)
    assert states_equal(again.state_dict(), model.state_dict())


def test_repr(small_model):
    text = repr(small_model)
    assert text.startswith("MLP(")
    assert "input=3" in text and "[5, 4]" in text and "output=2" in text
    assert "tanh" in text
    assert f"parameters={small_model.parameter_count}" in text


# ---- prediction ----------------------------------------------------------------------------
def test_predict_shapes_and_dtype(small_model, rng):
    x = rng.normal(size=(7, 3)).astype(np.float32)
    y = small_model.predict(x)
    assert y.shape == (7, 2) and y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_array_equal(small_model(x), y)
    # one sample as a 1-D array gives a 1-D output
    single = small_model.predict(x[3])
    assert single.shape == (2,)
    # A lone row takes the small-batch kernel: equal to rounding, not bit for bit.
    np.testing.assert_allclose(single, y[3], rtol=1e-5, atol=1e-6)
    # leading batch axes are kept
    batched = small_model.predict(np.stack([x[:3], x[3:6]]))
    assert batched.shape == (2, 3, 2)
    np.testing.assert_array_equal(batched.reshape(6, 2), y[:6])
    # an empty batch is allowed
    assert small_model.predict(np.zeros((0, 3), np.float32)).shape == (0, 2)


def test_predict_is_deterministic_and_row_independent(small_model, rng):
    x = rng.normal(size=(33, 3)).astype(np.float32)
    full = small_model.predict(x)
    np.testing.assert_array_equal(full, small_model.predict(x))
    rows = np.stack([small_model.predict(x[i : i + 1])[0] for i in range(len(x))])
    np.testing.assert_allclose(rows, full, rtol=1e-6, atol=1e-7)


def test_one_input_feature_accepts_1d_batches():
    model = lamina.MLP(1, [8], 2, activation="tanh")
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    y = model.predict(x)
    assert y.shape == (5, 2)
    np.testing.assert_array_equal(y, model.predict(x[:, None]))
    assert model.predict(0.5).shape == (2,)
    np.testing.assert_array_equal(model.predict(0.5), model.predict([[0.5]])[0])
    assert model.gradient(x).shape == (5, 2, 1)


def test_float32_contiguous_input_is_not_copied(small_model, spy):
    # Above SMALL_INPUT elements; smaller inputs are copied on purpose (next test).
    calls = spy("lamina_model_predict")
    rows = lamina.model.SMALL_INPUT // 3 + 1
    x = np.ones((rows, 3), np.float32)
    small_model.predict(x)
    assert calls[-1][1] == x.ctypes.data
    assert calls[-1][2] == rows
    x64 = x.astype(np.float64)
    small_model.predict(x64)
    assert calls[-1][1] != x64.ctypes.data  # converted to a float32 copy
    grad_calls = spy("lamina_model_input_gradient")
    small_model.gradient(x[:4])
    assert grad_calls[-1][1] == x.ctypes.data


def test_read_only_float32_input_is_not_copied(small_model, spy):
    calls = spy("lamina_model_predict")
    x = np.ones((lamina.model.SMALL_INPUT // 3 + 1, 3), np.float32)
    x.flags.writeable = False
    small_model.predict(x)
    assert calls[-1][1] == x.ctypes.data


def spy_untyped(monkeypatch, name):
    """Like the spy fixture, for _library.untyped(name) (the short path's function): the
    model must not have run a prediction before (it caches the function)."""
    real = _library.untyped(name)
    calls = []

    def wrapper(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setitem(_library._untyped, name, wrapper)
    return calls


def test_small_inputs_take_the_short_path_with_the_same_results(
    small_model, spy, rng, monkeypatch
):
    # Up to SMALL_INPUT elements the input crosses as a bytes copy (cheaper than numpy's
    # address lookup) and the output is a ctypes-backed array; results are bit-identical
    # to the general path, which a float64 copy of the same values takes. Strided float32
    # views take the short path too (tobytes copies in C order).
    short_calls = spy_untyped(monkeypatch, "lamina_model_predict")
    calls = spy("lamina_model_predict")
    for shape in [(1, 3), (3,), (5, 3), (lamina.model.SMALL_INPUT // 3, 3)]:
        x = rng.normal(size=shape).astype(np.float32)
        count = len(short_calls)
        y = small_model.predict(x)
        assert len(short_calls) == count + 1 and short_calls[-1][1] == x.tobytes()
        assert short_calls[-1][2].value == int(np.prod(shape[:-1]))
        assert y.shape == shape[:-1] + (2,) and y.dtype == np.float32
        assert y.flags.c_contiguous and y.flags.writeable and y.flags.aligned
        general = small_model.predict(x.astype(np.float64))
        assert len(short_calls) == count + 1 and isinstance(calls[-1][1], int)
        np.testing.assert_array_equal(y, general)
        strided = np.repeat(x.reshape(-1, 3), 2, axis=0)[::2]
        assert len(strided) == 1 or not strided.flags.c_contiguous
        np.testing.assert_array_equal(small_model.predict(strided).reshape(y.shape), y)
        assert len(short_calls) == count + 2
    y[...] = 7  # the result owns its memory: writing it changes nothing else
    np.testing.assert_array_equal(small_model.predict(x), general)


def test_predict_out_may_be_the_input(rng):
    # A square layer predicting in place: the layers write outputs while still reading
    # inputs, so an overlapping out must not corrupt the result (large: the general path).
    m = lamina.MLP(input=8, hidden=[], output=8, seed=3)
    x = rng.normal(size=(1000, 8)).astype(np.float32)
    expected = m.predict(x.copy())
    assert m.predict(x, out=x) is x
    np.testing.assert_array_equal(x, expected)
    small = rng.normal(size=(4, 8)).astype(np.float32)
    expected = m.predict(small.copy())
    m.predict(small, out=small)
    np.testing.assert_array_equal(small, expected)


def test_closed_model_predict_raises_after_a_cached_call(small_model):
    small_model.predict(np.zeros((1, 3), np.float32))  # caches the fast state
    small_model.close()
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict(np.zeros((1, 3), np.float32))
    with pytest.raises(lamina.InvalidArgumentError):
        _ = small_model.input_dim


def test_predict_into_out(small_model, rng):
    x = rng.normal(size=(6, 3)).astype(np.float32)
    expected = small_model.predict(x)
    out = np.full((6, 2), np.nan, np.float32)
    assert small_model.predict(x, out=out) is out
    np.testing.assert_array_equal(out, expected)
    # reused (its address is cached), and with other inputs; general path too
    out[...] = np.nan
    assert small_model.predict(x, out=out) is out
    np.testing.assert_array_equal(out, expected)
    assert small_model.predict(x.astype(np.float64), out=out) is out
    np.testing.assert_array_equal(out, expected)
    single = np.empty(2, np.float32)
    assert small_model.predict(x[2], out=single) is single
    np.testing.assert_allclose(single, expected[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(single, small_model.predict(x[2]))
    # a large batch into out
    big = rng.normal(size=(lamina.model.SMALL_INPUT, 3)).astype(np.float32)
    big_out = np.empty((len(big), 2), np.float32)
    small_model.predict(big, out=big_out)
    np.testing.assert_array_equal(big_out, small_model.predict(big))
    # the cached address never outlives a resize: numpy refuses while the model holds the
    # last out (big_out), and an earlier one is no longer cached
    with pytest.raises(ValueError):
        big_out.resize((2 * len(big), 2))
    out.resize((12, 2), refcheck=False)
    out[...] = np.nan
    small_model.predict(np.concatenate([x, x]), out=out)
    np.testing.assert_array_equal(out, np.concatenate([expected, expected]))


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.empty((6, 3), np.float32), lamina.ShapeError),
        (np.empty((6,), np.float32), lamina.ShapeError),
        (np.empty((6, 2), np.float64), lamina.InvalidArgumentError),
        (np.empty((2, 6), np.float32).T, lamina.InvalidArgumentError),
        ([[0.0, 0.0]] * 6, lamina.InvalidArgumentError),
    ],
)
def test_predict_rejects_unusable_out(small_model, bad, error):
    x = np.zeros((6, 3), np.float32)
    with pytest.raises(error):
        small_model.predict(x, out=bad)
    with pytest.raises(error):
        small_model.predict(x.astype(np.float64), out=bad)


def test_predict_rejects_read_only_out(small_model):
    out = np.empty((1, 2), np.float32)
    out.flags.writeable = False
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict(np.zeros((1, 3), np.float32), out=out)


def test_closed_model_refuses_predict_after_caching(small_model):
    x = np.zeros((1, 3), np.float32)
    small_model.predict(x)  # fills the cached dimensions
    assert small_model.input_dim == 3 and small_model.output_dim == 2
    small_model.close()
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict(x)
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.input_dim


def test_short_path_reports_non_finite_input(small_model):
    x = np.array([[0.0, np.nan, 1.0]], np.float32)
    with pytest.raises(lamina.NumericError):
        small_model.predict(x)
    with pytest.raises(lamina.NumericError):
        small_model.predict(x, out=np.empty((1, 2), np.float32))


def test_conversions(small_model, rng):
    x = rng.normal(size=(6, 3)).astype(np.float32)
    expected = small_model.predict(x)
    variants = {
        "float64": x.astype(np.float64),
        "fortran": np.asfortranarray(x),
        "fortran64": np.asfortranarray(x.astype(np.float64)),
        "list": x.tolist(),
        "tuple rows": [tuple(row) for row in x.tolist()],
        "strided": np.repeat(x, 2, axis=0)[::2],
        "column view": np.ascontiguousarray(np.concatenate([x, x], axis=1))[:, :3],
        "float16-exact": x.astype(np.float16).astype(np.float32),
    }
    for name, value in variants.items():
        got = small_model.predict(value)
        want = expected if name != "float16-exact" else small_model.predict(variants[name])
        assert got.dtype == np.float32, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    ints = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(
        small_model.predict(ints), small_model.predict(ints.astype(np.float32))
    )
    bools = np.eye(3, dtype=bool)
    np.testing.assert_array_equal(
        small_model.predict(bools), small_model.predict(np.eye(3, dtype=np.float32))
    )


@pytest.mark.parametrize("shape", [(4, 2), (4, 4), (2,), (4,), (), (3, 1), (1, 2, 4)])
def test_shape_mismatch_raises_before_calling_c(small_model, spy, shape):
    calls = spy("lamina_model_predict")
    grad_calls = spy("lamina_model_input_gradient")
    x = np.zeros(shape, np.float32)
    with pytest.raises(lamina.ShapeError) as info:
        small_model.predict(x)
    assert isinstance(info.value, ValueError)
    assert info.value.status == 2
    assert "3" in str(info.value)
    with pytest.raises(lamina.ShapeError):
        small_model.gradient(x)
    assert calls == [] and grad_calls == []


def test_non_numeric_input_is_rejected(small_model):
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict([["a", "b", "c"]])
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict(np.ones((2, 3), np.complex64))
    with pytest.raises(ValueError):
        small_model.predict([[1.0, 2.0], [3.0]])  # ragged


# ---- gradients -------------------------------------------------------------------------------
def test_gradient_matches_finite_differences(small_model, rng):
    x = rng.uniform(-1, 1, size=(6, 3)).astype(np.float64)
    g = small_model.gradient(x)
    assert g.shape == (6, 2, 3) and g.dtype == np.float32
    h = 1e-2
    fd = np.empty((6, 2, 3))
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd[:, :, i] = (
            small_model.predict(x + e).astype(np.float64) - small_model.predict(x - e)
        ) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-2, atol=2e-3)
    assert small_model.gradient(x[0]).shape == (2, 3)
    np.testing.assert_allclose(small_model.gradient(x[0]), g[0], rtol=1e-6, atol=1e-7)


def test_gradient_of_a_linear_model_is_its_weight():
    model = lamina.MLP(3, [], 2)
    g = model.gradient(np.random.default_rng(1).normal(size=(5, 3)))
    for s in range(5):
        np.testing.assert_allclose(g[s], model.state_dict()["0.weight"], rtol=1e-6)


# ---- copies ----------------------------------------------------------------------------------
def test_copy_is_deep_and_independent(small_model, rng):
    x = rng.normal(size=(5, 3)).astype(np.float32)
    clone = small_model.copy()
    assert type(clone) is type(small_model)
    assert clone.spec == small_model.spec
    np.testing.assert_array_equal(clone.predict(x), small_model.predict(x))
    before = small_model.state_dict()
    clone.load_state_dict({k: np.zeros_like(v) for k, v in before.items()})
    assert states_equal(small_model.state_dict(), before)
    assert not clone.predict(x).any()
    for other in (copy.copy(small_model), copy.deepcopy(small_model)):
        assert states_equal(other.state_dict(), before)


def test_pickle_round_trip(small_model, rng):
    x = rng.normal(size=(5, 3)).astype(np.float32)
    again = pickle.loads(pickle.dumps(small_model))
    assert isinstance(again, lamina.MLP)
    assert again.spec == small_model.spec
    np.testing.assert_array_equal(bits(again.predict(x)), bits(small_model.predict(x)))


def test_closed_model_raises(small_model):
    small_model.close()
    small_model.close()  # twice is fine
    with pytest.raises(lamina.InvalidArgumentError):
        small_model.predict(np.zeros((1, 3)))
    assert "closed" in repr(small_model)


# ---- persistence -----------------------------------------------------------------------------
def test_save_load_round_trip_is_bit_exact(tmp_path, rng):
    model = lamina.MLP(2, [16, 16], 3, activation="silu", seed=3)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    model.fit(
        x, rng.normal(size=(64, 3)).astype(np.float32), epochs=2, batch_size=16, progress=False
    )
    path = tmp_path / "model.safetensors"
    model.save(path)
    for p in (path, str(path), os.fsencode(str(path))):
        loaded = lamina.load(p)
        assert isinstance(loaded, lamina.MLP)
        assert loaded.spec == model.spec
        assert states_equal(loaded.state_dict(), model.state_dict())
        np.testing.assert_array_equal(bits(loaded.predict(x)), bits(model.predict(x)))
        np.testing.assert_array_equal(bits(loaded.gradient(x)), bits(model.gradient(x)))
    assert lamina.Model.load(path).spec == model.spec


def test_save_replaces_file_and_leaves_no_temporaries(tmp_path, small_model):
    path = tmp_path / "m.safetensors"
    small_model.save(path)
    other = lamina.MLP(3, [5, 4], 2, activation="tanh", seed=99)
    other.save(path)
    assert os.listdir(tmp_path) == ["m.safetensors"]
    assert states_equal(lamina.load(path).state_dict(), other.state_dict())


def test_safetensors_package_reads_saved_file(tmp_path, small_model):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    path = tmp_path / "m.safetensors"
    small_model.save(path)
    tensors = load_file(str(path))
    state = small_model.state_dict()
    assert set(tensors) == set(state)
    for name, shape in EXPECTED_SHAPES.items():
        assert tensors[name].shape == shape, name
        assert tensors[name].dtype == np.float32
        np.testing.assert_array_equal(tensors[name], state[name])
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    assert metadata, "saved file has no __metadata__"
    specs = []
    for value in metadata.values():
        try:
            decoded = json.loads(value)
        except ValueError:
            continue
        if isinstance(decoded, dict) and decoded.get("kind") == "mlp":
            specs.append(decoded)
    assert specs == [small_model.spec], metadata
    assert any("version" in key.lower() for key in metadata), metadata


def test_load_file_written_by_safetensors_package(tmp_path, small_model, rng):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    path = tmp_path / "m.safetensors"
    small_model.save(path)
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    new_state = {
        k: rng.normal(size=v.shape).astype(np.float32) for k, v in small_model.state_dict().items()
    }
    other = tmp_path / "from_python.safetensors"
    save_file(new_state, str(other), metadata=metadata)
    loaded = lamina.load(other)
    assert states_equal(loaded.state_dict(), new_state)


# ---- named tensors ---------------------------------------------------------------------------
def test_state_dict_names_and_shapes(small_model):
    state = small_model.state_dict()
    assert list(state) == list(EXPECTED_SHAPES)
    for name, shape in EXPECTED_SHAPES.items():
        assert state[name].shape == shape
        assert state[name].dtype == np.float32
    state["0.weight"][:] = 123.0  # a copy: the model is unchanged
    assert not (small_model.state_dict()["0.weight"] == 123.0).any()


def test_state_dict_round_trip(small_model, rng):
    x = rng.normal(size=(9, 3)).astype(np.float32)
    other = lamina.MLP(3, [5, 4], 2, activation="tanh", seed=100)
    assert not np.array_equal(other.predict(x), small_model.predict(x))
    result = other.load_state_dict(small_model.state_dict())
    assert result == lamina.IncompatibleKeys([], [])
    assert states_equal(other.state_dict(), small_model.state_dict())
    np.testing.assert_array_equal(bits(other.predict(x)), bits(small_model.predict(x)))


def test_load_state_dict_converts_values(small_model):
    state = {k: v.astype(np.float64).tolist() for k, v in small_model.state_dict().items()}
    other = lamina.MLP(3, [5, 4], 2, activation="tanh", seed=100)
    other.load_state_dict(state)
    assert states_equal(other.state_dict(), small_model.state_dict())


def test_load_state_dict_missing_key(small_model):
    before = small_model.state_dict()
    state = dict(before)
    del state["2.bias"]
    with pytest.raises(lamina.InvalidArgumentError, match=r"missing.*'2\.bias'"):
        small_model.load_state_dict({k: v + 1 for k, v in state.items()})
    assert states_equal(small_model.state_dict(), before)


def test_load_state_dict_unexpected_key(small_model):
    before = small_model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["6.weight"] = np.zeros((1, 2), np.float32)
    with pytest.raises(lamina.InvalidArgumentError, match=r"unexpected.*'6\.weight'"):
        small_model.load_state_dict(state)
    assert states_equal(small_model.state_dict(), before)


def test_load_state_dict_wrong_shape(small_model):
    before = small_model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["2.weight"] = state["2.weight"].T
    with pytest.raises(lamina.ShapeError, match=r"2\.weight"):
        small_model.load_state_dict(state)
    assert states_equal(small_model.state_dict(), before)


def test_load_state_dict_not_strict(small_model):
    before = small_model.state_dict()
    result = small_model.load_state_dict({"0.bias": np.ones(5), "extra": np.ones(1)}, strict=False)
    assert result.missing_keys == [k for k in before if k != "0.bias"]
    assert result.unexpected_keys == ["extra"]
    after = small_model.state_dict()
    np.testing.assert_array_equal(after["0.bias"], np.ones(5, np.float32))
    np.testing.assert_array_equal(after["0.weight"], before["0.weight"])


def test_load_state_dict_nan_leaves_model_unchanged(small_model):
    before = small_model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    state["4.bias"] = np.array([0.0, np.nan], np.float32)  # the last tensor written
    with pytest.raises(lamina.NumericError) as info:
        small_model.load_state_dict(state)
    assert "4.bias" in str(info.value)
    assert states_equal(small_model.state_dict(), before)


def test_numpy_scalars_in_specs():
    model = lamina.MLP(np.int64(3), np.array([5, 4]), np.int32(2), seed=np.uint8(7))
    assert model.spec["hidden"] == [5, 4] and model.spec["seed"] == 7
    spec = {"kind": "mlp", "input": np.int64(3), "hidden": np.array([5]), "output": 2}
    assert lamina.Model.from_spec(spec).input_dim == 3
    assert lamina.Model(spec).spec == lamina.Model.from_spec(spec).spec


def test_short_path_is_thread_safe(small_model, rng):
    # Every call makes its own input bytes and output buffer; the cached ctypes arguments
    # are only read. Threads predicting one model at once get exactly their own results.
    import threading

    xs = [rng.normal(size=(k % 4 + 1, 3)).astype(np.float32) for k in range(8)]
    expected = [small_model.predict(x) for x in xs]
    failures = []

    def work(k):
        for _ in range(300):
            if not np.array_equal(small_model.predict(xs[k]), expected[k]):
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
