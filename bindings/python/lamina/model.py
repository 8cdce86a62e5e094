"""Models: :class:`Model` (any Lamina model), :class:`MLP`, and :func:`load`.

Array conventions (for :meth:`Model.predict`, :meth:`Model.gradient` and training):

* Inputs are converted to C-contiguous float32. A float32 C-contiguous array is passed to
  the library as it is, without a copy; float64, integer, Fortran-order, strided arrays and
  nested lists are converted first. (Exception: :meth:`Model.predict` copies a float32
  input of at most ``SMALL_INPUT`` elements into a ``bytes`` object, which takes ~0.1 us
  where asking numpy for the array's address takes ~1.5 us; see :meth:`Model.predict`.)
* ``x`` has shape ``(..., input_dim)``: the last axis holds the features, any leading axes
  are batch axes, and outputs have the same leading axes. So ``(n, input_dim)`` gives
  ``(n, output_dim)`` and a single sample of shape ``(input_dim,)`` gives ``(output_dim,)``.
* Exception: when ``input_dim == 1`` a 1-D ``x`` of shape ``(n,)`` is ``n`` samples (a
  column), giving ``(n, output_dim)``; a scalar is one sample, giving ``(output_dim,)``.
* Shapes are checked before the library is called; a mismatch raises
  :class:`~lamina.errors.ShapeError` (a ``ValueError``).
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from . import _library
from .errors import InvalidArgumentError, ShapeError

if TYPE_CHECKING:
    from .trainer import History

__all__ = ["MLP", "Model", "load", "IncompatibleKeys"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ArrayLike = Any

#: :meth:`Model.predict` copies float32 inputs of at most this many elements (and makes
#: outputs of at most this many elements as ctypes arrays) instead of asking numpy for their
#: addresses: one-sample latency is dominated by such per-call Python costs.
SMALL_INPUT = 4096

_F32 = np.dtype(np.float32)
_NDARRAY = np.ndarray
_C_FLOAT = ctypes.c_float
#: ctypes array types by length (c_float * k), made once each.
_FLOAT_ARRAYS: Dict[int, Any] = {}
#: c_size_t values of small batch sizes, made once each (never mutated: passed by value).
_SIZE_ARGS: Dict[int, ctypes.c_size_t] = {}


def _float_array(count: int) -> Any:
    """The ctypes type ``c_float * count``, made once per count."""
    return _FLOAT_ARRAYS.setdefault(count, _C_FLOAT * count)


def _size_arg(n: int) -> ctypes.c_size_t:
    """``n`` as a ctypes ``size_t`` for an untyped call (cached for n <= SMALL_INPUT)."""
    value = _SIZE_ARGS.get(n)
    if value is None:
        value = ctypes.c_size_t(n)
        if n <= SMALL_INPUT:
            _SIZE_ARGS[n] = value
    return value


class IncompatibleKeys(NamedTuple):
    """What :meth:`Model.load_state_dict` found missing or unexpected (as in PyTorch)."""

    missing_keys: List[str]
    unexpected_keys: List[str]


def as_float32(values: ArrayLike, what: str = "x") -> np.ndarray:
    """Return ``values`` as a C-contiguous, aligned float32 array; no copy if it already is."""
    if isinstance(values, np.ndarray) and values.dtype == np.float32:
        if values.flags.c_contiguous and values.flags.aligned:
            return values
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{what} is not a numeric array: {exc}") from exc
    if np.iscomplexobj(array):
        raise InvalidArgumentError(f"{what} is complex; Lamina works with real numbers")
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"{what} is not a numeric array: {exc}") from exc
    return np.require(array, dtype=np.float32, requirements=["C_CONTIGUOUS", "ALIGNED"])


def prepare_inputs(x: ArrayLike, input_dim: int) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """Convert ``x`` to an ``(n, input_dim)`` float32 array (a view where possible).

    Returns the array and the batch shape that outputs must be given (see the module doc).
    """
    array = as_float32(x, "x")
    if input_dim == 1 and array.ndim <= 1:
        batch_shape: Tuple[int, ...] = array.shape
    elif array.ndim == 0:
        raise ShapeError(f"x is a scalar but the model takes {input_dim} features per sample")
    elif array.shape[-1] != input_dim:
        raise ShapeError(
            f"x has shape {array.shape}: its last axis has {array.shape[-1]} features but"
            f" the model takes {input_dim}"
        )
    else:
        batch_shape = array.shape[:-1]
    return array.reshape(-1, input_dim), batch_shape


class Model:
    """A Lamina model: an architecture (its spec) plus weights, owned by the library.

    Make one with :meth:`from_spec`, :class:`MLP` or :func:`load`. Reading calls
    (:meth:`predict`, :meth:`gradient`, :meth:`save`, :meth:`state_dict`) may run from many
    threads at once; calls that change the weights (training, :meth:`load_state_dict`) need
    the model to themselves. The library checks this: a call that would overlap a change of
    the weights from another thread raises :class:`~lamina.errors.InvalidArgumentError`
    ("model is in use by another call") and changes nothing.
    """

    _handle: ctypes.c_void_p
    #: (library, handle address, input_dim, output_dim, untyped predict, handle as
    #: c_void_p), filled on first use by :meth:`_fast_state` and cleared by :meth:`close`.
    #: A model's dimensions never change (its architecture is fixed at creation; weight
    #: writes keep shapes).
    _fast: Optional[Tuple[Any, int, int, int, Any, ctypes.c_void_p]] = None
    #: (out array, its data address) of the last ``predict(..., out=...)``. Holding the array
    #: keeps the address valid: numpy refuses to resize an array others reference.
    _out_cache: Optional[Tuple[np.ndarray, int]] = None

    def __init__(self, spec: Union[Mapping[str, Any], str]) -> None:
        """Build a model from a spec (a dict or JSON text); see :meth:`from_spec`."""
        self._handle = _create(spec)

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: Union[Mapping[str, Any], str]) -> "Model":
        """Build a model from a spec, given as a dict or as JSON text.

        Example: ``Model.from_spec({"kind": "mlp", "input": 2, "hidden": [32], "output": 1})``.
        Weights are initialised from the spec's ``seed``. Unknown keys and bad values raise
        :class:`~lamina.errors.InvalidArgumentError`.
        """
        return cls._wrap(_create(spec))

    @classmethod
    def _wrap(cls, handle: ctypes.c_void_p) -> "Model":
        """Wrap an owned handle in a Python object of its kind's class (:class:`MLP`, ...)."""
        target: type = cls
        if cls is Model:
            try:
                kind = json.loads(_library.read_text(_library.lib().lamina_model_spec, handle))
                target = _KIND_CLASSES.get(kind.get("kind"), Model)
            except Exception:  # keep the handle either way; a plain Model still works
                pass
        model = object.__new__(target)
        model._handle = handle
        return model

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Load a model saved by :meth:`save` (a safetensors file)."""
        handle = ctypes.c_void_p()
        lib = _library.lib()
        _library.check(lib.lamina_model_load(_library.encode_path(path), ctypes.byref(handle)))
        return Model._wrap(handle)

    def copy(self) -> "Model":
        """Return a deep copy (spec and weights) that shares nothing with this model."""
        handle = ctypes.c_void_p()
        lib = _library.lib()
        _library.check(lib.lamina_model_clone(self._ptr, ctypes.byref(handle)))
        return type(self)._wrap_same(handle)

    @classmethod
    def _wrap_same(cls, handle: ctypes.c_void_p) -> "Model":
        model = object.__new__(cls)
        model._handle = handle
        return model

    def __copy__(self) -> "Model":
        return self.copy()

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Model":
        return self.copy()

    def __reduce__(self):
        """Pickle as the bytes of a saved safetensors file (:meth:`to_bytes`)."""
        return (_model_from_bytes, (self.to_bytes(),))

    # ---- lifetime ------------------------------------------------------------------------
    @property
    def _ptr(self) -> ctypes.c_void_p:
        handle = getattr(self, "_handle", None)
        if handle is None or not handle.value:
            raise InvalidArgumentError("this model has been closed")
        return handle

    def close(self) -> None:
        """Free the library's model now (it is freed on garbage collection otherwise)."""
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            # The handle first: a _fast_state() racing this sees it gone and drops its cache.
            self._handle = ctypes.c_void_p()
            self._fast = None
            self._out_cache = None
            _library.lib().lamina_model_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass

    # ---- description ---------------------------------------------------------------------
    @property
    def spec(self) -> Dict[str, Any]:
        """The full spec as a new dict, every default filled in (``lamina_model_spec``)."""
        return json.loads(_library.read_text(_library.lib().lamina_model_spec, self._ptr))

    @property
    def input_dim(self) -> int:
        """Number of input features per sample."""
        return (self._fast or self._fast_state())[2]  # type: ignore[no-any-return]

    @property
    def output_dim(self) -> int:
        """Number of outputs per sample."""
        return (self._fast or self._fast_state())[3]  # type: ignore[no-any-return]

    def _fast_state(self) -> Tuple[Any, int, int, int, Any, ctypes.c_void_p]:
        """Query and cache what every predict needs; raises if the model is closed."""
        handle = self._ptr
        lib = _library.lib()
        state = (
            lib,
            int(handle.value),
            int(lib.lamina_model_input_dim(handle)),
            int(lib.lamina_model_output_dim(handle)),
            _library.untyped("lamina_model_predict"),
            ctypes.c_void_p(handle.value),
        )
        self._fast = state
        if getattr(self, "_handle", None) is None or self._handle.value != state[1]:
            self._fast = None  # closed meanwhile: never keep a freed handle
            raise InvalidArgumentError("this model has been closed")
        return state

    @property
    def parameter_count(self) -> int:
        """Number of trainable scalars."""
        return int(_library.lib().lamina_model_parameter_count(self._ptr))

    def __repr__(self) -> str:
        if getattr(self, "_handle", None) is None or not self._handle.value:
            return f"<{type(self).__name__} (closed)>"
        try:
            spec = self.spec
        except Exception:
            spec = {}
        name = type(self).__name__
        if spec.get("kind") == "mlp":
            return (
                f"{name}(input={spec.get('input')}, hidden={spec.get('hidden')},"
                f" output={spec.get('output')}, activation={_short(spec.get('activation'))},"
                f" output_activation={_short(spec.get('output_activation'))},"
                f" parameters={self.parameter_count})"
            )
        return (
            f"{name}(kind={spec.get('kind')!r}, input_dim={self.input_dim},"
            f" output_dim={self.output_dim}, parameters={self.parameter_count})"
        )

    # ---- evaluation ----------------------------------------------------------------------
    def predict(self, x: ArrayLike, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Evaluate the model: ``x`` of shape ``(..., input_dim)`` -> ``(..., output_dim)``.

        Returns a new float32 array, or ``out`` when given: a float32, C-contiguous,
        writeable numpy array of exactly the result's shape, overwritten in place (as with
        numpy's ``out=``), so a loop of one-sample calls need not allocate. The model keeps a
        reference to the last ``out`` to skip looking up its address again.
        See the module documentation for 1-D inputs.
        Raises :class:`~lamina.errors.ShapeError` for a wrong shape (of ``x`` or ``out``),
        :class:`~lamina.errors.InvalidArgumentError` for an unusable ``out`` and
        :class:`~lamina.errors.NumericError` for NaN or Inf in ``x``.

        Cost: from Python the call is dominated by fixed per-call costs, so the common case
        (a float32 ndarray of ``(n, input_dim)`` or ``(input_dim,)``, small) takes a short
        path: dimensions cached on the model, the input copied to ``bytes`` and the output
        made as a ctypes array (both far cheaper than numpy's ``.ctypes`` address lookup),
        the status checked as an int, and the call made through an untyped ctypes function
        with ready-made ctypes arguments (argtypes conversion costs ~0.3 us per call).
        """
        lib, handle, in_dim, out_dim, raw_predict, handle_arg = self._fast or self._fast_state()
        if type(x) is _NDARRAY and x.dtype is _F32:
            shape = x.shape
            ndim = len(shape)
            if ndim == 2 and shape[1] == in_dim:
                n = shape[0]
                result_shape: Tuple[int, ...] = (n, out_dim)
            elif ndim == 1 and shape[0] == in_dim and in_dim != 1:
                n = 1
                result_shape = (out_dim,)
            else:
                n = 0  # other layouts: the general path below
            if 0 < n and n * in_dim <= SMALL_INPUT:
                count = n * out_dim
                if out is None:
                    if count <= SMALL_INPUT:
                        # Cache hits stay inline: a Python-level call costs more than
                        # the lookups.
                        buffer = (_FLOAT_ARRAYS.get(count) or _float_array(count))()
                        size = _SIZE_ARGS.get(n) or _size_arg(n)
                        status = raw_predict(handle_arg, x.tobytes(), size, buffer)
                        if status:
                            _library.check(status)
                        return _NDARRAY(result_shape, _F32, buffer)
                else:
                    y_arg = ctypes.c_void_p(self._out_address(out, result_shape))
                    status = raw_predict(handle_arg, x.tobytes(), _size_arg(n), y_arg)
                    if status:
                        _library.check(status)
                    return out
        x2, batch_shape = prepare_inputs(x, in_dim)
        n = x2.shape[0]
        result_shape = batch_shape + (out_dim,)
        if out is None:
            y = np.empty((n, out_dim), dtype=np.float32)
            y_address = y.ctypes.data
        else:
            y = out
            y_address = self._out_address(out, result_shape)
            if np.may_share_memory(out, x2):
                x2 = x2.copy()  # the layers write outputs while still reading inputs
        _library.check(lib.lamina_model_predict(handle, x2.ctypes.data, n, y_address))
        return y.reshape(result_shape) if out is None else out

    def _out_address(self, out: Any, shape: Tuple[int, ...]) -> int:
        """Check ``predict``'s ``out`` argument and return its data address (cached)."""
        cached = self._out_cache
        if type(out) is not np.ndarray or out.dtype is not _F32:
            if not isinstance(out, np.ndarray) or out.dtype != _F32:
                raise InvalidArgumentError(
                    f"out must be a float32 numpy array, not {type(out).__name__}"
                    + (f" of {out.dtype}" if isinstance(out, np.ndarray) else "")
                )
        if out.shape != shape:
            raise ShapeError(f"out has shape {out.shape}; the result has shape {shape}")
        flags = out.flags
        if not (flags.c_contiguous and flags.writeable and flags.aligned):
            raise InvalidArgumentError("out must be C-contiguous, aligned and writeable")
        if cached is not None and cached[0] is out:
            return cached[1]
        address = int(out.ctypes.data)
        self._out_cache = (out, address)
        return address

    __call__ = predict

    def gradient(self, x: ArrayLike) -> np.ndarray:
        """Jacobian of outputs w.r.t. inputs: ``(..., input_dim)`` -> ``(..., out, in)``.

        ``result[s, k, i] = d y[s, k] / d x[s, i]``, exact (back-propagation), float32.
        """
        lib, handle, in_dim, out_dim = (self._fast or self._fast_state())[:4]
        x2, batch_shape = prepare_inputs(x, in_dim)
        n = x2.shape[0]
        dydx = np.empty((n, out_dim, in_dim), dtype=np.float32)
        _library.check(
            lib.lamina_model_input_gradient(
                handle, _library.as_float_pointer(x2), n, _library.as_float_pointer(dydx)
            )
        )
        return dydx.reshape(batch_shape + (out_dim, in_dim))

    def derivatives(
        self, x: ArrayLike, order: int = 2
    ) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """The outputs with their input derivatives, by jet passes.

        Returns ``(y, jacobian, second)``: ``y`` as :meth:`predict`, ``jacobian`` as
        :meth:`gradient` (``(..., out, in)``), and with ``order=2`` ``second[s, k, i] =
        d^2 y[s, k] / d x[s, i]^2`` (the Hessian's diagonal; ``second.sum(-1)`` is the
        Laplacian), else ``None``.
        """
        if order not in (1, 2):
            raise InvalidArgumentError(f"order must be 1 or 2, not {order!r}")
        lib, handle, in_dim, out_dim = (self._fast or self._fast_state())[:4]
        x2, batch_shape = prepare_inputs(x, in_dim)
        n = x2.shape[0]
        y = np.empty((n, out_dim), dtype=np.float32)
        jac = np.empty((n, out_dim, in_dim), dtype=np.float32)
        second = np.empty((n, out_dim, in_dim), dtype=np.float32) if order == 2 else None
        _library.check(
            lib.lamina_model_input_derivatives(
                handle,
                _library.as_float_pointer(x2),
                n,
                _library.as_float_pointer(y),
                _library.as_float_pointer(jac),
                None if second is None else _library.as_float_pointer(second),
            )
        )
        shaped = (
            y.reshape(batch_shape + (out_dim,)),
            jac.reshape(batch_shape + (out_dim, in_dim)),
            None if second is None else second.reshape(batch_shape + (out_dim, in_dim)),
        )
        return shaped

    def vjp(
        self, x: ArrayLike, dy: ArrayLike, parameters: bool = False
    ) -> Union[np.ndarray, Tuple[np.ndarray, Dict[str, np.ndarray]]]:
        """Back-propagate a caller's ``dy = dL/dy`` (a loss Lamina does not have).

        ``x`` is ``(..., input_dim)`` and ``dy`` has the shape of the output for ``x``
        (numpy arrays, lists or CPU torch tensors). Returns ``dL/dx``, float32, with ``x``'s
        shape: ``dx[s, i] = sum_k dy[s, k] * d y[s, k] / d x[s, i]``. Only reads the model.

        With ``parameters=True`` returns ``(dx, grads)``, ``grads`` mapping every trainable
        tensor's name to the gradient of ``sum(dy * y)`` with respect to it (the tensor's
        shape; buffers such as ``"0.grid"`` are left out). That call uses the model's
        gradient storage, so it needs the model to itself (as training does); it never
        changes a weight. See :mod:`lamina.vjp` and :meth:`lamina.Trainer.step_vjp`.
        """
        from .vjp import model_vjp

        return model_vjp(self, x, dy, parameters)

    # ---- persistence ---------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save spec and weights as a safetensors file (atomically replacing ``path``)."""
        _library.check(_library.lib().lamina_model_save(self._ptr, _library.encode_path(path)))

    def to_bytes(self) -> bytes:
        """Return the bytes :meth:`save` writes (a safetensors file), without a file.

        For engines that move bytes rather than paths (Ray, multiprocessing, a database);
        :meth:`from_bytes` and :func:`lamina.loads` read them back.
        """
        lib = _library.lib()
        handle = self._ptr
        length = ctypes.c_size_t(0)
        _library.check(lib.lamina_model_save_buffer(handle, None, 0, ctypes.byref(length)))
        # The size can only change if another thread writes the model meanwhile; retry then.
        for _ in range(8):
            buffer = ctypes.create_string_buffer(max(length.value, 1))
            needed = ctypes.c_size_t(0)
            status = lib.lamina_model_save_buffer(
                handle, buffer, length.value, ctypes.byref(needed)
            )
            if status == 0:
                return buffer.raw[: needed.value]
            if needed.value <= length.value:
                _library.check(status)
            length = needed
        _library.check(status)
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        """Load a model from the bytes of :meth:`to_bytes` (or of a saved file).

        Returns an :class:`MLP`, :class:`~lamina.KAN`, ... by the stored kind, as
        :meth:`load` does. Malformed, truncated or hostile bytes raise
        :class:`~lamina.errors.FormatError`.
        """
        view = memoryview(data).cast("B")
        length = view.nbytes
        # ctypes needs a writable buffer to take an address; a copy keeps `data` untouched.
        buffer = (ctypes.c_char * max(length, 1)).from_buffer_copy(
            view.tobytes() if length else b"\0"
        )
        handle = ctypes.c_void_p()
        _library.check(
            _library.lib().lamina_model_load_buffer(buffer, length, ctypes.byref(handle))
        )
        return Model._wrap(handle)

    # ---- named tensors -------------------------------------------------------------------
    def tensor_names(self) -> List[str]:
        """Names of the model's tensors, in order (PyTorch naming: "0.weight", ...)."""
        handle = self._ptr
        lib = _library.lib()
        count = int(lib.lamina_model_tensor_count(handle))
        return [
            _library.read_text(lib.lamina_model_tensor_name, handle, index)
            for index in range(count)
        ]

    def _tensor_shape(self, name: str) -> Tuple[int, ...]:
        handle = self._ptr
        lib = _library.lib()
        key = name.encode("utf-8")
        rank = ctypes.c_size_t(0)
        _library.check(lib.lamina_model_tensor_shape(handle, key, None, 0, ctypes.byref(rank)))
        shape = (ctypes.c_size_t * max(rank.value, 1))()
        _library.check(
            lib.lamina_model_tensor_shape(handle, key, shape, rank.value, ctypes.byref(rank))
        )
        return tuple(int(shape[i]) for i in range(rank.value))

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Return every named tensor as a new float32 array of its shape, keyed by name."""
        handle = self._ptr
        lib = _library.lib()
        result: Dict[str, np.ndarray] = {}
        for name in self.tensor_names():
            shape = self._tensor_shape(name)
            values = np.empty(shape, dtype=np.float32)
            _library.check(
                lib.lamina_model_tensor_read(
                    handle, name.encode("utf-8"), _library.as_float_pointer(values), values.size
                )
            )
            result[name] = values
        return result

    def load_state_dict(
        self, state_dict: Mapping[str, ArrayLike], strict: bool = True
    ) -> IncompatibleKeys:
        """Overwrite weights from ``state_dict`` (name -> array), as PyTorch does.

        With ``strict=True`` (the default) the keys must be exactly the model's tensor names:
        missing or unexpected keys raise :class:`~lamina.errors.InvalidArgumentError` naming
        them. Every given tensor must have the model's shape, else
        :class:`~lamina.errors.ShapeError`. Values may be any array-like (numpy, lists,
        CPU torch tensors); NaN or Inf raises :class:`~lamina.errors.NumericError`. All checks
        pass or the model is left unchanged. Returns the missing and unexpected keys.
        """
        names = self.tensor_names()
        known = set(names)
        missing = [name for name in names if name not in state_dict]
        unexpected = [str(key) for key in state_dict if key not in known]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing key(s): {_library.names_in(missing)}")
            if unexpected:
                parts.append(f"unexpected key(s): {_library.names_in(unexpected)}")
            raise InvalidArgumentError("error loading state_dict: " + "; ".join(parts))
        converted: List[Tuple[str, np.ndarray]] = []
        for name in names:
            if name not in state_dict:
                continue
            expected = self._tensor_shape(name)
            value = as_float32(_to_numpy(state_dict[name]), f"state_dict[{name!r}]")
            if value.shape != expected:
                raise ShapeError(
                    f"state_dict[{name!r}] has shape {value.shape}; the model's tensor has"
                    f" shape {expected}"
                )
            converted.append((name, value))
        handle = self._ptr
        lib = _library.lib()
        backup = self.state_dict() if len(converted) > 1 else {}
        written: List[str] = []
        try:
            for name, value in converted:
                _library.check(
                    lib.lamina_model_tensor_write(
                        handle, name.encode("utf-8"), _library.as_float_pointer(value), value.size
                    ),
                    f"state_dict[{name!r}]",
                )
                written.append(name)
        except BaseException:
            for name in written:  # restore what was already overwritten
                old = backup[name]
                lib.lamina_model_tensor_write(
                    handle, name.encode("utf-8"), _library.as_float_pointer(old), old.size
                )
            raise
        return IncompatibleKeys(missing, unexpected)

    # ---- training ------------------------------------------------------------------------
    def fit(
        self,
        x: ArrayLike,
        y: ArrayLike,
        epochs: int = 10,
        batch_size: int = 256,
        optimizer: str = "adam",
        learning_rate: Optional[float] = None,
        loss: str = "mse",
        validation_split: float = 0.0,
        progress: Any = True,
        on_divergence: str = "warn",
        **config: Any,
    ) -> "History":
        """Train on ``x``, ``y`` with a fresh :class:`~lamina.Trainer` and return its history.

        ``learning_rate`` defaults to the library's: 1e-3, or 1 for ``optimizer="lbfgs"``
        (PyTorch's LBFGS default; use ``batch_size >= len(x)`` with it, as pykan does).
        Extra keyword arguments are further trainer config keys (``seed``, ``patience``,
        ``schedule``, ``weight_decay``, ``max_iter``, ``history_size``, ``line_search``, ...;
        see ``lamina_trainer_create`` in lamina.h).
        ``progress`` is ``True`` (a tqdm bar when tqdm is installed), ``False``, or a
        callable called with a :class:`~lamina.Progress` after every epoch. For
        ``loss="cross_entropy"`` ``y`` may be integer class labels of shape ``(n,)``.
        ``on_divergence`` is ``"warn"`` (a diverging fit issues a
        :class:`~lamina.DivergenceWarning` and returns the history so far, ``.stopped`` and
        ``.reason`` set, the model at its last finite weights) or ``"raise"``
        (:class:`~lamina.NumericError`).
        Returns a :class:`~lamina.History`: per-epoch training losses, ``.val_loss``, the
        rates used (``.learning_rate``, ``.learning_rates``) and the full ``.config``.
        """
        from .trainer import Trainer

        if learning_rate is not None:
            config["learning_rate"] = learning_rate
        trainer = Trainer(
            self,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            loss=loss,
            validation_split=validation_split,
            **config,
        )
        try:
            return trainer.fit(x, y, progress=progress, on_divergence=on_divergence)
        finally:
            trainer.close()


    def fit_terms(
        self,
        terms: Any,
        steps: int = 1000,
        optimizer: str = "adam",
        learning_rate: Optional[float] = None,
        progress: Any = True,
        on_divergence: str = "warn",
        grid_update_every: int = 0,
        grid_update_term: Union[int, str] = 0,
        stop_grid_update_step: Optional[int] = None,
        grid_eps: Optional[float] = None,
        **config: Any,
    ) -> Any:
        """Train on a loss made of weighted terms, with a fresh :class:`~lamina.Trainer`.

        ``terms`` is a list of dicts such as ``{"loss": "value", "x": X, "y": Y}``,
        ``{"loss": "eikonal", "x": X, "weight": 0.1}``, ``{"loss": "normal", "x": P,
        "normals": N}``, ``{"loss": "laplacian", "x": X, "rhs": G}``, ``{"loss":
        "boundary", "x": XB, "y": YB}`` (see :mod:`lamina.terms`). Extra keyword arguments
        are trainer config keys. The grid keywords are :meth:`Trainer.fit_terms`'s (pykan's
        grid updates between steps). Returns the :class:`~lamina.TermsHistory` of
        :meth:`Trainer.fit_terms`: each term's loss per step, by name, and ``.total``.
        """
        from .trainer import Trainer

        if learning_rate is not None:
            config["learning_rate"] = learning_rate
        trainer = Trainer(self, optimizer=optimizer, **config)
        try:
            return trainer.fit_terms(
                terms, steps, progress=progress, on_divergence=on_divergence,
                grid_update_every=grid_update_every, grid_update_term=grid_update_term,
                stop_grid_update_step=stop_grid_update_step, grid_eps=grid_eps,
            )
        finally:
            trainer.close()


    def fit_points(
        self,
        points: Any,
        normals: Any = None,
        steps: int = 1000,
        learning_rate: Optional[float] = None,
        surface_weight: Optional[float] = None,
        normal_weight: Optional[float] = None,
        eikonal_weight: Optional[float] = None,
        far_weight: Optional[float] = None,
        normal_metric: Optional[str] = None,
        surface_batch: Optional[int] = None,
        space_batch: Optional[int] = None,
        space_points: Optional[int] = None,
        sigma: Optional[float] = None,
        sigma_far: Optional[float] = None,
        seed: Optional[int] = None,
        plane_learning_rate: Optional[float] = None,
        progress: Any = True,
        on_divergence: str = "warn",
        **config: Any,
    ) -> Any:
        """Fit this field (3 inputs, 1 output) to a point cloud without distances
        (``lamina_model_fit_points``).

        With ``normals`` (n x 3, outward) the field becomes a signed distance (IGR's terms):
        ``f = 0`` on the points (weight ``surface_weight``, 1), ``grad f`` equal to the normal
        there (``normal_weight``, 1; ``normal_metric`` ``"l2"`` or ``"cosine"``), unit
        gradients at space points (``eikonal_weight``, 0.1), and at those space points ``f``
        against the distance to the nearest cloud point, signed by its normal
        (``far_weight``, 1; 0 turns it off). Without normals it fits the unsigned distance
        to the cloud. The space points (``space_points``, 200000) are a quarter uniform in
        the field's box (``bounds=`` another) and the rest the cloud offset by
        ``N(0, sigma^2)`` (0.01) or ``N(0, sigma_far^2)`` (0.1). Each step draws
        ``surface_batch`` (8192) cloud points and ``space_batch`` (8192) space points.
        Adam at ``learning_rate`` 5e-3 with a cosine decay by default (a SIREN wants 1e-4);
        extra keyword arguments are trainer config keys (``optimizer``, ``schedule``,
        ``plane_tv``, ...). ``None`` means the library's default, given in brackets here.
        Returns a :class:`~lamina.TermsHistory` with terms ``value``, ``normal``,
        ``eikonal`` and ``far`` (``value`` and ``eikonal`` without normals).
        """
        from .point_cloud_fit import fit_points

        options = dict(
            config, learning_rate=learning_rate, surface_weight=surface_weight,
            normal_weight=normal_weight, eikonal_weight=eikonal_weight, far_weight=far_weight,
            normal_metric=normal_metric, surface_batch=surface_batch, space_batch=space_batch,
            space_points=space_points, sigma=sigma, sigma_far=sigma_far, seed=seed,
            plane_learning_rate=plane_learning_rate,
        )
        return fit_points(self, points, normals, steps, options, progress, on_divergence)


class MLP(Model):
    """A multi-layer perceptron, the equivalent of ``torch.nn.Sequential(Linear, act, ...)``.

    Example::

        model = lamina.MLP(2, [64, 64], 1, activation="tanh")

    Args:
        input: input features.
        hidden: width of each hidden layer (a list, or one int for a single layer).
        output: outputs.
        activation: hidden activation: a name ("relu", "tanh", "silu", ...), an object such
            as ``{"name": "leaky_relu", "negative_slope": 0.1}``, or a list with one per
            hidden layer.
        output_activation: activation after the last layer (``"identity"``).
        seed: seed of the weight initialisation.
        **extra: further spec keys (``init``, ``bias_init``).

    """

    def __init__(
        self,
        input: int,
        hidden: Union[int, Sequence[int]],
        output: int,
        activation: Any = "relu",
        output_activation: Any = "identity",
        seed: int = 0,
        **extra: Any,
    ) -> None:
        hidden_list = [int(hidden)] if isinstance(hidden, (int, np.integer)) else list(hidden)
        spec: Dict[str, Any] = {
            "kind": "mlp",
            "input": int(input),
            "hidden": [int(width) for width in hidden_list],
            "output": int(output),
            "activation": activation,
            "output_activation": output_activation,
            "seed": int(seed),
        }
        spec.update(extra)
        super().__init__(spec)


#: The Python class of each model kind; the others are plain :class:`Model` objects.
_KIND_CLASSES: Dict[str, type] = {"mlp": MLP}


def register_kind(kind: str, cls: type) -> None:
    """Make :func:`load` and :meth:`Model.from_spec` return ``cls`` for models of ``kind``."""
    _KIND_CLASSES[kind] = cls


def to_json(value: Any, what: str = "spec") -> str:
    """Serialise a spec or config for the C side (numpy scalars and arrays allowed)."""

    def default(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            return item.tolist()
        raise TypeError(f"{what} value {item!r} of type {type(item).__name__} is not JSON")

    return json.dumps(value, default=default)


def _create(spec: Union[Mapping[str, Any], str]) -> ctypes.c_void_p:
    """Create a model from a spec and return the owned handle."""
    text = spec if isinstance(spec, str) else to_json(dict(spec), "spec")
    handle = ctypes.c_void_p()
    lib = _library.lib()
    _library.check(lib.lamina_model_create(text.encode("utf-8"), ctypes.byref(handle)))
    return handle


def load(path: PathLike) -> Model:
    """Load a model saved with :meth:`Model.save` (an :class:`MLP` or :class:`~lamina.KAN` by kind)."""
    return Model.load(path)


def loads(data: Union[bytes, bytearray, memoryview]) -> Model:
    """Load a model from the bytes of :meth:`Model.to_bytes` (an :class:`MLP` or :class:`~lamina.KAN` by kind)."""
    return Model.from_bytes(data)


def _model_from_bytes(data: bytes) -> Model:
    """Unpickle a model (:meth:`Model.__reduce__`)."""
    return Model.from_bytes(data)


def _to_numpy(value: Any) -> Any:
    """Accept torch tensors (on any device, with grad) as well as array-likes."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def _short(activation: Any) -> str:
    """Compact form of an activation for repr: 'tanh' rather than [{'name': 'tanh'}, ...]."""
    if isinstance(activation, dict) and list(activation) == ["name"]:
        return repr(activation["name"])
    if isinstance(activation, list) and activation and all(a == activation[0] for a in activation):
        return _short(activation[0])
    return repr(activation)
