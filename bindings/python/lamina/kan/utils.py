"""pykan's ``kan.utils``: ``create_dataset``, ``create_dataset_from_data``, ``ex_round``,
``sparse_mask``, and the symbolic library (``SYMBOLIC_LIB``, ``add_symbolic``,
``fit_params``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..kan_model import create_dataset as _numpy_dataset
from .symbolic import SYMBOLIC_LIB, add_symbolic, fit_params
from .tensors import check_device, default_float_tensor, is_tensor, optional_sympy, optional_torch

__all__ = [
    "SYMBOLIC_LIB",
    "add_symbolic",
    "create_dataset",
    "create_dataset_from_data",
    "ex_round",
    "fit_params",
    "sparse_mask",
]


def create_dataset(
    f: Callable[[Any], Any],
    n_var: int = 2,
    f_mode: str = "col",
    ranges: Any = (-1, 1),
    train_num: int = 1000,
    test_num: int = 1000,
    normalize_input: bool = False,
    normalize_label: bool = False,
    device: Any = "cpu",
    seed: int = 0,
) -> Dict[str, Any]:
    """pykan's ``create_dataset``: samples of ``f`` on a box.

    With torch installed this draws exactly pykan's samples (``torch.manual_seed(seed)``,
    then ``torch.rand`` column by column, training before test) in torch's default dtype
    and returns tensors, so pykan's figures can be compared one to one. Without torch the
    draws are numpy's (:func:`lamina.create_dataset`) and the parts are float32 arrays.
    ``f_mode='row'`` passes ``f`` the transposed inputs.
    """
    check_device(device, "create_dataset")
    if f_mode not in ("col", "row"):
        raise InvalidArgumentError(f"create_dataset: f_mode {f_mode!r} not recognized ('col' or 'row')")
    torch = optional_torch()
    if torch is None:
        g = f if f_mode == "col" else (lambda x: f(x.T))
        return _numpy_dataset(g, n_var=n_var, ranges=list(ranges) if not np.ndim(ranges) == 2 else ranges,
                              train_num=train_num, test_num=test_num, seed=seed,
                              normalize_input=normalize_input, normalize_label=normalize_label)
    if isinstance(n_var, bool) or not isinstance(n_var, (int, np.integer)) or n_var < 1:
        raise InvalidArgumentError(f"create_dataset: n_var must be a positive integer, not {n_var!r}")
    np.random.seed(seed)
    torch.manual_seed(seed)
    bounds = np.array(ranges, dtype=np.float64)
    if bounds.ndim == 1:
        bounds = np.array(list(bounds) * n_var).reshape(n_var, 2)
    if bounds.shape != (n_var, 2):
        raise InvalidArgumentError(f"create_dataset: ranges must be [lo, hi] or {n_var} such pairs")
    train_input = torch.zeros(train_num, n_var)
    test_input = torch.zeros(test_num, n_var)
    for i in range(n_var):
        lo, hi = bounds[i]
        train_input[:, i] = torch.rand(train_num) * (hi - lo) + lo
        test_input[:, i] = torch.rand(test_num) * (hi - lo) + lo
    if f_mode == "col":
        train_label, test_label = f(train_input), f(test_input)
    else:
        train_label, test_label = f(train_input.T), f(test_input.T)
    train_label, test_label = _tensor(train_label, torch), _tensor(test_label, torch)
    if train_label.ndim == 1:
        train_label, test_label = train_label.unsqueeze(1), test_label.unsqueeze(1)
    if normalize_input:
        mean, std = train_input.mean(0, keepdim=True), train_input.std(0, keepdim=True)
        train_input, test_input = (train_input - mean) / std, (test_input - mean) / std
    if normalize_label:
        mean, std = train_label.mean(0, keepdim=True), train_label.std(0, keepdim=True)
        train_label, test_label = (train_label - mean) / std, (test_label - mean) / std
    return {"train_input": train_input, "test_input": test_input,
            "train_label": train_label, "test_label": test_label}


def _tensor(value: Any, torch: Any) -> Any:
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))


def create_dataset_from_data(inputs: Any, labels: Any, train_ratio: float = 0.8, device: Any = "cpu") -> Dict[str, Any]:
    """pykan's ``create_dataset_from_data``: a random split (numpy's global generator, as
    pykan) of given inputs and labels."""
    check_device(device, "create_dataset_from_data")
    num = inputs.shape[0]
    train_id = np.random.choice(num, int(num * train_ratio), replace=False)
    test_id = np.array(sorted(set(range(num)) - set(train_id.tolist())), dtype=np.int64)

    def part(values: Any, ids: np.ndarray) -> Any:
        return values[ids].detach() if is_tensor(values) else np.asarray(values)[ids]

    return {"train_input": part(inputs, train_id), "test_input": part(inputs, test_id),
            "train_label": part(labels, train_id), "test_label": part(labels, test_id)}


def ex_round(ex1: Any, n_digit: int) -> Any:
    """Round every number in the sympy expression ``ex1`` to ``n_digit`` decimals.

    As pykan's, but repeated until no number changes: replacing one number can let sympy
    fold others into a new one (``(a*x + 0.0)**2`` becomes ``a**2*x**2``), which a single
    pass (pykan's) leaves unrounded.
    """
    sympy = optional_sympy()
    if sympy is None:
        raise ImportError("ex_round needs sympy: pip install sympy")
    ex2 = ex1
    for _ in range(16):  # each pass only rounds; a few passes reach the fixed point
        before = ex2
        for node in sympy.preorder_traversal(before):
            if isinstance(node, sympy.Float):
                ex2 = ex2.subs(node, round(node, n_digit))
        if ex2 == before:
            break
    return ex2


def sparse_mask(in_dim: int, out_dim: int) -> Any:
    """pykan's sparse_init mask (in_dim, out_dim): each input joins its nearest output and
    each output its nearest input."""
    from .multkan import _sparse_mask

    return default_float_tensor(_sparse_mask(int(in_dim), int(out_dim)))
