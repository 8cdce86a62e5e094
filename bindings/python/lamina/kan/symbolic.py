"""pykan's symbolic library (``SYMBOLIC_LIB``, ``add_symbolic``) and its (a, b) search.

``SYMBOLIC_LIB`` maps a name to pykan's 4-tuple ``(function, sympy function, complexity,
singularity-avoiding function)``. The functions act on torch tensors when torch is
installed (as pykan's) and on numpy arrays otherwise. The engine has its own copy of the
built-in entries (``lamina_kan_symbolic_library``); names added with :func:`add_symbolic`
exist only here, so they can be suggested but not fixed on an edge (the engine could not
evaluate them).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import InvalidArgumentError
from .tensors import optional_sympy, optional_torch

__all__ = ["SYMBOLIC_LIB", "add_symbolic", "fit_params", "evaluate_numpy"]

# name: (numpy function, complexity), in pykan 0.2.8's order (kan/utils.py). The order
# matters: suggest_symbolic breaks score ties by it, as pykan's argsort does.
_BUILTIN: Dict[str, Tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "x": (lambda x: x, 1),
    "x^2": (lambda x: x**2, 2),
    "x^3": (lambda x: x**3, 3),
    "x^4": (lambda x: x**4, 3),
    "x^5": (lambda x: x**5, 3),
    "1/x": (lambda x: 1 / x, 2),
    "1/x^2": (lambda x: 1 / x**2, 2),
    "1/x^3": (lambda x: 1 / x**3, 3),
    "1/x^4": (lambda x: 1 / x**4, 4),
    "1/x^5": (lambda x: 1 / x**5, 5),
    "sqrt": (np.sqrt, 2),
    "x^0.5": (np.sqrt, 2),
    "x^1.5": (lambda x: np.sqrt(x) ** 3, 4),
    "1/sqrt(x)": (lambda x: 1 / np.sqrt(x), 2),
    "1/x^0.5": (lambda x: 1 / np.sqrt(x), 2),
    "exp": (np.exp, 2),
    "log": (np.log, 2),
    "abs": (np.abs, 3),
    "sin": (np.sin, 2),
    "cos": (np.cos, 2),
    "tan": (np.tan, 3),
    "tanh": (np.tanh, 3),
    "sgn": (np.sign, 3),
    "arcsin": (np.arcsin, 4),
    "arccos": (np.arccos, 4),
    "arctan": (np.arctan, 4),
    "arctanh": (np.arctanh, 4),
    "0": (lambda x: x * 0, 0),
    "gaussian": (lambda x: np.exp(-(x**2)), 3),
}

# The sympy form of each built-in, as text with "z" for the argument (parsed lazily, so
# that sympy stays optional).
_SYMPY_TEXT = {
    "x": "z", "x^2": "z**2", "x^3": "z**3", "x^4": "z**4", "x^5": "z**5", "1/x": "1/z",
    "1/x^2": "1/z**2", "1/x^3": "1/z**3", "1/x^4": "1/z**4", "1/x^5": "1/z**5",
    "sqrt": "sqrt(z)", "x^0.5": "sqrt(z)", "x^1.5": "sqrt(z)**3", "1/sqrt(x)": "1/sqrt(z)",
    "1/x^0.5": "1/sqrt(z)", "exp": "exp(z)", "log": "log(z)", "abs": "Abs(z)", "sin": "sin(z)",
    "cos": "cos(z)", "tan": "tan(z)", "tanh": "tanh(z)", "sgn": "sign(z)", "arcsin": "asin(z)",
    "arccos": "acos(z)", "arctan": "atan(z)", "arctanh": "atanh(z)", "0": "0*z",
    "gaussian": "exp(-z**2)",
}

# Names added by add_symbolic: name -> the user's function (numpy- or torch-written).
_CUSTOM: Dict[str, Callable[[Any], Any]] = {}


def _torch_function(name: str) -> Callable[[Any], Any]:
    """The torch form of a built-in (pykan's first tuple entry), made when torch exists."""
    torch = optional_torch()
    table = {
        "sqrt": torch.sqrt, "x^0.5": torch.sqrt, "exp": torch.exp, "log": torch.log,
        "abs": torch.abs, "sin": torch.sin, "cos": torch.cos, "tan": torch.tan,
        "tanh": torch.tanh, "sgn": torch.sign, "arcsin": torch.arcsin,
        "arccos": torch.arccos, "arctan": torch.arctan, "arctanh": torch.arctanh,
    }
    if name in table:
        return table[name]
    if name == "x^1.5":
        return lambda x: torch.sqrt(x) ** 3
    if name in ("1/sqrt(x)", "1/x^0.5"):
        return lambda x: 1 / torch.sqrt(x)
    if name == "gaussian":
        return lambda x: torch.exp(-(x**2))
    return _BUILTIN[name][0]  # polynomials, 1/x^k and "0" are written with operators only


def _sympy_function(name: str) -> Any:
    """The sympy form of a built-in as a one-argument callable, or None without sympy."""
    sympy = optional_sympy()
    if sympy is None:
        return None
    z = sympy.Symbol("z")
    expression = sympy.sympify(_SYMPY_TEXT[name])
    return lambda u: expression.subs(z, u)


def _entry(name: str) -> Tuple[Any, Any, int, Any]:
    function = _BUILTIN[name][0] if optional_torch() is None else _torch_function(name)
    plain = function
    return (function, _sympy_function(name), _BUILTIN[name][1], lambda x, y_th=None: ((), plain(x)))


#: pykan's ``SYMBOLIC_LIB``: name -> (function, sympy function, complexity,
#: singularity-avoiding function). Edit it through :func:`add_symbolic`.
SYMBOLIC_LIB: Dict[str, Tuple[Any, Any, int, Any]] = {name: _entry(name) for name in _BUILTIN}


def add_symbolic(
    name: str, fun: Callable[[Any], Any], c: int = 1, fun_singularity: Optional[Callable] = None
) -> None:
    """Add a function to :data:`SYMBOLIC_LIB`, as pykan's ``add_symbolic(name, fun, c)``.

    ``fun`` may be written for numpy or for torch (``torch.special.bessel_j0``): it is
    called with a numpy array first and with a torch tensor if that raises ``TypeError``.
    ``c`` is its complexity. Added functions take part in :meth:`KAN.suggest_symbolic` and
    :meth:`KAN.auto_symbolic`'s search, but an edge can only be fixed to a function the
    engine knows (the built-ins): fixing one of these raises ``UnsupportedError``.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError("add_symbolic: name must be a non-empty string")
    if not callable(fun):
        raise InvalidArgumentError(f"add_symbolic: fun must be callable, not {type(fun).__name__}")
    sympy = optional_sympy()
    sym = None if sympy is None else sympy.Function(name)
    _CUSTOM[name] = fun
    avoid = fun_singularity if fun_singularity is not None else (lambda x, y_th=None: ((), fun(x)))
    SYMBOLIC_LIB[name] = (fun, sym, int(c), avoid)


def is_builtin(name: str) -> bool:
    """Whether the engine can evaluate ``name`` (a built-in not replaced by add_symbolic)."""
    return name in _BUILTIN and name not in _CUSTOM


def evaluate_numpy(name: str, u: np.ndarray) -> np.ndarray:
    """The library function ``name`` at ``u`` as a float64 numpy array (NaN where undefined)."""
    with np.errstate(all="ignore"):
        if name in _CUSTOM:
            return _call_custom(_CUSTOM[name], u)
        if name not in _BUILTIN:
            raise InvalidArgumentError(
                f"unknown symbolic function {name!r} (known: {', '.join(SYMBOLIC_LIB)})"
            )
        return np.asarray(_BUILTIN[name][0](np.asarray(u, dtype=np.float64)), dtype=np.float64)


def _call_custom(fun: Callable[[Any], Any], u: np.ndarray) -> np.ndarray:
    try:
        value = fun(u)
    except TypeError:
        torch = optional_torch()
        if torch is None:
            raise
        value = fun(torch.from_numpy(np.ascontiguousarray(u)))
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def fit_params(
    x: Any,
    y: Any,
    fun: Any,
    a_range: Sequence[float] = (-10, 10),
    b_range: Sequence[float] = (-10, 10),
    grid_number: int = 101,
    iteration: int = 3,
    verbose: bool = True,
    device: str = "cpu",
) -> Tuple[np.ndarray, float]:
    """Fit ``y ~ c * fun(a * x + b) + d``, as pykan's ``fit_params``.

    (a, b) come from a ``grid_number`` x ``grid_number`` grid over ``a_range`` x ``b_range``
    maximising R^2 (the squared correlation, with pykan's 1e-4 in the denominator), zoomed
    ``iteration`` times around the best point; then (c, d) by least squares. ``fun`` is a
    library name or a callable. Returns ``(array [a, b, c, d], r2)``. Computed in float64
    numpy; used for added functions and ranges the engine's search does not cover.
    """
    from .tensors import check_device, to_numpy

    check_device(device, "fit_params")
    xs = np.asarray(to_numpy(x), dtype=np.float64).reshape(-1)
    ys = np.asarray(to_numpy(y), dtype=np.float64).reshape(-1)
    if isinstance(fun, str):
        name = fun
        evaluate = lambda u: evaluate_numpy(name, u)  # noqa: E731
    else:
        evaluate = lambda u: _call_custom(fun, u)  # noqa: E731
    lo_a, hi_a = float(a_range[0]), float(a_range[1])
    lo_b, hi_b = float(b_range[0]), float(b_range[1])
    centred_y = ys - ys.mean()
    y_square = float(np.sum(centred_y**2))
    for it in range(int(iteration)):
        a_values = np.linspace(lo_a, hi_a, int(grid_number))
        b_values = np.linspace(lo_b, hi_b, int(grid_number))
        r2 = np.empty((a_values.size, b_values.size))
        for row, a in enumerate(a_values):  # one row of the grid at a time bounds memory
            with np.errstate(all="ignore"):
                post = evaluate(a * xs[:, None] + b_values[None, :])
                centred = post - post.mean(axis=0, keepdims=True)
                numerator = np.sum(centred * centred_y[:, None], axis=0) ** 2
                denominator = np.sum(centred**2, axis=0) * y_square
                r2[row] = np.nan_to_num(numerator / (denominator + 1e-4))
        best = int(np.argmax(r2))
        ia, ib = divmod(best, int(grid_number))
        last = int(grid_number) - 1
        if ia in (0, last) or ib in (0, last):
            if it == 0 and verbose:
                print("Best value at boundary.")
            if ia == 0:
                lo_a, hi_a = a_values[0], a_values[1]
            if ia == last:
                lo_a, hi_a = a_values[-2], a_values[-1]
            if ib == 0:
                lo_b, hi_b = b_values[0], b_values[1]
            if ib == last:
                lo_b, hi_b = b_values[-2], b_values[-1]
        else:
            lo_a, hi_a = a_values[ia - 1], a_values[ia + 1]
            lo_b, hi_b = b_values[ib - 1], b_values[ib + 1]
    a_best, b_best, r2_best = float(a_values[ia]), float(b_values[ib]), float(r2[ia, ib])
    if verbose:
        print(f"r2 is {r2_best}")
        if r2_best < 0.9:
            print("r2 is not very high, please double check if you are choosing the correct"
                  " symbolic function.")
    with np.errstate(all="ignore"):
        post = np.nan_to_num(evaluate(a_best * xs + b_best))
    design = np.stack([post, np.ones_like(post)], axis=1)
    (c_best, d_best), *_ = np.linalg.lstsq(design, ys, rcond=None)
    return np.array([a_best, b_best, c_best, d_best]), r2_best
