"""Many-field tri-plane fitting step: 4 fields, each its own planes 3 x 16 x 64 x 64 (sum,
align_corners, zero padding), decoder 16-64-64-1 relu either one per field
(``decoder_per_field``) or shared by all fields, MSE against each field's sphere (radius
0.3 + 0.1 k for field k), Adam lr 1e-3, one fixed batch of 16384 rows ``field, x, y, z``
with the field drawn uniformly per row: Lamina against PyTorch ``grid_sample`` per field.

These answer what the Swift suite's former FieldwiseMLP timing probe asked (do per-field
decoders cost more than one shared decoder at 16384 rows, 16-64-64-1?), end to end through
the public API and against a peer (bench/NOTES.md)."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .common import Runner, Workload, import_lamina, lamina_step_runner, torch_setup, torch_step_runner

FIELDS, RES, CHANNELS, BATCH = 4, 64, 16, 16384
SMOKE = (2, 8, 4, 256)
HIDDEN = [64, 64]
#: plane order xy, xz, yz; each plane's (W, H) input columns (after the field column).
AXES = [(1, 2), (1, 3), (2, 3)]


def spec(fields: int, res: int, channels: int, per_field: bool) -> Dict[str, Any]:
    """Lamina's model spec of the workload."""
    return {"kind": "triplane", "fields": fields, "resolution": res, "channels": channels,
            "aggregation": "sum", "decoder": {"hidden": HIDDEN, "activation": "relu"},
            "decoder_per_field": per_field, "output": 1}


def data(fields: int, batch: int) -> Any:
    """Rows (field, x, y, z) and each row's signed distance to its field's sphere."""
    rng = np.random.default_rng(0)
    field = rng.integers(0, fields, batch)
    p = rng.uniform(-1, 1, (batch, 3))
    x = np.concatenate([field[:, None], p], axis=1).astype(np.float32)
    y = (np.linalg.norm(p, axis=1, keepdims=True) - (0.3 + 0.1 * field[:, None])).astype(np.float32)
    return x, y


def dense_tensors(state: Dict[str, np.ndarray]) -> List[Any]:
    """[(weight, bias)] of the decoder's dense stages, in order (keys "1.<s>.weight" ...)."""
    stages = sorted({k.rsplit(".", 1)[0] for k in state if k.endswith(".weight")},
                    key=lambda k: [int(s) for s in k.split(".")])
    return [(state[f"{s}.weight"], state[f"{s}.bias"]) for s in stages]


def make_fields(per_field: bool) -> Any:
    """make(impl, smoke, threads) of the step with per-field or shared decoders."""

    def make(impl: str, smoke: bool, threads: int) -> Runner:
        fields, res, ch, batch = SMOKE if smoke else (FIELDS, RES, CHANNELS, BATCH)
        x, y = data(fields, batch)
        lamina = import_lamina()
        model = lamina.Model(spec(fields, res, ch, per_field))
        if impl == "lamina":
            return lamina_step_runner(model, x, y)
        state = model.state_dict()  # every side starts from Lamina's initial weights
        planes = state["0.planes"].reshape(fields, 3, ch, res, res)
        layers = dense_tensors({k: v for k, v in state.items() if k != "0.planes"})
        if impl == "pytorch":
            torch = torch_setup(threads)
            import torch.nn.functional as F

            class Fields(torch.nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.planes = torch.nn.Parameter(torch.from_numpy(planes.copy()))
                    # Per-field: weight [N, out, in], bias [N, out] per stage; shared: [out, in].
                    self.weights = torch.nn.ParameterList(
                        [torch.nn.Parameter(torch.from_numpy(w.copy())) for w, _ in layers])
                    self.biases = torch.nn.ParameterList(
                        [torch.nn.Parameter(torch.from_numpy(b.copy())) for _, b in layers])

                def decode(self, f: Any, k: int) -> Any:
                    for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                        f = torch.addmm(b[k], f, w[k].t()) if per_field else torch.addmm(b, f, w.t())
                        if i < len(self.weights) - 1:
                            f = torch.relu(f)
                    return f

                def forward(self, rows: Any) -> Any:
                    which = rows[:, 0].long()
                    feats, out = rows.new_zeros(rows.shape[0], ch), rows.new_zeros(rows.shape[0], 1)
                    for k in range(fields):
                        idx = (which == k).nonzero().squeeze(1)
                        p = rows.index_select(0, idx)
                        grid = torch.stack([p[:, list(a)] for a in AXES]).unsqueeze(2)  # (3, n, 1, 2)
                        f = F.grid_sample(self.planes[k], grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=True).sum(0).squeeze(-1).t()  # (n, C)
                        if per_field:
                            out = out.index_copy(0, idx, self.decode(f, k))
                        else:
                            feats = feats.index_copy(0, idx, f)
                    return out if per_field else self.decode(feats, 0)

            return torch_step_runner(Fields(), torch.from_numpy(x), torch.from_numpy(y))
        raise ValueError(impl)

    return make


def _notes(per_field: bool) -> str:
    decoder = ("each field's own 16-64-64-1 decoder (decoder_per_field: true)" if per_field
               else "one 16-64-64-1 decoder shared by the fields")
    torch_decoder = ("addmm per field on its slice of [N, out, in] weight tensors, outputs "
                     "index_copy'd back into row order" if per_field
                     else "features index_copy'd back into row order, one addmm chain")
    return (f"Lamina: model kind triplane, fields 4, {decoder}, through lamina_trainer_step "
            f"(ctypes); rows are unsorted, the library groups them by field. PyTorch: per field, "
            f"index_select of its rows, one grid_sample over its 3 planes (align_corners=True, "
            f"zeros), sum; {torch_decoder}; torch.optim.Adam. Same initial weights. Against "
            f"triplane_fields{'_shared' if per_field else ''}: what per-field decoders cost.")


WORKLOADS = [
    Workload(
        name="triplane_fields",
        title="Tri-plane 4-field fitting step, per-field decoders, res 64, 16 ch, sum, 16-64-64-1, batch 16384",
        impls=["lamina", "pytorch"], lamina=["lamina"], make=make_fields(True),
        items=lambda impl, smoke: SMOKE[3] if smoke else BATCH, unit="points/s",
        notes=_notes(True)),
    Workload(
        name="triplane_fields_shared",
        title="Tri-plane 4-field fitting step, shared decoder, res 64, 16 ch, sum, 16-64-64-1, batch 16384",
        impls=["lamina", "pytorch"], lamina=["lamina"], make=make_fields(False),
        items=lambda impl, smoke: SMOKE[3] if smoke else BATCH, unit="points/s",
        notes=_notes(False)),
]
