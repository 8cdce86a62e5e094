"""lamina.set_num_threads / lamina.num_threads (lamina_set_num_threads, lamina_num_threads)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import lamina
from conftest import PACKAGE_ROOT


def _environment(**values: str) -> dict:
    """This environment for a child Python that imports this checkout's package (pytest
    puts it on sys.path, not on PYTHONPATH), with ``values`` set."""
    env = dict(os.environ, **values)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(autouse=True)
def _restore_default():
    yield
    lamina.set_num_threads(0)


def test_exported():
    assert "set_num_threads" in lamina.__all__ and "num_threads" in lamina.__all__


def test_set_get_clamp_and_default():
    default = lamina.num_threads()
    assert 1 <= default <= 8
    lamina.set_num_threads(1)
    assert lamina.num_threads() == 1
    lamina.set_num_threads(2)
    assert lamina.num_threads() == 2
    lamina.set_num_threads(9)
    assert lamina.num_threads() == 8
    lamina.set_num_threads(2**70)
    assert lamina.num_threads() == 8
    lamina.set_num_threads(0)
    assert lamina.num_threads() == default


def test_bad_arguments():
    with pytest.raises(ValueError):
        lamina.set_num_threads(-1)
    with pytest.raises(TypeError):
        lamina.set_num_threads(1.5)


def test_results_bit_identical_across_thread_counts():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2048, 8)).astype(np.float32)
    y = rng.uniform(-1, 1, (2048, 4)).astype(np.float32)
    outputs = []
    for threads in (2, 1):
        lamina.set_num_threads(threads)
        model = lamina.MLP(8, [256, 256], 4, seed=3)
        trainer = lamina.Trainer(model, optimizer="adam", learning_rate=1e-3, batch_size=512)
        for _ in range(3):
            trainer.step(x, y)
        outputs.append(model.predict(x))
    assert np.array_equal(outputs[0], outputs[1])


def _child_threads(value):
    env = _environment()
    env.pop("LAMINA_NUM_THREADS", None)
    if value is not None:
        env["LAMINA_NUM_THREADS"] = value
    code = "import lamina; print(lamina.num_threads())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def test_environment_variable():
    default = _child_threads(None)
    assert _child_threads("1") == 1
    assert _child_threads("3") == 3
    assert _child_threads("64") == 8
    for junk in ("", "0", "-1", "two"):
        assert _child_threads(junk) == default


def test_one_thread_subprocess_starts_no_threads():
    """With LAMINA_NUM_THREADS=1 a parallel workload adds no thread to the process."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs /proc")
    code = (
        "import os, numpy as np, lamina\n"
        "m = lamina.MLP(8, [256, 256], 4)\n"
        "x = np.zeros((2048, 8), np.float32)\n"
        "m.predict(x[:1])\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "for _ in range(5): m.predict(x)\n"
        "print(lamina.num_threads(), before, len(os.listdir('/proc/self/task')))\n"
    )
    env = _environment(LAMINA_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    threads, before, after = map(int, out.stdout.split())
    assert threads == 1
    assert after == before
