"""KAN symbolic search: pykan's ``suggest_symbolic`` on one edge, layer 0 edge (0, 0), of a
[2, 5, 1] KAN (G = 5, k = 3) trained 50 Adam steps on exp(sin(pi x) + y^2), sampled at 1000
inputs, with pykan's whole library (its 29 functions), each fitted by pykan's fit_params
(a and b in [-10, 10], 101 x 101 grid, 3 rounds): Lamina's
``lamina_model_kan_symbolic_search`` against pykan's ``MultKAN.suggest_symbolic``."""

from __future__ import annotations

import ctypes
import json
import tempfile
from typing import Any

import numpy as np

from .common import Runner, Workload, import_lamina, torch_setup

WIDTHS = [2, 5, 1]
SAMPLES = 1000
SMOKE_SAMPLES = 64
TRAIN_STEPS = 50
# pykan 0.2.8's SYMBOLIC_LIB, in its order (Lamina's library adds "cosh" and "sigmoid").
PYKAN_LIBRARY = [
    "x", "x^2", "x^3", "x^4", "x^5", "1/x", "1/x^2", "1/x^3", "1/x^4", "1/x^5", "sqrt", "x^0.5",
    "x^1.5", "1/sqrt(x)", "1/x^0.5", "exp", "log", "abs", "sin", "cos", "tan", "tanh", "sgn",
    "arcsin", "arccos", "arctan", "arctanh", "0", "gaussian",
]


def _data(samples: int) -> Any:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (samples, 2)).astype(np.float32)
    y = np.exp(np.sin(np.pi * x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)
    return x, y


def _lamina(x: Any, y: Any, smoke: bool) -> Runner:
    lamina = import_lamina()
    from lamina import _library

    # lamina.kan's KAN draws pykan's initial weights with torch, so both sides search edges
    # of (nearly) the same trained model and their choices can be compared. Without torch
    # (a smoke run in a venv without it) Lamina's own KAN stands in.
    try:
        import torch
        from lamina.kan import KAN

        model = KAN(width=list(WIDTHS), grid=5, k=3, seed=0, auto_save=False)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        data = {"train_input": xt, "train_label": yt, "test_input": xt, "test_label": yt}
        model.fit(data, opt="Adam", steps=TRAIN_STEPS, lr=0.01, log=TRAIN_STEPS + 1)
    except ImportError:
        model = lamina.KAN(width=list(WIDTHS), grid=5, k=3, seed=0, symbolic=True)
        data = {"train_input": x, "train_label": y, "test_input": x, "test_label": y}
        model.fit(data, opt="Adam", steps=TRAIN_STEPS, lr=0.01, progress=False)
    options = {"library": PYKAN_LIBRARY}
    if smoke:
        options["grid_number"] = 11
    opts = json.dumps(options).encode()
    search = _library.lib().lamina_model_kan_symbolic_search
    cap = 1 << 16
    buf = ctypes.create_string_buffer(cap)
    length = ctypes.c_size_t(0)
    xp = _library.as_float_pointer(x)
    best = [""]

    def run(calls: int) -> None:
        for _ in range(calls):
            if search(model._ptr, 0, 0, 0, xp, x.shape[0], opts, buf, cap, ctypes.byref(length)) != 0:
                raise RuntimeError(f"lamina_model_kan_symbolic_search: {_library.last_error()}")
        best[0] = json.loads(buf.value.decode())[0]["name"]

    run.keep = (model, buf)  # type: ignore[attr-defined]
    run.extra = lambda: {"best": best[0]}  # type: ignore[attr-defined]
    return run


def _pykan(x: Any, y: Any, threads: int) -> Runner:
    torch = torch_setup(threads)
    from kan import KAN

    torch.manual_seed(0)
    ckpt = tempfile.mkdtemp(prefix="lamina_bench_pykan_")
    model = KAN(width=list(WIDTHS), grid=5, k=3, seed=0, auto_save=False, ckpt_path=ckpt)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    data = {"train_input": xt, "train_label": yt, "test_input": xt, "test_label": yt}
    model.fit(data, opt="Adam", steps=TRAIN_STEPS, lr=0.01, log=TRAIN_STEPS + 1)
    model(xt)  # caches the activations suggest_symbolic samples
    best = [""]

    def run(calls: int) -> None:
        for _ in range(calls):
            best[0] = model.suggest_symbolic(0, 0, 0, verbose=False)[0]

    run.extra = lambda: {"best": best[0]}  # type: ignore[attr-defined]
    return run


def make(impl: str, smoke: bool, threads: int) -> Runner:
    x, y = _data(SMOKE_SAMPLES if smoke else SAMPLES)
    if impl == "lamina":
        return _lamina(x, y, smoke)
    if impl == "pykan":
        return _pykan(x, y, threads)
    raise ValueError(impl)


WORKLOADS = [
    Workload(
        name="kan_symbolic", title="KAN [2, 5, 1] suggest_symbolic on one edge, 1000 samples, "
        "pykan's 29-function library (101 x 101 grid, 3 rounds)",
        impls=["lamina", "pykan"], lamina=["lamina"], make=make, items=lambda impl, smoke: 1,
        unit="edges/s", reps=3, block=0.01, warmup=0.01, min_calls=1,
        notes="Lamina: lamina_model_kan_symbolic_search with {\"library\": pykan's names} "
              "(double-precision score grid in C kernels on the worker pool). pykan: "
              "MultKAN.suggest_symbolic(0, 0, 0, verbose=False) after a forward pass caches "
              "the activations (fit_params in float32 torch per function). Both sides start "
              "from pykan's initial weights for seed 0 (lamina.kan.KAN draws them with torch, "
              "so Lamina's peak RSS includes torch) and train 50 Adam steps on the same 1000 "
              "points, so the edges searched agree closely and 'best' compares the choices. "
              "One warm-up search, then 3 timed."),
]
