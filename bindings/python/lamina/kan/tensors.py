"""torch at the boundary of :mod:`lamina.kan`: tensors in, tensors out, devices checked.

pykan scripts pass torch tensors and expect tensors back; numpy users pass arrays and get
arrays. torch (and sympy) stay optional: these helpers import them only when present.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

import numpy as np

from ..errors import InvalidArgumentError, UnsupportedError

_MISSING = object()
_cache: dict = {}


def _optional(name: str) -> Any:
    module = _cache.get(name, _MISSING)
    if module is _MISSING:
        try:
            module = importlib.import_module(name)
        except ImportError:
            module = None
        _cache[name] = module
    return module


def optional_torch() -> Any:
    """The torch module, or None when torch is not installed."""
    return _optional("torch")


def optional_sympy() -> Any:
    """The sympy module, or None when sympy is not installed."""
    return _optional("sympy")


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (False without torch)."""
    torch = _cache.get("torch")
    if torch is None or torch is _MISSING:
        if type(value).__module__.split(".")[0] != "torch":
            return False
        torch = optional_torch()
    return torch is not None and isinstance(value, torch.Tensor)


def to_numpy(value: Any) -> Any:
    """A torch tensor as a numpy array (detached, on the CPU); anything else unchanged."""
    if is_tensor(value):
        return value.detach().cpu().numpy()
    return value


def check_device(device: Any, what: str) -> None:
    """Accept pykan's ``device='cpu'`` (or ``torch.device('cpu')``); refuse any other."""
    if device is None:
        return
    name = str(device)
    if name != "cpu":
        raise UnsupportedError(
            f"{what}: device {name!r} is not supported: Lamina runs on the CPU only"
            " (use device='cpu')"
        )


def like(value: np.ndarray, template: Any) -> Any:
    """``value`` as a torch tensor of ``template``'s dtype when ``template`` is a tensor,
    else the numpy array itself (pykan returns tensors; numpy users keep numpy)."""
    if is_tensor(template):
        torch = optional_torch()
        dtype = template.dtype if template.is_floating_point() else torch.get_default_dtype()
        return torch.from_numpy(_contiguous(value)).to(dtype)
    return value


def default_float_tensor(value: np.ndarray) -> Any:
    """``value`` as a tensor of torch's default dtype when torch is installed, else numpy."""
    torch = optional_torch()
    if torch is None:
        return value
    return torch.from_numpy(_contiguous(value)).to(torch.get_default_dtype())


def _contiguous(value: np.ndarray) -> np.ndarray:
    """A C-contiguous array of value's shape (np.ascontiguousarray makes 0-d arrays 1-d)."""
    array = np.asarray(value)
    return array if array.flags.c_contiguous else array.copy()


def scalar(value: float) -> np.ndarray:
    """A 0-d float32 numpy array, what pykan's ``fit`` records per step (``.item()`` works)."""
    return np.array(value, dtype=np.float32)


def check_index(value: Any, what: str) -> int:
    """A non-negative integer index (numpy and torch integers accepted)."""
    if is_tensor(value):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InvalidArgumentError(f"{what} must be a non-negative integer, not {value!r}")
    return int(value)


def optional_array(value: Any) -> Optional[np.ndarray]:
    """``value`` (array, tensor, list) as a numpy array, or None."""
    if value is None:
        return None
    return np.asarray(to_numpy(value))
