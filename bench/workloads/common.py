"""What every workload module shares: the Workload record and the Lamina/PyTorch/JAX step
runners that several workloads reuse."""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
BUILD_BENCH = REPO / "build" / "bench"

#: run(calls) performs `calls` calls; it may return the seconds it measured itself (the C
#: benchmarks do, to leave process start-up out), else the harness times it.
Runner = Callable[[int], Optional[float]]


@dataclass
class Workload:
    """One benchmark: its implementations and how to build each inside a worker."""

    name: str
    title: str
    impls: List[str]
    lamina: List[str]
    make: Callable[[str, bool, int], Runner]
    items: Callable[[str, bool], int]
    unit: str = "samples/s"
    notes: str = ""
    rss_from_child: List[str] = field(default_factory=list)
    reps: Optional[int] = None
    block: Optional[float] = None
    warmup: Optional[float] = None
    min_calls: int = 3
    post: Optional[Callable[[Dict[str, Any], Any], None]] = None


def import_lamina() -> Any:
    """`import lamina` from the checkout when the package is not installed."""
    try:
        import lamina
    except ImportError:
        sys.path.insert(0, str(REPO / "bindings" / "python"))
        import lamina
    return lamina


def lamina_step_runner(model: Any, x: Any, y: Any, **config: Any) -> Runner:
    """Adam (lr 1e-3 unless `config` says otherwise) steps on one fixed batch, each a direct
    ctypes call of ``lamina_trainer_step`` on pointers made once: the time is the C call."""
    lamina = import_lamina()
    from lamina import _library

    config = {"optimizer": "adam", "learning_rate": 1e-3, **config}
    trainer = lamina.Trainer(model, **config)
    step = _library.lib().lamina_trainer_step
    handle = trainer._ptr
    xp, yp = _library.as_float_pointer(x), _library.as_float_pointer(y)
    n = ctypes.c_size_t(x.shape[0])
    loss = ctypes.c_float(0.0)
    lossp = ctypes.byref(loss)

    def run(steps: int) -> None:
        for _ in range(steps):
            if step(handle, xp, yp, n, lossp) != 0:
                raise RuntimeError(f"lamina_trainer_step: {_library.last_error()}")

    run.keep = (model, trainer, x, y)  # type: ignore[attr-defined]
    run.extra = lambda: {"last_loss": float(loss.value)}  # type: ignore[attr-defined]
    return run


def torch_setup(threads: int) -> Any:
    """Imports torch with `threads` intra-op threads (and one inter-op thread)."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    return torch


def torch_step_runner(module: Any, x: Any, y: Any, lr: float = 1e-3) -> Runner:
    """PyTorch eager: zero_grad, forward, MSE, backward, Adam step."""
    import torch

    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    last = [0.0]

    def run(steps: int) -> None:
        loss = None
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((module(x) - y) ** 2)
            loss.backward()
            opt.step()
        if loss is not None:
            last[0] = float(loss.detach())

    run.extra = lambda: {"last_loss": last[0]}  # type: ignore[attr-defined]
    return run


def jax_adam_runner(loss_fn: Callable[..., Any], params: Any, x: Any, y: Any,
                    lr: float = 1e-3) -> Runner:
    """JAX: one ``jit``-compiled step of value_and_grad and a hand-written Adam (PyTorch's
    formula: bias-corrected, eps 1e-8 outside the square root), buffers donated."""
    import jax
    import jax.numpy as jnp

    b1, b2, eps = 0.9, 0.999, 1e-8

    def step(params: Any, m: Any, v: Any, t: Any, x: Any, y: Any) -> Tuple[Any, ...]:
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda a, b: b1 * a + (1 - b1) * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: b2 * a + (1 - b2) * b * b, v, g)
        c1 = 1 - b1 ** t
        c2 = 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, a, b: p - lr * (a / c1) / (jnp.sqrt(b / c2) + eps), params, m, v)
        return params, m, v, t, loss

    jstep = jax.jit(step, donate_argnums=(0, 1, 2))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, jax.tree_util.tree_map(jnp.zeros_like, params),
             jnp.asarray(0.0, jnp.float32), jnp.asarray(0.0)]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run(steps: int) -> None:
        p, m, v, t, loss = state
        for _ in range(steps):
            p, m, v, t, loss = jstep(p, m, v, t, xj, yj)
        loss.block_until_ready()
        state[:] = [p, m, v, t, loss]

    run.extra = lambda: {"last_loss": float(state[4])}  # type: ignore[attr-defined]
    return run


def mlp_specs(widths: List[int]) -> Dict[str, Any]:
    """Lamina's spec of a relu MLP with these layer widths."""
    return {"kind": "mlp", "input": widths[0], "hidden": widths[1:-1], "output": widths[-1],
            "activation": "relu"}


def torch_mlp_from(state: Dict[str, Any], widths: List[int]) -> Any:
    """A torch.nn.Sequential relu MLP holding Lamina's weights (PyTorch naming: 0.weight...)."""
    import torch

    layers: List[Any] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    own = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(state[k].copy()) for k in own})
    return model


def jax_mlp_params(state: Dict[str, Any], widths: List[int]) -> List[Tuple[Any, Any]]:
    """[(W^T, b)] per layer from Lamina's state dict, for `jax_mlp_apply`."""
    import jax.numpy as jnp

    keys = sorted({k.split(".")[0] for k in state}, key=int)
    return [(jnp.asarray(state[f"{k}.weight"].T.copy()), jnp.asarray(state[f"{k}.bias"]))
            for k in keys]


def jax_mlp_apply(params: List[Tuple[Any, Any]], x: Any) -> Any:
    """relu MLP forward in jax.numpy."""
    import jax.numpy as jnp

    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jnp.maximum(x, 0.0)
    return x


def lamina_terms_runner(model: Any, terms: List[Dict[str, Any]], lr: float = 1e-3) -> Runner:
    """Adam steps on loss terms (``lamina.LossTerms``), each a direct ctypes call of
    ``lamina_trainer_step_terms`` on handles made once: the time is the C call."""
    lamina = import_lamina()
    from lamina import _library

    trainer = lamina.Trainer(model, optimizer="adam", learning_rate=lr)
    made = lamina.LossTerms(model, terms)
    step = _library.lib().lamina_trainer_step_terms
    loss = ctypes.c_float(0.0)
    lossp = ctypes.byref(loss)
    handle, terms_handle = trainer._ptr, made._ptr

    def run(steps: int) -> None:
        for _ in range(steps):
            if step(handle, terms_handle, None, 0, lossp) != 0:
                raise RuntimeError(f"lamina_trainer_step_terms: {_library.last_error()}")

    run.keep = (model, trainer, made)  # type: ignore[attr-defined]
    run.extra = lambda: {"last_loss": float(loss.value)}  # type: ignore[attr-defined]
    return run


def torch_eikonal_runner(module: Any, x: Any, y: Any, weight: float, lr: float = 1e-3) -> Runner:
    """PyTorch eager value + `weight` * eikonal step: the input gradient by
    ``autograd.grad(create_graph=True)``, backward through it, torch.optim.Adam."""
    import torch

    opt = torch.optim.Adam(module.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    last = [0.0]

    def run(steps: int) -> None:
        loss = None
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            p = xt.clone().requires_grad_(True)
            f = module(p)
            (g,) = torch.autograd.grad(f.sum(), p, create_graph=True)
            loss = torch.mean((f - yt) ** 2) + weight * torch.mean((g.norm(dim=1) - 1) ** 2)
            loss.backward()
            opt.step()
        if loss is not None:
            last[0] = float(loss.detach())

    run.extra = lambda: {"last_loss": last[0]}  # type: ignore[attr-defined]
    return run
