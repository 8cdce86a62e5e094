"""Tri-plane eikonal step: planes 3 x 16 x 128 x 128 (sum, align_corners, zeros outside),
decoder 16-64-64-1 softplus, value + 0.1 eikonal on the same 65536 points of [-1, 1]^3 with
a sphere's distances, Adam lr 1e-3: Lamina's derivative terms against PyTorch with the
bilinear lookup written in differentiable torch ops (``grid_sample`` has no double backward
for its grid, which is why field codes write it by hand) and ``create_graph=True``."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .common import (Runner, Workload, import_lamina, lamina_terms_runner,
                     torch_eikonal_runner, torch_setup)
from .triplane import AXES, _data, _tensors

RES, CHANNELS, BATCH = 128, 16, 65536
SMOKE = (16, 4, 1024)
EIKONAL_WEIGHT = 0.1


def spec(res: int, channels: int) -> Dict[str, Any]:
    """Lamina's model spec of the workload."""
    return {"kind": "triplane", "resolution": res, "channels": channels, "aggregation": "sum",
            "decoder": {"hidden": [64, 64], "activation": "softplus"}, "output": 1}


def torch_triplane_eikonal(state: Dict[str, np.ndarray], res: int, ch: int) -> Any:
    """The workload's field as a torch.nn.Module whose bilinear lookup is plain gathers and
    products, so it has second derivatives (Lamina's weights)."""
    import torch

    plane, weights, biases = _tensors(state, res, ch)

    class Triplane(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # (3, R, R, C): row = H (second coordinate of the pair), column = W (first).
            self.planes = torch.nn.Parameter(torch.from_numpy(plane.transpose(0, 2, 3, 1).copy()))
            layers: List[Any] = []
            for i, (w, b) in enumerate(zip(weights, biases)):
                lin = torch.nn.Linear(w.shape[1], w.shape[0])
                lin.weight.data.copy_(torch.from_numpy(w))
                lin.bias.data.copy_(torch.from_numpy(b))
                layers += [lin] + ([torch.nn.Softplus()] if i < len(weights) - 1 else [])
            self.decoder = torch.nn.Sequential(*layers)

        def sample(self, k: int, u: Any, v: Any) -> Any:
            fu, fv = (u + 1) * 0.5 * (res - 1), (v + 1) * 0.5 * (res - 1)
            u0, v0 = torch.floor(fu).detach(), torch.floor(fv).detach()
            du, dv = fu - u0, fv - v0
            out = 0
            for oi, wi in ((0, 1 - dv), (1, dv)):
                for oj, wj in ((0, 1 - du), (1, du)):
                    r, c = (v0 + oi).long(), (u0 + oj).long()
                    ok = ((r >= 0) & (r < res) & (c >= 0) & (c < res)).to(u.dtype)
                    val = self.planes[k][r.clamp(0, res - 1), c.clamp(0, res - 1)]
                    out = out + val * (wi * wj * ok).unsqueeze(1)
            return out

        def forward(self, p: Any) -> Any:
            f = sum(self.sample(k, p[:, a], p[:, b]) for k, (a, b) in enumerate(AXES))
            return self.decoder(f)

    return Triplane()


def make(impl: str, smoke: bool, threads: int) -> Runner:
    res, ch, batch = SMOKE if smoke else (RES, CHANNELS, BATCH)
    x, y = _data(batch)
    lamina = import_lamina()
    model = lamina.Model(spec(res, ch))
    if impl == "lamina":
        return lamina_terms_runner(model, [
            {"loss": "value", "x": x, "y": y},
            {"loss": "eikonal", "x": x, "weight": EIKONAL_WEIGHT},
        ])
    if impl == "pytorch":
        torch_setup(threads)
        return torch_eikonal_runner(
            torch_triplane_eikonal(model.state_dict(), res, ch), x, y, EIKONAL_WEIGHT)
    raise ValueError(impl)


WORKLOADS = [
    Workload(
        name="triplane_eikonal", title="Tri-plane SDF step, res 128, 16 ch, sum, decoder "
        "16-64-64-1 softplus, value + eikonal, batch 65536",
        impls=["lamina", "pytorch"], lamina=["lamina"], make=make,
        items=lambda impl, smoke: SMOKE[2] if smoke else BATCH, unit="points/s",
        notes="Lamina: lamina_trainer_step_terms (value and eikonal terms on the same points). "
              "PyTorch: bilinear lookup by four gathers per plane (differentiable twice), "
              "autograd.grad(create_graph=True), backward, torch.optim.Adam. Same initial "
              "weights; both sides report the same loss."),
]
