"""Shared fixtures for the lamina tests."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import pytest

import lamina
from lamina import _library

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # bindings/python
REPO_ROOT = PACKAGE_ROOT.parents[1]
HEADER = REPO_ROOT / "include" / "lamina.h"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def small_model() -> lamina.Model:
    """A 3-5-4-2 tanh MLP."""
    return lamina.MLP(3, [5, 4], 2, activation="tanh", seed=7)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], List[tuple]]:
    """spy(name) wraps library function `name`; returns the list of argument tuples seen,
    with pointers turned into integer addresses."""

    def install(name: str) -> List[tuple]:
        lib = _library.lib()
        real = getattr(lib, name)
        calls: List[tuple] = []

        def wrapper(*args):
            calls.append(tuple(address(a) for a in args))
            return real(*args)

        monkeypatch.setattr(lib, name, wrapper)
        return calls

    return install


def address(value):
    """Integer address of a ctypes pointer (others unchanged)."""
    if isinstance(value, ctypes._Pointer):
        return ctypes.cast(value, ctypes.c_void_p).value
    return value


def regression_data(n: int = 256, seed: int = 0):
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = (0.5 * x[:, :1] - 0.3 * x[:, 1:] + 0.2 * x[:, :1] * x[:, 1:]).astype(np.float32)
    return x, y


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def states_equal(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> bool:
    return list(a) == list(b) and all(np.array_equal(bits(a[k]), bits(b[k])) for k in a)
