"""Losses made of weighted terms, some on derivatives of the output: :class:`LossTerms`.

Each term is a dict: ``"loss"`` names the measure, ``"x"`` holds its points, one data key
holds its targets, and the rest are config keys (``weight``, ``batch_size``, ``metric``,
``a``, ``b``, ``c``; see "Loss terms" in lamina.h)::

    terms = [
        {"loss": "value", "x": surface, "y": np.zeros(len(surface)), "weight": 10},
        {"loss": "normal", "x": surface, "normals": normals},
        {"loss": "eikonal", "x": space, "weight": 0.1, "batch_size": 4096},
    ]
    history = model.fit_terms(terms, steps=2000, learning_rate=1e-3)
    history["eikonal"][-1], history.total[-1]

===========  ===================  =====================================================
loss         data key             measure
===========  ===================  =====================================================
value        ``y``                mean (f - y)^2 (metric ``"l1"``: mean abs)
boundary     ``y``                the same, named apart in the history
eikonal      (none)               mean (abs(grad f) - 1)^2
normal       ``normals``          mean (1 - cos(grad f, n)), or ``"l2"``
gradient     ``gradients``        mean (grad f - g)^2
laplacian    ``rhs``              mean (a f + b . grad f + c lap f - rhs)^2
===========  ===================  =====================================================

A term may also carry ``"name"``, its key in the history (default: its loss, numbered
from the second of a kind on: ``"value"``, ``"value_2"``).
"""

from __future__ import annotations

import ctypes
import math
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _library
from .errors import DivergenceWarning, InvalidArgumentError
from .model import Model, as_float32, to_json

__all__ = ["LossTerms", "TermsHistory", "DATA_KEYS"]

#: The key of each loss's targets in a term dict (None: the loss takes none).
DATA_KEYS: Dict[str, Optional[str]] = {
    "value": "y",
    "boundary": "y",
    "eikonal": None,
    "normal": "normals",
    "gradient": "gradients",
    "laplacian": "rhs",
}

_NUMERIC = 5
_CANCELLED = 8
_DIVERGED = "training diverged"


class TermsHistory(dict):
    """Per-step losses of :meth:`Trainer.fit_terms`: term name -> list of unweighted losses.

    Attributes:
        total: the objective (sum of weight * loss) of each step.
        stopped: ``True`` when the fit ended early (cancelled, or diverged with
            ``on_divergence="warn"``).
        reason: ``None``, ``"cancelled"``, or the library's divergence message.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__((name, []) for name in names)
        self.total: List[float] = []
        self.stopped = False
        self.reason: Optional[str] = None

    def __repr__(self) -> str:
        last = {k: (v[-1] if v else None) for k, v in self.items()}
        return f"TermsHistory(steps={len(self.total)}, last={last!r}, stopped={self.stopped})"


def _names(terms: Sequence[Mapping[str, Any]]) -> List[str]:
    seen: Dict[str, int] = {}
    names = []
    for term in terms:
        name = term.get("name")
        if name is None:
            loss = str(term.get("loss", "value"))
            seen[loss] = seen.get(loss, 0) + 1
            name = loss if seen[loss] == 1 else f"{loss}_{seen[loss]}"
        if name in names:
            raise InvalidArgumentError(f"two loss terms are named {name!r}")
        names.append(str(name))
    return names


class LossTerms:
    """Weighted loss terms with their points, for one model's widths (``lamina_loss_terms``).

    Made from a list of term dicts (see the module documentation); the points are copied
    into the library, so the arrays may be changed or freed afterwards.
    """

    def __init__(self, model: Model, terms: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(terms, Mapping):
            raise InvalidArgumentError("terms must be a list of term dicts, not one dict")
        terms = list(terms)
        if not terms:
            raise InvalidArgumentError("terms: no terms given")
        self.names = _names(terms)
        configs = []
        data: List[Tuple[np.ndarray, Optional[np.ndarray]]] = []
        in_dim, out_dim = model.input_dim, model.output_dim
        for i, term in enumerate(terms):
            if not isinstance(term, Mapping):
                raise InvalidArgumentError(f"loss term {i} must be a dict, not {type(term).__name__}")
            loss = str(term.get("loss", "value"))
            if loss not in DATA_KEYS:
                known = ", ".join(repr(k) for k in DATA_KEYS)
                raise InvalidArgumentError(f"loss term {i}: unknown loss {loss!r} (expected one of {known})")
            key = DATA_KEYS[loss]
            if "x" not in term:
                raise InvalidArgumentError(f"loss term {i} ({loss}) needs its points as 'x'")
            x = as_float32(term["x"], "x")
            if x.ndim == 1 and in_dim == 1:
                x = x.reshape(-1, 1)
            if x.ndim != 2 or x.shape[1] != in_dim:
                raise InvalidArgumentError(
                    f"loss term {i} ({loss}): x must have shape (n, {in_dim}), not {x.shape}"
                )
            targets = None
            if key is not None:
                if key not in term:
                    raise InvalidArgumentError(f"loss term {i} ({loss}) needs its targets as {key!r}")
                targets = np.ascontiguousarray(as_float32(term[key], key)).reshape(-1)
            others = [k for k in term if k not in ("x", "name", key)]
            for k in term:
                if k in DATA_KEYS.values() and k != key:
                    raise InvalidArgumentError(
                        f"loss term {i} ({loss}) takes {key!r} as its targets, not {k!r}"
                        if key else f"loss term {i} ({loss}) takes no targets, not {k!r}"
                    )
            configs.append({k: term[k] for k in others})
            data.append((np.ascontiguousarray(x), targets))
        lib = _library.lib()
        handle = ctypes.c_void_p()
        _library.check(
            lib.lamina_loss_terms_create(
                model._ptr, to_json(configs, "loss terms").encode("utf-8"), ctypes.byref(handle)
            )
        )
        self._handle = handle
        self.input_dim, self.output_dim = in_dim, out_dim
        for i, (x, targets) in enumerate(data):
            t_ptr = None if targets is None else _library.as_float_pointer(targets)
            _library.check(
                lib.lamina_loss_terms_set_points(
                    handle, i, _library.as_float_pointer(x), x.shape[0], t_ptr,
                    0 if targets is None else targets.size,
                )
            )

    @property
    def _ptr(self) -> ctypes.c_void_p:
        if not self._handle:
            raise InvalidArgumentError("loss terms have been closed")
        return self._handle

    @property
    def config(self) -> List[Dict[str, Any]]:
        """Every term's full config, every default filled in."""
        import json

        return json.loads(_library.read_text(_library.lib().lamina_loss_terms_config, self._ptr))

    def __len__(self) -> int:
        return len(self.names)

    def close(self) -> None:
        """Free the library's copy of the terms (also done when garbage collected)."""
        handle, self._handle = getattr(self, "_handle", None), ctypes.c_void_p()
        if handle:
            _library.lib().lamina_loss_terms_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def as_terms(model: Model, terms: Union[LossTerms, Sequence[Mapping[str, Any]]]) -> Tuple[LossTerms, bool]:
    """``terms`` as :class:`LossTerms` for ``model``, and whether they were made here."""
    if isinstance(terms, LossTerms):
        if (terms.input_dim, terms.output_dim) != (model.input_dim, model.output_dim):
            raise InvalidArgumentError("loss terms were made for a model of other widths")
        return terms, False
    return LossTerms(model, terms), True


def step_terms(trainer: Any, terms: LossTerms) -> Dict[str, float]:
    """One optimizer step on every term; each term's loss and ``"total"`` before it."""
    losses = (ctypes.c_float * len(terms))()
    total = ctypes.c_float(math.nan)
    _library.check(
        _library.lib().lamina_trainer_step_terms(
            trainer._ptr, terms._ptr, losses, len(terms), ctypes.byref(total)
        )
    )
    out = {name: float(v) for name, v in zip(terms.names, losses)}
    out["total"] = float(total.value)
    return out


def grid_options(
    terms: LossTerms,
    grid_update_every: int,
    grid_update_term: Union[int, str],
    stop_grid_update_step: Optional[int],
    grid_eps: Optional[float],
) -> Dict[str, Any]:
    """The options JSON object of ``lamina_trainer_fit_terms`` (grid updates); a term may be
    named by its history name."""
    if isinstance(grid_update_term, str):
        if grid_update_term not in terms.names:
            raise InvalidArgumentError(
                f"grid_update_term {grid_update_term!r} names no term (terms: {terms.names})"
            )
        grid_update_term = terms.names.index(grid_update_term)
    options: Dict[str, Any] = {"grid_update_every": grid_update_every,
                               "grid_update_term": grid_update_term}
    if stop_grid_update_step is not None:
        options["stop_grid_update_step"] = stop_grid_update_step
    if grid_eps is not None:
        options["grid_eps"] = grid_eps
    return options


def fit_terms(
    trainer: Any,
    terms: LossTerms,
    steps: int,
    progress: Union[bool, Callable[[Any], Any]],
    on_divergence: str,
    options: Optional[Dict[str, Any]] = None,
) -> TermsHistory:
    """``steps`` steps on every term (see :meth:`Trainer.fit_terms`)."""
    lib = _library.lib()
    text = to_json(options or {}, "fit_terms options").encode("utf-8")

    def call(callback: Any, rows: Any, cap: int, done: Any) -> int:
        return lib.lamina_trainer_fit_terms(
            trainer._ptr, terms._ptr, steps, text, callback, None, rows, cap, done
        )

    return run_term_fit(call, terms.names, list(range(1, len(terms) + 1)), len(terms) + 1,
                        steps, progress, on_divergence)


def run_term_fit(
    call: Callable[[Any, Any, int, Any], int],
    names: Sequence[str],
    columns: Sequence[int],
    width: int,
    steps: int,
    progress: Union[bool, Callable[[Any], Any]],
    on_divergence: str,
) -> TermsHistory:
    """Run a C call that fits loss terms and writes one history row of ``width`` floats per
    step (``call(callback, rows, cap, steps_done)``), with ``progress`` as a tqdm bar or the
    user's callback; term ``names[k]`` is column ``columns[k]`` of the rows (0: the
    objective). A cancelled run, or a diverged one with ``on_divergence="warn"``, returns
    the steps it completed, marked stopped; other errors raise."""
    from .trainer import Progress, _call_with_progress, _fit_bar, _user_stacklevel, check_on_divergence

    check_on_divergence(on_divergence)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise InvalidArgumentError(f"steps must be a positive integer, not {steps!r}")
    steps = int(steps)
    rows = np.full((steps, width), np.nan, dtype=np.float32)
    done = ctypes.c_size_t(0)
    bar = None
    user: Optional[Callable[[Any], Any]] = None
    if progress is True:
        bar = _fit_bar(steps, "step")
    elif callable(progress):
        user = progress
    elif progress not in (False, None):
        raise TypeError(f"progress must be True, False or a callable, not {type(progress).__name__}")

    def report(p: Any) -> bool:
        if bar is not None:
            bar.update(int(p.step) - bar.n)
            bar.set_postfix({"loss": f"{float(p.loss):.4g}"}, refresh=False)
        if user is None:
            return False
        info = Progress(
            step=int(p.step), steps=int(p.steps), epoch=0, epochs=0, loss=float(p.loss),
            val_loss=None, elapsed_seconds=float(p.elapsed_seconds),
        )
        return bool(user(info))

    status, message, stopped = _call_with_progress(
        lambda callback: call(
            callback, _library.as_float_pointer(rows), rows.size, ctypes.byref(done)
        ),
        report,
        bar,
    )
    history = TermsHistory(names)
    n = int(done.value)
    history.total = [float(v) for v in rows[:n, 0]]
    for name, column in zip(names, columns):
        history[name] = [float(v) for v in rows[:n, column]]
    if status == _CANCELLED and stopped:
        history.stopped, history.reason = True, "cancelled"
    elif status == _NUMERIC and _DIVERGED in message and on_divergence == "warn":
        warnings.warn(
            f"{message} (the model keeps the weights before that step; pass "
            "on_divergence='raise' to raise NumericError instead)",
            DivergenceWarning,
            stacklevel=_user_stacklevel(),
        )
        history.stopped, history.reason = True, message
    elif status != 0:
        from .errors import error_from_status

        raise error_from_status(status, message)
    return history
