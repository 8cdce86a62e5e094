"""Reference values for the default kernel paths, for Tests/C/test_kernel_reference.c and
bindings/python/tests/test_kernel_reference.py (both read the header this writes).

Run with a Python that has torch and pykan 0.2.8 (torch only generates; the tests need
neither):

    /work/main/.venv-bench/bin/python Tests/Reference/kernel_reference.py \
        > Tests/Reference/kernel_reference.h

Each case is a model at the sizes users run, with every tensor, input and target made by
one formula that C, Python and this script compute alike (`values` below: a 32-bit hash of
the entry index and a salt, scaled by binary fractions, so every value is an exact float32).
The cases take these paths on an AVX2/FMA CPU:

- triplane_sum, triplane_mean: a sequential model holding only a tri-plane encoding, 16
  channels (the default), R 8, 64 points: the forward is `lamina_triplane_gather` (a
  channel-last copy: 64 x 16 >= 8^2 texels), sum's backward `lamina_triplane_scatter_band`.
  Outputs are the features: F.grid_sample(mode="bilinear", align_corners=True,
  padding_mode="zeros") of planes xy (x along W, y along H), xz, yz, summed
  (f_xy + f_xz) + f_yz or that over 3, in float32 as Lamina promises to match it.
- triplane_field: the default tri-plane field (16 channels, decoder 16-64-1 relu), R 8.
- kan_small: KAN [2, 5, 1], grid 5, order 3 (uniform cubic grid: the AVX2 basis kernels;
  five and one outputs: the small-output kernels), batch 128.
- kan_wide: KAN [64, 64, 10], batch 64 (layer 0's 64 outputs go through sgemm, layer 1's
  10 through the small-output kernels).
- mlp: MLP 3-64-64-1 relu, batch 256 (Dense+FMA.swift: widths up to 128).

For each case: y (n x out), the input Jacobian dy/dx (n x out x in) and the gradient of
L = mean((y - t)^2) (the trainer's "mse") for every trained tensor, by autograd in float64
(the triplane_* features: float32 grid_sample; their Jacobian and gradients float64). Large
arrays are stored every `stride`-th entry (stride odd, so samples fall across rows and
columns and channels), about 1024 per array at most. The KAN reference is a float64 re-implementation of
pykan's KANLayer (silu branch plus Cox-de Boor B-splines on the extended uniform grid),
checked here against pykan's own KANLayer in float32; the MLP and the decoder are
torch.nn.Linear layers, the encoding F.grid_sample.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

M32 = np.uint64(0xFFFFFFFF)
GOLDEN = 0x9E3779B9


def values(count: int, salt: int, offset: float, scale: float) -> np.ndarray:
    """offset + scale * u, u = (fmix32(j + salt * 0x9E3779B9) >> 8) / 2^23 - 1 in [-1, 1)
    (murmur3's finaliser), rounded to float32. The same in C and in the Python test."""
    h = (np.arange(count, dtype=np.uint64) + np.uint64((salt * GOLDEN) & 0xFFFFFFFF)) & M32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & M32
    h ^= h >> np.uint64(16)
    u = (h >> np.uint64(8)).astype(np.float64) / 8388608.0 - 1.0
    return (offset + scale * u).astype(np.float32)


def stride_for(shape) -> int:
    """1 for at most 1024 entries, else the smallest step that keeps about 1024 and shares no
    factor with any dimension, so the stored entries fall on every row, column and channel."""
    count = int(np.prod(shape))
    if count <= 1024:
        return 1
    s = -(-count // 1024)
    while any(math.gcd(s, int(d)) != 1 for d in shape):
        s += 1
    return s


# ---- the models, in float64 -------------------------------------------------------------
def triplane_features(planes: torch.Tensor, p: torch.Tensor, mean: bool) -> torch.Tensor:
    """planes [3, C, R, R], points [n, 3] -> [n, C]."""
    c = planes.shape[1]
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    f = []
    for k, (u, v) in enumerate([(x, y), (x, z), (y, z)]):
        grid = torch.stack([u, v], dim=-1).view(1, 1, -1, 2)
        s = F.grid_sample(planes[k : k + 1], grid, mode="bilinear", padding_mode="zeros",
                          align_corners=True)
        f.append(s.view(c, -1).t())
    out = (f[0] + f[1]) + f[2]
    return out / 3 if mean else out


def bspline_bases(x: torch.Tensor, grid: torch.Tensor, k: int) -> torch.Tensor:
    """pykan's B_batch: x [n, in], grid [in, G + 2k + 1] -> [n, in, G + k]."""
    x = x[:, :, None]
    g = grid[None, :, :]
    b = ((x >= g[:, :, :-1]) & (x < g[:, :, 1:])).to(x.dtype)
    for p in range(1, k + 1):
        left = (x - g[:, :, : -(p + 1)]) / (g[:, :, p:-1] - g[:, :, : -(p + 1)])
        right = (g[:, :, p + 1 :] - x) / (g[:, :, p + 1 :] - g[:, :, 1:-p])
        b = left * b[:, :, :-1] + right * b[:, :, 1:]
    return b


def uniform_grid(inputs: int, g: int, k: int) -> torch.Tensor:
    h = 2.0 / g
    t = torch.tensor([-1.0 + (m - k) * h for m in range(g + 2 * k + 1)], dtype=torch.float64)
    return t[None, :].repeat(inputs, 1)


def kan_layer(x, coef, scale_base, scale_sp, g: int, k: int):
    """pykan's KANLayer.forward (mask 1): y_j = sum_i sb_ij silu(x_i) + sp_ij spline_ij(x_i)."""
    grid = uniform_grid(x.shape[1], g, k)
    spline = torch.einsum("nim,iom->nio", bspline_bases(x, grid, k), coef)
    return (scale_base[None] * F.silu(x)[:, :, None] + scale_sp[None] * spline).sum(dim=1)


def check_against_pykan(tensors, x, widths, g, k, y64):
    """Lamina's KAN is pykan's KANLayers in sequence: pykan's own forward, float32, must give
    the float64 re-implementation's values."""
    from kan.KANLayer import KANLayer

    torch.set_default_dtype(torch.float32)
    a = torch.tensor(x)
    for l in range(len(widths) - 1):
        layer = KANLayer(in_dim=widths[l], out_dim=widths[l + 1], num=g, k=k)
        with torch.no_grad():
            layer.coef.copy_(torch.tensor(tensors[f"{l}.coef"]))
            layer.scale_base.copy_(torch.tensor(tensors[f"{l}.scale_base"]))
            layer.scale_sp.copy_(torch.tensor(tensors[f"{l}.scale_sp"]))
            layer.mask.fill_(1)
            a = layer(a)[0]
    diff = float((a.double() - y64).abs().max())
    scale = float(y64.abs().max())
    assert diff <= 1e-5 * max(1.0, scale), f"pykan differs by {diff}"
    return diff


# ---- cases --------------------------------------------------------------------------------
class Case:
    def __init__(self, name, spec, rows, inputs, outputs, x, target, tensors):
        self.name, self.spec, self.rows = name, spec, rows
        self.inputs, self.outputs = inputs, outputs
        self.x_init, self.t_init = x, target  # (salt, offset, scale)
        self.tensor_init = tensors  # name -> (shape, salt, offset, scale)
        self.notes = []

    def make(self):
        x = values(self.rows * self.inputs, *self.x_init).reshape(self.rows, self.inputs)
        t = values(self.rows * self.outputs, *self.t_init).reshape(self.rows, self.outputs)
        w = {n: values(int(np.prod(s)), salt, o, sc).reshape(s)
             for n, (s, salt, o, sc) in self.tensor_init.items()}
        return x, t, w


def run(case: Case, forward, forward32=None):
    """forward(x, tensors) -> y, all float64 torch tensors; forward32 gives y in float32."""
    x, t, w = case.make()
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in w.items()}
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = forward(xt, params)
    loss = ((y - torch.tensor(t, dtype=torch.float64)) ** 2).mean()
    grads = torch.autograd.grad(loss, list(params.values()), retain_graph=True)
    jac = torch.zeros(case.rows, case.outputs, case.inputs, dtype=torch.float64)
    for o in range(case.outputs):
        (gx,) = torch.autograd.grad(y[:, o].sum(), xt, retain_graph=True)
        jac[:, o, :] = gx
    if forward32 is not None:
        y_out = forward32(torch.tensor(x), {n: torch.tensor(v) for n, v in w.items()})
        case.notes.append("float32 vs float64 y: %.3g" % float((y_out.double() - y.detach()).abs().max()))
        y_out = y_out.detach().numpy()
    else:
        y_out = y.detach().numpy()
    return x, w, y_out, jac.detach().numpy(), {n: g.numpy() for n, g in zip(params, grads)}, y


def triplane_case(name, mean):
    r, c = 8, 16
    spec = {"kind": "sequential", "input": 3, "layers": [
        {"type": "triplane", "resolution": r, "channels": c,
         "aggregation": "mean" if mean else "sum"}]}
    case = Case(name, spec, 64, 3, c, (11, 0.0, 1.0), (12, 0.0, 1.0),
                {"0.planes": ((3, c, r, r), 13, 0.0, 0.5)})
    f = lambda x, p: triplane_features(p["0.planes"], x, mean)
    return case, run(case, f, f)


def triplane_field_case():
    r, c = 8, 16
    spec = {"kind": "triplane", "resolution": r, "channels": c}
    case = Case("triplane_field", spec, 64, 3, 1, (21, 0.0, 1.0), (22, 0.0, 0.5), {
        "0.planes": ((3, c, r, r), 23, 0.0, 0.5),
        "1.weight": ((64, c), 24, 0.0, 0.25), "1.bias": ((64,), 25, 0.0, 0.125),
        "3.weight": ((1, 64), 26, 0.0, 0.25), "3.bias": ((1,), 27, 0.0, 0.125)})

    def forward(x, p):
        h = triplane_features(p["0.planes"], x, False) @ p["1.weight"].t() + p["1.bias"]
        pre = h.detach().abs().min()
        case.notes.append("smallest |decoder pre-activation| %.3g" % float(pre))
        return F.relu(h) @ p["3.weight"].t() + p["3.bias"]

    return case, run(case, forward)


def kan_case(name, widths, rows, salt, scale):
    g, k = 5, 3
    spec = {"kind": "kan", "widths": widths, "grid": g, "order": k}
    tensors = {}
    for l in range(len(widths) - 1):
        i, o = widths[l], widths[l + 1]
        tensors[f"{l}.coef"] = ((i, o, g + k), salt + 10 * l, 0.0, scale[l])
        tensors[f"{l}.scale_base"] = ((i, o), salt + 10 * l + 1, 0.0, scale[l])
        tensors[f"{l}.scale_sp"] = ((i, o), salt + 10 * l + 2, 1.0, 0.25)
    case = Case(name, spec, rows, widths[0], widths[-1], (salt + 100, 0.0, 1.25),
                (salt + 101, 0.0, 1.0), tensors)

    def forward(x, p):
        a = x
        for l in range(len(widths) - 1):
            a = kan_layer(a, p[f"{l}.coef"], p[f"{l}.scale_base"], p[f"{l}.scale_sp"], g, k)
        return a

    result = run(case, forward)
    x, w, _, _, _, y64 = result
    diff = check_against_pykan(w, x, widths, g, k, y64.detach())
    case.notes.append("pykan KANLayer (float32) vs this float64 forward: %.3g" % diff)
    return case, result


def mlp_case():
    spec = {"kind": "mlp", "input": 3, "hidden": [64, 64], "output": 1, "activation": "relu"}
    case = Case("mlp", spec, 256, 3, 1, (41, 0.0, 1.0), (42, 0.0, 1.0), {
        "0.weight": ((64, 3), 43, 0.0, 0.5), "0.bias": ((64,), 44, 0.0, 0.25),
        "2.weight": ((64, 64), 45, 0.0, 0.25), "2.bias": ((64,), 46, 0.0, 0.125),
        "4.weight": ((1, 64), 47, 0.0, 0.25), "4.bias": ((1,), 48, 0.0, 0.125)})

    def forward(x, p):
        h1 = x @ p["0.weight"].t() + p["0.bias"]
        h2 = F.relu(h1) @ p["2.weight"].t() + p["2.bias"]
        pre = min(float(h1.detach().abs().min()), float(h2.detach().abs().min()))
        case.notes.append("smallest |pre-activation| %.3g" % pre)
        return F.relu(h2) @ p["4.weight"].t() + p["4.bias"]

    return case, run(case, forward)


# ---- output -------------------------------------------------------------------------------
def c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def c_floats(name: str, a: np.ndarray, stride: int) -> str:
    flat = np.asarray(a, np.float32).ravel()[::stride]
    lines = [f"static const float {name}[] = {{"]
    for i in range(0, len(flat), 8):
        lines.append("    " + ", ".join("%.9g" % v for v in flat[i : i + 8]) + ",")
    lines.append("};")
    return "\n".join(lines)


def main() -> None:
    import kan

    cases = [
        triplane_case("triplane_sum", False), triplane_case("triplane_mean", True),
        triplane_field_case(),
        kan_case("kan_small", [2, 5, 1], 128, 60, [0.5, 0.5]),
        kan_case("kan_wide", [64, 64, 10], 64, 70, [0.125, 0.125]),
        mlp_case(),
    ]
    out = sys.stdout
    out.write("/* Generated by Tests/Reference/kernel_reference.py (torch %s, pykan %s);"
              " do not edit. */\n" % (torch.__version__, getattr(kan, "__version__", "0.2.8")))
    out.write("/* Read by Tests/C/test_kernel_reference.c (included) and by\n"
              "** bindings/python/tests/test_kernel_reference.py (parsed: every array is one\n"
              "** \"static const float|char name[] = ...;\"). A case's setup lists, one per line:\n"
              "** rows n; x / target / tensor <name>: salt offset scale of the value formula;\n"
              "** dydx and grad <name>: the stride and count of the stored entries. */\n")
    out.write("#ifndef LAMINA_KERNEL_REFERENCE_H\n#define LAMINA_KERNEL_REFERENCE_H\n\n")
    out.write("typedef struct {\n    const char *name, *spec, *setup;\n"
              "    const float *y, *dydx;\n    const float *const *grads;\n} lref_case;\n\n")
    registry = []
    for case, (x, w, y, jac, grads, _) in cases:
        setup = [f"rows {case.rows}", "x %d %r %r" % case.x_init, "target %d %r %r" % case.t_init]
        for n, (_, salt, o, sc) in case.tensor_init.items():
            setup.append(f"tensor {n} {salt} {o!r} {sc!r}")
        js = stride_for(jac.shape)
        setup.append(f"dydx {js} {len(jac.ravel()[::js])}")
        for n, g in grads.items():
            s = stride_for(g.shape)
            setup.append(f"grad {n} {s} {len(g.ravel()[::s])}")
        out.write(f"/* {case.name}: " + "; ".join(case.notes) + " */\n")
        out.write(f"static const char lref_{case.name}_spec[] = {c_string(json.dumps(case.spec))};\n")
        out.write(f"static const char lref_{case.name}_setup[] = {c_string(chr(10).join(setup))};\n")
        out.write(c_floats(f"lref_{case.name}_y", y, 1) + "\n")
        out.write(c_floats(f"lref_{case.name}_dydx", jac, js) + "\n")
        names = []
        for k, (n, g) in enumerate(grads.items()):
            out.write(c_floats(f"lref_{case.name}_g{k}", g, stride_for(g.shape)) + "\n")
            names.append(f"lref_{case.name}_g{k}")
        out.write(f"static const float *const lref_{case.name}_grads[] = {{{', '.join(names)}}};\n\n")
        registry.append(f"    {{\"{case.name}\", lref_{case.name}_spec, lref_{case.name}_setup,"
                        f" lref_{case.name}_y, lref_{case.name}_dydx, lref_{case.name}_grads}},")
    out.write("static const lref_case lref_cases[] = {\n" + "\n".join(registry) + "\n};\n\n")
    out.write("#endif\n")
    for case, _ in cases:
        print(case.name, case.notes, file=sys.stderr)


if __name__ == "__main__":
    main()
