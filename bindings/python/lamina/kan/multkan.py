"""pykan 0.2.8's ``MultKAN`` (alias ``KAN``) on Lamina's engine.

Same constructor, defaults, methods and return values as pykan's, so that a pykan script
runs with ``from lamina.kan import *`` in place of ``from kan import *``. The network is an
engine model (:class:`lamina.KAN`: ``predict``, ``save``, ``state_dict`` all work); what
pykan keeps in Python (the last forward pass's samples, version history, input selection)
is kept here. Tensors in give tensors out; numpy in gives numpy out.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _library
from ..errors import InvalidArgumentError, UnsupportedError
from ..kan_model import KAN as EngineKAN
from ..kan_model import _engine_fit, _split
from ..model import Model, prepare_inputs, to_json
from . import checkpoint, plotting
from .activations import Activations, arities, attribution
from .initial import pykan_initial_state
from .symbolic import SYMBOLIC_LIB, evaluate_numpy, fit_params, is_builtin
from .tensors import (
    check_device,
    check_index,
    default_float_tensor,
    is_tensor,
    like,
    optional_sympy,
    optional_torch,
    scalar,
    to_numpy,
)

__all__ = ["MultKAN", "KAN"]

# pykan settings kept beside the engine model (checkpoint config keys).
_SETTINGS = (
    "mult_arity", "base_fun_name", "symbolic_enabled", "affine_trainable", "grid_eps",
    "grid_range", "sp_trainable", "sb_trainable", "save_act", "auto_save", "ckpt_path",
    "state_id", "round", "device",
)

# torch loss modules and the engine losses that compute the same thing.
_TORCH_LOSSES = {"MSELoss": "mse", "CrossEntropyLoss": "cross_entropy", "L1Loss": "l1"}


def _normal_width(width: Any) -> List[List[int]]:
    """pykan's width as [[n_sum, n_mult], ...] (an int n means [n, 0])."""
    if width is None:
        raise InvalidArgumentError("KAN needs width, e.g. KAN(width=[2, 5, 1])")
    out = []
    try:
        for entry in width:
            if isinstance(entry, (list, tuple)):
                if len(entry) != 2:
                    raise ValueError(f"entry {entry!r} is not [n_sum, n_mult]")
                out.append([int(entry[0]), int(entry[1])])
            else:
                out.append([int(entry), 0])
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"KAN: width must be a list of integers or [n_sum, n_mult] pairs: {exc}"
        ) from exc
    if len(out) < 2:
        raise InvalidArgumentError("KAN: width needs at least an input and an output entry")
    return out


class _LayerView:
    """pykan's ``act_fun[l]`` (a KANLayer), read from the engine's tensors: ``grid``,
    ``coef``, ``scale_base``, ``scale_sp``, ``mask`` (tensors with torch, else arrays; reading
    them copies, so write weights with ``load_state_dict``), ``in_dim``, ``out_dim``,
    ``num`` (G) and ``k``."""

    def __init__(self, model: "MultKAN", l: int) -> None:
        self._model, self._l = model, l
        self.in_dim = model.width_in[l]
        self.out_dim = model.width_out[l + 1]
        self.num = model.grid
        self.k = model.k

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle probe before __init__ has run
            raise AttributeError(name)
        key = self._model._t(self._l, name)
        if key not in self._model.tensor_names():
            raise AttributeError(name)
        return default_float_tensor(self._model._read(key))


class _SymbolicView:
    """pykan's ``symbolic_fun[l]`` (a Symbolic_KANLayer): ``funs_name[j][i]``, ``mask`` and
    ``affine`` in pykan's [out, in] layout, ``in_dim``, ``out_dim``."""

    def __init__(self, model: "MultKAN", l: int) -> None:
        self._model, self._l = model, l
        self.in_dim = model.width_in[l]
        self.out_dim = model.width_out[l + 1]

    @property
    def funs_name(self) -> List[List[str]]:
        return self._model.symbolic_names()[self._l]

    @property
    def mask(self) -> Any:
        return default_float_tensor(self._model._read(self._model._t(self._l, "symbolic_mask")).T.copy())

    @property
    def affine(self) -> Any:
        return default_float_tensor(
            self._model._read(self._model._t(self._l, "symbolic_affine")).transpose(1, 0, 2).copy()
        )


class MultKAN(EngineKAN):
    """pykan's ``MultKAN`` / ``KAN``: ``KAN(width=[2, 5, 1], grid=3, k=3, seed=1)``.

    Arguments and defaults are pykan 0.2.8's. ``width`` entries are neuron counts or
    ``[n_sum, n_mult]`` pairs (multiplication nodes); ``device`` must be ``'cpu'``. The
    network is Lamina's: with torch installed the same seed gives pykan's initial weights
    (its draws, :mod:`lamina.kan.initial`), without it Lamina's generator's; arithmetic is
    float32 whatever torch's default dtype. With
    ``auto_save=True`` (pykan's default) every change is saved as a version under
    ``ckpt_path`` (Lamina model files; see :mod:`lamina.kan.checkpoint`).
    """

    def __init__(
        self,
        width: Any = None,
        grid: int = 3,
        k: int = 3,
        mult_arity: Any = 2,
        noise_scale: float = 0.3,
        scale_base_mu: float = 0.0,
        scale_base_sigma: float = 1.0,
        base_fun: Any = "silu",
        symbolic_enabled: bool = True,
        affine_trainable: bool = False,
        grid_eps: float = 0.02,
        grid_range: Sequence[float] = (-1, 1),
        sp_trainable: bool = True,
        sb_trainable: bool = True,
        seed: int = 1,
        save_act: bool = True,
        sparse_init: bool = False,
        auto_save: bool = True,
        first_init: bool = True,
        ckpt_path: str = "./model",
        state_id: int = 0,
        round: int = 0,
        device: Any = "cpu",
    ) -> None:
        check_device(device, "KAN")
        widths = _normal_width(width)
        if not isinstance(base_fun, str):
            raise UnsupportedError(
                f"KAN: base_fun must be a name ('silu', 'identity' or 'zero'), not a"
                f" {type(base_fun).__name__}: the engine evaluates the edges"
            )
        if affine_trainable:
            raise UnsupportedError("KAN: affine_trainable=True (trained node affines) is not supported")
        if isinstance(grid, (list, tuple)) or isinstance(k, (list, tuple)):
            raise UnsupportedError("KAN: per-layer grid or k lists are not supported")
        spec: Dict[str, Any] = {
            "kind": "kan",
            "widths": [w[0] if w[1] == 0 else list(w) for w in widths],
            "basis": "bspline",
            "grid": int(grid),
            "order": int(k),
            "grid_range": [float(v) for v in grid_range],
            "noise_scale": float(noise_scale),
            "scale_base_mu": float(scale_base_mu),
            "scale_base_sigma": float(scale_base_sigma),
            "base_fun": base_fun,
            "sp_trainable": bool(sp_trainable),
            "sb_trainable": bool(sb_trainable),
            "symbolic": bool(symbolic_enabled),
            "seed": int(seed),
        }
        if any(w[1] for w in widths):
            spec["mult_arity"] = mult_arity
        Model.__init__(self, spec)
        self._init_settings(
            mult_arity=mult_arity, base_fun_name=base_fun, symbolic_enabled=bool(symbolic_enabled),
            affine_trainable=False, grid_eps=float(grid_eps),
            grid_range=[float(v) for v in grid_range], sp_trainable=bool(sp_trainable),
            sb_trainable=bool(sb_trainable),
            save_act=bool(save_act), auto_save=bool(auto_save), ckpt_path=str(ckpt_path),
            state_id=int(state_id), round=int(round), device="cpu",
        )
        self.input_id = np.arange(widths[0][0])
        masks = [
            _sparse_mask(self.width_in[l], self.width_out[l + 1]) if sparse_init
            else np.ones((self.width_in[l], self.width_out[l + 1]), dtype=np.float32)
            for l in range(self.depth)
        ]
        initial: Dict[str, np.ndarray] = {self._t(l, "mask"): masks[l] for l in range(self.depth)}
        torch = optional_torch()
        if torch is not None:  # pykan's own draws, so that the same seed starts the same
            drawn = pykan_initial_state(
                torch, self.width_in, self.width_out, int(grid), int(k), float(noise_scale),
                float(scale_base_mu), float(scale_base_sigma), [float(v) for v in grid_range],
                int(seed), masks,
            )
            for l, tensors in enumerate(drawn):
                initial.update({self._t(l, name): value for name, value in tensors.items()})
        self.load_state_dict(initial, strict=False)
        if self.auto_save:
            if first_init:
                if not os.path.exists(self.ckpt_path):
                    os.makedirs(self.ckpt_path)
                print(f"checkpoint directory created: {self.ckpt_path}")
                print("saving model version 0.0")
                checkpoint.append_history(self.ckpt_path, f"### Round {self.round} ###", fresh=True)
                checkpoint.append_history(self.ckpt_path, "init => 0.0")
                self.saveckpt(path=f"{self.ckpt_path}/0.0")

    def _init_settings(self, **settings: Any) -> None:
        for key, value in settings.items():
            object.__setattr__(self, key, value)
        self.cache_data: Optional[np.ndarray] = None
        self._acts: Optional[Activations] = None
        self.node_scores: Optional[List[Any]] = None
        self.edge_scores: Optional[List[Any]] = None
        self.subnode_scores: Optional[List[Any]] = None

    def _settings(self) -> Dict[str, Any]:
        return {key: getattr(self, key) for key in _SETTINGS}

    def _derived(self, handle_or_model: Any, **changes: Any) -> "MultKAN":
        """A new MultKAN around an engine model (or handle) with this one's settings."""
        if isinstance(handle_or_model, Model):
            handle = handle_or_model._handle
            handle_or_model._handle = ctypes.c_void_p()  # ownership moves to the new object
        else:
            handle = handle_or_model
        new = object.__new__(type(self))
        new._handle = handle
        settings = self._settings()
        settings.update(changes)
        new._init_settings(**settings)
        new.input_id = np.array(self.input_id)
        new.cache_data = self.cache_data
        return new

    # ---- shape ---------------------------------------------------------------------------
    @property
    def width(self) -> List[List[int]]:  # type: ignore[override]
        """pykan's width: [[n_sum, n_mult], ...] per level, inputs first."""
        return _normal_width(self.spec["widths"])

    @property
    def width_in(self) -> List[int]:
        """Nodes per level (sum + product nodes)."""
        return [a + b for a, b in self.width]

    @property
    def width_out(self) -> List[int]:
        """Subnodes per level (sum nodes + the factors of each product node)."""
        out = []
        for level, (n_sum, n_mult) in enumerate(self.width):
            out.append(n_sum + sum(arities([n_sum, n_mult], self.mult_arity, level)) if n_mult else n_sum)
        return out

    @property
    def depth(self) -> int:
        """Number of KAN layers."""
        return len(self.spec["widths"]) - 1

    @property
    def n_sum(self) -> List[int]:
        """Sum nodes of each hidden level."""
        return [w[0] for w in self.width[1:-1]]

    @property
    def n_mult(self) -> List[int]:
        """Product nodes of each hidden level."""
        return [w[1] for w in self.width[1:-1]]

    @property
    def grid(self) -> int:  # type: ignore[override]
        """B-spline intervals G."""
        return int(self.spec["grid"])

    @property
    def k(self) -> int:  # type: ignore[override]
        """B-spline order."""
        return int(self.spec["order"])

    @property
    def act_fun(self) -> List[_LayerView]:
        """pykan's per-layer numeric edges (see :class:`_LayerView`)."""
        return [_LayerView(self, l) for l in range(self.depth)]

    @property
    def symbolic_fun(self) -> List[_SymbolicView]:
        """pykan's per-layer symbolic edges (see :class:`_SymbolicView`)."""
        return [_SymbolicView(self, l) for l in range(self.depth)]

    @property
    def n_edge(self) -> int:
        """Number of edges whose numeric mask is on."""
        return int(sum(np.sum(self._read(self._t(l, "mask")) > 0) for l in range(self.depth)))

    def __repr__(self) -> str:
        if getattr(self, "_handle", None) is None or not self._handle.value:
            return "<MultKAN (closed)>"
        return f"MultKAN(width={self.width}, grid={self.grid}, k={self.k}, parameters={self.parameter_count})"

    def to(self, device: Any) -> "MultKAN":
        """pykan's ``model.to(device)``: ``'cpu'`` returns the model; other devices raise."""
        check_device(device, "KAN.to")
        return self

    def cpu(self) -> "MultKAN":
        """The model itself (it is always on the CPU)."""
        return self

    def train(self, mode: bool = True) -> "MultKAN":
        """torch's ``train()``: KANs have no train/eval difference; returns the model."""
        return self

    def eval(self) -> "MultKAN":
        """torch's ``eval()``: returns the model."""
        return self

    # ---- tensors ---------------------------------------------------------------------------
    def _read(self, name: str) -> np.ndarray:
        """One named tensor as a new float32 array (Lamina's KAN's reader)."""
        return self._read_tensor(name)

    def _write(self, values: Mapping[str, np.ndarray]) -> None:
        self.load_state_dict(values, strict=False)
        self._acts = None

    def _engine_layer(self, l: int) -> int:
        """The engine's layer index of KAN layer ``l``."""
        return _engine_index(self.width, l)

    def _t(self, l: int, name: str) -> str:
        """The engine's name of KAN layer ``l``'s tensor ``name`` ("<index>.<name>")."""
        return f"{self._engine_layer(l)}.{name}"

    def _kan_layers(self) -> Dict[int, int]:
        """Engine layer index -> KAN layer index."""
        return {self._engine_layer(l): l for l in range(self.depth)}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:  # type: ignore[override]
        """As :meth:`lamina.Model.load_state_dict`; the cached activations are recomputed."""
        result = Model.load_state_dict(self, state_dict, strict)
        self._acts = None
        return result

    def _masks(self) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(numeric mask, symbolic mask) per layer, [in, out]."""
        out = []
        for l in range(self.depth):
            numeric = self._read(self._t(l, "mask"))
            symbolic = (self._read(self._t(l, "symbolic_mask")) if self.symbolic_enabled
                        else np.zeros_like(numeric))
            out.append((numeric, symbolic))
        return out

    def symbolic_names(self) -> List[List[List[str]]]:
        """The library function of every edge, ``names[l][j][i]`` (pykan's ``funs_name``);
        "0" where an edge has none."""
        library = _engine_library()
        out = []
        for l in range(self.depth):
            n_in, n_out = self.width_in[l], self.width_out[l + 1]
            if not self.symbolic_enabled:
                out.append([["0"] * n_in for _ in range(n_out)])
                continue
            index = self._read(self._t(l, "symbolic_fn"))
            mask = self._read(self._t(l, "symbolic_mask"))
            out.append([
                [library[int(index[i, j])] if mask[i, j] != 0 and 0 <= int(index[i, j]) < len(library)
                 else "0" for i in range(n_in)]
                for j in range(n_out)
            ])
        return out

    # ---- forward -------------------------------------------------------------------------
    def _inputs(self, x: Any) -> np.ndarray:
        array = np.asarray(to_numpy(x))
        if array.ndim != 2:
            raise InvalidArgumentError(f"KAN: x must be 2-D (n, {len(self.input_id)}), not shape {array.shape}")
        if array.shape[1] != self.width_in[0]:
            array = array[:, self.input_id]
        prepared, _ = prepare_inputs(array, self.input_dim)
        return prepared

    def forward(self, x: Any, singularity_avoiding: bool = False, y_th: float = 10.0) -> Any:
        """The outputs for ``x`` (n x inputs), as pykan's forward: a tensor of x's dtype for a
        tensor, a float32 array for an array. Keeps ``x`` as ``cache_data`` (what
        ``attribute``, ``prune``, ``plot`` and ``fix_symbolic`` then use)."""
        if singularity_avoiding:
            raise UnsupportedError(
                "KAN.forward: singularity_avoiding=True is supported in fit (the engine's training"
                " passes), not in a plain forward pass")
        samples = self._inputs(x)
        self.cache_data = samples
        self._acts = None
        return like(self.predict(samples), x)

    def __call__(self, x: Any, singularity_avoiding: bool = False, y_th: float = 10.0) -> Any:
        """``model(x)``: :meth:`forward`."""
        return self.forward(x, singularity_avoiding, y_th)

    def _activations(self) -> Activations:
        if self._acts is None:
            if self.cache_data is None:
                raise InvalidArgumentError("model hasn't seen any data yet: call model(x) first")
            self._acts = Activations(self, self.cache_data)
        return self._acts

    def get_act(self, x: Any = None) -> None:
        """pykan's ``get_act``: a forward pass on ``x`` (a dataset dict uses its
        ``train_input``; ``None`` the cached samples) that records the activations."""
        if isinstance(x, Mapping):
            x = x["train_input"]
        if x is None:
            if self.cache_data is None:
                raise InvalidArgumentError("missing input data x")
            x = self.cache_data
        self.forward(x)
        self._activations()

    def _cached(self, name: str) -> List[Any]:
        return [default_float_tensor(a) for a in getattr(self._activations(), name)]

    @property
    def acts(self) -> Optional[List[Any]]:
        """Node values per level for the last forward pass (None before any)."""
        return None if self.cache_data is None else self._cached("acts")

    @property
    def spline_preacts(self) -> List[Any]:
        """Edge inputs per layer, (n, out, in)."""
        return self._cached("spline_preacts")

    @property
    def spline_postacts(self) -> List[Any]:
        """Edge outputs per layer (numeric plus symbolic), (n, out, in)."""
        return self._cached("spline_postacts")

    @property
    def acts_scale(self) -> List[Any]:
        """pykan's forward_n edge scores per layer, (out, in)."""
        return self._cached("acts_scale")

    @property
    def edge_actscale(self) -> List[Any]:
        """pykan's forward_u edge scores (std of each edge's output), (out, in)."""
        return self._cached("edge_actscale")

    @property
    def subnode_actscale(self) -> List[Any]:
        """std of each layer's outputs."""
        return self._cached("subnode_actscale")

    @property
    def acts_premult(self) -> List[Any]:
        """Subnode values per layer (before the product nodes)."""
        return self._cached("acts_premult")

    def get_fun(self, l: int, i: int, j: int) -> Tuple[np.ndarray, np.ndarray]:
        """Edge (l, i, j)'s samples from the last forward pass, sorted by input, as pykan's
        ``get_fun`` (which also plots them when matplotlib is installed)."""
        acts = self._activations()
        inputs = acts.spline_preacts[l][:, j, i]
        outputs = acts.spline_postacts[l][:, j, i]
        order = np.argsort(inputs, kind="stable")
        inputs, outputs = inputs[order], outputs[order]
        try:
            import matplotlib.pyplot as plt

            plt.figure(figsize=(3, 3))
            plt.plot(inputs, outputs, marker="o")
        except ImportError:
            pass
        return inputs, outputs

    def get_range(self, l: int, i: int, j: int, verbose: bool = True) -> Tuple[Any, Any, Any, Any]:
        """Input and output range of edge (l, i, j) in the last forward pass, as pykan."""
        acts = self._activations()
        x = acts.spline_preacts[l][:, j, i]
        y = acts.spline_postacts[l][:, j, i]
        x_min, x_max, y_min, y_max = (np.array(v, dtype=np.float32) for v in (x.min(), x.max(), y.min(), y.max()))
        if verbose:
            print("x range: [" + "%.2f" % x_min, ",", "%.2f" % x_max, "]")
            print("y range: [" + "%.2f" % y_min, ",", "%.2f" % y_max, "]")
        return x_min, x_max, y_min, y_max

    def evaluate(self, dataset: Mapping[str, Any]) -> Dict[str, Any]:
        """pykan's ``evaluate``: test RMSE, edge count and grid."""
        prediction = np.asarray(to_numpy(self.forward(dataset["test_input"])), dtype=np.float64)
        label = np.asarray(to_numpy(dataset["test_label"]), dtype=np.float64).reshape(prediction.shape)
        return {
            "test_loss": float(np.sqrt(np.mean((prediction - label) ** 2))),
            "n_edge": self.n_edge,
            "n_grid": self.grid,
        }

    # ---- history -------------------------------------------------------------------------
    def log_history(self, method_name: str) -> None:
        """Record a version after ``method_name`` (when auto_save), as pykan."""
        if not self.auto_save:
            return
        new_id = f"{self.round}.{int(self.state_id) + 1}"
        checkpoint.append_history(self.ckpt_path, f"{self.round}.{self.state_id} => {method_name} => {new_id}")
        self.state_id = int(self.state_id) + 1
        self.saveckpt(path=f"{self.ckpt_path}/{new_id}")
        print("saving model version " + new_id)

    def saveckpt(self, path: str = "model") -> None:
        """Save this model as checkpoint ``path`` (see :mod:`lamina.kan.checkpoint`)."""
        config = self._settings()
        config["input_id"] = [int(v) for v in self.input_id]
        config["full_inputs"] = int(getattr(self, "_full_inputs", len(self.input_id)))
        checkpoint.save(self, str(path), config, self.cache_data)

    @staticmethod
    def loadckpt(path: str = "model") -> "MultKAN":
        """Load checkpoint ``path`` (as pykan's ``KAN.loadckpt``); the round is advanced."""
        engine, config, cache = checkpoint.load(str(path))
        model = object.__new__(MultKAN)
        model._handle = engine._handle
        engine._handle = ctypes.c_void_p()
        settings = {key: config[key] for key in _SETTINGS if key in config}
        defaults = dict(
            mult_arity=2, base_fun_name="silu", symbolic_enabled="symbolic_mask" in " ".join(model.tensor_names()),
            affine_trainable=False, grid_eps=0.02, grid_range=[-1.0, 1.0], sp_trainable=True,
            sb_trainable=True, save_act=True, auto_save=False, ckpt_path="./model", state_id=0,
            round=0, device="cpu",
        )
        defaults.update(settings)
        defaults["round"] = int(defaults["round"]) + 1
        model._init_settings(**defaults)
        model.input_id = np.array(config.get("input_id", range(model.input_dim)), dtype=np.int64)
        model.cache_data = cache
        return model

    def rewind(self, model_id: str) -> "MultKAN":
        """Go back to version ``model_id`` ('round.version'), as pykan's ``rewind``."""
        self.round += 1
        self.state_id = str(model_id).split(".")[-1]
        checkpoint.append_history(self.ckpt_path, f"### Round {self.round} ###")
        self.saveckpt(path=f"{self.ckpt_path}/{self.round}.{self.state_id}")
        print(f"rewind to model version {self.round - 1}.{self.state_id}, renamed as {self.round}.{self.state_id}")
        return MultKAN.loadckpt(path=f"{self.ckpt_path}/{model_id}")

    def checkout(self, model_id: str) -> "MultKAN":
        """Load version ``model_id`` without changing this model's history."""
        return MultKAN.loadckpt(path=f"{self.ckpt_path}/{model_id}")

    def history(self, k: Union[int, str] = "all") -> None:
        """Print the last ``k`` lines of the version log."""
        with open(os.path.join(self.ckpt_path, "history.txt"), encoding="utf-8") as f:
            lines = f.readlines()
        for line in lines[-(len(lines) if k == "all" else int(k)):]:
            print(line.rstrip("\n"))

    def copy(self) -> "MultKAN":  # type: ignore[override]
        """A deep copy (weights, settings and cached samples)."""
        return self._derived(Model.copy(self))

    # ---- training ------------------------------------------------------------------------
    def fit(  # type: ignore[override]
        self,
        dataset: Mapping[str, Any],
        opt: str = "LBFGS",
        steps: int = 100,
        log: int = 1,
        lamb: float = 0.0,
        lamb_l1: float = 1.0,
        lamb_entropy: float = 2.0,
        lamb_coef: float = 0.0,
        lamb_coefdiff: float = 0.0,
        update_grid: bool = True,
        grid_update_num: int = 10,
        loss_fn: Any = None,
        lr: float = 1.0,
        start_grid_update_step: int = -1,
        stop_grid_update_step: int = 50,
        batch: int = -1,
        metrics: Optional[Sequence[Callable[[], Any]]] = None,
        save_fig: bool = False,
        in_vars: Optional[Sequence[Any]] = None,
        out_vars: Optional[Sequence[Any]] = None,
        beta: float = 3,
        save_fig_freq: int = 1,
        img_folder: str = "./video",
        singularity_avoiding: bool = False,
        y_th: float = 1000.0,
        reg_metric: str = "edge_forward_spline_n",
        display_metrics: Optional[Sequence[str]] = None,
    ) -> Dict[str, List[Any]]:
        """pykan's ``fit``: ``steps`` optimizer steps run by the engine with pykan's defaults.

        Returns pykan's results: ``train_loss``, ``test_loss`` (RMSE, or the square root of
        ``loss_fn``'s value), ``reg`` (0 when ``lamb`` is 0) and one list per metric, each
        entry a 0-d array. ``loss_fn`` may be ``None`` (MSE) or a torch ``MSELoss``,
        ``CrossEntropyLoss`` or ``L1Loss`` (computed by the engine; class labels of shape
        (n,) are one-hot encoded); other callables are refused. ``metrics`` are called
        without arguments after every step (they may call the model). ``save_fig`` draws
        the diagram every ``save_fig_freq`` steps into ``img_folder``.
        """
        if isinstance(log, bool) or not isinstance(log, (int, np.integer)) or log < 1:
            raise InvalidArgumentError(f"KAN.fit: log must be a positive integer, not {log!r}")
        loss, dataset = self._engine_loss(loss_fn, dataset)
        if metrics is not None:
            for metric in metrics:
                if not callable(metric):
                    raise InvalidArgumentError(f"KAN.fit: metrics must be callables, not {metric!r}")
        if display_metrics is not None:
            known = {"train_loss", "test_loss", "reg", *(m.__name__ for m in metrics or ())}
            for name in display_metrics:
                if name not in known:
                    raise InvalidArgumentError(f"KAN.fit: {name} not recognized (known: {sorted(known)})")
        train_x = self._inputs(dataset["train_input"])
        test_x = self._inputs(dataset["test_input"])
        engine_set = {
            "train_input": train_x, "train_label": dataset["train_label"],
            "test_input": test_x, "test_label": dataset["test_label"],
        }
        if loss == "torch":  # labels stay as given: the user's loss reads them
            if singularity_avoiding:
                raise UnsupportedError(
                    "KAN.fit: singularity_avoiding with a loss_fn callable: the protected forms"
                    " are the engine's training passes; use one of torch's " + ", ".join(_TORCH_LOSSES))
            if lamb > 0:
                raise UnsupportedError(
                    "KAN.fit: lamb > 0 with a loss_fn callable: the regulariser is the engine's and"
                    " a torch-written loss is not; use lamb=0 or one of torch's "
                    + ", ".join(_TORCH_LOSSES))
            train, test = (train_x, None), (test_x, None)
        else:
            train = _split(engine_set, "train", self.input_dim, self.output_dim)
            test = _split(engine_set, "test", self.input_dim, self.output_dim)
        name = str(opt).lower()
        if name not in ("lbfgs", "adam"):
            raise InvalidArgumentError(f"KAN.fit: unknown opt {opt!r} (pykan's: 'LBFGS', 'Adam')")
        from ..kan_model import _PYKAN_LBFGS
        from ..trainer import Trainer

        config: Dict[str, Any] = dict(_PYKAN_LBFGS) if name == "lbfgs" else {}
        config["loss"] = loss
        if singularity_avoiding:  # pykan's protected symbolic forms in the training steps
            config.update(singularity_avoiding=True, y_th=float(y_th))
        if lamb > 0:
            config.update(lamb=lamb, lamb_l1=lamb_l1, lamb_entropy=lamb_entropy, lamb_coef=lamb_coef,
                          lamb_coefdiff=lamb_coefdiff, reg_metric=reg_metric)
        options = {
            "steps": int(steps), "batch": int(batch), "update_grid": bool(update_grid),
            "grid_update_num": int(grid_update_num),
            "start_grid_update_step": int(start_grid_update_step),
            "stop_grid_update_step": int(stop_grid_update_step), "grid_eps": float(self.grid_eps),
        }
        results: Dict[str, List[Any]] = {"train_loss": [], "test_loss": [], "reg": []}
        for metric in metrics or ():
            results[metric.__name__] = []
        bar = _progress_bar(int(steps))
        root = (lambda v: math.sqrt(v) if v >= 0 else math.nan) if loss != "mse" else (lambda v: v)
        if save_fig:
            os.makedirs(img_folder, exist_ok=True)

        def step_done(step: int, train_value: float, test_value: float, reg_value: float) -> bool:
            s = step - 1
            # pykan's model ends each step with a forward pass on the test rows.
            self.cache_data, self._acts = test[0], None
            for metric in metrics or ():
                value = metric()
                results[metric.__name__].append(value.item() if hasattr(value, "item") else float(value))
            if bar is not None:
                bar.update(1)
                if s % log == 0:
                    bar.set_description(self._describe(results, display_metrics, root(train_value),
                                                       root(test_value), reg_value))
            if save_fig and s % save_fig_freq == 0:
                self.plot(folder=img_folder, in_vars=in_vars, out_vars=out_vars, title=f"Step {s}", beta=beta)
                import matplotlib.pyplot as plt

                plt.savefig(f"{img_folder}/{s}.jpg", bbox_inches="tight", dpi=200)
                plt.close()
            return False

        if loss == "torch":
            from .torch_fit import fit_with_torch_loss

            try:
                ran = fit_with_torch_loss(
                    self, (train_x, dataset["train_label"]), (test_x, dataset["test_label"]), loss_fn, name,
                    int(steps), float(lr), int(batch), bool(update_grid), int(grid_update_num),
                    int(start_grid_update_step), int(stop_grid_update_step), step_done)
            finally:
                if bar is not None:
                    bar.close()
            for key in ("train_loss", "test_loss", "reg"):
                results[key] = ran[key]
            self.cache_data, self._acts = test[0], None
            self.log_history("fit")
            return results
        trainer = Trainer(self, optimizer=name, learning_rate=float(lr), **config)
        try:
            history = _engine_fit(trainer, train, test, options, step_done, lamb > 0, pass_reg=True)
        finally:
            trainer.close()
            if bar is not None:
                bar.close()
        results["train_loss"] = [scalar(root(v)) for v in history["train_loss"]]
        results["test_loss"] = [scalar(root(v)) for v in history["test_loss"]]
        regs = history.get("reg", [0.0] * len(history["train_loss"]))
        results["reg"] = [scalar(v) for v in regs]
        self.cache_data, self._acts = test[0], None
        self.log_history("fit")
        return results

    @staticmethod
    def _describe(results: Mapping[str, List[Any]], display: Optional[Sequence[str]], train: float,
                  test: float, reg: Optional[float]) -> str:
        if display is None:
            reg_value = 0.0 if reg is None or math.isnan(reg) else reg
            return "| train_loss: %.2e | test_loss: %.2e | reg: %.2e | " % (train, test, reg_value)
        current = {"train_loss": train, "test_loss": test, "reg": 0.0 if reg is None or math.isnan(reg) else reg}
        parts = []
        for name in display:
            value = current[name] if name in current else results[name][-1]
            parts.append(f" {name}: {float(value):.2e} |")
        return "".join(parts)

    def _engine_loss(self, loss_fn: Any, dataset: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
        """The engine loss for pykan's loss_fn, and the dataset with labels it takes."""
        data = dict(dataset)
        if loss_fn is None:
            return "mse", data
        kind = type(loss_fn).__name__
        if kind not in _TORCH_LOSSES:
            if not callable(loss_fn):
                raise InvalidArgumentError(f"KAN.fit: loss_fn must be callable, not {loss_fn!r}")
            if optional_torch() is None:
                raise UnsupportedError("KAN.fit: a loss_fn callable is differentiated by torch: pip install torch")
            return "torch", data
        reduction = getattr(loss_fn, "reduction", "mean")
        if reduction != "mean":
            raise UnsupportedError(f"KAN.fit: loss_fn with reduction={reduction!r}; only 'mean' is supported")
        loss = _TORCH_LOSSES[kind]
        if loss == "cross_entropy":
            for part in ("train", "test"):
                labels = np.asarray(to_numpy(data[f"{part}_label"]))
                if labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1 and self.output_dim > 1):
                    classes = labels.reshape(-1).astype(np.int64)
                    if classes.size and (classes.min() < 0 or classes.max() >= self.output_dim):
                        raise InvalidArgumentError(
                            f"KAN.fit: {part}_label holds classes outside 0..{self.output_dim - 1}")
                    data[f"{part}_label"] = np.eye(self.output_dim, dtype=np.float32)[classes]
        return loss, data

    def initialize_from_another_model(self, another_model: "MultKAN", x: Any) -> "MultKAN":
        """pykan's ``initialize_from_another_model``: this model (same widths and k, any
        grid) takes ``another_model``'s function: each spline is the least-squares fit of
        the other's edge at the values that layer receives for ``x``; scales, masks and
        symbolic edges are copied. Returns this model."""
        if another_model.width != self.width or another_model.k != self.k:
            raise InvalidArgumentError(
                "KAN.initialize_from_another_model: the models need the same width and k"
                f" ({another_model.width}, k={another_model.k} vs {self.width}, k={self.k})")
        samples = another_model._inputs(x)
        fitted = EngineKAN.refine(another_model, self.grid, samples)
        try:
            self.load_state_dict(fitted.state_dict())
        finally:
            fitted.close()
        self.cache_data, self._acts = samples, None
        return self

    def update_grid_from_samples(self, x: Any) -> None:  # type: ignore[override]
        """pykan's ``update_grid_from_samples(x)`` with the model's ``grid_eps``."""
        samples = self._inputs(x)
        EngineKAN.update_grid(self, samples, self.grid_eps)
        self.cache_data, self._acts = samples, None

    def update_grid(self, x: Any) -> None:  # type: ignore[override]
        """pykan's ``update_grid``: :meth:`update_grid_from_samples`."""
        self.update_grid_from_samples(x)

    def refine(self, new_grid: Optional[int] = None, grid: Optional[int] = None) -> "MultKAN":  # type: ignore[override]
        """Grid extension to ``new_grid`` intervals, fitted at the cached samples (pykan's
        ``refine``); returns the new model, and logs a version. ``grid=`` is accepted for
        ``new_grid`` (pykan's tutorials call ``refine(grid=...)``)."""
        if (new_grid is None) == (grid is None):
            raise InvalidArgumentError("KAN.refine: pass the new grid size once, e.g. refine(10)")
        size = new_grid if new_grid is not None else grid
        refined = EngineKAN.refine(self, check_index(size, "KAN.refine: new_grid"), self.cache_data)
        new = self._derived(refined)
        self.log_history("refine")
        new.state_id = int(new.state_id) + 1
        return new

    def reg(self, reg_metric: str = "edge_forward_spline_n", lamb_l1: float = 1.0,  # type: ignore[override]
            lamb_entropy: float = 2.0, lamb_coef: float = 0.0, lamb_coefdiff: float = 0.0) -> Any:
        """pykan's regulariser on the cached samples (as ``model.reg(...)`` after forward)."""
        value = EngineKAN.reg(self, self.cache_data, reg_metric=reg_metric, lamb_l1=lamb_l1,
                              lamb_entropy=lamb_entropy, lamb_coef=lamb_coef, lamb_coefdiff=lamb_coefdiff)
        return scalar(value)

    def get_reg(self, reg_metric: str, lamb_l1: float, lamb_entropy: float, lamb_coef: float,
                lamb_coefdiff: float) -> Any:
        """pykan's ``get_reg``: :meth:`reg`."""
        return self.reg(reg_metric, lamb_l1, lamb_entropy, lamb_coef, lamb_coefdiff)

    # ---- attribution and pruning ---------------------------------------------------------
    def attribute(self, l: Optional[int] = None, i: Optional[int] = None, out_score: Any = None,
                  plot: bool = True) -> Any:
        """pykan's ``attribute``: node, edge and subnode scores of the cached samples (in
        ``node_scores``, ``edge_scores`` [out, in], ``subnode_scores``). ``attribute(l)``
        returns the scores of every input for each node of level ``l``; ``attribute(l, i)``
        those for node i (and draws them as bars when ``plot`` and matplotlib is present)."""
        acts = self._activations()
        given = None if out_score is None or l is not None else np.asarray(to_numpy(out_score), dtype=np.float64)
        scores = attribution(self.width, self.mult_arity, acts, out_score=given)
        self._set_scores(scores)
        if l is None:
            return None
        level = check_index(l, "attribute: l")
        target = attribution(self.width, self.mult_arity, acts, level=level,
                             out_score=scores["node_scores"][level])
        self._set_scores(target)  # as pykan, the scores are then those toward level l
        per_node = target["node_scores_all"][0].astype(np.float32)
        if i is None:
            return default_float_tensor(per_node)
        node = check_index(i, "attribute: i")
        if plot:
            try:
                import matplotlib.pyplot as plt

                plt.figure(figsize=(1 * self.width_in[0], 3))
                plt.bar(range(self.width_in[0]), per_node[node])
                plt.xticks(range(self.width_in[0]))
            except ImportError:
                pass
        return default_float_tensor(per_node[node])

    def _set_scores(self, scores: Dict[str, List[np.ndarray]]) -> None:
        for key in ("node_scores", "edge_scores", "subnode_scores"):
            setattr(self, key, [default_float_tensor(v.astype(np.float32)) for v in scores[key]])
        self._scores = scores

    def node_attribute(self) -> None:
        """Scores of every node for each level (pykan's ``node_attribute_scores``)."""
        acts = self._activations()
        self.node_attribute_scores = []
        for level in range(1, self.depth + 1):
            scores = attribution(self.width, self.mult_arity, acts, level=level)
            self.node_attribute_scores.append(default_float_tensor(scores["node_scores"][0].astype(np.float32)))

    @property
    def feature_score(self) -> Any:
        """Attribution score of each input (``attribute()``'s ``node_scores[0]``)."""
        self.attribute()
        return None if self.node_scores is None else self.node_scores[0]

    def _scores_np(self) -> Dict[str, List[np.ndarray]]:
        self.attribute()
        return self._scores

    def remove_edge(self, l: int, i: int, j: int, log_history: bool = True) -> None:
        """Switch off the numeric part of edge (l, i, j), as pykan."""
        mask = self._read(self._t(l, "mask"))
        mask[check_index(i, "remove_edge: i"), check_index(j, "remove_edge: j")] = 0
        self._write({self._t(l, "mask"): mask})
        if log_history:
            self.log_history("remove_edge")

    def remove_node(self, l: int, i: int, mode: str = "all", log_history: bool = True) -> None:
        """Cut node i of level l: its incoming edges (mode 'down'), outgoing edges ('up') or both."""
        values: Dict[str, np.ndarray] = {}
        if mode in ("down", "all") and l >= 1:
            values.update(self._cut(l - 1, column=i))
        if mode in ("up", "all") and l < self.depth:
            values.update(self._cut(l, row=i))
        self._write(values)
        if log_history:
            self.log_history("remove_node")

    def _cut(self, layer: int, row: Optional[int] = None, column: Optional[int] = None) -> Dict[str, np.ndarray]:
        out = {}
        for name in ("mask", "symbolic_mask"):
            key = self._t(layer, name)
            if key not in self.tensor_names():
                continue
            values = self._read(key)
            if row is not None:
                values[row, :] = 0
            if column is not None:
                values[:, column] = 0
            out[key] = values
        return out

    def _subset(self, keep_nodes: List[np.ndarray], keep_subnodes: List[np.ndarray],
                width: List[List[int]], input_id: np.ndarray, mult_arity: Any) -> "MultKAN":
        """A new model keeping nodes ``keep_nodes[l]`` (inputs of layer l) and subnodes
        ``keep_subnodes[l]`` (outputs of layer l), with every tensor sliced accordingly."""
        spec = self.spec
        spec["widths"] = [w[0] if w[1] == 0 else list(w) for w in width]
        if any(w[1] for w in width):
            spec["mult_arity"] = mult_arity
        state = self.state_dict()
        engine = Model(spec)
        sliced = {}
        layers = {_engine_index(width, l): l for l in range(len(width) - 1)}
        for name in engine.tensor_names():
            index, key = name.split(".", 1)
            l = layers[int(index)]
            rows, cols = keep_nodes[l], keep_subnodes[l]
            value = state[self._t(l, key)][rows]
            if key != "grid":
                value = value[:, cols]
            sliced[name] = value
        engine.load_state_dict(sliced)
        new = self._derived(engine, mult_arity=mult_arity)
        new.input_id = np.array(input_id)
        return new

    def prune_node(self, threshold: float = 1e-2, mode: str = "auto", active_neurons_id: Any = None,
                   log_history: bool = True) -> "MultKAN":
        """A copy without the hidden nodes scoring at most ``threshold`` (or keeping only
        ``active_neurons_id[l]`` for each hidden level l, counted from 1), as pykan."""
        width = self.width
        if active_neurons_id is not None:
            mode = "manual"
        scores = self._scores_np() if mode == "auto" else None
        keep_nodes = [np.arange(self.width_in[0])]
        keep_subnodes: List[np.ndarray] = []
        new_width = [list(width[0])]
        arity_list: List[Any] = [[]]
        for level in range(1, self.depth):
            if mode == "auto":
                important = scores["node_scores"][level] > threshold
            else:
                important = np.zeros(self.width_in[level], dtype=bool)
                important[np.asarray(active_neurons_id[level - 1], dtype=np.int64)] = True
            n_sum = width[level][0]
            sub = list(important[:n_sum])
            node_arities = arities(width[level], self.mult_arity, level)
            kept_arities = []
            for m, arity in enumerate(node_arities):
                sub += [bool(important[n_sum + m])] * arity
                if important[n_sum + m]:
                    kept_arities.append(arity)
            keep_nodes.append(np.flatnonzero(important))
            keep_subnodes.append(np.flatnonzero(np.array(sub, dtype=bool)))
            new_width.append([int(important[:n_sum].sum()), int(important[n_sum:].sum())])
            arity_list.append(kept_arities)
        keep_subnodes.append(np.arange(self.width_out[-1]))
        new_width.append(list(width[-1]))
        arity_list.append([])
        mult_arity = self.mult_arity if isinstance(self.mult_arity, (int, np.integer)) else arity_list
        new = self._subset(keep_nodes, keep_subnodes, new_width, self.input_id, mult_arity)
        if log_history:
            self.log_history("prune_node")
            new.state_id = int(new.state_id) + 1
        return new

    def prune_edge(self, threshold: float = 3e-2, log_history: bool = True) -> None:
        """Switch off the edges scoring at most ``threshold`` (in place), as pykan."""
        scores = self._scores_np()
        values = {}
        for l in range(self.depth):
            mask = self._read(self._t(l, "mask"))
            values[self._t(l, "mask")] = (mask * (scores["edge_scores"][l].T > threshold)).astype(np.float32)
        self._write(values)
        if log_history:
            self.log_history("fix_symbolic")  # pykan's label for this step

    def prune(self, node_th: float = 1e-2, edge_th: float = 3e-2) -> "MultKAN":  # type: ignore[override]
        """pykan's ``prune``: :meth:`prune_node`, a forward pass on the cached samples, then
        :meth:`prune_edge`; returns the pruned model."""
        if self.cache_data is None:
            raise InvalidArgumentError("KAN.prune: model hasn't seen any data yet: call model(x) or fit first")
        pruned = self.prune_node(node_th, log_history=False)
        pruned.forward(pruned.cache_data)
        pruned.prune_edge(edge_th, log_history=False)
        pruned.log_history("prune")
        return pruned

    def prune_input(self, threshold: float = 1e-2, active_inputs: Any = None,
                    log_history: bool = True) -> "MultKAN":
        """A copy keeping only the inputs scoring above ``threshold`` (or ``active_inputs``);
        it still takes the full inputs (the kept columns are selected), as pykan."""
        if active_inputs is None:
            scores = self._scores_np()
            keep_mask = scores["node_scores"][0] > threshold
            print("keep:", keep_mask.tolist())
            keep = np.flatnonzero(keep_mask)
        else:
            keep = np.asarray(active_inputs, dtype=np.int64)
        keep_nodes = [keep] + [np.arange(n) for n in self.width_in[1:-1]]
        keep_subnodes = [np.arange(n) for n in self.width_out[1:]]
        width = self.width
        width[0] = [len(keep), 0]
        new = self._subset(keep_nodes, keep_subnodes, width, np.asarray(self.input_id)[keep], self.mult_arity)
        # the cached samples are this model's input columns: keep the same ones
        new.cache_data = None if self.cache_data is None else np.ascontiguousarray(self.cache_data[:, keep])
        new._acts = None
        if log_history:
            self.log_history("prune_input")
            new.state_id = int(new.state_id) + 1
        return new

    # ---- symbolic regression -------------------------------------------------------------
    def _require_symbolic(self, what: str) -> None:
        if not self.symbolic_enabled:
            raise UnsupportedError(f"KAN.{what}: the model was made with symbolic_enabled=False")

    def set_mode(self, l: int, i: int, j: int, mode: str, mask_n: Optional[float] = None) -> None:
        """pykan's ``set_mode``: 'n' numeric, 's' symbolic, 'ns' both (numeric mask
        ``mask_n``, default 1), anything else neither."""
        self._require_symbolic("set_mode")
        if mode == "s":
            numeric, symbolic = 0.0, 1.0
        elif mode == "n":
            numeric, symbolic = 1.0, 0.0
        elif mode in ("sn", "ns"):
            numeric, symbolic = (1.0 if mask_n is None else float(mask_n)), 1.0
        else:
            numeric, symbolic = 0.0, 0.0
        mask, sym = self._read(self._t(l, "mask")), self._read(self._t(l, "symbolic_mask"))
        mask[i, j], sym[i, j] = numeric, symbolic
        self._write({self._t(l, "mask"): mask, self._t(l, "symbolic_mask"): sym})

    def _edge_samples(self, l: int, i: int, j: int) -> Tuple[np.ndarray, np.ndarray]:
        acts = self._activations()
        return acts.acts[l][:, i].astype(np.float64), acts.spline_postacts[l][:, j, i].astype(np.float64)

    def _search(self, l: int, i: int, j: int, names: Sequence[str], a_range: Sequence[float],
                b_range: Sequence[float]) -> Dict[str, Tuple[np.ndarray, float]]:
        """(a, b, c, d) and R^2 of every function in ``names`` on edge (l, i, j): the engine's
        search for its built-ins, pykan's fit_params in numpy for added functions."""
        out: Dict[str, Tuple[np.ndarray, float]] = {}
        engine_names = [n for n in names if is_builtin(n)]
        if engine_names:
            out.update(_engine_search(self, l, i, j, engine_names, a_range, b_range))
        rest = [n for n in names if n not in out]
        if rest:
            x, y = self._edge_samples(l, i, j)
            for name in rest:
                out[name] = fit_params(x, y, SYMBOLIC_LIB[name][0] if not is_builtin(name) else name,
                                       a_range=a_range, b_range=b_range, verbose=False)
        return out

    def _fix(self, l: int, i: int, j: int, name: str, params: Sequence[float]) -> None:
        if not is_builtin(name):
            raise UnsupportedError(
                f"KAN.fix_symbolic: {name!r} was added with add_symbolic; the engine evaluates only"
                " its built-in functions, so it can be suggested but not fixed on an edge"
            )
        affine = (ctypes.c_float * 4)(*[float(v) for v in params])
        _library.check(
            _library.lib().lamina_model_kan_set_symbolic(self._ptr, self._engine_layer(l), i, j, name.encode("utf-8"), affine)
        )
        self._acts = None

    def fix_symbolic(self, l: int, i: int, j: int, fun_name: str, fit_params_bool: bool = True,
                     a_range: Sequence[float] = (-10, 10), b_range: Sequence[float] = (-10, 10),
                     verbose: bool = True, random: bool = False, log_history: bool = True) -> Any:
        """Make edge (l, i, j) the library function ``fun_name``, as pykan: fitted to the
        cached samples (prints and returns R^2; -1e8 for a removed edge) or, with
        ``fit_params_bool=False``, with (a, b, c, d) = (1, 0, 1, 0) (random in [-1, 1) with
        ``random``)."""
        self._require_symbolic("fix_symbolic")
        l, i, j = (check_index(v, f"fix_symbolic: {n}") for v, n in ((l, "l"), (i, "i"), (j, "j")))
        if fun_name not in SYMBOLIC_LIB:
            raise InvalidArgumentError(f"KAN.fix_symbolic: unknown function {fun_name!r} (known: {', '.join(SYMBOLIC_LIB)})")
        if not fit_params_bool:
            params = np.random.uniform(-1, 1, 4) if random else np.array([1.0, 0.0, 1.0, 0.0])
            r2 = None
        else:
            params, value = self._search(l, i, j, [fun_name], a_range, b_range)[fun_name]
            if verbose:
                print(f"r2 is {value}")
                if value < 0.9:
                    print("r2 is not very high, please double check if you are choosing the correct"
                          " symbolic function.")
            r2 = np.float64(-1e8 if self._read(self._t(l, "mask"))[i, j] == 0 else value)
        self._fix(l, i, j, fun_name, params)
        if log_history:
            self.log_history("fix_symbolic")
        return r2

    def unfix_symbolic(self, l: int, i: int, j: int, log_history: bool = True) -> None:
        """Make edge (l, i, j) numeric again."""
        self._require_symbolic("unfix_symbolic")
        _library.check(_library.lib().lamina_model_kan_set_symbolic(self._ptr, self._engine_layer(l), i, j, None, None))
        self._acts = None
        if log_history:
            self.log_history("unfix_symbolic")

    def unfix_symbolic_all(self, log_history: bool = True) -> None:
        """Make every edge numeric again."""
        for l in range(self.depth):
            for i in range(self.width_in[l]):
                for j in range(self.width_out[l + 1]):
                    self.unfix_symbolic(l, i, j, log_history)

    def suggest_symbolic(self, l: int, i: int, j: int, a_range: Sequence[float] = (-10, 10),
                         b_range: Sequence[float] = (-10, 10), lib: Optional[Sequence[str]] = None,
                         topk: int = 5, verbose: bool = True,
                         r2_loss_fun: Callable[[np.ndarray], np.ndarray] = lambda x: np.log2(1 + 1e-5 - x),
                         c_loss_fun: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                         weight_simple: float = 0.8) -> Tuple[str, Any, Any, Any]:
        """pykan's ``suggest_symbolic``: every function of ``lib`` (default: all of
        ``SYMBOLIC_LIB``) fitted to edge (l, i, j), ranked by ``weight_simple * complexity +
        (1 - weight_simple) * r2_loss``; prints the ``topk`` as a table when ``verbose`` and
        returns (name, SYMBOLIC_LIB entry, r2, complexity) of the best."""
        self._require_symbolic("suggest_symbolic")
        names = list(SYMBOLIC_LIB) if lib is None else list(lib)
        for name in names:
            if name not in SYMBOLIC_LIB:
                raise InvalidArgumentError(f"KAN.suggest_symbolic: unknown function {name!r}")
        removed = self._read(self._t(l, "mask"))[i, j] == 0
        fits = self._search(l, i, j, names, a_range, b_range) if not removed else {}
        r2s = np.array([-1e8 if removed else fits[n][1] for n in names], dtype=np.float64)
        cs = np.array([SYMBOLIC_LIB[n][2] for n in names])
        with np.errstate(all="ignore"):
            r2_loss = np.asarray(r2_loss_fun(r2s), dtype=np.float64)
        cs_loss = np.asarray(c_loss_fun(cs))
        total = weight_simple * cs_loss + (1 - weight_simple) * r2_loss
        order = np.argsort(total, kind="stable")[: int(topk)]
        if verbose:
            _print_table({
                "function": [names[k] for k in order], "fitting r2": r2s[order],
                "r2 loss": r2_loss[order], "complexity": cs[order],
                "complexity loss": cs_loss[order], "total loss": total[order],
            })
        best = int(order[0])
        self._last_fits = fits
        return names[best], SYMBOLIC_LIB[names[best]][1], r2s[best], cs[best]

    def auto_symbolic(self, a_range: Sequence[float] = (-10, 10), b_range: Sequence[float] = (-10, 10),
                      lib: Optional[Sequence[str]] = None, verbose: int = 1, weight_simple: float = 0.8,
                      r2_threshold: float = 0.0) -> None:
        """pykan's ``auto_symbolic``: every numeric edge becomes its best-ranked function when
        that fit's R^2 reaches ``r2_threshold``; removed edges become '0'; prints each choice."""
        self._require_symbolic("auto_symbolic")
        for l in range(self.depth):
            for i in range(self.width_in[l]):
                for j in range(self.width_out[l + 1]):
                    numeric = self._read(self._t(l, "mask"))[i, j]
                    symbolic = self._read(self._t(l, "symbolic_mask"))[i, j]
                    if symbolic > 0 and numeric == 0:
                        print(f"skipping ({l},{i},{j}) since already symbolic")
                    elif symbolic == 0 and numeric == 0:
                        self._fix(l, i, j, "0", [1.0, 0.0, 1.0, 0.0])
                        print(f"fixing ({l},{i},{j}) with 0")
                    else:
                        name, _, r2, c = self.suggest_symbolic(l, i, j, a_range=a_range, b_range=b_range, lib=lib,
                                                               verbose=False, weight_simple=weight_simple)
                        if r2 >= r2_threshold:
                            self._fix(l, i, j, name, self._last_fits[name][0])
                            if verbose >= 1:
                                print(f"fixing ({l},{i},{j}) with {name}, r2={r2}, c={c}")
                        else:
                            print(f"For ({l},{i},{j}) the best fit was {name}, but r^2 = {r2} and this is"
                                  f" lower than {r2_threshold}. This edge was omitted, keep training or try"
                                  " a different threshold.")
        self.log_history("auto_symbolic")

    def symbolic_formula(self, var: Optional[Sequence[Any]] = None, normalizer: Any = None,
                         output_normalizer: Any = None) -> Tuple[List[Any], List[Any]]:  # type: ignore[override]
        """pykan's ``symbolic_formula``: (one sympy expression per output, the input symbols
        ``x_1 ... x_n`` or ``var``), built from every edge's symbolic function and its
        (a, b, c, d) at full float32 precision (round with :func:`ex_round`)."""
        sympy = optional_sympy()
        if sympy is None:
            raise ImportError("KAN.symbolic_formula needs sympy: pip install sympy")
        self._require_symbolic("symbolic_formula")
        if var is None:
            x = [sympy.Symbol(f"x_{ii}") for ii in range(1, self.width_in[0] + 1)]
        elif isinstance(var[0], sympy.Expr):
            x = list(var)
        else:
            x = [sympy.symbols(v) for v in var]
        x0 = x
        if normalizer is not None:
            mean, std = normalizer
            x = [(x[ii] - mean[ii]) / std[ii] for ii in range(len(x))]
        names = self.symbolic_names()
        self.symbolic_acts = [x]
        self.symbolic_acts_premult = []
        for l in range(self.depth):
            affine = self._read(self._t(l, "symbolic_affine")).astype(np.float64)
            sym_mask = self._read(self._t(l, "symbolic_mask"))
            y = []
            for j in range(self.width_out[l + 1]):
                yj = sympy.Integer(0)
                for i in range(self.width_in[l]):
                    if sym_mask[i, j] == 0:  # numeric edges are not in the formula (pykan's)
                        continue
                    a, b, c, d = (sympy.Float(float(v)) for v in affine[i, j])
                    fun = SYMBOLIC_LIB[names[l][j][i]][1]
                    yj += c * fun(a * x[i] + b) + d
                y.append(yj)
            self.symbolic_acts_premult.append(y)
            n_sum = self.width[l + 1][0]
            nodes = y[:n_sum]
            start = n_sum
            for arity in arities(self.width[l + 1], self.mult_arity, l + 1):
                product = y[start]
                for extra in y[start + 1 : start + arity]:
                    product = product * extra
                nodes.append(product)
                start += arity
            x = nodes
            self.symbolic_acts.append(x)
        if output_normalizer is not None:
            means, stds = output_normalizer
            x = [x[ii] * stds[ii] + means[ii] for ii in range(len(x))]
            self.symbolic_acts[-1] = x
        return list(x), x0

    # ---- plotting ------------------------------------------------------------------------
    def plot(self, folder: str = "./figures", beta: float = 3, metric: str = "backward",  # type: ignore[override]
             scale: float = 0.5, tick: bool = False, sample: bool = False,
             in_vars: Optional[Sequence[Any]] = None, out_vars: Optional[Sequence[Any]] = None,
             title: Optional[str] = None, varscale: float = 1.0) -> Any:
        """pykan's diagram in a new matplotlib figure (``plt.savefig`` saves it). ``metric``
        sets edge opacity: 'backward' (attribution), 'forward_n' or 'forward_u'. ``folder``
        is accepted for pykan's signature; no per-edge images are written."""
        if self.cache_data is None:
            raise InvalidArgumentError("model hasn't seen any data yet: call model(x) first")
        acts = self._activations()
        if metric == "backward":
            scores = [s for s in self._scores_np()["edge_scores"]]
        elif metric == "forward_n":
            scores = acts.acts_scale
        elif metric == "forward_u":
            scores = acts.edge_actscale
        else:
            raise InvalidArgumentError(f"metric = '{metric}' not recognized")
        return plotting.draw(self, scores, beta, scale, sample, in_vars, out_vars, title, varscale)

    # ---- structure ----------------------------------------------------------------------
    def _replace_engine(self, spec: Dict[str, Any], tensors: Mapping[str, np.ndarray]) -> None:
        """Rebuild this model in place from ``spec`` with ``tensors`` (pykan's expand_*
        change the model itself)."""
        engine = Model(spec)
        engine.load_state_dict(tensors, strict=False)
        old = self._handle
        self._handle, engine._handle = engine._handle, old
        self._fast = None
        self._out_cache = None
        self._trainable = None  # the cached trained-tensor list (lamina.vjp) is the old model's
        self._acts = None

    def _symbolic_edges(self, l: int, names: Sequence[Sequence[str]], affine: np.ndarray,
                        n_in: int, n_out: int) -> Dict[str, np.ndarray]:
        """Layer ``l``'s symbolic tensors for functions ``names[j][i]`` and affines
        ``affine`` [in, out, 4], every edge symbolic and none numeric (pykan's fresh
        Symbolic_KANLayer after fix_symbolic on every edge)."""
        index = {name: k for k, name in enumerate(_engine_library())}
        fn = np.array([[index[names[j][i]] for j in range(n_out)] for i in range(n_in)], np.float32)
        return {
            self._t(l, "symbolic_fn"): fn,
            self._t(l, "symbolic_affine"): affine.astype(np.float32),
            self._t(l, "symbolic_mask"): np.ones((n_in, n_out), np.float32),
            self._t(l, "mask"): np.zeros((n_in, n_out), np.float32),
        }

    def expand_depth(self) -> None:
        """pykan's ``expand_depth``: a new last layer (outputs to outputs) whose edges are
        symbolic, ``x`` from each output to itself and ``0`` elsewhere, so the model's
        function is unchanged; the new layer's numeric edges are off."""
        self._require_symbolic("expand_depth")
        if self.width[-1][1]:
            raise UnsupportedError("KAN.expand_depth: the output level has multiplication nodes")
        n = self.width_in[-1]
        spec = self.spec
        spec["widths"] = list(spec["widths"]) + [n]
        tensors = self.state_dict()
        old_depth = self.depth
        width = self.width + [[n, 0]]
        names = [["x" if i == j else "0" for i in range(n)] for j in range(n)]
        affine = np.tile(np.array([1.0, 0.0, 1.0, 0.0]), (n, n, 1))
        prefix = f"{_engine_index(width, old_depth)}."
        # _symbolic_edges names tensors by this model's widths: re-prefix for the new layer.
        new_layer = {prefix + k.split(".", 1)[1]: v
                     for k, v in self._symbolic_edges(old_depth, names, affine, n, n).items()}
        self._replace_engine(spec, {**tensors, **new_layer})
        if not isinstance(self.mult_arity, (int, np.integer)):
            self.mult_arity = list(self.mult_arity) + [[]]

    def expand_width(self, layer_id: int, n_added_nodes: int, sum_bool: bool = True,
                     mult_arity: Any = 2) -> None:
        """pykan's ``expand_width``: ``n_added_nodes`` new nodes at level ``layer_id``
        (sum nodes first, product nodes last, as pykan). As in pykan, the two layers
        around the level keep only their symbolic edges (their numeric edges are
        switched off and the new edges are symbolic ``0``)."""
        self._require_symbolic("expand_width")
        level = check_index(layer_id, "expand_width: layer_id")
        added = check_index(n_added_nodes, "expand_width: n_added_nodes")
        if not 1 <= level < self.depth:
            raise InvalidArgumentError(f"KAN.expand_width: layer_id must be a hidden level, 1..{self.depth - 1}")
        width = self.width
        arity_list = [mult_arity] * added if isinstance(mult_arity, (int, np.integer)) else list(mult_arity)
        new_width = [list(w) for w in width]
        if sum_bool:
            new_width[level][0] += added
        else:
            new_width[level][1] += added
        new_arity = self.mult_arity
        if not sum_bool:
            if isinstance(self.mult_arity, (int, np.integer)) and all(a == self.mult_arity for a in arity_list):
                new_arity = self.mult_arity
            else:
                base = ([[int(self.mult_arity)] * w[1] for w in width] if isinstance(self.mult_arity, (int, np.integer))
                        else [list(a) for a in self.mult_arity])
                base[level] = base[level] + [int(a) for a in arity_list]
                new_arity = base
        old_names, old_affine = self.symbolic_names(), {}
        for l in (level - 1, level):
            old_affine[l] = self._read(self._t(l, "symbolic_affine"))
        sub_added = added if sum_bool else int(sum(arity_list))
        # Where old subnodes (outputs of layer level - 1) and old nodes (inputs of layer
        # level) go: after the new ones for sum nodes (pykan puts them first), before for
        # product nodes (at the end).
        out_shift = added if sum_bool else 0
        in_shift = added if sum_bool else 0
        tensors = self.state_dict()
        spec = self.spec
        spec["widths"] = [w[0] if w[1] == 0 else list(w) for w in new_width]
        if any(w[1] for w in new_width):
            spec["mult_arity"] = new_arity
        keep = {name: value for name, value in tensors.items()
                if self._kan_layers()[int(name.split(".")[0])] not in (level - 1, level)}
        # renumber kept tensors of later layers when a multiplication level appears
        renamed = {}
        for name, value in keep.items():
            index, key = name.split(".", 1)
            l = self._kan_layers()[int(index)]
            renamed[f"{_engine_index(new_width, l)}.{key}"] = value
        for l, (shift_in, shift_out) in ((level - 1, (0, out_shift)), (level, (in_shift, 0))):
            n_in = [a + b for a, b in new_width][l]
            n_out = (new_width[l + 1][0] + sum(arities(new_width[l + 1], new_arity, l + 1))
                     if new_width[l + 1][1] else new_width[l + 1][0])
            old_in, old_out = self.width_in[l], self.width_out[l + 1]
            names = [["0"] * n_in for _ in range(n_out)]
            affine = np.tile(np.array([1.0, 0.0, 1.0, 0.0]), (n_in, n_out, 1))
            for j in range(old_out):
                for i in range(old_in):
                    names[j + shift_out][i + shift_in] = old_names[l][j][i]
                    affine[i + shift_in, j + shift_out] = old_affine[l][i, j]
            for name, value in self._symbolic_edges(l, names, affine, n_in, n_out).items():
                renamed[f"{_engine_index(new_width, l)}.{name.split('.', 1)[1]}"] = value
        self._replace_engine(spec, renamed)
        self.mult_arity = new_arity

    def perturb(self, mag: float = 1.0, mode: str = "non-intrusive") -> None:
        """pykan's ``perturb``: switch numeric edges back on (mask ``mag``) beside symbolic
        ones, by whether an edge's input and output nodes are active; 'non-intrusive'
        re-enables the last layer's edges with zero scales."""
        table = {
            "all": {"aa_a": True, "aa_i": True, "ai": True, "ia": True, "ii": True},
            "non-intrusive": {"aa_a": False, "aa_i": False, "ai": True, "ia": False, "ii": True},
            "minimal": {"aa_a": True, "aa_i": False, "ai": False, "ia": False, "ii": False},
        }
        if mode not in table:
            raise InvalidArgumentError("mode not recognized, valid modes are 'all', 'non-intrusive', 'minimal'.")
        chosen = table[mode]
        names = self.symbolic_names()
        values: Dict[str, np.ndarray] = {}
        for l in range(self.depth):
            mask = self._read(self._t(l, "mask"))
            base, sp = self._read(self._t(l, "scale_base")), self._read(self._t(l, "scale_sp"))
            grid = np.array(names[l])
            for j in range(self.width_out[l + 1]):
                for i in range(self.width_in[l]):
                    out_active = bool(np.any(grid[j] != "0"))
                    in_active = bool(np.any(grid[:, i] != "0"))
                    kind = ("a" if in_active else "i") + ("a" if out_active else "i")
                    if l < self.depth - 1 or mode != "non-intrusive":
                        if kind == "aa":
                            kind += "_i" if names[l][j][i] == "0" else "_a"
                        if chosen[kind]:
                            mask[i, j] = mag
                    if l == self.depth - 1 and mode == "non-intrusive":
                        mask[i, j], base[i, j], sp[i, j] = 1.0, 0.0, 0.0
            values.update({self._t(l, "mask"): mask, self._t(l, "scale_base"): base, self._t(l, "scale_sp"): sp})
        self._write(values)
        if self.cache_data is not None:
            self.get_act(self.cache_data)
        self.log_history("perturb")

    def module(self, start_layer: int, chain: str) -> None:
        """pykan's ``module``: keep only the edges inside a chain of node groups, e.g.
        ``module(0, '[0,1]->[1]->[1]->[0]')``."""
        groups = chain.split("->")
        values: Dict[str, np.ndarray] = {}
        for step in range(len(groups) // 2):
            l = start_layer + step
            ids_in = [int(v) for v in groups[2 * step][1:-1].split(",")]
            ids_out = [int(v) for v in groups[2 * step + 1][1:-1].split(",")]
            other_in = sorted(set(range(self.width_in[l])) - set(ids_in))
            other_out = sorted(set(range(self.width_out[l + 1])) - set(ids_out))
            for name in ("mask", "symbolic_mask"):
                m = values.get(self._t(l, name), self._read(self._t(l, name)))
                m[np.ix_(other_in, ids_out)] = 0
                m[np.ix_(ids_in, other_out)] = 0
                values[self._t(l, name)] = m
        self._write(values)
        self.log_history("module")

    @property
    def connection_cost(self) -> Any:
        """pykan's wiring length: edge scores times the distance between node positions."""
        total = 0.0
        for scores in self.edge_scores or []:
            t = np.asarray(to_numpy(scores), dtype=np.float64)
            x_in = (np.arange(t.shape[0]) + 0.5) / t.shape[0]
            x_out = (np.arange(t.shape[1]) + 0.5) / t.shape[1]
            total += float(np.sum(np.abs(x_in[:, None] - x_out[None, :]) * t))
        return default_float_tensor(np.array(total, dtype=np.float32))

    def auto_swap_l(self, l: int) -> None:
        """Reorder level ``l``'s nodes greedily to shorten the wiring (pykan's auto_swap_l)."""
        if self.width[l][1]:
            raise UnsupportedError(f"KAN.auto_swap_l: level {l} has multiplication nodes")
        count = self.width_in[l]  # pykan uses width_in[1] for every level
        for i in range(count):
            costs = []
            for j in range(count):
                self.swap(l, i, j, log_history=False)
                self.get_act()
                self.attribute()
                costs.append(float(to_numpy(self.connection_cost)))
                self.swap(l, i, j, log_history=False)
            self.swap(l, i, int(np.argmin(costs)), log_history=False)

    def auto_swap(self) -> None:
        """pykan's ``auto_swap``: :meth:`auto_swap_l` on every hidden level."""
        for l in range(1, self.depth):
            if not self.width[l][1]:  # levels with products keep their order
                self.auto_swap_l(l)
        self.log_history("auto_swap")

    def feature_interaction(self, l: int, neuron_th: float = 1e-2, feature_th: float = 1e-2) -> Dict[Tuple[int, ...], int]:
        """pykan's ``feature_interaction``: for each node of level ``l`` that matters, the
        set of inputs it depends on, counted."""
        found: Dict[Tuple[int, ...], int] = {}
        for i in range(self.width_in[l]):
            score = np.asarray(to_numpy(self.attribute(l, i, plot=False)))
            if score.max() > neuron_th:
                features = tuple(int(v) for v in np.flatnonzero(score > score.max() * feature_th))
                found[features] = found.get(features, 0) + 1
        return found

    def tree(self, *args: Any, **kwargs: Any) -> None:
        """pykan's ``tree`` (not supported: its symmetry tests take Hessians by torch
        autograd through the model)."""
        raise UnsupportedError(
            "KAN.tree is not supported: pykan's symmetry tests differentiate the model twice with"
            " torch autograd, which a Lamina model does not support"
        )

    def swap(self, l: int, i1: int, i2: int, log_history: bool = True) -> None:
        """Exchange nodes i1 and i2 of level l (their incoming and outgoing edges), as pykan."""
        if not 1 <= l < self.depth:
            raise InvalidArgumentError(f"KAN.swap: l must be a hidden level, 1..{self.depth - 1}")
        if self.width[l][1]:
            raise UnsupportedError(f"KAN.swap: level {l} has multiplication nodes (only sum-node levels swap)")
        state = self.state_dict()
        values = {}
        layers = self._kan_layers()
        for name, value in state.items():
            index, key = name.split(".", 1)
            layer = layers[int(index)]
            if layer == l - 1 and key != "grid":
                value = value.copy()
                value[:, [i1, i2]] = value[:, [i2, i1]]
                values[name] = value
            elif layer == l:
                value = value.copy()
                value[[i1, i2]] = value[[i2, i1]]
                values[name] = value
        self._write(values)
        if log_history:
            self.log_history("swap")

    def speed(self, compile: bool = False) -> "MultKAN":
        """pykan's ``speed``: turns off the saved activations (already lazy here)."""
        self.save_act = False
        return self

    def disable_symbolic_in_fit(self, lamb: float) -> Tuple[bool, bool]:
        """pykan's helper; the engine skips an unused symbolic branch by itself."""
        return self.save_act, self.symbolic_enabled

    def get_params(self) -> List[str]:
        """Names of the trained tensors (pykan returns the parameters themselves)."""
        from ..vjp import trainable_tensors

        return [name for name, _ in trainable_tensors(self)]



KAN = MultKAN


def _engine_index(width: Sequence[Sequence[int]], l: int) -> int:
    """The engine's layer index of KAN layer ``l`` of a model of ``width``: a level with
    product nodes adds a multiplication layer after the KAN layer feeding it, and the
    engine's tensor names count it."""
    return l + sum(1 for level in range(1, l + 1) if width[level][1] > 0)


def _sparse_mask(n_in: int, n_out: int) -> np.ndarray:
    """pykan's sparse_init mask: each input joins its nearest output and vice versa, by
    position on [0, 1]."""
    in_pos = (np.arange(n_in) + 0.5) / n_in
    out_pos = (np.arange(n_out) + 0.5) / n_out
    distance = np.abs(out_pos[:, None] - in_pos[None, :])
    mask = np.zeros((n_in, n_out), dtype=np.float32)
    mask[np.arange(n_in), np.argmin(distance, axis=0)] = 1
    mask[np.argmin(distance, axis=1), np.arange(n_out)] = 1
    return mask


def _progress_bar(steps: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=steps, desc="description", ncols=100)


def _print_table(columns: Mapping[str, Any]) -> None:
    """Print columns as pandas prints a DataFrame (an index, right-aligned columns)."""
    keys = list(columns)
    rows = len(columns[keys[0]])
    cells = {k: [_cell(v) for v in columns[k]] for k in keys}
    widths = {k: max([len(k)] + [len(c) for c in cells[k]]) for k in keys}
    index_width = len(str(max(rows - 1, 0)))
    print(" " * index_width + "".join("  " + k.rjust(widths[k]) for k in keys))
    for r in range(rows):
        print(str(r).ljust(index_width) + "".join("  " + cells[k][r].rjust(widths[k]) for k in keys))


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.6f}"


_LIBRARY_NAMES: Optional[List[str]] = None


def _engine_library() -> List[str]:
    """The engine's symbolic library names in index order (``lamina_kan_symbolic_library``)."""
    global _LIBRARY_NAMES
    if _LIBRARY_NAMES is None:
        text = _library.read_text(_library.lib().lamina_kan_symbolic_library)
        _LIBRARY_NAMES = [entry["name"] for entry in json.loads(text)]
    return _LIBRARY_NAMES


def _engine_search(model: MultKAN, l: int, i: int, j: int, names: Sequence[str],
                   a_range: Sequence[float], b_range: Sequence[float]) -> Dict[str, Tuple[np.ndarray, float]]:
    """The engine's (a, b) search (``lamina_model_kan_symbolic_search``) on the cached samples."""
    x = model.cache_data
    if x is None:
        raise InvalidArgumentError("model hasn't seen any data yet: call model(x) first")
    if x.shape[1] != model.input_dim:
        raise InvalidArgumentError(f"cached samples have {x.shape[1]} columns; the model takes {model.input_dim}")
    options = to_json({"library": list(names), "a_range": [float(v) for v in a_range],
                       "b_range": [float(v) for v in b_range]}, "symbolic search options")
    text = _library.read_text(
        _library.lib().lamina_model_kan_symbolic_search, model._ptr, model._engine_layer(l), i, j,
        _library.as_float_pointer(x), x.shape[0], options.encode("utf-8"),
    )
    return {fit["name"]: (np.array([fit["a"], fit["b"], fit["c"], fit["d"]], dtype=np.float64), float(fit["r2"]))
            for fit in json.loads(text)}
