"""Training: :class:`Trainer`, :class:`History` and :class:`Progress`.

A trainer holds the optimizer state, schedule, loss and scratch memory for one model, made
from keyword config keys (see ``lamina_trainer_create`` in lamina.h for every key and
default). While a trainer is in use, its model must not be used by anything else.

Interrupting: Ctrl-C during :meth:`Trainer.fit` stops training cleanly at the next progress
report (after the current epoch, or every ``progress_every`` steps), leaves the model with
the weights of the last completed step, and then raises ``KeyboardInterrupt``. An exception
raised by a ``progress`` callable likewise stops training and is re-raised once the library
has returned; exceptions never cross into C.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from . import _library
from .errors import DivergenceWarning, InvalidArgumentError, ShapeError, error_from_status
from .model import Model, as_float32, prepare_inputs, to_json

__all__ = ["History", "Progress", "Trainer", "check_on_divergence", "prepare_targets", "run_fit"]

_NUMERIC = 5
_CANCELLED = 8


@dataclass(frozen=True)
class Progress:
    """What a ``progress`` callable is told after every epoch (see ``lamina_progress``).

    Attributes:
        step: optimizer steps done so far in this fit.
        steps: optimizer steps this fit will do at most.
        epoch: epochs done so far (1 after the first).
        epochs: epochs this fit will do at most.
        loss: mean training loss of the last epoch.
        val_loss: loss on the validation split, or ``None`` when there is none.
        elapsed_seconds: wall time since the fit began.

    """

    step: int
    steps: int
    epoch: int
    epochs: int
    loss: float
    val_loss: Optional[float]
    elapsed_seconds: float


class History(list):
    """Per-epoch mean training losses (a ``list`` of floats) returned by ``fit``.

    Attributes:
        val_loss: per-epoch validation losses, one per entry of the list, when the fit had a
            validation split; an empty list otherwise.
        stopped: ``True`` when training ended before its last epoch for a reason below
            (early stopping by ``patience`` is a normal end and leaves it ``False``).
        reason: why it stopped: ``None`` for a normal end, ``"cancelled"`` when a
            ``progress`` callable asked to stop, or the library's divergence message
            (``"training diverged at step s of S (epoch e): ..."``) when a step's loss,
            gradient or update was not finite; the losses are those of the epochs before.
        learning_rate: the base learning rate (of the decoder, in a field fit).
        learning_rates: tensor name -> learning rate for the tensors trained at their own
            rate (a field fit's planes; the trainer's ``learning_rates``); empty otherwise.
        config: the trainer's full config (every default filled in), or ``{}``.

    """

    def __init__(
        self,
        losses: Iterable[float] = (),
        val_loss: Iterable[float] = (),
        stopped: bool = False,
        *,
        reason: Optional[str] = None,
        config: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(losses)
        self.val_loss: List[float] = list(val_loss)
        self.stopped: bool = stopped or reason is not None
        self.reason: Optional[str] = reason if reason is not None else (
            "cancelled" if stopped else None
        )
        self.config: Dict[str, Any] = dict(config or {})
        rate = self.config.get("learning_rate")
        self.learning_rate: Optional[float] = None if rate is None else float(rate)
        self.learning_rates: Dict[str, float] = {
            str(k): float(v) for k, v in dict(self.config.get("learning_rates", {})).items()
        }

    def __repr__(self) -> str:
        parts = [list.__repr__(self), f"val_loss={self.val_loss!r}"]
        if self.learning_rate is not None:
            parts.append(f"learning_rate={self.learning_rate:g}")
        if self.learning_rates:
            rates = ", ".join(f"{k!r}: {v:g}" for k, v in self.learning_rates.items())
            parts.append(f"learning_rates={{{rates}}}")
        if self.stopped:
            parts.append(f"stopped=True, reason={self.reason!r}")
        return f"History({', '.join(parts)})"


def prepare_targets(
    y: Any, batch_shape: Tuple[int, ...], output_dim: int, loss: str
) -> np.ndarray:
    """Convert targets to an ``(n, output_dim)`` float32 array matching ``batch_shape``.

    Accepted: shape ``batch_shape + (output_dim,)``; shape ``batch_shape`` when
    ``output_dim == 1``; and, for ``loss="cross_entropy"``, integer class labels of shape
    ``batch_shape`` (values in ``[0, output_dim)``), which become one-hot rows.
    """
    if isinstance(y, np.ndarray):
        raw = y
    else:
        try:
            raw = np.asarray(y)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"y is not a numeric array: {exc}") from exc
    is_int = raw.dtype.kind in "iu"
    if loss == "cross_entropy" and is_int and raw.shape == batch_shape:
        labels = raw.reshape(-1).astype(np.int64, copy=False)
        if labels.size and (labels.min() < 0 or labels.max() >= output_dim):
            bad = labels[(labels < 0) | (labels >= output_dim)][0]
            raise InvalidArgumentError(
                f"class label {int(bad)} is out of range for a model with {output_dim} outputs"
                f" (labels must be in [0, {output_dim}))"
            )
        one_hot = np.zeros((labels.size, output_dim), dtype=np.float32)
        one_hot[np.arange(labels.size), labels] = 1.0
        return one_hot
    array = as_float32(raw, "y")
    if array.shape == batch_shape + (output_dim,):
        return array.reshape(-1, output_dim)
    if output_dim == 1 and array.shape == batch_shape:
        return array.reshape(-1, 1)
    hint = ""
    if is_int and array.shape == batch_shape and loss != "cross_entropy":
        hint = "; integer class labels are accepted only with loss='cross_entropy'"
    raise ShapeError(
        f"y has shape {array.shape} but x holds {int(np.prod(batch_shape, dtype=np.int64))}"
        f" samples {batch_shape} and the model has {output_dim} outputs: expected"
        f" {batch_shape + (output_dim,)}{hint}"
    )


class _SigintGuard:
    """Turns Ctrl-C into a flag for the duration of a fit (main thread, default handler only)."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.pending = True

    def __enter__(self) -> "_SigintGuard":
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self._previous = signal.signal(signal.SIGINT, self._handle)
                    self._installed = True
            except (ValueError, OSError):  # e.g. embedded interpreters without signals
                self._installed = False
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


class _Recorder:
    """Collects one (loss, val_loss) per epoch from progress reports."""

    def __init__(self) -> None:
        self.losses: Dict[int, float] = {}
        self.val: Dict[int, float] = {}

    def record(self, info: Progress) -> None:
        if info.epoch == 0:
            return
        if info.epochs and info.steps and info.steps % info.epochs == 0:
            # With progress_every, reports also come mid-epoch: keep only epoch ends.
            if info.step != info.epoch * (info.steps // info.epochs):
                return
        elif info.epoch in self.losses:
            return
        self.losses[info.epoch] = float(info.loss)
        self.val[info.epoch] = math.nan if info.val_loss is None else float(info.val_loss)

    def history(self, reason: Optional[str], config: Dict[str, Any]) -> History:
        epochs = sorted(self.losses)
        val = [self.val[e] for e in epochs]
        if all(math.isnan(v) for v in val):
            val = []
        return History([self.losses[e] for e in epochs], val, reason=reason, config=config)


def _call_with_progress(
    run: Callable[[Any], int], report: Optional[Callable[[Any], bool]], bar: Any
) -> Tuple[int, str, bool]:
    """Run ``run(callback)``, a library call given a ``lamina_progress_fn``, to its end.

    ``report(progress)`` (a ``LaminaProgress``) is called on every progress report and stops
    the call by returning a true value. Ctrl-C stops it cleanly at the next report; an
    exception raised by ``report`` stops it too. Both are re-raised once the library has
    returned (exceptions never cross into C); ``bar`` (or None) is closed in any case.
    Returns the call's status, the library's message when it failed, and whether
    ``report`` stopped it.
    """
    guard = _SigintGuard()
    state: Dict[str, Any] = {"error": None, "stop": False}

    def on_progress(pointer: Any, user_data: Any) -> int:
        try:
            if report is not None and report(pointer.contents):
                state["stop"] = True
            return 1 if (state["stop"] or guard.pending) else 0
        except BaseException as exc:  # never let an exception cross into C
            if state["error"] is None:
                state["error"] = exc
            return 1

    callback = _library.PROGRESS_FN(on_progress)  # referenced until the call returns
    message = ""
    try:
        with guard:
            status = run(callback)
            if status != 0:
                message = _library.last_error()
    finally:
        if bar is not None:
            bar.close()
    del callback
    if state["error"] is not None:
        raise state.pop("error")
    if guard.pending:
        raise KeyboardInterrupt
    return status, message, bool(state["stop"])


def _run_with_progress(
    run: Callable[[Any], int], report: Optional[Callable[[Any], bool]], bar: Any
) -> bool:
    """:func:`_call_with_progress`, raising the library's error; returns whether ``report``
    stopped the call."""
    status, message, stopped = _call_with_progress(run, report, bar)
    if status == _CANCELLED and stopped:
        return True
    if status != 0:
        raise error_from_status(status, message)
    return False


def _fit_bar(total: int, unit: str) -> Any:
    """The progress bar of a fit: a tqdm bar of ``total`` steps or epochs (``unit``) when
    tqdm is installed, else None (tqdm is an optional extra)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=unit, desc="fit", dynamic_ncols=True)


def _make_reporter(progress: Any, epochs: int) -> Tuple[Optional[Callable[[Progress], bool]], Any]:
    """Return (reporter, bar): reporter(info) -> stop?; bar (or None) to close afterwards."""
    if progress is None or progress is False:
        return None, None
    if progress is True:
        bar = _fit_bar(epochs, "epoch")
        if bar is None:
            return None, None

        def show(info: Progress) -> bool:
            if info.epoch > bar.n:
                bar.update(info.epoch - bar.n)
            postfix = {"loss": f"{info.loss:.4g}"}
            if info.val_loss is not None:
                postfix["val_loss"] = f"{info.val_loss:.4g}"
            bar.set_postfix(postfix, refresh=True)
            return False

        return show, bar
    if callable(progress):
        return (lambda info: bool(progress(info))), None
    raise TypeError(f"progress must be True, False or a callable, not {type(progress).__name__}")


class Trainer:
    """Trains one model. ``Trainer(model, optimizer="adam", learning_rate=1e-3, ...)``.

    Every keyword is a trainer config key (defaults in lamina.h): optimizer ("sgd", "adam",
    "adamw", "lbfgs"), learning_rate, momentum, nesterov, beta1, beta2, epsilon,
    weight_decay, clip_norm, loss, huber_delta, schedule, warmup_steps, decay_steps, gamma,
    min_learning_rate, batch_size, epochs, shuffle, seed, validation_split, patience,
    restore_best, progress_every, lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff,
    reg_metric (KAN sparsity regularisation), truncation, learning_rates (a dict of tensor
    name -> rate), plane_tv, plane_l2 (tri-plane fields), singularity_avoiding, y_th
    (pykan's fit(singularity_avoiding=..., y_th=...)), and for lbfgs max_iter, history_size,
    tolerance_grad, tolerance_change, tolerance_ys, line_search. Unknown keys raise
    :class:`~lamina.errors.InvalidArgumentError`.
    """

    def __init__(self, model: Model, **config: Any) -> None:
        if not isinstance(model, Model):
            raise TypeError(f"model must be a lamina.Model, not {type(model).__name__}")
        text = to_json(config, "config")
        handle = ctypes.c_void_p()
        lib = _library.lib()
        _library.check(
            lib.lamina_trainer_create(model._ptr, text.encode("utf-8"), ctypes.byref(handle))
        )
        self._handle: ctypes.c_void_p = handle
        self._model = model  # the model must outlive the trainer on the Python side too
        full = self.config
        self._loss: str = str(full.get("loss", config.get("loss", "mse")))
        self._epochs: int = int(full.get("epochs", config.get("epochs", 10)))

    # ---- lifetime ------------------------------------------------------------------------
    @property
    def _ptr(self) -> ctypes.c_void_p:
        handle = getattr(self, "_handle", None)
        if handle is None or not handle.value:
            raise InvalidArgumentError("this trainer has been closed")
        return handle

    def close(self) -> None:
        """Free the library's trainer now (it is freed on garbage collection otherwise)."""
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._handle = ctypes.c_void_p()
            _library.lib().lamina_trainer_free(handle)

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # ---- description ---------------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The model this trainer changes."""
        return self._model

    @property
    def config(self) -> Dict[str, Any]:
        """The full config as a new dict, every default filled in."""
        return json.loads(_library.read_text(_library.lib().lamina_trainer_config, self._ptr))

    def __repr__(self) -> str:
        if getattr(self, "_handle", None) is None or not self._handle.value:
            return "<Trainer (closed)>"
        config = self.config
        keys = ("optimizer", "learning_rate", "loss", "batch_size", "epochs")
        inner = ", ".join(f"{k}={config[k]!r}" for k in keys if k in config)
        return f"Trainer({inner})"

    # ---- data ----------------------------------------------------------------------------
    def _prepare(self, x: Any, y: Any) -> Tuple[np.ndarray, np.ndarray, int]:
        model = self._model
        x2, batch_shape = prepare_inputs(x, model.input_dim)
        y2 = prepare_targets(y, batch_shape, model.output_dim, self._loss)
        return x2, y2, x2.shape[0]

    # ---- training ------------------------------------------------------------------------
    def step(self, x: Any, y: Any) -> float:
        """One optimizer step on the samples given as one batch; returns the loss before it."""
        return self._batch_loss("lamina_trainer_step", x, y)

    def evaluate(self, x: Any, y: Any) -> float:
        """Return the configured loss of the model on ``x``, ``y``; changes nothing."""
        return self._batch_loss("lamina_trainer_evaluate", x, y)

    def step_vjp(self, x: Any, dy: Any) -> float:
        """One optimizer step from a caller's ``dy = dL/dy`` at the current weights.

        For a loss Lamina does not have: predict, compute the loss's gradient with respect
        to the outputs, step. ``dy`` has the shape of ``model.predict(x)``. The trainer adds
        its own penalties (lamb, plane_tv, plane_l2), clips and updates as :meth:`step`;
        the configured loss is not used. Returns the value of those penalties (0 when
        none). lbfgs raises :class:`~lamina.errors.UnsupportedError` (it re-evaluates the
        loss at new weights). See :mod:`lamina.vjp`.
        """
        from .vjp import trainer_step_vjp

        return trainer_step_vjp(self, x, dy)

    def _batch_loss(self, function: str, x: Any, y: Any) -> float:
        """Calls the C function ``function(trainer, x, y, n, &loss)``; returns the loss."""
        x2, y2, n = self._prepare(x, y)
        loss = ctypes.c_float(math.nan)
        _library.check(
            getattr(_library.lib(), function)(
                self._ptr,
                _library.as_float_pointer(x2),
                _library.as_float_pointer(y2),
                n,
                ctypes.byref(loss),
            )
        )
        return float(loss.value)

    def fit(
        self,
        x: Any,
        y: Any,
        progress: Union[bool, Callable[[Progress], Any]] = True,
        on_divergence: str = "warn",
    ) -> History:
        """Train for the configured epochs and return the :class:`History`.

        Args:
            x: inputs, ``(n, input_dim)`` (see :mod:`lamina.model` for other shapes).
            y: targets, ``(n, output_dim)``, ``(n,)`` for one output, or integer class
                labels ``(n,)`` with ``loss="cross_entropy"``.
            progress: ``True`` shows a tqdm bar over epochs with loss and val_loss when tqdm
                is installed (nothing otherwise); ``False`` shows nothing; a callable is
                called with a :class:`Progress` after every epoch (and every
                ``progress_every`` steps) and stops training early, returning the history
                so far with ``history.stopped`` set, if it returns a true value.
            on_divergence: what a diverging fit (a non-finite loss, gradient or weight)
                does: ``"warn"`` (the default) issues a
                :class:`~lamina.errors.DivergenceWarning` and returns the history of the
                epochs before, with ``history.stopped`` true and ``history.reason`` the
                library's message; ``"raise"`` raises
                :class:`~lamina.errors.NumericError`. Either way the model keeps the last
                finite weights (those before the failing step).

        Raises:
            KeyboardInterrupt: after Ctrl-C, once training has stopped cleanly.
            LaminaError: any error from the library (NumericError for NaN or Inf in the
                data, and for divergence with ``on_divergence="raise"``).
            Exception: whatever a ``progress`` callable raised, after training stopped.

        """
        check_on_divergence(on_divergence)
        x2, y2, n = self._prepare(x, y)
        handle = self._ptr
        lib = _library.lib()

        def call(callback: Any, final_loss: Any) -> int:
            return lib.lamina_trainer_fit(
                handle,
                _library.as_float_pointer(x2),
                _library.as_float_pointer(y2),
                n,
                callback,
                None,
                final_loss,
            )

        return run_fit(call, self._epochs, progress, on_divergence, self.config)

    def step_terms(self, terms: Any) -> Dict[str, float]:
        """One optimizer step on a loss made of terms (see :mod:`lamina.terms`).

        ``terms`` is a list of term dicts or a :class:`~lamina.LossTerms`. Returns each
        term's unweighted loss by name, and ``"total"``, the objective, at the weights the
        step started from.
        """
        from .terms import as_terms, step_terms

        made, own = as_terms(self.model, terms)
        try:
            return step_terms(self, made)
        finally:
            if own:
                made.close()

    def fit_terms(
        self,
        terms: Any,
        steps: int,
        progress: Union[bool, Callable[[Progress], Any]] = True,
        on_divergence: str = "warn",
        grid_update_every: int = 0,
        grid_update_term: Union[int, str] = 0,
        stop_grid_update_step: Optional[int] = None,
        grid_eps: Optional[float] = None,
    ) -> Any:
        """``steps`` optimizer steps on a loss made of terms (see :mod:`lamina.terms`).

        Each step evaluates every term on its points (or on ``batch_size`` of them drawn
        afresh) and takes one step on the weighted sum. ``progress`` is ``True`` (a tqdm bar
        over steps when tqdm is installed), ``False``, or a callable given a
        :class:`Progress` after every step (every ``progress_every`` steps when that is
        set) that stops the fit by returning a true value. ``on_divergence`` as in
        :meth:`fit`. ``grid_update_every`` > 0 updates every B-spline KAN layer's grid from
        the points of term ``grid_update_term`` (an index or a history name) before every
        step that is a multiple of it and below ``stop_grid_update_step`` (None: no limit),
        with pykan's ``grid_eps`` (default 0.02), as pykan's PDE tutorials do. Returns a
        :class:`~lamina.TermsHistory`: per-term losses by name and ``.total``, one entry per
        completed step.
        """
        from .terms import as_terms, fit_terms, grid_options

        made, own = as_terms(self.model, terms)
        try:
            options = grid_options(
                made, grid_update_every, grid_update_term, stop_grid_update_step, grid_eps
            )
            return fit_terms(self, made, steps, progress, on_divergence, options)
        finally:
            if own:
                made.close()
    # ---- saved and resumed training --------------------------------------------------------
    def save_state(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the trainer's state to ``path`` (a safetensors file, replaced atomically).

        The state is what the trainer carries between calls: the optimizer's moments (or
        L-BFGS's memory), the schedule's position and the generator of ``fit``'s shuffles;
        not the weights, which :meth:`Model.save` writes. Resume with the model loaded from
        its file, a new trainer with the same optimizer settings and :meth:`load_state`:
        the run then continues bit for bit as if it had not stopped.
        """
        _library.check(
            _library.lib().lamina_trainer_save_state(self._ptr, _library.encode_path(path))
        )

    def load_state(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Replace the trainer's state with one :meth:`save_state` wrote.

        The state must be of a model with the same trainable tensors and of a trainer with
        the same optimizer settings ("optimizer" and its update rule's keys: see
        ``lamina_trainer_load_state`` in lamina.h); the learning rate, schedule, loss and
        epochs may differ and the resumed run uses this trainer's. Raises
        :class:`~lamina.errors.FormatError` for a truncated, damaged or foreign file (a
        model file too), :class:`~lamina.errors.ShapeError` for another model's state,
        :class:`~lamina.errors.InvalidArgumentError` for other optimizer settings and
        :class:`~lamina.errors.LaminaIOError` when the file cannot be read; on any error the
        trainer is unchanged.
        """
        _library.check(
            _library.lib().lamina_trainer_load_state(self._ptr, _library.encode_path(path))
        )


_ON_DIVERGENCE = ("warn", "raise")
_DIVERGED = "training diverged"


def check_on_divergence(on_divergence: str) -> None:
    """Refuse an ``on_divergence`` other than ``"warn"`` or ``"raise"``."""
    if on_divergence not in _ON_DIVERGENCE:
        raise InvalidArgumentError(
            f"on_divergence must be 'warn' or 'raise', not {on_divergence!r}"
        )


def _user_stacklevel() -> int:
    """Return the ``warnings`` stacklevel of the first caller outside this package.

    Counted from the function that calls this, so a warning points at the user's ``fit``.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame = frame.f_back
        level += 1
    return level


def run_fit(
    call: Callable[[Any, Any], int],
    epochs: int,
    progress: Union[bool, Callable[[Progress], Any]],
    on_divergence: str,
    config: Dict[str, Any],
) -> History:
    """Run a library fit call with progress reporting and return its :class:`History`.

    ``call(callback, final_loss_pointer)`` makes the C call (``lamina_trainer_fit``,
    ``lamina_model_fit_mesh``) with the ``lamina_progress_fn`` given and returns its status.
    Handles the progress bar or callable, Ctrl-C, exceptions raised by the callable, and
    divergence as ``on_divergence`` says (see :meth:`Trainer.fit`); ``config`` (the trainer
    config used) goes into the history.
    """
    check_on_divergence(on_divergence)
    reporter, bar = _make_reporter(progress, epochs)
    recorder = _Recorder()

    def report(p: Any) -> bool:
        val = float(p.validation_loss)
        info = Progress(
            step=int(p.step),
            steps=int(p.steps),
            epoch=int(p.epoch),
            epochs=int(p.epochs),
            loss=float(p.loss),
            val_loss=None if math.isnan(val) else val,
            elapsed_seconds=float(p.elapsed_seconds),
        )
        recorder.record(info)
        return reporter is not None and bool(reporter(info))

    final_loss = ctypes.c_float(math.nan)
    status, message, stopped = _call_with_progress(
        lambda callback: call(callback, ctypes.byref(final_loss)), report, bar
    )
    if status == _CANCELLED and stopped:
        return recorder.history("cancelled", config)
    if status == _NUMERIC and _DIVERGED in message and on_divergence == "warn":
        warnings.warn(
            f"{message} (the model keeps the weights before that step; pass "
            "on_divergence='raise' to raise NumericError instead)",
            DivergenceWarning,
            stacklevel=_user_stacklevel(),
        )
        return recorder.history(message, config)
    if status != 0:
        raise error_from_status(status, message)
    return recorder.history(None, config)
