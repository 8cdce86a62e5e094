"""The pip flows, in throw-away venvs, with LAMINA_LIBRARY unset.

- ``pip install ./bindings/python`` from this checkout: the build backend (setup.py) runs
  ``make -C <checkout> lib`` (a no-op when build/lib is up to date, as under ``make test``)
  and the installed package carries that library, whatever ``bindings/python/lamina/``
  holds; the build adds nothing there.
- ``pip wheel ./bindings/python -w DIR`` from another directory gives a platform wheel with
  ``liblamina.so.0`` that installs into a clean venv, offline, from DIR alone.
- Without make on PATH the build stops with a message; outside a checkout (a copy of
  bindings/python) it uses a bundled library, or stops with a message.

The first two use pip's default build isolation and a fresh venv's own pip, as a user would:
they need PyPI (setuptools for the isolated build, numpy for the venvs). The last ones build
with ``--no-build-isolation`` and this environment's setuptools, offline. 30-60 s in all
(venv creation and pip dominate); marker ``install``.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest

import lamina

from conftest import PACKAGE_ROOT, REPO_ROOT

pytestmark = pytest.mark.install

SONAME = "liblamina.so.0"
CHECKOUT_LIBRARY = REPO_ROOT / "build" / "lib" / SONAME
PLATFORM_TAG = sysconfig.get_platform().replace("-", "_").replace(".", "_")
WHEEL_NAME = f"lamina-{lamina.__version__}-py3-none-{PLATFORM_TAG}.whl"
# Long enough for `make lib` to rebuild the library when the sources changed since.
BUILD_TIMEOUT = 1800

# Runs in the fresh venv: where lamina and its library come from, and a tiny fit + predict.
CHECK = """
import json
import numpy as np
import lamina

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
y = x[:, :1] - 0.5 * x[:, 1:]
model = lamina.MLP(2, [8], 1, activation="tanh", seed=0)
before = float(np.mean((model.predict(x) - y) ** 2))
model.fit(x, y, epochs=30, batch_size=32, learning_rate=1e-2, progress=False)
after = float(np.mean((model.predict(x) - y) ** 2))
print(json.dumps({
    "module": lamina.__file__,
    "library": lamina.library_path(),
    "version": lamina.library_version(),
    "shape": list(model.predict(x[:3]).shape),
    "before": before,
    "after": after,
}))
"""


def _environment(**changes: str) -> Dict[str, str]:
    """This process's environment without anything that points at the checkout's library."""
    env = {k: v for k, v in os.environ.items() if k not in ("LAMINA_LIBRARY", "PYTHONPATH")}
    return {**env, **changes}


def _run(
    command: List[str], cwd: Path, timeout: float = 300, check: bool = True, **env: str
) -> subprocess.CompletedProcess:
    """Run `command` in `cwd` with `_environment(**env)`; assert success if `check`."""
    result = subprocess.run(
        command,
        cwd=str(cwd),
        env=_environment(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _inside(path: str, directory: Path) -> bool:
    return directory.resolve() in Path(path).resolve().parents


def _fresh_venv(path: Path) -> Path:
    """A new venv with the interpreter's own pip (no system site-packages); its python."""
    _run([sys.executable, "-m", "venv", str(path)], cwd=path.parent, timeout=300)
    return path / "bin" / "python"


def _pip(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python -m pip *args` in `cwd` and assert that it succeeds."""
    return _run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args], cwd, BUILD_TIMEOUT
    )


def _package_files() -> List[str]:
    """What the source package directory holds, to check that a build adds nothing there."""
    return sorted(p.name for p in (PACKAGE_ROOT / "lamina").iterdir() if p.name != "__pycache__")


def _check_installed(python: Path, venv: Path, workdir: Path) -> None:
    """Import, fit and predict in `venv`, run from `workdir`, away from the checkout."""
    workdir.mkdir(exist_ok=True)
    report = json.loads(_run([str(python), "-c", CHECK], workdir, timeout=120).stdout)
    assert _inside(report["module"], venv), report
    library = Path(report["library"])
    assert _inside(report["library"], venv), report
    assert library.parts[-2:] == ("lamina", SONAME), report
    assert filecmp.cmp(library, CHECKOUT_LIBRARY, shallow=False), "not the `make lib` build"
    assert report["version"] == lamina.__version__
    assert report["shape"] == [3, 1]
    assert report["after"] < report["before"] / 4, report
    # The console command, and the dataset package beside the rest.
    command = _run([str(venv / "bin" / "lamina"), "info", "--help"], workdir, timeout=120)
    assert command.stdout.startswith("usage: lamina info")
    _run([str(python), "-c", "import lamina.dataset, lamina.cli, lamina.tune"], workdir, timeout=120)


def _copy_package(destination: Path) -> Path:
    """bindings/python without tests, build output or a bundled library, outside a checkout."""
    shutil.copytree(
        PACKAGE_ROOT,
        destination,
        ignore=shutil.ignore_patterns(
            "tests", "build", "*.egg-info", "__pycache__", ".pytest_cache", "liblamina.so*"
        ),
    )
    assert not (destination.parents[1] / "Package.swift").exists()
    return destination


def _offline_wheel(
    package: Path, wheels: Path, check: bool, **env: str
) -> subprocess.CompletedProcess:
    """`pip wheel --no-build-isolation` with this environment's pip and setuptools."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel"]
    command += ["--no-deps", "--no-build-isolation", "-w", str(wheels), str(package)]
    return _run(command, package.parent, BUILD_TIMEOUT, check, **env)


def test_pip_install_from_the_checkout(tmp_path):
    """The one-step command, from the repository root, into a fresh venv."""
    files = _package_files()
    venv = tmp_path / "venv"
    python = _fresh_venv(venv)
    _pip(python, "install", "./bindings/python", cwd=REPO_ROOT)
    assert _package_files() == files, "the build left files in bindings/python/lamina"
    _check_installed(python, venv, tmp_path / "elsewhere")


def test_pip_wheel_then_install_into_a_clean_venv(tmp_path):
    """`pip wheel` run outside the checkout; the wheel alone installs into another venv."""
    files = _package_files()
    wheels = tmp_path / "wheels"
    _pip(
        _fresh_venv(tmp_path / "builder"),
        "wheel",
        str(PACKAGE_ROOT),
        "-w",
        str(wheels),
        cwd=tmp_path,
    )
    assert _package_files() == files, "the build left files in bindings/python/lamina"
    built = sorted(p.name for p in wheels.glob("lamina-*.whl"))
    assert built == [WHEEL_NAME]
    with zipfile.ZipFile(wheels / WHEEL_NAME) as wheel:
        wheel.extract(f"lamina/{SONAME}", tmp_path / "unpacked")
        metadata = wheel.read(f"lamina-{lamina.__version__}.dist-info/WHEEL").decode()
    assert filecmp.cmp(tmp_path / "unpacked" / "lamina" / SONAME, CHECKOUT_LIBRARY, False)
    assert "Root-Is-Purelib: false" in metadata

    venv = tmp_path / "venv"
    python = _fresh_venv(venv)
    # pip wheel left numpy's wheel beside lamina's: no index, no checkout needed.
    _pip(python, "install", "--no-index", "--find-links", str(wheels), "lamina", cwd=tmp_path)
    _check_installed(python, venv, tmp_path / "elsewhere")


def test_build_in_the_checkout_without_make_says_what_to_do(tmp_path):
    """The build backend cannot run `make lib` (no make on PATH): a message, no wheel."""
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _offline_wheel(PACKAGE_ROOT, tmp_path / "wheels", check=False, PATH=str(empty))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"error: building liblamina failed: `make -C {REPO_ROOT} lib`" in output, output
    assert "the Swift toolchain (6.x) on PATH" in output
    assert not list((tmp_path / "wheels").glob("*.whl"))


def test_build_outside_a_checkout_without_a_library_says_what_to_do(tmp_path):
    package = _copy_package(tmp_path / "lamina-src")
    result = _offline_wheel(package, tmp_path / "wheels", check=False)
    assert result.returncode != 0
    assert "is not bindings/python of a Lamina checkout" in result.stdout + result.stderr
    assert "pip install ./bindings/python" in result.stdout + result.stderr
    assert not list((tmp_path / "wheels").glob("*.whl"))


def test_build_outside_a_checkout_uses_the_bundled_library(tmp_path):
    package = _copy_package(tmp_path / "lamina-src")
    bundled = package / "lamina" / SONAME
    shutil.copyfile(CHECKOUT_LIBRARY, bundled)
    with open(bundled, "ab") as f:  # still loads; tells this copy from the checkout's
        f.write(b"bundled")
    _offline_wheel(package, tmp_path / "wheels", check=True)
    with zipfile.ZipFile(tmp_path / "wheels" / WHEEL_NAME) as wheel:
        names = wheel.namelist()
        wheel.extract(f"lamina/{SONAME}", tmp_path / "unpacked")
    assert [n for n in names if "liblamina" in n] == [f"lamina/{SONAME}"]
    assert filecmp.cmp(tmp_path / "unpacked" / "lamina" / SONAME, bundled, shallow=False)
