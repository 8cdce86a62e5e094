"""The default kernel paths against stored PyTorch / pykan values
(Tests/Reference/kernel_reference.h, made by Tests/Reference/kernel_reference.py, which
documents the cases): the tri-plane encoding with 16 channels (the AVX2 gather and
scatter), the default tri-plane field, B-spline KANs [2, 5, 1] and [64, 64, 10] on the
uniform cubic grid, and an MLP 3-64-64-1 at batch 256 (the FMA dense kernels). Outputs,
input Jacobians and the mse gradient of every trained tensor (read off one plain SGD step:
g = (w - w') / lr, lr = 1024, exact to about 6e-8 relative).

Every tensor, input and target is made by the generator's formula (``values``), so the
header stores only results. Tolerance, as in Tests/C/test_kernel_reference.c: an entry
passes when |lamina - reference| <= TOL (scale + |reference|), scale the largest
|reference| of the array. The references are float64 (the encoding's outputs float32
grid_sample); Lamina's float32 rounding stays near 1e-6 of the scale (a few 1e-7
measured), TOL = 2e-5 leaves room for other CPUs' kernels, and a wrong texel, lane, basis
or term moves entries by far more.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List

import numpy as np
import pytest

import lamina

from conftest import REPO_ROOT

HEADER = REPO_ROOT / "Tests" / "Reference" / "kernel_reference.h"
TOL = 2e-5
LR = 1024.0
M32 = np.uint64(0xFFFFFFFF)


def values(count: int, salt: int, offset: float, scale: float) -> np.ndarray:
    """The generator's formula: offset + scale * u, u = (fmix32(j + salt * 0x9E3779B9) >> 8)
    / 2^23 - 1, as float32."""
    h = (np.arange(count, dtype=np.uint64) + np.uint64((salt * 0x9E3779B9) & 0xFFFFFFFF)) & M32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & M32
    h ^= h >> np.uint64(16)
    return (offset + scale * ((h >> np.uint64(8)).astype(np.float64) / 8388608.0 - 1.0)).astype(
        np.float32)


def read_header() -> Dict[str, object]:
    """Every ``static const float|char name[] = ...;`` of the header, by name."""
    text = HEADER.read_text()
    arrays: Dict[str, object] = {}
    for name, body in re.findall(r"static const float (\w+)\[\] = \{(.*?)\};", text, re.S):
        arrays[name] = np.array([float(v) for v in body.replace("\n", " ").split(",") if v.strip()])
    for name, body in re.findall(r'static const char (\w+)\[\] = ((?:"(?:[^"\\]|\\.)*"\s*)+);',
                                 text):
        arrays[name] = "".join(json.loads(piece) for piece in re.findall(r'"(?:[^"\\]|\\.)*"', body))
    return arrays


ARRAYS = read_header()
CASES: List[str] = sorted(
    {m.group(1) for m in (re.match(r"lref_(\w+)_spec$", k) for k in ARRAYS) if m})


def compare(what: str, got: np.ndarray, stride: int, want: np.ndarray) -> None:
    got = np.asarray(got, np.float64).ravel()[::stride]
    assert got.shape == want.shape, f"{what}: {got.shape} entries vs {want.shape} stored"
    scale = float(np.abs(want).max())
    assert scale > 0, f"{what}: the reference is all zeros"
    err = np.abs(got - want) / (TOL * (scale + np.abs(want)))
    bad = np.flatnonzero(~(err <= 1))
    assert bad.size == 0, (
        f"{what}: {bad.size} of {want.size} entries off; first [{bad[0] * stride}]: "
        f"{got[bad[0]]:.7g} vs reference {want[bad[0]]:.7g}")


def test_header_holds_every_case() -> None:
    assert CASES == ["kan_small", "kan_wide", "mlp", "triplane_field", "triplane_mean",
                     "triplane_sum"]


@pytest.mark.parametrize("case", CASES)
def test_outputs_jacobian_and_gradients_match_the_reference(case: str) -> None:
    model = lamina.Model.from_spec(ARRAYS[f"lref_{case}_spec"])
    lines = [line.split() for line in str(ARRAYS[f"lref_{case}_setup"]).splitlines()]
    setup = {line[0]: line[1:] for line in lines if line[0] in ("rows", "x", "target", "dydx")}
    rows = int(setup["rows"][0])

    def made(key: List[str], count: int) -> np.ndarray:
        return values(count, int(key[0]), float(key[1]), float(key[2]))

    x = made(setup["x"], rows * model.input_dim).reshape(rows, model.input_dim)
    t = made(setup["target"], rows * model.output_dim).reshape(rows, model.output_dim)
    state = model.state_dict()
    written = {line[1]: made(line[2:], state[line[1]].size).reshape(state[line[1]].shape)
               for line in lines if line[0] == "tensor"}
    model.load_state_dict(written, strict=False)

    compare("y", model.predict(x), 1, ARRAYS[f"lref_{case}_y"])
    compare("dy/dx", model.gradient(x), int(setup["dydx"][0]), ARRAYS[f"lref_{case}_dydx"])
    twin = model.copy()
    lamina.Trainer(twin, optimizer="sgd", learning_rate=LR, momentum=0, weight_decay=0,
                   clip_norm=0, loss="mse", batch_size=rows, shuffle=False).step(x, t)
    after = twin.state_dict()
    grads = [line for line in lines if line[0] == "grad"]
    assert grads and {g[1] for g in grads} == set(written)
    for k, (_, name, stride, count) in enumerate(grads):
        g = (written[name].astype(np.float64) - after[name].astype(np.float64)) / LR
        want = ARRAYS[f"lref_{case}_g{k}"]
        assert want.size == int(count)
        compare(f"d/d {name}", g, int(stride), want)
