"""Kolmogorov-Arnold networks with pykan's interface: :class:`KAN`, :func:`create_dataset`.

Example (pykan's tutorial, with Adam)::

    import numpy as np
    import lamina

    f = lambda x: np.exp(np.sin(np.pi * x[:, [0]]) + x[:, [1]] ** 2)
    dataset = lamina.create_dataset(f, n_var=2)
    model = lamina.KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
    results = model.fit(dataset, opt="Adam", steps=300, lr=0.05)
    print(results["train_loss"][-1], results["test_loss"][-1])   # RMSE, as pykan

A :class:`KAN` is an ordinary :class:`~lamina.Model` built from the ``"kan"`` spec, so
``predict``, ``gradient``, ``save``, :func:`lamina.load`, ``state_dict`` and
:class:`~lamina.Trainer` all work on it. With the default B-spline basis its tensors are
named as pykan's ``KANLayer`` (``"0.coef"`` [in, out, G + k], ``"0.scale_base"``,
``"0.scale_sp"`` and the buffers ``"0.grid"`` [in, G + 2k + 1] and ``"0.mask"``), so weights
move to and from pykan's ``act_fun.<l>.*`` tensors by renaming only. The other bases
(``"chebyshev"``, ``"fourier"``, ``"rbf"``, ``"rational"``; see ``lamina_model_create`` in
lamina.h) name theirs as ChebyKAN, FourierKAN, FastKAN and KAT do, and ``basis`` may be a
list with one basis per layer::

    lamina.KAN(width=[2, 5, 1], basis="chebyshev", degree=8)
    lamina.KAN(width=[2, 5, 1], basis=["bspline", {"name": "rbf", "grid": 6}])
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import InvalidArgumentError, ShapeError, UnsupportedError
from .model import Model, _to_numpy, as_float32, register_kind

__all__ = ["KAN", "create_dataset"]

#: pykan's optimizer names (any case) and the Lamina optimizers they map to.
_OPTIMIZERS = {"adam": "adam", "adamw": "adamw", "sgd": "sgd"}


class KAN(Model):
    """A Kolmogorov-Arnold network, the equivalent of pykan's ``KAN(width=..., grid=..., k=...)``.

    Example::

        model = lamina.KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
        cheby = lamina.KAN(width=[2, 5, 1], basis="chebyshev", degree=8)

    Args:
        width: neurons per layer, input first (``[2, 5, 1]``): one KAN layer per
            consecutive pair.
        grid: the basis's ``"grid"`` key: B-spline intervals G (1 to 10000; default 5 —
            pykan's ``KAN()`` default is 3), Fourier frequencies (default 5) or RBF centres
            (default 8). Left out when ``None``, so the basis's default applies.
        k: B-spline order (degree; 3 = cubic, 0 to 10), the spec's ``"order"``; only for
            ``basis="bspline"``.
        basis: the edge function family: ``"bspline"`` (pykan's), ``"chebyshev"``,
            ``"fourier"``, ``"rbf"``, ``"rational"``; or a list with one entry per layer,
            each a name or a dict ``{"name": ..., <that basis's keys>}`` (the basis keys
            then go in the entries, not in ``grid``/``k``/``grid_range``/``**extra``).
        grid_range: ``[lo, hi]`` of the initial B-spline grid, or the first and last RBF
            centre. Left out when ``None`` (B-splines: [-1, 1]; RBF: [-2, 2]).
        seed: seed of the initialisation (Lamina's portable generator, so weights differ
            from pykan's for the same seed but agree across Lamina's C, Python and Swift).
        **extra: further spec keys, passed through: the basis's own keys
            (``noise_scale``, ``scale_base_mu``, ``scale_base_sigma`` for B-splines;
            ``degree`` for Chebyshev; ``smooth_init``, ``bias`` for Fourier; ``normalize``,
            ``base`` for RBF; ``groups``, ``init``, ``bias`` for rational).

    Differences from pykan: no symbolic branch, no multiplication nodes, no per-node
    affine parameters (identity in pykan by default), and :meth:`fit` does not update
    the grid from samples.
    """

    def __init__(
        self,
        width: Optional[Sequence[int]] = None,
        grid: Optional[int] = None,
        k: Optional[int] = None,
        basis: Union[str, Sequence[Union[str, Mapping[str, Any]]]] = "bspline",
        grid_range: Optional[Sequence[float]] = None,
        seed: int = 0,
        **extra: Any,
    ) -> None:
        if width is None:
            raise InvalidArgumentError("KAN needs width, e.g. KAN(width=[2, 5, 1])")
        try:
            widths = [int(w) for w in width]
            bounds = None if grid_range is None else [float(v) for v in grid_range]
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"KAN: width must be a list of integers and grid_range [lo, hi]: {exc}"
            ) from exc
        if isinstance(basis, str):
            basis_value: Any = basis
        elif isinstance(basis, Sequence):
            basis_value = [dict(b) if isinstance(b, Mapping) else b for b in basis]
        else:
            raise InvalidArgumentError(
                f"KAN: basis must be a name or a list of names/dicts, not {type(basis).__name__}"
            )
        if k is not None and basis_value != "bspline":
            raise InvalidArgumentError(
                f"KAN: k is the B-spline order and applies to basis='bspline' only; basis"
                f" {basis_value!r} takes its own keys (e.g. degree=8 for 'chebyshev', or in"
                f" the entries of a list)"
            )
        spec: Dict[str, Any] = {"kind": "kan", "widths": widths, "basis": basis_value}
        if grid is not None:
            spec["grid"] = grid
        if k is not None:
            spec["order"] = k
        if bounds is not None:
            spec["grid_range"] = bounds
        spec["seed"] = seed
        spec.update(extra)
        super().__init__(spec)

    @property
    def width(self) -> List[int]:
        """Neurons per layer, input first (the spec's ``widths``)."""
        return [int(w) for w in self.spec["widths"]]

    @property
    def basis(self) -> Union[str, List[Dict[str, Any]]]:
        """The spec's ``basis``: a name, or one dict per layer with every key filled in."""
        return self.spec["basis"]

    @property
    def grid(self) -> Optional[int]:
        """The basis's ``"grid"`` every layer was made with (B-spline intervals G, Fourier
        frequencies, RBF centres); ``None`` for bases without one and per-layer lists."""
        value = self.spec.get("grid")
        return None if value is None else int(value)

    @property
    def k(self) -> Optional[int]:
        """The spline order (pykan's ``k``); ``None`` unless every layer is a B-spline one."""
        value = self.spec.get("order")
        return None if value is None else int(value)

    def __repr__(self) -> str:
        if getattr(self, "_handle", None) is None or not self._handle.value:
            return "<KAN (closed)>"
        spec = self.spec
        basis = spec.get("basis")
        if basis == "bspline":
            return (
                f"KAN(width={spec.get('widths')}, grid={spec.get('grid')}, k={spec.get('order')},"
                f" basis={basis!r}, parameters={self.parameter_count})"
            )
        if isinstance(basis, list):
            names = [entry.get("name") if isinstance(entry, dict) else entry for entry in basis]
            keys = f"basis={names!r}"
        else:
            own = (f"{key}={value!r}" for key, value in spec.items()
                   if key not in ("kind", "widths", "basis", "seed"))
            keys = ", ".join([f"basis={basis!r}", *own])
        return f"KAN(width={spec.get('widths')}, {keys}, parameters={self.parameter_count})"

    def fit(  # type: ignore[override]
        self,
        dataset: Mapping[str, Any],
        opt: str = "Adam",
        steps: int = 100,
        lr: float = 1e-3,
        batch: int = -1,
        progress: Union[bool, Callable[[int, float, float], Any]] = True,
        **config: Any,
    ) -> Dict[str, List[float]]:
        """Train on a pykan-style dataset for ``steps`` optimizer steps, as pykan's ``fit``.

        Args:
            dataset: a dict with ``train_input``, ``train_label``, ``test_input`` and
                ``test_label`` (numpy arrays or torch tensors; see :func:`create_dataset`).
            opt: ``"Adam"`` (also ``"AdamW"``, ``"SGD"``); pykan's default ``"LBFGS"``
                is not available and raises :class:`~lamina.UnsupportedError`.
            steps: optimizer steps.
            lr: learning rate.
            batch: rows per step, drawn at random without replacement each step (as
                pykan); ``-1`` (or more than the training rows) uses every row.
            progress: ``True`` shows a tqdm bar when tqdm is installed, ``False`` nothing; a
                callable is called as ``progress(step, train_loss, test_loss)`` after every
                step and stops training when it returns a true value.
            **config: further trainer config keys (``loss``, ``weight_decay``, ``clip_norm``,
                ``schedule``, ``seed`` — which also seeds the batch draws, ...).

        Returns:
            ``{"train_loss": [...], "test_loss": [...]}``, one float per step: the
            training loss of the step's batch before the update and the loss on the whole
            test set after it, as root mean squared errors for the default ``"mse"`` loss
            (pykan reports RMSE) and as the loss itself for other losses.
        """
        name = str(opt).lower()
        if name == "lbfgs":
            raise UnsupportedError(
                "KAN.fit: opt='LBFGS' is not available in Lamina; use opt='Adam' (with a larger"
                " lr, e.g. 1e-2)"
            )
        if name not in _OPTIMIZERS:
            raise InvalidArgumentError(
                f"KAN.fit: unknown opt {opt!r} (known: 'Adam', 'AdamW', 'SGD')"
            )
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise InvalidArgumentError(f"KAN.fit: steps must be a non-negative integer, not {steps!r}")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or (
            batch <= 0 and batch != -1
        ):
            raise InvalidArgumentError(f"KAN.fit: batch must be -1 or a positive integer, not {batch!r}")
        for key in ("learning_rate", "optimizer"):
            if key in config:
                raise InvalidArgumentError(f"KAN.fit: pass {key!r} as {'lr' if key == 'learning_rate' else 'opt'}")
        train_x, train_y = _split(dataset, "train", self.input_dim, self.output_dim)
        test_x, test_y = _split(dataset, "test", self.input_dim, self.output_dim)

        from .trainer import Trainer

        rms = config.get("loss", "mse") == "mse"
        rng = np.random.default_rng(int(config.get("seed", 0)))
        n = train_x.shape[0]
        rows = n if batch == -1 or batch >= n else int(batch)
        results: Dict[str, List[float]] = {"train_loss": [], "test_loss": []}
        bar = None
        if progress is True:
            try:
                from tqdm.auto import tqdm

                bar = tqdm(total=steps, unit="step", desc="fit", dynamic_ncols=True)
            except ImportError:
                bar = None
        elif progress is not False and not callable(progress):
            raise TypeError(
                f"progress must be True, False or a callable, not {type(progress).__name__}"
            )
        trainer = Trainer(self, optimizer=_OPTIMIZERS[name], learning_rate=float(lr), **config)
        try:
            for step in range(int(steps)):
                if rows == n:
                    loss = trainer.step(train_x, train_y)
                else:
                    ids = rng.choice(n, rows, replace=False)
                    loss = trainer.step(train_x[ids], train_y[ids])
                test = trainer.evaluate(test_x, test_y)
                train_value = math.sqrt(max(loss, 0.0)) if rms else loss
                test_value = math.sqrt(max(test, 0.0)) if rms else test
                results["train_loss"].append(train_value)
                results["test_loss"].append(test_value)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        {"train_loss": f"{train_value:.2e}", "test_loss": f"{test_value:.2e}"},
                        refresh=False,
                    )
                elif callable(progress) and progress(step + 1, train_value, test_value):
                    break
        finally:
            if bar is not None:
                bar.close()
            trainer.close()
        return results


register_kind("kan", KAN)


def _split(
    dataset: Mapping[str, Any], part: str, input_dim: int, output_dim: int
) -> "tuple[np.ndarray, np.ndarray]":
    """The (inputs, labels) of one part of a pykan-style dataset, as float32 2-D arrays."""
    if not isinstance(dataset, Mapping):
        raise InvalidArgumentError(
            "dataset must be a dict with train_input, train_label, test_input, test_label"
        )
    try:
        x = as_float32(_to_numpy(dataset[f"{part}_input"]), f"dataset['{part}_input']")
        y = as_float32(_to_numpy(dataset[f"{part}_label"]), f"dataset['{part}_label']")
    except KeyError as exc:
        raise InvalidArgumentError(f"dataset lacks key {exc.args[0]!r}") from exc
    if x.ndim == 1 and input_dim == 1:
        x = x.reshape(-1, 1)
    if y.ndim == 1 and output_dim == 1:
        y = y.reshape(-1, 1)
    if x.ndim != 2 or x.shape[1] != input_dim:
        raise ShapeError(f"dataset['{part}_input'] has shape {x.shape}; the model needs (n, {input_dim})")
    if y.shape != (x.shape[0], output_dim):
        raise ShapeError(
            f"dataset['{part}_label'] has shape {y.shape}; expected ({x.shape[0]}, {output_dim})"
        )
    if x.shape[0] == 0:
        raise ShapeError(f"dataset['{part}_input'] has no rows")
    return x, y


def create_dataset(
    f: Callable[[Any], Any],
    n_var: int = 2,
    ranges: Sequence[Any] = (-1.0, 1.0),
    train_num: int = 1000,
    test_num: int = 1000,
    seed: int = 0,
    normalize_input: bool = False,
    normalize_label: bool = False,
) -> Dict[str, np.ndarray]:
    """Sample a function on a box, as pykan's ``create_dataset``, into float32 numpy arrays.

    Args:
        f: maps an ``(n, n_var)`` array to ``(n, 1)`` or ``(n,)`` labels (or ``(n, m)`` for
            several outputs). It is called with a float32 numpy array; if that fails with a
            ``TypeError`` and torch is installed, it is called again with a torch tensor, so
            pykan-style lambdas (``torch.exp(...)``) work too.
        n_var: number of input variables.
        ranges: ``[lo, hi]`` for every variable, or one ``[lo, hi]`` per variable.
        train_num, test_num: rows of each part.
        seed: seed of the uniform draws (numpy's ``default_rng``; pykan seeds torch, so the
            samples differ from pykan's).
        normalize_input, normalize_label: standardise with the training mean and std.

    Returns:
        ``{"train_input", "train_label", "test_input", "test_label"}``: float32 arrays of
        shapes ``(train_num, n_var)``, ``(train_num, m)``, ``(test_num, n_var)``,
        ``(test_num, m)``.
    """
    if isinstance(n_var, bool) or not isinstance(n_var, (int, np.integer)) or n_var < 1:
        raise InvalidArgumentError(f"create_dataset: n_var must be a positive integer, not {n_var!r}")
    for name, value in (("train_num", train_num), ("test_num", test_num)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidArgumentError(f"create_dataset: {name} must be a positive integer, not {value!r}")
    bounds = np.asarray(ranges, dtype=np.float64)
    if bounds.shape == (2,):
        bounds = np.tile(bounds, (n_var, 1))
    if bounds.shape != (n_var, 2) or not np.all(np.isfinite(bounds)):
        raise InvalidArgumentError(
            f"create_dataset: ranges must be [lo, hi] or {n_var} such pairs of finite numbers"
        )
    rng = np.random.default_rng(seed)
    train_input = np.empty((train_num, n_var), dtype=np.float32)
    test_input = np.empty((test_num, n_var), dtype=np.float32)
    for i in range(n_var):  # pykan's order: a training column, then a test column
        lo, hi = bounds[i]
        train_input[:, i] = rng.random(train_num) * (hi - lo) + lo
        test_input[:, i] = rng.random(test_num) * (hi - lo) + lo
    train_label = _labels(f, train_input)
    test_label = _labels(f, test_input)
    if normalize_input:
        mean, std = train_input.mean(axis=0, keepdims=True), train_input.std(axis=0, ddof=1, keepdims=True)
        train_input = ((train_input - mean) / std).astype(np.float32)
        test_input = ((test_input - mean) / std).astype(np.float32)
    if normalize_label:
        mean, std = train_label.mean(axis=0, keepdims=True), train_label.std(axis=0, ddof=1, keepdims=True)
        train_label = ((train_label - mean) / std).astype(np.float32)
        test_label = ((test_label - mean) / std).astype(np.float32)
    return {
        "train_input": train_input,
        "train_label": train_label,
        "test_input": test_input,
        "test_label": test_label,
    }


def _labels(f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """f(x) as a float32 (n, m) array; retries with a torch tensor for torch-only functions."""
    try:
        value = f(x)
    except TypeError:
        try:
            import torch
        except ImportError:
            raise
        value = f(torch.from_numpy(x))
    array = np.asarray(_to_numpy(value), dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[0] != x.shape[0]:
        raise ShapeError(
            f"create_dataset: f returned shape {array.shape} for {x.shape[0]} samples;"
            f" expected ({x.shape[0]}, m) or ({x.shape[0]},)"
        )
    return np.ascontiguousarray(array)
