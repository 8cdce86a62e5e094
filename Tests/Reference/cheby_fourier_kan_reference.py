"""Reference values for Tests/LaminaTests/Layers/KAN/ChebyshevFourierKANTests.swift.

Run: /work/scratch-act/.venv/bin/python Tests/Reference/cheby_fourier_kan_reference.py

Evaluates ChebyKAN (SynodicMonth/ChebyKAN) and FourierKAN (GistNoesis/FourierKAN,
NaiveFourierKANLayer) on fixed Float32 coefficients and inputs, two independent ways:

- numpy, float64, from the closed forms: T_d(t) = cos(d * arccos(t)) with t = tanh(x), and
  cos(g x), sin(g x) directly;
- torch, float32, written the way the two reference layers compute (the Chebyshev
  three-term recurrence and an einsum over cheby_coeffs[in, out, D+1]; cos(k x) and
  sin(k x) against fouriercoeffs[2, out, in, G] plus bias[1, out]).

It checks the two agree, then prints the float64 values as Swift literals.
"""
import numpy as np
import torch


def f32(a):
    return np.asarray(a, dtype=np.float32)


def cheby_numpy(x, coef):
    # y[b, j] = sum_i sum_d coef[i, j, d] T_d(tanh x[b, i]), T_d = cos(d arccos t).
    x = x.astype(np.float64)
    coef = coef.astype(np.float64)
    degree = coef.shape[2] - 1
    t = np.clip(np.tanh(x), -1.0, 1.0)
    d = np.arange(degree + 1)
    basis = np.cos(d[None, None, :] * np.arccos(t)[:, :, None])  # [b, in, D+1]
    return np.einsum("bid,ijd->bj", basis, coef)


def cheby_torch(x, coef):
    x = torch.tanh(torch.tensor(x))
    c = torch.tensor(coef)
    degree = c.shape[2] - 1
    terms = [torch.ones_like(x), x]
    for _ in range(2, degree + 1):
        terms.append(2 * x * terms[-1] - terms[-2])
    basis = torch.stack(terms[: degree + 1], dim=-1)
    return torch.einsum("bid,iod->bo", basis, c).numpy()


def fourier_numpy(x, coeffs, bias):
    x = x.astype(np.float64)
    coeffs = coeffs.astype(np.float64)
    grid = coeffs.shape[3]
    g = np.arange(1, grid + 1)
    angle = x[:, :, None] * g[None, None, :]  # [b, in, G]
    y = np.einsum("big,jig->bj", np.cos(angle), coeffs[0])
    y += np.einsum("big,jig->bj", np.sin(angle), coeffs[1])
    if bias is not None:
        y += bias.astype(np.float64)[None, :]
    return y


def fourier_torch(x, coeffs, bias):
    xt = torch.tensor(x)
    c = torch.tensor(coeffs)
    k = torch.arange(1, c.shape[3] + 1, dtype=torch.float32).reshape(1, 1, 1, -1)
    xr = xt.reshape(xt.shape[0], 1, xt.shape[1], 1)
    y = torch.sum(torch.cos(k * xr) * c[0:1], (-2, -1))
    y += torch.sum(torch.sin(k * xr) * c[1:2], (-2, -1))
    if bias is not None:
        y += torch.tensor(bias).reshape(1, -1)
    return y.numpy()


def swift(name, a):
    flat = ", ".join(repr(float(v)) for v in np.asarray(a).ravel())
    return f"    let {name}: [Float] = [{flat}]"


def swift64(name, a):
    flat = ", ".join(repr(float(v)) for v in np.asarray(a).ravel())
    return f"    let {name}: [Double] = [{flat}]"


rng = np.random.default_rng(20240611)

cases = []
# Chebyshev: (in, out, degree, inputs) -- the inputs include tanh saturation (|x| >= 10).
for name, (inp, out, degree, xs) in {
    "cheby1": (3, 2, 3, [[0.0, 0.5, -1.25], [2.0, -0.75, 0.1], [12.0, -25.0, 0.3], [-3.5, 1.0, 9.0]]),
    "cheby2": (2, 3, 7, [[0.2, -0.4], [1.5, 0.05], [-20.0, 0.7], [0.9, -2.2], [4.0, 30.0]]),
}.items():
    x = f32(xs)
    coef = f32(rng.normal(0, 0.5, size=(inp, out, degree + 1)))
    ref = cheby_numpy(x, coef)
    tor = cheby_torch(x, coef)
    assert np.allclose(ref, tor, atol=1e-5), (ref, tor)
    cases.append((name, [swift(f"{name}X", x), swift(f"{name}Coef", coef), swift64(f"{name}Y", ref)]))

# Fourier: (in, out, grid, bias?, inputs) -- the inputs include |x| well beyond 2 pi.
for name, (inp, out, grid, has_bias, xs) in {
    "fourier1": (3, 2, 4, True, [[0.0, 0.5, -1.25], [2.0, -0.75, 0.1], [3.1, -3.0, 0.3]]),
    "fourier2": (2, 3, 7, False, [[0.2, -0.4], [1.5, 0.05], [-8.0, 0.7], [12.5, -2.2]]),
}.items():
    x = f32(xs)
    coeffs = f32(rng.normal(0, 0.5, size=(2, out, inp, grid)))
    bias = f32(rng.normal(0, 0.5, size=(out,))) if has_bias else None
    ref = fourier_numpy(x, coeffs, bias)
    tor = fourier_torch(x, coeffs, bias)
    assert np.allclose(ref, tor, atol=1e-4), (ref, tor)
    lines = [swift(f"{name}X", x), swift(f"{name}Coeffs", coeffs)]
    if bias is not None:
        lines.append(swift(f"{name}Bias", bias))
    lines.append(swift64(f"{name}Y", ref))
    cases.append((name, lines))

for name, lines in cases:
    print(f"    // {name}")
    print("\n".join(lines))
