"""pykan's KAN diagram (``MultKAN.plot``), drawn into the current matplotlib figure.

Layout as pykan's: levels bottom to top, each edge a line from its input node through an
inset of its curve (sorted samples of the last forward pass) to its subnode; sum and
product nodes above. Colours say what an edge is: black numeric, red symbolic, purple
both, invisible when removed. Opacity is ``tanh(beta * score)`` for the chosen metric.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from .activations import arities


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("KAN.plot needs matplotlib, an optional dependency: pip install matplotlib") from exc
    return plt


def _label(value: Any) -> str:
    try:
        import sympy

        if isinstance(value, sympy.Expr):
            return f"${sympy.latex(value)}$"
    except ImportError:
        pass
    return str(value)


def draw(
    model: Any,
    scores: List[np.ndarray],
    beta: float,
    scale: float,
    sample: bool,
    in_vars: Optional[Sequence[Any]],
    out_vars: Optional[Sequence[Any]],
    title: Optional[str],
    varscale: float,
) -> Any:
    """Draw ``model``'s diagram with edge opacities from ``scores`` ([out, in] per layer)."""
    plt = _pyplot()
    acts = model._activations()
    width, width_in, width_out = model.width, model.width_in, model.width_out
    masks = model._masks()
    levels = len(width)
    y0, z0 = 0.3, 0.1  # heights: input to subnodes, subnodes to the next level's nodes
    step = y0 + z0
    spacing = 1 / max(max(width_out), 5)
    inset = 0.4 / max(max(a * b for a, b in zip(width_in[:-1], width_out[1:])), 5)
    fig, ax = plt.subplots(figsize=(10 * scale, 10 * scale * (levels - 1) * step))
    for l in range(levels):
        n = width_in[l]
        xs = [1 / (2 * n) + i / n for i in range(n)]
        ax.scatter(xs, [l * step] * n, s=spacing**2 * 10000 * scale**2, color="black")
    for l in range(levels - 1):
        n, n_next = width_in[l], width_out[l + 1]
        edges = n * n_next
        alpha = np.tanh(beta * np.nan_to_num(np.asarray(scores[l], dtype=np.float64)))
        numeric, symbolic = masks[l]
        for i in range(n):
            for j in range(n_next):
                colour, visible = _colour(symbolic[i, j], numeric[i, j])
                a = float(alpha[j, i]) * visible
                centre = 1 / (2 * edges) + (i * n_next + j) / edges
                ax.plot([1 / (2 * n) + i / n, centre], [l * step, l * step + y0 / 2 - inset],
                        color=colour, lw=2 * scale, alpha=a)
                ax.plot([centre, 1 / (2 * n_next) + j / n_next],
                        [l * step + y0 / 2 + inset, l * step + y0], color=colour, lw=2 * scale, alpha=a)
                box = ax.inset_axes((centre - inset, l * step + y0 / 2 - inset, 2 * inset, 2 * inset),
                                    transform=ax.transData)
                order = np.argsort(acts.acts[l][:, i], kind="stable")
                xv = acts.acts[l][order, i]
                yv = acts.spline_postacts[l][order, j, i]
                box.plot(xv, yv, color=colour, lw=5 * scale, alpha=a)
                if sample:
                    box.scatter(xv, yv, color=colour, s=400 * scale**2 * 0.05, alpha=a)
                box.set_xticks([])
                box.set_yticks([])
                box.patch.set_alpha(0.0)
                for spine in box.spines.values():
                    spine.set_color(colour)
                    spine.set_alpha(a)
        _subnode_links(ax, width[l + 1], width_in[l + 1], n_next, model.mult_arity, l + 1, l * step + y0,
                       (l + 1) * step, scale)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.1 * step, (levels - 1 + 0.1) * step)
    ax.axis("off")
    for names, level, offset in ((in_vars, 0, -0.1), (out_vars, levels - 1, 0.15)):
        if names is not None:
            n = width_in[level]
            for i in range(n):
                ax.text(1 / (2 * n) + i / n, level * step + offset, _label(names[i]),
                        fontsize=40 * scale * varscale, ha="center", va="center")
    if title is not None:
        ax.text(0.5, step * (levels - 1) + 0.3, str(title), fontsize=40 * scale, ha="center", va="center")
    return fig


def _colour(symbolic: float, numeric: float) -> "tuple[str, float]":
    if symbolic > 0 and numeric > 0:
        return "purple", 1.0
    if symbolic > 0:
        return "red", 1.0
    if numeric > 0:
        return "black", 1.0
    return "white", 0.0


def _subnode_links(ax: Any, width: Sequence[int], n_nodes: int, n_subnodes: int, mult_arity: Any,
                   level: int, low: float, high: float, scale: float) -> None:
    """Lines from each subnode to its node (a sum node's own, or its product node)."""
    targets = list(range(int(width[0])))
    for m, arity in enumerate(arities(width, mult_arity, level)):
        targets += [int(width[0]) + m] * arity
    for s, node in enumerate(targets):
        ax.plot([1 / (2 * n_subnodes) + s / n_subnodes, 1 / (2 * n_nodes) + node / n_nodes],
                [low, high], color="black", lw=2 * scale)
