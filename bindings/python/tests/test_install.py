"""`pip install` of the package (carrying liblamina.so.0) into a fresh venv works without
LAMINA_LIBRARY."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

import lamina

from conftest import PACKAGE_ROOT


def _can_build_offline() -> bool:
    """setuptools that can build wheels here (>= 70.1, or older with the wheel package)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    try:
        from setuptools.command import bdist_wheel  # noqa: F401  (setuptools >= 70.1)

        return True
    except ImportError:
        return importlib.util.find_spec("wheel") is not None


@pytest.mark.install
def test_pip_install_into_a_fresh_venv(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        PACKAGE_ROOT,
        source,
        ignore=shutil.ignore_patterns(
            "tests", "build", "*.egg-info", "__pycache__", ".pytest_cache", "liblamina.so*"
        ),
    )
    shutil.copy2(os.path.realpath(lamina.library_path()), source / "lamina" / "liblamina.so.0")

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = str(venv / "bin" / "python")
    # Let the new venv see this environment's packages (pip, numpy, setuptools) as well.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with open(os.path.join(purelib, "_lamina_test_parent.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")

    command = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if _can_build_offline():
        command += ["--no-deps", "--no-build-isolation"]
    env = {k: v for k, v in os.environ.items() if k not in ("LAMINA_LIBRARY", "PYTHONPATH")}
    result = subprocess.run(
        command + [str(source)], capture_output=True, text=True, env=env, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr

    check = (
        "import lamina, numpy as np\n"
        "m = lamina.MLP(2, [8], 1)\n"
        "print(lamina.library_path())\n"
        "print(lamina.library_version())\n"
        "print(m.predict(np.zeros((3, 2))).shape)\n"
    )
    result = subprocess.run(
        [python, "-c", check],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    path, version, shape = result.stdout.strip().splitlines()
    assert path.startswith(str(venv)) and path.endswith(os.path.join("lamina", "liblamina.so.0"))
    assert version == lamina.__version__
    assert shape == "(3, 1)"
