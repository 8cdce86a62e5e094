"""Tri-plane fitting step: planes 3 x 16 x 128 x 128 (sum of the three bilinear samples,
align_corners, zero padding), decoder 16-64-64-1 relu, MSE against a sphere's signed
distance, Adam lr 1e-3, one fixed batch of 65536 points in [-1, 1]^3: Lamina against PyTorch
``grid_sample`` and a JAX hand-written bilinear gather; and the same model's predictions
(forward only) on those points, and its input gradients (normals)."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from .common import (Runner, Workload, import_lamina, jax_adam_runner, jax_mlp_apply,
                     lamina_step_runner, torch_setup, torch_step_runner)

RES, CHANNELS, BATCH = 128, 16, 65536
SMOKE = (16, 4, 1024)
#: plane order xy, xz, yz; each plane's (W, H) input columns, as Lamina's encoding.
AXES = [(0, 1), (0, 2), (1, 2)]


def spec(res: int, channels: int) -> Dict[str, Any]:
    """Lamina's model spec of the workload."""
    return {"kind": "triplane", "resolution": res, "channels": channels, "aggregation": "sum",
            "decoder": {"hidden": [64, 64], "activation": "relu"}, "output": 1}


def _data(batch: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, 3)).astype(np.float32)
    y = (np.linalg.norm(x, axis=1, keepdims=True) - 0.5).astype(np.float32)
    return x, y


def _tensors(state: Dict[str, np.ndarray], res: int, ch: int) -> Any:
    """The planes (3, C, R, R) and the decoder's weights and biases from Lamina's state dict."""
    planes = [k for k in state if state[k].ndim >= 3]
    plane = state[planes[0]].reshape(3, ch, res, res) if len(planes) == 1 else \
        np.stack([state[k].reshape(ch, res, res) for k in planes])
    dense = sorted((k for k in state if k not in planes), key=lambda k: k)
    weights = [state[k] for k in dense if k.endswith("weight")]
    biases = [state[k] for k in dense if k.endswith("bias")]
    return plane, weights, biases


def torch_triplane(state: Dict[str, np.ndarray], res: int, ch: int) -> Any:
    """A torch.nn.Module of the workload holding Lamina's weights."""
    import torch
    import torch.nn.functional as F

    plane, weights, biases = _tensors(state, res, ch)

    class Triplane(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.planes = torch.nn.Parameter(torch.from_numpy(plane.copy()))
            layers = []
            for i, (w, b) in enumerate(zip(weights, biases)):
                lin = torch.nn.Linear(w.shape[1], w.shape[0])
                lin.weight.data.copy_(torch.from_numpy(w))
                lin.bias.data.copy_(torch.from_numpy(b))
                layers += [lin] + ([torch.nn.ReLU()] if i < len(weights) - 1 else [])
            self.decoder = torch.nn.Sequential(*layers)

        def forward(self, p: Any) -> Any:
            grid = torch.stack([p[:, list(a)] for a in AXES]).unsqueeze(2)  # (3, B, 1, 2)
            f = F.grid_sample(self.planes, grid, mode="bilinear", padding_mode="zeros",
                              align_corners=True)  # (3, C, B, 1)
            return self.decoder(f.sum(0).squeeze(-1).t())

    return Triplane()


def jax_triplane(state: Dict[str, np.ndarray], res: int, ch: int) -> Any:
    """(apply(params, points), params) of the workload in jax.numpy, holding Lamina's weights."""
    import jax.numpy as jnp

    plane, weights, biases = _tensors(state, res, ch)

    def sample(pl: Any, u: Any, v: Any) -> Any:
        """Bilinear, align_corners, zeros outside: pl (H, W, C), u along W, v along H."""
        fu, fv = (u + 1) * 0.5 * (res - 1), (v + 1) * 0.5 * (res - 1)
        u0, v0 = jnp.floor(fu), jnp.floor(fv)
        du, dv = fu - u0, fv - v0
        out = 0.0
        for oi, wi in ((0, 1 - dv), (1, dv)):
            for oj, wj in ((0, 1 - du), (1, du)):
                r, c = (v0 + oi).astype(jnp.int32), (u0 + oj).astype(jnp.int32)
                ok = (r >= 0) & (r < res) & (c >= 0) & (c < res)
                val = pl[jnp.clip(r, 0, res - 1), jnp.clip(c, 0, res - 1)]
                out = out + val * (wi * wj * ok)[:, None]
        return out

    def apply(params: Any, p: Any) -> Any:
        f = sum(sample(params["planes"][i], p[:, a], p[:, b]) for i, (a, b) in enumerate(AXES))
        return jax_mlp_apply(params["mlp"], f)

    params = {"planes": jnp.asarray(plane.transpose(0, 2, 3, 1).copy()),
              "mlp": [(jnp.asarray(w.T.copy()), jnp.asarray(b)) for w, b in zip(weights, biases)]}
    return apply, params


def make(impl: str, smoke: bool, threads: int) -> Runner:
    res, ch, batch = SMOKE if smoke else (RES, CHANNELS, BATCH)
    x, y = _data(batch)
    lamina = import_lamina()
    model = lamina.Model(spec(res, ch))
    if impl == "lamina":
        return lamina_step_runner(model, x, y)
    state = model.state_dict()
    if impl == "pytorch":
        torch = torch_setup(threads)
        return torch_step_runner(torch_triplane(state, res, ch), torch.from_numpy(x), torch.from_numpy(y))
    if impl == "jax":
        import jax.numpy as jnp

        apply, params = jax_triplane(state, res, ch)
        return jax_adam_runner(lambda ps, a, b: jnp.mean((apply(ps, a) - b) ** 2), params, x, y)
    raise ValueError(impl)


def make_infer(gradient: bool) -> Any:
    """make(impl, smoke, threads) of the step workload's model (its initial weights) on its
    points: predictions, or with `gradient` the outputs' gradients with respect to the points."""

    def make(impl: str, smoke: bool, threads: int) -> Runner:
        res, ch, batch = SMOKE if smoke else (RES, CHANNELS, BATCH)
        x, _ = _data(batch)
        lamina = import_lamina()
        model = lamina.Model(spec(res, ch))
        if impl == "lamina-py":
            call = model.gradient if gradient else model.predict

            def run_py(calls: int) -> None:
                for _ in range(calls):
                    call(x)

            run_py.keep = model  # type: ignore[attr-defined]
            return run_py
        state = model.state_dict()
        if impl == "pytorch":
            torch = torch_setup(threads)
            net = torch_triplane(state, res, ch).eval()
            for p in net.parameters():
                p.requires_grad_(False)
            tx = torch.from_numpy(x)

            def run_torch(calls: int) -> None:
                if gradient:
                    for _ in range(calls):
                        p = tx.clone().requires_grad_(True)
                        torch.autograd.grad(net(p).sum(), p)
                    return
                with torch.inference_mode():
                    for _ in range(calls):
                        net(tx)

            return run_torch
        if impl == "jax":
            import jax

            apply, params = jax_triplane(state, res, ch)
            japply = jax.jit(jax.grad(lambda ps, p: apply(ps, p).sum(), argnums=1) if gradient else apply)
            xj = jax.numpy.asarray(x)

            def run_jax(calls: int) -> None:
                out = None
                for _ in range(calls):
                    out = japply(params, xj)
                if out is not None:
                    out.block_until_ready()

            return run_jax
        raise ValueError(impl)

    return make


WORKLOADS = [
    Workload(
        name="triplane", title="Tri-plane fitting step, res 128, 16 ch, sum, decoder 16-64-64-1, batch 65536",
        impls=["lamina", "pytorch", "jax"], lamina=["lamina"], make=make,
        items=lambda impl, smoke: SMOKE[2] if smoke else BATCH, unit="points/s",
        notes="Lamina: model kind triplane through lamina_trainer_step (ctypes). PyTorch: one "
              "grid_sample over the 3 planes (align_corners=True, zeros), sum, nn.Sequential "
              "decoder, torch.optim.Adam. JAX: hand-written bilinear gather (planes stored "
              "H x W x C), jit of value_and_grad + hand-written Adam. Same initial weights."),
    Workload(
        name="triplane_infer", title="Tri-plane inference, res 128, 16 ch, sum, decoder 16-64-64-1, 65536 points per call",
        impls=["lamina-py", "pytorch", "jax"], lamina=["lamina-py"], make=make_infer(False),
        items=lambda impl, smoke: SMOKE[2] if smoke else BATCH, unit="points/s",
        notes="The triplane workload's model and points, forward only. Lamina: lamina.Model.predict "
              "on a (65536, 3) array (output allocated per call). PyTorch: the same module under "
              "inference_mode. JAX: jit of the same bilinear gather and decoder, "
              "block_until_ready per block."),
    Workload(
        name="triplane_normals", title="Tri-plane input gradients (normals), res 128, 16 ch, sum, decoder 16-64-64-1, 65536 points per call",
        impls=["lamina-py", "pytorch", "jax"], lamina=["lamina-py"], make=make_infer(True),
        items=lambda impl, smoke: SMOKE[2] if smoke else BATCH, unit="points/s",
        notes="The triplane workload's model and points: d output / d point. Lamina: "
              "lamina.Model.gradient (lamina_model_input_gradient; a (65536, 1, 3) array allocated "
              "per call). PyTorch: torch.autograd.grad of the summed outputs with respect to the "
              "points, parameters frozen. JAX: jit of grad of the summed outputs with respect to "
              "the points."),
]
