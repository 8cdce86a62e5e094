"""Reference values for Tests/LaminaTests/Layers/KAN/KANMixedTests.swift (testMatchesNumpyReference).

An independent float64 numpy evaluation of one mixed KAN layer, 2 -> 2, bases
["bspline", "chebyshev", "fourier", "rbf"] with their default keys and temperature 0.7:

    phi_ij(x) = sum_k softmax_k(mix_logits[j, i, :] / T)_k * phi^k_ij(x)

with each component's edge as its single-basis layer defines it (B-spline: pykan's
scale_base * silu + scale_sp * spline, Cox-de Boor on the uniform extended grid, zero
outside it; Chebyshev: sum_d c T_d(tanh x); Fourier: sum_g a cos(g x) + b sin(g x); RBF
(FastKAN): sum_g W exp(-((x - c_g) / h)^2) + w_base silu(x)), and every per-output bias
b_j (Fourier "bias", RBF "base_linear.bias") shared equally by the output's edges (b_j / in
per edge). Tensor values: entry t of the s-th trainable tensor (in the layer's order) is
0.3 sin(1.3 t + 0.5 s), except mix_logits (s = 0): 0.8 cos(0.9 t). Buffers keep their
defaults. Run: python3 Tests/Reference/mixed_kan_reference.py
"""
import numpy as np

IN, OUT, T = 2, 2, 0.7
G_B, K_B = 5, 3
DEG = 4
G_F = 5
G_R = 8


def vals(count, s):
    t = np.arange(count, dtype=np.float64)
    if s == 0:
        return 0.8 * np.cos(0.9 * t)
    return 0.3 * np.sin(1.3 * t + 0.5 * s)


shapes = [
    ("mix_logits", (OUT, IN, 4)),
    ("bases.0.coef", (IN, OUT, G_B + K_B)),
    ("bases.0.scale_base", (IN, OUT)),
    ("bases.0.scale_sp", (IN, OUT)),
    ("bases.1.coef", (IN, OUT, DEG + 1)),
    ("bases.2.fouriercoeffs", (2, OUT, IN, G_F)),
    ("bases.2.bias", (OUT,)),
    ("bases.3.spline_linear.weight", (OUT, IN * G_R)),
    ("bases.3.base_linear.weight", (OUT, IN)),
    ("bases.3.base_linear.bias", (OUT,)),
]
P = {name: vals(int(np.prod(shape)), s).reshape(shape) for s, (name, shape) in enumerate(shapes)}


def silu(x):
    return x / (1 + np.exp(-x))


def bspline_bases(x):
    h = 2.0 / G_B
    t = -1 + (np.arange(G_B + 2 * K_B + 1) - K_B) * h
    b = np.array([(t[m] <= x) & (x < t[m + 1]) for m in range(len(t) - 1)], dtype=np.float64)
    for k in range(1, K_B + 1):
        nb = np.zeros((len(t) - 1 - k,) + np.shape(x))
        for m in range(len(t) - 1 - k):
            nb[m] = (x - t[m]) / (t[m + k] - t[m]) * b[m] + (t[m + k + 1] - x) / (t[m + k + 1] - t[m + 1]) * b[m + 1]
        b = nb
    return b  # [G + k, ...]


def edge(k, i, j, x):
    if k == 0:
        spline = np.tensordot(P["bases.0.coef"][i, j], bspline_bases(x), axes=1)
        return P["bases.0.scale_base"][i, j] * silu(x) + P["bases.0.scale_sp"][i, j] * spline
    if k == 1:
        u = np.tanh(x)
        tm, tc = np.ones_like(u), u
        v = P["bases.1.coef"][i, j, 0] * tm + P["bases.1.coef"][i, j, 1] * tc
        for d in range(2, DEG + 1):
            tm, tc = tc, 2 * u * tc - tm
            v = v + P["bases.1.coef"][i, j, d] * tc
        return v
    if k == 2:
        c = P["bases.2.fouriercoeffs"]
        v = sum(c[0, j, i, g - 1] * np.cos(g * x) + c[1, j, i, g - 1] * np.sin(g * x) for g in range(1, G_F + 1))
        return v + P["bases.2.bias"][j] / IN
    centres = np.linspace(-2, 2, G_R)
    h = 4.0 / (G_R - 1)
    w = P["bases.3.spline_linear.weight"][j, i * G_R:(i + 1) * G_R]
    v = sum(w[g] * np.exp(-(((x - centres[g]) / h) ** 2)) for g in range(G_R))
    return v + P["bases.3.base_linear.weight"][j, i] * silu(x) + P["bases.3.base_linear.bias"][j] / IN


def mixture():
    z = P["mix_logits"] / T
    e = np.exp(z - z.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


A = mixture()


def phi(i, j, x):
    return sum(A[j, i, k] * edge(k, i, j, x) for k in range(4))


X = np.array([[-1.3, 0.4], [0.25, -0.6], [0.9, 1.7], [-0.05, 0.0], [2.5, -2.4]])
Y = np.array([[sum(phi(i, j, X[r, i]) for i in range(IN)) for j in range(OUT)] for r in range(len(X))])
CURVE_X = np.array([-3.0, -1.1, -0.3, 0.0, 0.45, 0.99, 1.8])
CURVE = phi(1, 0, CURVE_X)
COMPONENT = edge(2, 1, 0, CURVE_X)  # Fourier's edge (1, 0) alone, at full weight


def swift(name, a):
    print(f"  static let {name}: [Double] = [")
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    for s in range(0, len(flat), 4):
        print("    " + ", ".join(repr(float(v)) for v in flat[s:s + 4]) + ",")
    print("  ]")


swift("mixture", A)
swift("y", Y)
swift("curve", CURVE)
swift("fourierEdge", COMPONENT)
