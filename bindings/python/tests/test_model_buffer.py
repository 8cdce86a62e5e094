"""Model.to_bytes / Model.from_bytes / lamina.loads and pickling through memory buffers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import lamina

SPECS = [
    {"kind": "mlp", "input": 3, "hidden": [16, 16], "output": 2, "seed": 4},
    {"kind": "kan", "widths": [3, 4, 2], "grid": 5, "seed": 6},
    {
        "kind": "triplane",
        "resolution": 8,
        "channels": 4,
        "seed": 3,
        "decoder": {"hidden": [16], "activation": "relu"},
    },
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"])
def test_round_trip(spec, tmp_path):
    model = lamina.Model.from_spec(spec)
    data = model.to_bytes()
    assert isinstance(data, bytes)
    path = tmp_path / "m.safetensors"
    model.save(path)
    assert path.read_bytes() == data
    x = np.random.default_rng(1).uniform(-1, 1, (64, 3)).astype(np.float32)
    for back in (lamina.Model.from_bytes(data), lamina.loads(data), lamina.loads(bytearray(data))):
        assert type(back) is type(lamina.Model.load(path))
        assert np.array_equal(back.predict(x), model.predict(x))


def test_from_bytes_picks_the_subclass():
    mlp = lamina.MLP(2, [4], 1)
    assert isinstance(lamina.Model.from_bytes(mlp.to_bytes()), lamina.MLP)
    kan = lamina.KAN([2, 3, 1])
    assert isinstance(lamina.Model.from_bytes(kan.to_bytes()), lamina.KAN)


def test_pickle_uses_buffers(monkeypatch):
    import tempfile

    def no_temp(*args, **kwargs):
        raise AssertionError("pickling went through a temporary file")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_temp)
    model = lamina.MLP(3, [8], 2, seed=2)
    back = pickle.loads(pickle.dumps(model))
    assert type(back) is lamina.MLP
    x = np.ones((4, 3), np.float32)
    assert np.array_equal(back.predict(x), model.predict(x))


@pytest.mark.parametrize("junk", [b"", b"\0" * 8, b"not a model at all", b"\xff" * 100])
def test_junk_raises_format_error(junk):
    with pytest.raises(lamina.FormatError):
        lamina.Model.from_bytes(junk)


def test_truncated_raises_format_error():
    data = lamina.MLP(2, [3], 1).to_bytes()
    for cut in range(0, len(data), max(1, len(data) // 50)):
        with pytest.raises(lamina.FormatError):
            lamina.loads(data[:cut])
