"""Vector-Jacobian products: losses Lamina does not have, computed by the caller.

The caller evaluates the model, computes its own loss ``L`` and ``dy = dL/dy`` (numpy,
PyTorch, anything), and hands ``dy`` back:

* :meth:`lamina.Model.vjp` gives ``dL/dx`` (to train what feeds the model), and with
  ``parameters=True`` also the gradient of every trainable tensor, by name (for an optimizer
  outside Lamina; :mod:`lamina.torch` uses it);
* :meth:`lamina.Trainer.step_vjp` takes an optimizer step from ``dy``.

Example, a pinball (quantile) loss::

    y = model.predict(x)
    dy = np.where(y > t, 1 - tau, np.where(y < t, -tau, 0)) / y.size
    trainer.step_vjp(x, dy)

The C calls are ``lamina_model_vjp``, ``lamina_model_parameter_vjp`` and
``lamina_trainer_step_vjp`` (lamina.h, "Vector-Jacobian products"). This module holds the
array handling behind those methods; the methods are the API.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union

import numpy as np

from . import _library
from .errors import ShapeError

if TYPE_CHECKING:
    from .model import Model
    from .trainer import Trainer

__all__ = ["trainable_tensors", "model_vjp", "trainer_step_vjp"]


def trainable_tensors(model: "Model") -> List[Tuple[str, Tuple[int, ...]]]:
    """The trained tensors' names and shapes, in tensor order (buffers left out).

    This is the layout of ``lamina_model_parameter_vjp``'s flat gradient. A model's
    architecture never changes, so the list is made once per model and kept on it.
    """
    cached = getattr(model, "_trainable", None)
    if cached is not None:
        return cached
    lib = _library.lib()
    handle = model._ptr
    result = []
    flag = ctypes.c_int32(0)
    for name in model.tensor_names():
        _library.check(
            lib.lamina_model_tensor_trainable(handle, name.encode("utf-8"), ctypes.byref(flag))
        )
        if flag.value:
            result.append((name, model._tensor_shape(name)))
    model._trainable = result
    return result


def _prepare(model: "Model", x: Any, dy: Any) -> Tuple[np.ndarray, np.ndarray, Tuple[int, ...]]:
    """``x`` as ``(n, input_dim)``, ``dy`` as ``(n, output_dim)`` float32, and x's shape.

    ``dy`` must have the shape of the model's output for ``x`` (``(n,)`` is also accepted
    for one output, as targets are).
    """
    from .model import _to_numpy, as_float32, prepare_inputs

    x_values = _to_numpy(x)
    x2, batch_shape = prepare_inputs(x_values, model.input_dim)
    x_shape = np.shape(x_values)
    out_dim = model.output_dim
    d = as_float32(_to_numpy(dy), "dy")
    expected = batch_shape + (out_dim,)
    if d.shape != expected and not (out_dim == 1 and d.shape == batch_shape):
        raise ShapeError(
            f"dy has shape {d.shape}; the model's output for x of shape {x_shape} has shape"
            f" {expected}"
        )
    return x2, d.reshape(x2.shape[0], out_dim), x_shape


def model_vjp(
    model: "Model", x: Any, dy: Any, parameters: bool = False
) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, np.ndarray]]]:
    """:meth:`lamina.Model.vjp`: ``dL/dx``, and with ``parameters`` the tensor gradients."""
    x2, d, x_shape = _prepare(model, x, dy)
    n = x2.shape[0]
    lib = _library.lib()
    dx = np.empty(x2.shape, dtype=np.float32)
    if not parameters:
        _library.check(
            lib.lamina_model_vjp(
                model._ptr,
                _library.as_float_pointer(x2),
                n,
                _library.as_float_pointer(d),
                _library.as_float_pointer(dx),
            )
        )
        return dx.reshape(x_shape)
    layout = trainable_tensors(model)
    count = model.parameter_count
    flat = np.empty(count, dtype=np.float32)
    _library.check(
        lib.lamina_model_parameter_vjp(
            model._ptr,
            _library.as_float_pointer(x2),
            n,
            _library.as_float_pointer(d),
            _library.as_float_pointer(flat),
            count,
            _library.as_float_pointer(dx),
        )
    )
    grads: Dict[str, np.ndarray] = {}
    offset = 0
    for name, shape in layout:
        size = int(np.prod(shape, dtype=np.int64))
        grads[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    return dx.reshape(x_shape), grads


def trainer_step_vjp(trainer: "Trainer", x: Any, dy: Any) -> float:
    """:meth:`lamina.Trainer.step_vjp`: one step from ``dy``; returns the penalties' value."""
    x2, d, _ = _prepare(trainer.model, x, dy)
    penalty = ctypes.c_float(0)
    _library.check(
        _library.lib().lamina_trainer_step_vjp(
            trainer._ptr,
            _library.as_float_pointer(x2),
            _library.as_float_pointer(d),
            x2.shape[0],
            ctypes.byref(penalty),
        )
    )
    return float(penalty.value)
