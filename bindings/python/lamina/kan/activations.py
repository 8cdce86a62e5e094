"""The activations pykan keeps after a forward pass, and its attribution scores from them.

pykan's ``MultKAN.forward`` stores, per layer, every edge's input and output
(``spline_preacts``, ``spline_postacts``), the node values (``acts``) and their spreads;
``attribute``, ``prune``, ``plot``, ``fix_symbolic`` and ``get_range`` read them. Here they
are computed on demand from the engine (one ``lamina_model_kan_edge_curve`` per edge, plus
the symbolic branch evaluated from its tensors), so that a plain ``model(x)`` costs only the
engine's forward pass.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .. import _library
from .symbolic import evaluate_numpy


class Activations:
    """Every layer's edge inputs and outputs for the samples ``x`` (n x input width).

    Arrays are float32 numpy, in pykan's layouts: ``acts[l]`` (n, width_in[l]);
    ``spline_preacts[l]`` and ``spline_postacts[l]`` (n, out, in); ``acts_premult[l]``
    (n, width_out[l + 1]); ``edge_actscale[l]`` (out, in) = std of the edge outputs;
    ``subnode_actscale[l]`` (width_out[l + 1]) = std of the layer's outputs; ``acts_scale[l]``
    (out, in) = edge_actscale / (std of the edge inputs + 0.1). std divides by n - 1, as
    torch.std.
    """

    def __init__(self, model: Any, x: np.ndarray) -> None:
        self.acts: List[np.ndarray] = [x]
        self.spline_preacts: List[np.ndarray] = []
        self.spline_postacts: List[np.ndarray] = []
        self.acts_premult: List[np.ndarray] = []
        self.edge_actscale: List[np.ndarray] = []
        self.subnode_actscale: List[np.ndarray] = []
        self.acts_scale: List[np.ndarray] = []
        if x.ndim != 2 or x.shape[1] != model.width_in[0]:
            raise ValueError(f"activations: samples of shape {x.shape} for {model.width_in[0]} inputs")
        lib = _library.lib()
        handle = model._ptr
        state = model.state_dict()
        names: Optional[List[List[List[str]]]] = None  # read only when an edge is symbolic
        current = np.ascontiguousarray(x, dtype=np.float32)
        for l in range(model.depth):
            n_in, n_out = model.width_in[l], model.width_out[l + 1]
            rows = current.shape[0]
            pre = np.empty((rows, n_out, n_in), dtype=np.float32)
            post = np.empty((rows, n_out, n_in), dtype=np.float32)
            sym_mask = state.get(model._t(l, "symbolic_mask"))
            affine = state.get(model._t(l, "symbolic_affine"))
            for i in range(n_in):
                column = np.ascontiguousarray(current[:, i])
                for j in range(n_out):
                    values = np.empty(rows, dtype=np.float32)
                    _library.check(
                        lib.lamina_model_kan_edge_curve(
                            handle, model._engine_layer(l), i, j, _library.as_float_pointer(column), rows,
                            _library.as_float_pointer(values),
                        )
                    )
                    if sym_mask is not None and sym_mask[i, j] != 0:
                        names = names if names is not None else model.symbolic_names()
                        a, b, c, d = (float(v) for v in affine[i, j])
                        branch = c * evaluate_numpy(names[l][j][i], a * column + b) + d
                        values = (values + float(sym_mask[i, j]) * branch).astype(np.float32)
                    pre[:, j, i] = column
                    post[:, j, i] = values
            subnodes = post.sum(axis=2, dtype=np.float64).astype(np.float32)
            self.spline_preacts.append(pre)
            self.spline_postacts.append(post)
            self.acts_premult.append(subnodes)
            self.edge_actscale.append(_std(post))
            self.subnode_actscale.append(_std(subnodes))
            self.acts_scale.append(self.edge_actscale[-1] / (_std(pre) + 0.1))
            current = multiply_nodes(subnodes, model.width[l + 1], model.mult_arity, l + 1)
            self.acts.append(current)


def _std(values: np.ndarray) -> np.ndarray:
    if values.shape[0] < 2:
        return np.full(values.shape[1:], np.nan, dtype=np.float32)
    return values.std(axis=0, ddof=1, dtype=np.float64).astype(np.float32)


def arities(width: Sequence[int], mult_arity: Any, level: int) -> List[int]:
    """The arity of each multiplication node of level ``level`` (width = [n_sum, n_mult])."""
    if isinstance(mult_arity, (int, np.integer)):
        return [int(mult_arity)] * int(width[1])
    return [int(a) for a in mult_arity[level]]


def multiply_nodes(subnodes: np.ndarray, width: Sequence[int], mult_arity: Any, level: int) -> np.ndarray:
    """A level's node values from its subnodes: sums pass, each product node multiplies its
    ``arity`` consecutive subnodes (pykan's MultKAN)."""
    n_sum, n_mult = int(width[0]), int(width[1])
    if n_mult == 0:
        return subnodes
    out = [subnodes[:, :n_sum]]
    start = n_sum
    for arity in arities(width, mult_arity, level):
        out.append(np.prod(subnodes[:, start : start + arity], axis=1, keepdims=True))
        start += arity
    return np.concatenate(out, axis=1).astype(np.float32)


def attribution(
    width: Sequence[Sequence[int]],
    mult_arity: Any,
    activations: Activations,
    level: Optional[int] = None,
    out_score: Optional[np.ndarray] = None,
) -> Dict[str, List[np.ndarray]]:
    """pykan's ``attribute``: scores flow back from the nodes of ``level`` (default: the
    outputs), one unit per node (or ``out_score``), through every edge in proportion to its
    share of its output's spread. Returns the per-target scores (``*_all``: (targets, ...))
    and their means over targets (``node_scores``, ``edge_scores`` [out, in],
    ``subnode_scores``), all lists ordered from the inputs up."""
    depth = len(width) - 1 if level is None else level
    targets = int(sum(width[depth]))
    if out_score is None:
        node_score = np.eye(targets)
    else:
        node_score = np.diag(np.asarray(out_score, dtype=np.float64))
    nodes, edges, subnodes = [node_score], [], []
    for l in range(depth, 0, -1):
        n_sum = int(width[l][0])
        columns = [node_score[:, :n_sum]]
        for m, arity in enumerate(arities(width[l], mult_arity, l)):
            columns.append(np.repeat(node_score[:, n_sum + m : n_sum + m + 1], arity, axis=1))
        subnode_score = np.concatenate(columns, axis=1)
        subnodes.append(subnode_score)
        scale = activations.edge_actscale[l - 1].astype(np.float64)
        spread = activations.subnode_actscale[l - 1].astype(np.float64) + 1e-4
        edge_score = scale[None, :, :] * (subnode_score / spread[None, :])[:, :, None]
        edges.append(edge_score)
        node_score = edge_score.sum(axis=1)
        nodes.append(node_score)
    nodes_all, edges_all, subnodes_all = nodes[::-1], edges[::-1], subnodes[::-1]
    return {
        "node_scores_all": nodes_all,
        "edge_scores_all": edges_all,
        "subnode_scores_all": subnodes_all,
        "node_scores": [s.mean(axis=0) for s in nodes_all],
        "edge_scores": [s.mean(axis=0) for s in edges_all],
        "subnode_scores": [s.mean(axis=0) for s in subnodes_all],
    }
