"""Reference values for Tests/LaminaTests/Layers/KAN/RBFRationalKANTests.swift.

Run with: /work/scratch-act/.venv/bin/python Tests/Reference/rbf_rational_kan_reference.py
(torch 2.x, CPU, numpy, scipy). Prints Swift literals that the tests hard-code.

Written from the published definitions, not from Lamina's code:
- FastKAN (github.com/ZiyaoLi/fast-kan, fastkan/fastkan.py, FastKANLayer): optional
  nn.LayerNorm(in), Gaussian bumps exp(-((z - c_m) / h)^2) with c = torch.linspace(lo, hi, G)
  and h = (hi - lo) / (G - 1), a bias-free linear map over the in*G bases laid out [in, G], plus
  nn.Linear(silu(x)).
- GR-KAN rational (Kolmogorov-Arnold Transformer paper, safe Pade form):
  F(x) = (a0 + ... + a5 x^5) / (1 + |b1 x + ... + b4 x^4|), per group of contiguous channels,
  then nn.Linear. Evaluated in float64 from the float32 parameters and inputs; autograd's abs
  has derivative 0 at 0, which the input x = 0 exercises.
Gradients are autograd's, for the loss L = sum(r * y) with the fixed weights r printed below.
"""
import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import erf

torch.set_printoptions(precision=10)


def lit(name, t):
    a = np.asarray(t.detach().cpu().numpy() if torch.is_tensor(t) else t, dtype=np.float64).ravel()
    body = ", ".join(repr(float(np.float32(v))) for v in a)
    print(f"  static let {name}: [Float] = [{body}]")


def f32(shape, gen, scale=1.0, shift=0.0):
    return ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale + shift).float()


# ---------------------------------------------------------------- FastKAN layer
def fastkan(x, grid_min, grid_max, G, ln, spline_w, base_w, base_b):
    grid = torch.linspace(grid_min, grid_max, G)  # float32, as FastKAN's buffer
    h = (grid_max - grid_min) / (G - 1)
    z = F.layer_norm(x, (x.shape[-1],), ln[0], ln[1], eps=1e-5) if ln is not None else x
    basis = torch.exp(-((z[..., None] - grid) / h) ** 2)
    y = basis.reshape(x.shape[0], -1) @ spline_w.T
    if base_w is not None:
        y = y + F.silu(x) @ base_w.T + base_b
    return y, grid


def rbf_case(tag, n, inp, out, G, lo, hi, normalize, base, seed):
    gen = torch.Generator().manual_seed(seed)
    x = f32((n, inp), gen, 1.6)
    ln = (f32((inp,), gen, 0.3, 1.0), f32((inp,), gen, 0.2)) if normalize else None
    sw = f32((out, inp * G), gen, 0.5)
    bw = f32((out, inp), gen, 0.6) if base else None
    bb = f32((out,), gen, 0.3) if base else None
    r = f32((n, out), gen)
    leaves = [x, sw] + (list(ln) if ln else []) + ([bw, bb] if base else [])
    for t in leaves:
        t.requires_grad_(True)
    y, grid = fastkan(x, lo, hi, G, ln, sw, bw, bb)
    (y * r).sum().backward()
    print(f"  // {tag}: n {n}, in {inp}, out {out}, grid {G}, range [{lo}, {hi}], normalize {normalize}, base {base}")
    for name, t in [("X", x), ("R", r), ("Grid", grid), ("Spline", sw), ("Y", y), ("DX", x.grad), ("DSpline", sw.grad)]:
        lit(f"{tag}{name}", t)
    if ln:
        lit(f"{tag}LNWeight", ln[0]); lit(f"{tag}LNBias", ln[1])
        lit(f"{tag}DLNWeight", ln[0].grad); lit(f"{tag}DLNBias", ln[1].grad)
    if base:
        lit(f"{tag}BaseW", bw); lit(f"{tag}BaseB", bb)
        lit(f"{tag}DBaseW", bw.grad); lit(f"{tag}DBaseB", bb.grad)


# ---------------------------------------------------------------- rational layer
def rational(x, a, b, groups):
    n, c = x.shape
    xg = x.reshape(n, groups, c // groups)
    p = sum(a[:, k][None, :, None] * xg ** k for k in range(6))
    s = sum(b[:, j - 1][None, :, None] * xg ** j for j in range(1, 5))
    return (p / (1 + torch.abs(s))).reshape(n, c)


def rational_case(tag, n, inp, out, groups, seed):
    gen = torch.Generator().manual_seed(seed)
    x = f32((n, inp), gen, 2.0)
    x[0, 0] = 0.0  # s = 0 exactly: abs'(0) = 0
    x[1, 1] = 0.0
    gelu_a = [-0.00153969, 0.51692871, 0.44075827, 0.0972553, -0.00884418, -0.00378675]
    gelu_b = [-0.14171056, -0.06481231, -0.0444695, 0.01283776]
    a = torch.tensor([gelu_a] + [list(np.array(gelu_a) + np.random.default_rng(seed + g).uniform(-0.2, 0.2, 6))
                                 for g in range(1, groups)]).float()
    b = torch.tensor([gelu_b] + [list(np.array(gelu_b) + np.random.default_rng(seed + 10 + g).uniform(-0.2, 0.2, 4))
                                 for g in range(1, groups)]).float()
    w = f32((out, inp), gen, 0.7)
    bias = f32((out,), gen, 0.3)
    r = f32((n, out), gen)
    xd, ad, bd, wd, biasd = (t.double().requires_grad_(True) for t in (x, a, b, w, bias))
    y = rational(xd, ad, bd, groups) @ wd.T + biasd
    (y * r.double()).sum().backward()
    print(f"  // {tag}: n {n}, in {inp}, out {out}, groups {groups}")
    for name, t in [("X", x), ("R", r), ("Numerator", a), ("Denominator", b), ("Weight", w), ("Bias", bias),
                    ("Y", y), ("DX", xd.grad), ("DNumerator", ad.grad), ("DDenominator", bd.grad),
                    ("DWeight", wd.grad), ("DBias", biasd.grad)]:
        lit(f"{tag}{name}", t)


print("enum RBFRationalReference {")
rbf_case("rbfA", 5, 3, 2, 5, -1.5, 1.5, True, True, 11)
rbf_case("rbfB", 4, 2, 3, 4, -2.0, 2.0, False, False, 12)
lit("defaultGrid", torch.linspace(-2.0, 2.0, 8))
for i, (lo, hi, g) in enumerate([(-3.3, 2.7, 11), (0.1, 0.7, 13), (-1.0, 1.5, 5), (-5.0, 5.0, 33)]):
    print(f"  // torch.linspace({lo}, {hi}, {g})")
    lit(f"linspace{i}", torch.linspace(lo, hi, g))
rational_case("ratA", 5, 4, 3, 2, 21)
print("}")

# The fitted initial rationals against the functions they stand for, on [-3, 3].
xs = np.linspace(-3, 3, 6001)
def paper(a, b, x):
    return sum(a[k] * x ** k for k in range(6)) / (1 + np.abs(sum(b[j - 1] * x ** j for j in range(1, 5))))
gelu = xs * 0.5 * (1 + erf(xs / np.sqrt(2)))
silu = xs / (1 + np.exp(-xs))
ga = [-0.00153969, 0.51692871, 0.44075827, 0.0972553, -0.00884418, -0.00378675]
gb = [-0.14171056, -0.06481231, -0.0444695, 0.01283776]
sa = [3.054879741161051e-07, 0.5000007853744493, 0.24999783422824703, 0.05326628273219478,
      0.005803034571292244, 0.0002751961022402342]
sb = [-4.111554955950634e-06, 0.10652899335007572, -1.2690007399796238e-06, 0.0005502331264140556]
print("// max |F - GELU| on [-3, 3]:", np.max(np.abs(paper(ga, gb, xs) - gelu)))
print("// max |F - SiLU| on [-3, 3]:", np.max(np.abs(paper(sa, sb, xs) - silu)))
