"""Lamina's Kolmogorov-Arnold networks (:class:`KAN`, :func:`create_dataset`), with
pykan's tools under Lamina's own defaults; pykan's exact interface is :mod:`lamina.kan`.

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
(``"chebyshev"``, ``"fourier"``, ``"rbf"``, ``"rational"``, ``"wavelet"``; see
``lamina_model_create`` in lamina.h) name theirs as ChebyKAN, FourierKAN, FastKAN, KAT and
Wav-KAN do, and ``basis`` may be a list with one basis per layer::

    lamina.KAN(width=[2, 5, 1], basis="chebyshev", degree=8)
    lamina.KAN(width=[2, 5, 1], basis=["bspline", {"name": "rbf", "grid": 6}])

``basis="mixed"`` makes every edge a learned softmax mixture of several bases (after
ASS-KAN): ``lamina.KAN(width=[2, 5, 1], basis="mixed", bases=["bspline", "fourier"],
temperature=1.0)``; :meth:`KAN.mixture_weights` reads the weights and
:meth:`KAN.keep_strongest` keeps one basis per edge.

pykan's grid tools work on B-spline KANs: :meth:`KAN.update_grid` (alias
``update_grid_from_samples``), :meth:`KAN.refine` (grid extension), :meth:`KAN.activation`
and :meth:`KAN.edge_curve` (any edge function phi_{l,i,j}), :meth:`KAN.plot` (pykan's
network diagram, with matplotlib), ``fit(..., update_grid=True)`` with pykan's schedule, and
pykan's attribution and pruning: :meth:`KAN.attribute` and :meth:`KAN.prune`.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _library
from .errors import InvalidArgumentError, NumericError, ShapeError, UnsupportedError
from .model import Model, PathLike, _to_numpy, as_float32, prepare_inputs, register_kind, to_json

__all__ = ["KAN", "create_dataset"]

#: pykan's optimizer names (any case) and the Lamina optimizers they map to.
# pykan's fit defaults of the regularisation keys (the trainer config's defaults too).
_REG_DEFAULTS = {
    "lamb": 0.0,
    "lamb_l1": 1.0,
    "lamb_entropy": 2.0,
    "lamb_coef": 0.0,
    "lamb_coefdiff": 0.0,
    "reg_metric": "edge_forward_spline_n",
}
_OPTIMIZERS = {"lbfgs": "lbfgs", "adam": "adam", "adamw": "adamw", "sgd": "sgd"}

#: The L-BFGS settings of pykan's ``fit`` (``LBFGS(..., lr=lr, history_size=10,
#: line_search_fn="strong_wolfe", tolerance_grad=1e-32, tolerance_change=1e-32,
#: tolerance_ys=1e-32)``; max_iter is PyTorch's default 20).
_PYKAN_LBFGS = {
    "history_size": 10,
    "line_search": "strong_wolfe",
    "tolerance_grad": 1e-32,
    "tolerance_change": 1e-32,
    "tolerance_ys": 1e-32,
}


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
            ``"fourier"``, ``"rbf"``, ``"rational"``, ``"wavelet"``, ``"mixed"`` (a per-edge
            mixture of ``bases``, see lamina.h); or a list with one entry per layer,
            each a name or a dict ``{"name": ..., <that basis's keys>}`` (the basis keys
            then go in the entries, not in ``grid``/``k``/``grid_range``/``**extra``).
        grid_range: ``[lo, hi]`` of the initial B-spline grid, or the first and last RBF
            centre. Left out when ``None`` (B-splines: [-1, 1]; RBF: [-2, 2]).
        seed: seed of the initialisation (Lamina's portable generator, so weights differ
            from pykan's for the same seed but agree across Lamina's C, Python and Swift).
        **extra: further spec keys, passed through: the basis's own keys
            (``noise_scale``, ``scale_base_mu``, ``scale_base_sigma`` for B-splines;
            ``degree`` for Chebyshev; ``smooth_init``, ``bias`` for Fourier; ``normalize``,
            ``base`` for RBF; ``groups``, ``init``, ``bias`` for rational; ``wavelet`` for
            wavelet; ``bases``, ``temperature`` for mixed).

    This is Lamina's KAN, with Lamina's defaults (grid 5, seed 0, Adam in :meth:`fit`,
    numpy in and out). pykan's own interface, defaults and return values are
    :mod:`lamina.kan` (``from lamina.kan import *``); see docs/coming-from-pykan.md.
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
        lr: Optional[float] = None,
        batch: int = -1,
        progress: Union[bool, Callable[[int, float, float], Any]] = True,
        update_grid: bool = True,
        grid_update_num: int = 10,
        start_grid_update_step: int = -1,
        stop_grid_update_step: int = 50,
        lamb: float = 0.0,
        lamb_l1: float = 1.0,
        lamb_entropy: float = 2.0,
        lamb_coef: float = 0.0,
        lamb_coefdiff: float = 0.0,
        reg_metric: str = "edge_forward_spline_n",
        **config: Any,
    ) -> Dict[str, List[float]]:
        """Train on a pykan-style dataset for ``steps`` optimizer steps, as pykan's ``fit``.

        The loop runs in the library (``lamina_trainer_kan_fit``, which C and Swift call too),
        on a trainer made from ``opt``, ``lr``, the ``lamb`` keys and ``config``.

        Args:
            dataset: a dict with ``train_input``, ``train_label``, ``test_input`` and
                ``test_label`` (numpy arrays or torch tensors; see :func:`create_dataset`).
            opt: ``"LBFGS"`` (pykan's default: Lamina's ``"lbfgs"`` with pykan's settings,
                history 10, strong Wolfe line search, tolerances 1e-32; ``max_iter`` and the
                other lbfgs keys may be passed in ``config``), ``"Adam"``, ``"AdamW"``,
                ``"SGD"``. Lamina's default stays ``"Adam"``.
            steps: optimizer steps (for LBFGS, each is up to ``max_iter`` = 20 iterations).
            lr: learning rate; ``None`` gives 1 for LBFGS (pykan's value) and 1e-3 otherwise.
            batch: rows per step, drawn at random without replacement each step (as
                pykan) by the library's generator seeded by the config's ``seed`` (so
                the rows differ from numpy's or torch's draws); ``-1`` (or at least the
                training rows) uses every row, in order.
            progress: ``True`` shows a tqdm bar when tqdm is installed, ``False`` nothing; a
                callable is called as ``progress(step, train_loss, test_loss)`` after every
                step and stops training when it returns a true value.
            update_grid: adapt the grids to the step's training rows (:meth:`update_grid`)
                on pykan's schedule: before step ``s`` (counted from 0) whenever
                ``s % freq == 0`` and ``start_grid_update_step <= s <
                stop_grid_update_step``, where ``freq = int(stop_grid_update_step /
                grid_update_num)`` (at least 1, where pykan divides by zero). With the
                defaults: steps 0, 5, ..., 45. Models without B-spline layers, or with
                mixed-basis layers, skip it.
            grid_update_num, start_grid_update_step, stop_grid_update_step: the schedule.
            lamb, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff, reg_metric: pykan's
                sparsity regularisation (``MultKAN.reg``): the objective becomes
                ``loss + lamb * reg``. ``lamb = 0`` (the default) is off; ``reg_metric`` is
                ``"edge_forward_spline_n"`` (pykan's default), ``"edge_forward_spline_u"``
                or ``"edge_forward_sum"`` (see :meth:`reg`), and ``lamb > 0`` needs a
                B-spline KAN (``UnsupportedError`` otherwise).
            **config: further trainer config keys (``loss``, ``weight_decay``, ``clip_norm``,
                ``schedule`` (a cosine schedule without ``decay_steps`` spans the
                ``steps``), ``max_iter``, ``seed`` — which also seeds the batch draws, ...).

        Returns:
            ``{"train_loss": [...], "test_loss": [...]}``, one float per step done (float32
            values, as the library computes them): the
            training loss of the step's batch before the update and the loss on the whole
            test set after it, as root mean squared errors for the default ``"mse"`` loss
            (pykan reports RMSE) and as the loss itself for other losses. With ``lamb > 0``
            the training loss is the prediction loss alone (as pykan's) and ``"reg"`` holds
            the regulariser (without ``lamb``) of each step's batch before the update.
        """
        name = str(opt).lower()
        if name not in _OPTIMIZERS:
            raise InvalidArgumentError(
                f"KAN.fit: unknown opt {opt!r} (known: 'LBFGS', 'Adam', 'AdamW', 'SGD')"
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
        for key, value in (
            ("grid_update_num", grid_update_num),
            ("start_grid_update_step", start_grid_update_step),
            ("stop_grid_update_step", stop_grid_update_step),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidArgumentError(f"KAN.fit: {key} must be an integer, not {value!r}")
        if update_grid and grid_update_num < 1:
            raise InvalidArgumentError(
                f"KAN.fit: grid_update_num must be at least 1, not {grid_update_num!r}"
            )
        if lr is None:
            lr = 1.0 if name == "lbfgs" else 1e-3
        train_x, train_y = _split(dataset, "train", self.input_dim, self.output_dim)
        test_x, test_y = _split(dataset, "test", self.input_dim, self.output_dim)
        # The default samples of attribute() and prune(), as pykan's cache_data.
        self._cache_x = train_x
        if progress is not True and progress is not False and not callable(progress):
            raise TypeError(
                f"progress must be True, False or a callable, not {type(progress).__name__}"
            )

        from .trainer import Trainer

        trainer_config = dict(_PYKAN_LBFGS) if name == "lbfgs" else {}
        trainer_config.update(config)
        reg_keys = {
            "lamb": lamb,
            "lamb_l1": lamb_l1,
            "lamb_entropy": lamb_entropy,
            "lamb_coef": lamb_coef,
            "lamb_coefdiff": lamb_coefdiff,
            "reg_metric": reg_metric,
        }
        # Sent only when one differs from its default, so the trainer checks every value
        # given while a plain fit's config stays as before.
        if reg_keys != _REG_DEFAULTS:
            trainer_config.update(reg_keys)
        options = {
            "steps": int(steps),
            "batch": int(batch),
            "update_grid": bool(update_grid),
            "grid_update_num": int(grid_update_num),
            "start_grid_update_step": int(start_grid_update_step),
            "stop_grid_update_step": int(stop_grid_update_step),
        }
        trainer = Trainer(
            self, optimizer=_OPTIMIZERS[name], learning_rate=float(lr), **trainer_config
        )
        try:
            return _engine_fit(
                trainer, (train_x, train_y), (test_x, test_y), options, progress, lamb > 0
            )
        finally:
            trainer.close()

    # ---- pykan's grid tools --------------------------------------------------------------
    def update_grid(self, x: Any, grid_eps: float = 0.02) -> None:
        """Adapt every layer's grid to samples, as pykan's ``update_grid_from_samples``.

        Layer by layer, each input's interior knots move to ``(1 - grid_eps)`` x the
        quantiles of the values that input receives for ``x`` plus ``grid_eps`` x the
        uniform grid over their range, and every spline is refitted by least squares so
        that the model's outputs on ``x`` change little. The new knots are the ``"<l>.grid"``
        buffers (saved with the model); the spec keeps the initial grid.

        Args:
            x: samples, ``(n, input_dim)`` with n >= 1 (see :mod:`lamina.model` for shapes).
            grid_eps: 0 follows the sample quantiles, 1 the uniform grid; pykan's 0.02.
        """
        x2, _ = prepare_inputs(x, self.input_dim)
        _library.check(
            _library.lib().lamina_model_kan_update_grid(
                self._ptr, _library.as_float_pointer(x2), x2.shape[0], float(grid_eps)
            )
        )

    def update_grid_from_samples(self, x: Any, grid_eps: float = 0.02) -> None:
        """pykan's name for :meth:`update_grid`."""
        self.update_grid(x, grid_eps)

    def refine(self, new_grid: int, x: Any = None) -> "KAN":
        """Grid extension, as pykan's ``refine``: a new KAN with ``new_grid`` intervals.

        Each input's new knots interpolate the current ones (a uniform grid stays uniform),
        and each new spline is the least-squares fit of the current one at the values each
        layer receives for ``x`` or, when ``x`` is ``None``, at ``k + 1`` evenly spaced
        points in every new knot interval of each input's grid range. pykan fits at the last
        batch the model saw; pass the training inputs for the same effect. Refining to a multiple of the
        current grid reproduces the model (up to rounding) on its grid range. This model is
        unchanged.

        Example (pykan's grid-extension tutorial)::

            model = lamina.KAN(width=[2, 1, 1], grid=3, k=3, seed=3)
            model.fit(dataset, opt="LBFGS", steps=200)
            for g in (10, 20):
                model = model.refine(g, dataset["train_input"])
                model.fit(dataset, opt="LBFGS", steps=200)
        """
        if isinstance(new_grid, bool) or not isinstance(new_grid, (int, np.integer)) or new_grid < 1:
            raise InvalidArgumentError(f"KAN.refine: new_grid must be a positive integer, not {new_grid!r}")
        handle = ctypes.c_void_p()
        lib = _library.lib()
        if x is None:
            _library.check(lib.lamina_model_kan_refine(self._ptr, int(new_grid), None, 0, ctypes.byref(handle)))
        else:
            x2, _ = prepare_inputs(x, self.input_dim)
            _library.check(
                lib.lamina_model_kan_refine(
                    self._ptr, int(new_grid), _library.as_float_pointer(x2), x2.shape[0],
                    ctypes.byref(handle),
                )
            )
        return type(self)._wrap_same(handle)

    def _samples(self, x: Any, what: str) -> np.ndarray:
        """x as a float32 n x input_dim array, or the last training inputs when None."""
        if x is None:
            x = getattr(self, "_cache_x", None)
            if x is None:
                raise InvalidArgumentError(
                    f"KAN.{what}: no samples: pass x, or call fit first (its training inputs are the default)"
                )
        x2, _ = prepare_inputs(x, self.input_dim)
        return x2

    def attribute(self, x: Any = None) -> List[np.ndarray]:
        """pykan's attribution scores (``model.attribute()``; its ``edge_scores``) on ``x``.

        Returns one array per layer, ``[in_l, out_l]`` (the layout of ``"<l>.mask"``;
        pykan's ``edge_scores[l]`` is its transpose): the standard deviation over the
        samples of each edge's activation, weighted by how much its output node matters to
        the outputs, propagated back from the outputs (each scores 1 / output_dim). The node
        scores (pykan's ``node_scores``) are in ``self.node_scores`` afterwards, one array per
        level, inputs first. ``x`` (at least 2 rows) defaults to the training inputs of the
        last :meth:`fit` (pykan uses the activations of the last forward pass). Needs every
        layer to be a B-spline KAN layer (else :class:`UnsupportedError`).
        """
        x2 = self._samples(x, "attribute")
        lib = _library.lib()
        length = ctypes.c_size_t()
        _library.check(lib.lamina_model_kan_attribute(self._ptr, None, 0, None, 0, ctypes.byref(length)))
        scores = np.empty(length.value, dtype=np.float32)
        _library.check(
            lib.lamina_model_kan_attribute(
                self._ptr, _library.as_float_pointer(x2), x2.shape[0],
                _library.as_float_pointer(scores), scores.size, ctypes.byref(length),
            )
        )
        widths = self.width
        edges: List[np.ndarray] = []
        p = 0
        for a, b in zip(widths, widths[1:]):
            edges.append(scores[p : p + a * b].reshape(a, b).copy())
            p += a * b
        nodes: List[np.ndarray] = []
        for w in widths:
            nodes.append(scores[p : p + w].copy())
            p += w
        self.edge_scores = edges
        self.node_scores = nodes
        return edges

    def prune(self, node_th: float = 1e-2, edge_th: float = 3e-2, x: Any = None) -> "KAN":
        """A pruned copy, as pykan's ``prune(node_th, edge_th)``.

        Hidden nodes whose attribution score (:meth:`attribute`) is not above ``node_th`` are
        removed (the widths shrink; a level keeps at least its best node), then the scores
        are computed again on the smaller model and edges scoring not above ``edge_th`` are
        masked (mask 0). ``x`` defaults to the training inputs of the last :meth:`fit`, as
        pykan prunes on its cached data; the new model keeps that default. This model is
        unchanged.
        """
        x2 = self._samples(x, "prune")
        handle = ctypes.c_void_p()
        _library.check(
            _library.lib().lamina_model_kan_prune(
                self._ptr, _library.as_float_pointer(x2), x2.shape[0], float(node_th),
                float(edge_th), ctypes.byref(handle),
            )
        )
        pruned = type(self)._wrap_same(handle)
        pruned._cache_x = getattr(self, "_cache_x", None)
        return pruned

    # ---- symbolic regression (pykan's suggest_symbolic / fix_symbolic / auto_symbolic) ----
    # Needs a model built with symbolic=True (spec key "symbolic": true), which gives every
    # B-spline KAN layer pykan's symbolic branch (tensors "<l>.symbolic_affine" [in, out, 4]
    # (a, b, c, d), "<l>.symbolic_mask" and "<l>.symbolic_fn" [in, out]).

    @staticmethod
    def _edge_index(what: str, **values: Any) -> List[int]:
        out = []
        for label, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidArgumentError(f"KAN.{what}: {label} must be a non-negative integer, not {value!r}")
            out.append(int(value))
        return out

    def suggest_symbolic(
        self, l: int, i: int, j: int, lib: Optional[Sequence[str]] = None, topk: int = 5,
        weight_simple: float = 0.8, x: Any = None,
    ) -> List[Dict[str, Any]]:
        """pykan's ``suggest_symbolic(l, i, j)``: the ``topk`` library functions that fit
        edge (l, i, j) best, by pykan's score (weight_simple * complexity + (1 -
        weight_simple) * log2(1 + 1e-5 - r2)), each a dict with ``name``, ``r2``, ``a``, ``b``,
        ``c``, ``d`` (the fit c * f(a * x + b) + d), ``complexity`` and ``score``. The edge is
        sampled at the layer's inputs for ``x`` (default: the last training inputs). Unlike
        pykan (which returns the best name, function, r2 and complexity) it returns the list."""
        import json

        l, i, j = self._edge_index("suggest_symbolic", l=l, i=i, j=j)
        x2 = self._samples(x, "suggest_symbolic")
        text = _library.read_text(
            _library.lib().lamina_model_kan_suggest_symbolic, self._ptr, l, i, j,
            _library.as_float_pointer(x2), x2.shape[0], float(weight_simple),
        )
        fits = json.loads(text)
        if lib is not None:
            names = set(lib)
            fits = [f for f in fits if f["name"] in names]
        return fits[: int(topk)]

    def fix_symbolic(self, l: int, i: int, j: int, fun_name: str, x: Any = None) -> float:
        """pykan's ``fix_symbolic(l, i, j, fun_name)``: fits c * f(a * x + b) + d to edge
        (l, i, j) sampled at the layer's inputs for ``x`` (default: the last training inputs),
        makes the edge symbolic (its numeric mask becomes 0) and returns the fit's R^2."""
        l, i, j = self._edge_index("fix_symbolic", l=l, i=i, j=j)
        x2 = self._samples(x, "fix_symbolic")
        r2 = ctypes.c_float(0)
        _library.check(
            _library.lib().lamina_model_kan_fix_symbolic(
                self._ptr, l, i, j, str(fun_name).encode("utf-8"), _library.as_float_pointer(x2),
                x2.shape[0], ctypes.byref(r2),
            )
        )
        return float(r2.value)

    def auto_symbolic(
        self, lib: Optional[Sequence[str]] = None, r2_threshold: float = 0.0,
        weight_simple: float = 0.8, x: Any = None,
    ) -> None:
        """pykan's ``auto_symbolic(lib)``: every numeric edge is fixed to its best-scoring
        function of ``lib`` (default: the whole library) when that fit's R^2 is at least
        ``r2_threshold``; pruned edges become "0", symbolic ones are kept."""
        x2 = self._samples(x, "auto_symbolic")
        names = None if lib is None else ",".join(str(n) for n in lib).encode("utf-8")
        _library.check(
            _library.lib().lamina_model_kan_auto_symbolic(
                self._ptr, names, _library.as_float_pointer(x2), x2.shape[0],
                float(r2_threshold), float(weight_simple),
            )
        )

    def symbolic_formula(self, simplify: bool = False) -> List[str]:
        """pykan's ``symbolic_formula()``: one formula per output, inputs ``x_1 ... x_n``,
        numbers rounded to 4 decimals (pykan's ex_round). With sympy installed the text is
        parsed (and with ``simplify=True`` simplified) by sympy and printed back; without it
        the raw text is returned. Every edge must be symbolic (else UnsupportedError)."""
        text = _library.read_text(_library.lib().lamina_model_kan_symbolic_formula, self._ptr)
        formulas = text.split("\n")
        try:
            import sympy  # type: ignore[import-not-found]
        except ImportError:
            return formulas
        local = {"sigmoid": lambda z: 1 / (1 + sympy.exp(-z)), "sign": sympy.sign}
        out = []
        for f in formulas:
            e = sympy.sympify(f, locals=local)
            out.append(str(sympy.simplify(e) if simplify else e))
        return out

    # ---- mixed-basis layers ("basis": "mixed") --------------------------------------------
    def mixture_bases(self, l: int) -> List[str]:
        """The component names of mixed layer ``l``, in the order of :meth:`mixture_weights`'s
        last axis (the layer's ``"bases"`` in the spec)."""
        entry = self._layer_spec(l)
        if entry.get("basis", entry.get("name")) != "mixed":
            raise UnsupportedError(f"KAN.mixture_bases: layer {l} is not a mixed-basis layer")
        return [b["name"] if isinstance(b, dict) else str(b) for b in entry.get("bases", [])]

    def _layer_spec(self, l: int) -> Dict[str, Any]:
        """Layer l's basis entry: its keys, with "basis" or "name" giving the basis."""
        spec = self.spec
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or not 0 <= l < len(self.width) - 1:
            raise InvalidArgumentError(f"KAN: layer {l!r} is out of range ({len(self.width) - 1} layers)")
        basis = spec.get("basis")
        if isinstance(basis, list):
            entry = basis[int(l)]
            return entry if isinstance(entry, dict) else {"name": entry}
        return dict(spec)

    def mixture_weights(self, l: int) -> np.ndarray:
        """The normalised mixture weights of mixed layer ``l``: a float32 array
        ``[out, in, K]`` whose ``[j, i, :]`` (edge i -> j) sums to 1, softmax of
        ``"<l>.mix_logits"`` / temperature (or the fixed ``"<l>.selection"`` after
        :meth:`keep_strongest`). Component names: :meth:`mixture_bases`."""
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or l < 0:
            raise InvalidArgumentError(f"KAN.mixture_weights: l must be a non-negative integer, not {l!r}")
        lib = _library.lib()
        length = ctypes.c_size_t()
        _library.check(lib.lamina_model_kan_mixture(self._ptr, int(l), None, 0, ctypes.byref(length)))
        weights = np.empty(length.value, dtype=np.float32)
        _library.check(
            lib.lamina_model_kan_mixture(
                self._ptr, int(l), _library.as_float_pointer(weights), weights.size, ctypes.byref(length)
            )
        )
        widths = self.width
        return weights.reshape(widths[l + 1], widths[l], -1)

    def keep_strongest(self) -> "KAN":
        """A new KAN in which every edge of every mixed layer keeps only its strongest basis
        (largest mixture weight), at full weight (the weight is dropped, so each edge equals
        that basis's edge exactly). A layer whose edges all choose one basis becomes a plain
        layer of that basis; otherwise it stays mixed with ``"selected": True`` and a one-hot
        ``"<l>.selection"`` buffer. This model is unchanged; train the result a little more."""
        handle = ctypes.c_void_p()
        _library.check(_library.lib().lamina_model_kan_keep_strongest(self._ptr, ctypes.byref(handle)))
        return type(self)._wrap_same(handle)

    def edge_curve(self, l: int, i: int, j: int, x: Any) -> np.ndarray:
        """phi_{l,i,j}(x): the edge from input ``i`` to output ``j`` of layer ``l``.

        Includes the SiLU branch, both scales and the mask, so output j of layer l is the
        sum over i of ``edge_curve(l, i, j, inputs[:, i])``. ``x`` is any array of points
        (converted to float32); returns a float32 array of its shape.
        """
        for label, value in (("l", l), ("i", i), ("j", j)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidArgumentError(f"KAN.edge_curve: {label} must be a non-negative integer, not {value!r}")
        points = as_float32(x, "x")
        flat = np.ascontiguousarray(points.reshape(-1))
        y = np.empty_like(flat)
        _library.check(
            _library.lib().lamina_model_kan_edge_curve(
                self._ptr, int(l), int(i), int(j), _library.as_float_pointer(flat), flat.size,
                _library.as_float_pointer(y),
            )
        )
        return y.reshape(points.shape)

    def activation(
        self, l: int, i: int, j: int, n: int = 100, x_range: Optional[Sequence[float]] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The curve of edge (l, i, j) at ``n`` evenly spaced points: ``(xs, ys)``, float32.

        ``x_range`` defaults to the edge's grid range, the interior knots of input ``i`` in
        the ``"<l>.grid"`` buffer (after :meth:`update_grid`, the range of the samples).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidArgumentError(f"KAN.activation: n must be a positive integer, not {n!r}")
        if x_range is None:
            lo, hi = self._grid_range(l, i)
        else:
            try:
                lo, hi = (float(v) for v in x_range)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"KAN.activation: x_range must be [lo, hi]: {exc}") from exc
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise NumericError(f"KAN.activation: x_range [{lo}, {hi}] must be finite")
        xs = np.linspace(lo, hi, int(n), dtype=np.float64).astype(np.float32)
        return xs, self.edge_curve(l, i, j, xs)

    def _grid_range(self, l: int, i: int) -> Tuple[float, float]:
        """The interior knot range [t_k, t_{k+G}] of input i of layer l."""
        name = f"{l}.grid"
        k = int(self.spec.get("order", 3))
        names = self.tensor_names()
        if name not in names:
            # A mixed layer: its B-spline component's knots, when it has one.
            entry = self._layer_spec(l)
            for c, b in enumerate(entry.get("bases", []) if entry.get("basis", entry.get("name")) == "mixed" else []):
                if isinstance(b, dict) and b.get("name") == "bspline" and f"{l}.bases.{c}.grid" in names:
                    name, k = f"{l}.bases.{c}.grid", int(b.get("order", 3))
                    break
        if name not in names:
            raise UnsupportedError(
                f"KAN.activation: layer {l} has no {name!r} buffer (not a B-spline layer);"
                " pass x_range"
            )
        knots = self._read_tensor(name)
        if not 0 <= i < knots.shape[0]:
            raise InvalidArgumentError(
                f"KAN.activation: input i = {i} is out of range (layer {l} has {knots.shape[0]} inputs)"
            )
        return float(knots[i, k]), float(knots[i, knots.shape[1] - 1 - k])

    def _read_tensor(self, name: str) -> np.ndarray:
        values = np.empty(self._tensor_shape(name), dtype=np.float32)
        _library.check(
            _library.lib().lamina_model_tensor_read(
                self._ptr, name.encode("utf-8"), _library.as_float_pointer(values), values.size
            )
        )
        return values

    def _edge_curves(
        self, n: int, x: Any
    ) -> List[Dict[Tuple[int, int], Tuple[np.ndarray, np.ndarray, float]]]:
        """Per layer, {(i, j): (xs, ys, score)}: every edge's curve, and pykan's
        ``forward_n`` score std(phi) / (std(x) + 0.1), on the grid range or, given samples,
        on the values each layer receives (propagated edge by edge, as the model does)."""
        widths = self.width
        layers: List[Dict[Tuple[int, int], Tuple[np.ndarray, np.ndarray, float]]] = []
        acts = None
        if x is not None:
            acts, _ = prepare_inputs(x, self.input_dim)
        for l in range(len(widths) - 1):
            curves: Dict[Tuple[int, int], Tuple[np.ndarray, np.ndarray, float]] = {}
            following = None if acts is None else np.zeros((acts.shape[0], widths[l + 1]), np.float32)
            for i in range(widths[l]):
                if acts is not None:
                    column = np.ascontiguousarray(acts[:, i])
                    order = np.argsort(column, kind="stable")
                for j in range(widths[l + 1]):
                    if acts is None:
                        xs, ys = self.activation(l, i, j, n)
                    else:
                        values = self.edge_curve(l, i, j, column)
                        following[:, j] += values
                        xs, ys = column[order], values[order]
                    score = float(np.std(ys) / (np.std(xs) + 0.1))
                    curves[(i, j)] = (xs, ys, score)
            layers.append(curves)
            acts = following
        return layers

    def plot(
        self,
        path: PathLike,
        n: int = 100,
        x: Any = None,
        beta: float = 3.0,
        scale: float = 0.5,
        in_vars: Optional[Sequence[str]] = None,
        out_vars: Optional[Sequence[str]] = None,
        title: Optional[str] = None,
        dpi: int = 200,
    ) -> Any:
        """Draw pykan's network diagram and save it (PNG, or any format matplotlib knows).

        Nodes are dots, layer 0 at the bottom; every edge is a line from its input node
        through a small inset of its curve phi_{l,i,j} to its output node, drawn with alpha
        ``tanh(beta * score)``, where score is pykan's ``forward_n`` edge scale
        std(phi) / (std(input) + 0.1) (pykan's default ``metric="backward"`` attribution
        is not computed; masked edges vanish as in pykan). Curves span each edge's grid
        range at ``n`` points or, given samples ``x``, the values that edge receives.

        Needs matplotlib (an optional dependency; ``pip install matplotlib``). Returns the
        matplotlib ``Figure``.
        """
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError(
                "KAN.plot needs matplotlib, an optional dependency: pip install matplotlib"
            ) from exc
        widths = self.width
        depth = len(widths) - 1
        curves = self._edge_curves(n, x)
        step = 0.4  # height of one layer, pykan's y0 + z0
        margin = 0.15 * step  # room for a row of labels or the title
        low = -0.1 * step - (margin if in_vars is not None else 0.0)
        high = (depth + 0.1) * step + (margin if out_vars is not None else 0.0)
        high += margin if title is not None else 0.0
        span = high - low
        figure_width = 10 * scale
        fig = Figure(figsize=(figure_width, figure_width * span))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, 1)
        ax.set_ylim(low, high)
        ax.axis("off")
        spacing = 1 / max(max(widths), 5)
        half = 0.4 / max(max(a * b for a, b in zip(widths, widths[1:])), 5)  # inset half-size
        for l, count in enumerate(widths):
            xs = [(i + 0.5) / count for i in range(count)]
            ax.scatter(xs, [l * step] * count, s=spacing**2 * 10000 * scale**2, color="black")
        for l, layer in enumerate(curves):
            n_in, n_out = widths[l], widths[l + 1]
            edges = n_in * n_out
            middle = l * step + step / 2
            for (i, j), (xs, ys, score) in layer.items():
                alpha = float(np.tanh(beta * score))
                centre = (i * n_out + j + 0.5) / edges
                ax.plot([(i + 0.5) / n_in, centre], [l * step, middle - half], color="black",
                        lw=2 * scale, alpha=alpha)
                ax.plot([centre, (j + 0.5) / n_out], [middle + half, (l + 1) * step],
                        color="black", lw=2 * scale, alpha=alpha)
                inset = fig.add_axes(
                    (centre - half, (middle - half - low) / span, 2 * half, 2 * half / span)
                )
                inset.plot(xs, ys, color="black", lw=2 * scale, alpha=alpha)
                inset.set_xticks([])
                inset.set_yticks([])
                inset.patch.set_alpha(0.0)
                for spine in inset.spines.values():
                    spine.set_alpha(alpha)
        for names, row, offset in ((in_vars, 0, -0.17 * step), (out_vars, depth, 0.17 * step)):
            if names is not None:
                count = widths[row]
                for i, label in enumerate(list(names)[:count]):
                    ax.text((i + 0.5) / count, row * step + offset, str(label), ha="center",
                            va="center", fontsize=40 * scale)
        if title is not None:
            ax.text(0.5, high - margin / 2, str(title), ha="center", va="center", fontsize=40 * scale)
        fig.savefig(path, dpi=dpi)
        return fig

    # ---- pykan's sparsity regulariser ----------------------------------------------------
    def reg(
        self,
        x: Any = None,
        reg_metric: str = "edge_forward_spline_n",
        lamb_l1: float = 1.0,
        lamb_entropy: float = 2.0,
        lamb_coef: float = 0.0,
        lamb_coefdiff: float = 0.0,
    ) -> float:
        """pykan's sparsity regulariser, ``model.reg(reg_metric, lamb_l1, lamb_entropy,
        lamb_coef, lamb_coefdiff)`` after a forward pass on ``x``: what ``fit(lamb=...)``
        multiplies by ``lamb`` and adds to the loss (``lamina_model_kan_regularization``).

        ``x`` (n x input_dim, n >= 1) defaults to the training inputs of the last
        :meth:`fit` (pykan uses the activations of the last forward pass, so pass the
        settings by keyword). ``reg_metric``: ``"edge_forward_spline_n"`` (pykan's default),
        ``"edge_forward_spline_u"`` or ``"edge_forward_sum"``. Summed over the B-spline
        layers (:class:`UnsupportedError` when there are none).
        """
        if isinstance(x, str):
            raise InvalidArgumentError(
                "KAN.reg: the first argument is the samples x; pass the settings by keyword,"
                " e.g. reg(x, reg_metric='edge_forward_spline_n', lamb_l1=1.0)"
            )
        x2 = self._samples(x, "reg")

        settings = to_json(
            {
                "reg_metric": reg_metric,
                "lamb_l1": lamb_l1,
                "lamb_entropy": lamb_entropy,
                "lamb_coef": lamb_coef,
                "lamb_coefdiff": lamb_coefdiff,
            },
            "regularisation settings",
        )
        value = ctypes.c_float(math.nan)
        _library.check(
            _library.lib().lamina_model_kan_regularization(
                self._ptr, _library.as_float_pointer(x2), x2.shape[0],
                settings.encode("utf-8"), ctypes.byref(value),
            )
        )
        return float(value.value)


register_kind("kan", KAN)


def _engine_fit(
    trainer: Any,
    train: Tuple[np.ndarray, np.ndarray],
    test: Tuple[np.ndarray, np.ndarray],
    options: Dict[str, Any],
    progress: Union[bool, Callable[..., Any]],
    with_reg: bool,
    pass_reg: bool = False,
) -> Dict[str, List[float]]:
    """KAN.fit's run: ``lamina_trainer_kan_fit`` with a tqdm bar or a progress callable.

    Ctrl-C and exceptions raised by ``progress`` stop the run cleanly after the current
    step and are re-raised once the library has returned (as :meth:`Trainer.fit`). With
    ``pass_reg`` the callable also gets the step's regulariser (NaN without ``with_reg``).
    """
    from .trainer import _fit_bar, _run_with_progress

    steps = options["steps"]
    keys = ["train_loss", "test_loss"] + (["reg"] if with_reg else [])
    outputs = {key: np.full(steps, np.nan, dtype=np.float32) for key in keys}
    bar = _fit_bar(steps, "step") if progress is True else None

    def report(p: Any) -> bool:
        train_value, test_value = float(p.loss), float(p.validation_loss)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(
                {"train_loss": f"{train_value:.2e}", "test_loss": f"{test_value:.2e}"},
                refresh=False,
            )
            return False
        if not callable(progress):
            return False
        if pass_reg:
            step = int(p.step)
            reg = float(outputs["reg"][step - 1]) if with_reg and step >= 1 else math.nan
            return bool(progress(step, train_value, test_value, reg))
        return bool(progress(int(p.step), train_value, test_value))

    def pointer(key: str) -> Any:
        return _library.as_float_pointer(outputs[key]) if key in outputs else None

    (train_x, train_y), (test_x, test_y) = train, test
    done = ctypes.c_size_t(0)

    def run(callback: Any) -> int:
        return _library.lib().lamina_trainer_kan_fit(
            trainer._ptr,
            _library.as_float_pointer(train_x),
            _library.as_float_pointer(train_y),
            train_x.shape[0],
            _library.as_float_pointer(test_x),
            _library.as_float_pointer(test_y),
            test_x.shape[0],
            to_json(options, "fit options").encode("utf-8"),
            callback,
            None,
            pointer("train_loss"),
            pointer("test_loss"),
            pointer("reg"),
            steps,
            ctypes.byref(done),
        )

    _run_with_progress(run, report, bar)
    return {key: [float(v) for v in values[: done.value]] for key, values in outputs.items()}


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
