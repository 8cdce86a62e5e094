"""SPEC's determinism promise between the Python package and the C ABI: the same spec, seed,
data and config give bit-identical weights whether training is driven through the Python
package or by raw C calls (here made with ctypes, as a C program would make them).

Both paths run the same liblamina in this process, so this compares the library with itself:
it shows the Python layer adds nothing of its own (no conversion, reordering or extra call)
and that a run repeats exactly, not that the weights are right. Swift-driven training
(Examples/swift) is not checked here. Independent references are elsewhere:
test_optimizer_trajectories.py (torch.optim in float64) and test_parity.py (numpy)."""

from __future__ import annotations

import ctypes
import json

import numpy as np

import lamina
from lamina import _library

SPEC = {"kind": "mlp", "input": 3, "hidden": [16, 16], "output": 2, "activation": "silu", "seed": 5}
CONFIG = {"optimizer": "adam", "learning_rate": 0.01, "epochs": 4, "batch_size": 32, "seed": 9}


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (200, 3)).astype(np.float32)
    y = np.stack([np.sin(3 * x[:, 0]) * x[:, 1], x[:, 2] ** 2], axis=1).astype(np.float32)
    return x, y


def raw_c_weights(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Train with nothing but the C functions of lamina.h."""
    c = _library.lib()
    model = ctypes.c_void_p()
    trainer = ctypes.c_void_p()
    _library.check(c.lamina_model_create(json.dumps(SPEC).encode(), ctypes.byref(model)))
    try:
        _library.check(c.lamina_trainer_create(model, json.dumps(CONFIG).encode(), ctypes.byref(trainer)))
        loss = ctypes.c_float()
        _library.check(
            c.lamina_trainer_fit(
                trainer, _library.as_float_pointer(x), _library.as_float_pointer(y), len(x),
                _library.PROGRESS_FN(), None, ctypes.byref(loss),
            )
        )
        c.lamina_trainer_free(trainer)
        out = {}
        for index in range(c.lamina_model_tensor_count(model)):
            length = ctypes.c_size_t()
            _library.check(c.lamina_model_tensor_name(model, index, None, 0, ctypes.byref(length)))
            name = ctypes.create_string_buffer(length.value + 1)
            _library.check(c.lamina_model_tensor_name(model, index, name, length.value + 1, ctypes.byref(length)))
            rank = ctypes.c_size_t()
            _library.check(c.lamina_model_tensor_shape(model, name.value, None, 0, ctypes.byref(rank)))
            shape = (ctypes.c_size_t * rank.value)()
            _library.check(c.lamina_model_tensor_shape(model, name.value, shape, rank.value, ctypes.byref(rank)))
            values = np.empty(tuple(shape), dtype=np.float32)
            _library.check(
                c.lamina_model_tensor_read(model, name.value, _library.as_float_pointer(values), values.size)
            )
            out[name.value.decode()] = values
        return out
    finally:
        c.lamina_model_free(model)


def test_python_and_raw_c_training_give_identical_weights() -> None:
    x, y = data()
    model = lamina.Model.from_spec(SPEC)
    model.fit(x, y, progress=False, **CONFIG)
    python_weights = model.state_dict()
    c_weights = raw_c_weights(x, y)
    assert python_weights.keys() == c_weights.keys()
    for name in c_weights:
        assert np.array_equal(python_weights[name].view(np.uint32), c_weights[name].view(np.uint32)), name
