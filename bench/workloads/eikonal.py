"""Derivative-loss training steps: a signed distance MLP 3-256-256-256-1 softplus trained on
value + eikonal terms (the eikonal term needs the input gradient inside the loss), Adam
lr 1e-3, one fixed batch of 16384 points in [-1, 1]^3 with a sphere's distances: Lamina's
jet passes (``lamina_trainer_step_terms``) against PyTorch with ``create_graph=True`` and
JAX ``jit`` of ``grad`` inside ``value_and_grad``."""

from __future__ import annotations

from typing import Any, List

import numpy as np

from .common import (Runner, Workload, import_lamina, jax_adam_runner, lamina_terms_runner,
                     torch_eikonal_runner, torch_setup)

WIDTHS = [3, 256, 256, 256, 1]
SMOKE_WIDTHS = [3, 32, 32, 1]
BATCH = 16384
EIKONAL_WEIGHT = 0.1


def _spec(widths: List[int]) -> Any:
    return {"kind": "mlp", "input": widths[0], "hidden": widths[1:-1], "output": widths[-1],
            "activation": "softplus"}


def _data(batch: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, 3)).astype(np.float32)
    y = (np.linalg.norm(x, axis=1, keepdims=True) - 0.5).astype(np.float32)
    return x, y


def _torch(state: Any, widths: List[int], x: Any, y: Any, threads: int) -> Runner:
    torch = torch_setup(threads)
    layers: List[Any] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.Softplus())
    module = torch.nn.Sequential(*layers)
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return torch_eikonal_runner(module, x, y, EIKONAL_WEIGHT)


def _jax(state: Any, widths: List[int], x: Any, y: Any) -> Runner:
    import jax
    import jax.numpy as jnp

    keys = sorted({k.split(".")[0] for k in state}, key=int)
    params = [(jnp.asarray(state[f"{k}.weight"].T.copy()), jnp.asarray(state[f"{k}.bias"]))
              for k in keys]

    def field(p: Any, q: Any) -> Any:
        h = q
        for i, (w, b) in enumerate(p):
            h = h @ w + b
            if i < len(p) - 1:
                h = jax.nn.softplus(h)
        return h[..., 0]

    def loss_fn(p: Any, a: Any, b: Any) -> Any:
        f = field(p, a)
        g = jax.vmap(jax.grad(lambda q: field(p, q)))(a)
        return jnp.mean((f - b[:, 0]) ** 2) + EIKONAL_WEIGHT * jnp.mean(
            (jnp.linalg.norm(g, axis=1) - 1) ** 2)

    return jax_adam_runner(loss_fn, params, x, y)


def make(impl: str, smoke: bool, threads: int) -> Runner:
    widths = SMOKE_WIDTHS if smoke else WIDTHS
    x, y = _data(256 if smoke else BATCH)
    lamina = import_lamina()
    model = lamina.Model(_spec(widths))
    state = model.state_dict()  # every side starts from Lamina's initial weights
    if impl == "lamina":
        return lamina_terms_runner(model, [
            {"loss": "value", "x": x, "y": y},
            {"loss": "eikonal", "x": x, "weight": EIKONAL_WEIGHT},
        ])
    if impl == "pytorch":
        return _torch(state, widths, x, y, threads)
    if impl == "jax":
        return _jax(state, widths, x, y)
    raise ValueError(impl)


WORKLOADS = [
    Workload(
        name="eikonal_mlp", title="SDF step 3-256-256-256-1 softplus, value + eikonal, Adam, "
        "batch 16384",
        impls=["lamina", "pytorch", "jax"], lamina=["lamina"], make=make,
        items=lambda impl, smoke: 256 if smoke else BATCH,
        notes="Lamina: lamina_trainer_step_terms (a value term and an eikonal term of weight "
              "0.1 on the same points; jet passes carry the input gradient) through ctypes. "
              "PyTorch eager: autograd.grad(create_graph=True) for the input gradient, then "
              "backward through it, torch.optim.Adam. JAX: jit of value_and_grad of a loss "
              "holding vmap(grad(field)), hand-written Adam. Same initial weights."),
]
