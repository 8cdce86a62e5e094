"""Puts liblamina.so.0 into every wheel and tags the wheel for this platform.

All metadata lives in pyproject.toml; this file only adds two build steps:

- ``build_py`` copies the library into the build directory (``build_lib``), never into the
  source tree. Inside a Lamina checkout (``Package.swift`` and ``Makefile`` two levels up)
  it first runs ``make -C <checkout> lib``, the one definition of the release build, which
  does nothing when ``build/lib/liblamina.so.0`` is up to date; a copy left in ``lamina/`` by
  an older ``make python-package`` is then ignored. Outside a checkout (an unpacked sdist, a
  copied directory) the package must carry ``lamina/liblamina.so.0`` itself.
- ``bdist_wheel`` tags the wheel ``py3-none-<platform>``: native code, loaded through
  ctypes, so any Python 3 on this platform.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import List, Tuple

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 builds wheels with the wheel package
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:
        raise SystemExit(
            "error: building lamina needs setuptools >= 70.1 (or older setuptools with the"
            " wheel package). pip's default build isolation installs it from PyPI; with"
            " --no-build-isolation, run `pip install 'setuptools>=70.1'` first."
        ) from None

SONAME = "liblamina.so.0"
PACKAGE_DIR = Path(__file__).resolve().parent  # bindings/python
CHECKOUT = PACKAGE_DIR.parents[1]  # the repository root, when this is a Lamina checkout


def in_checkout() -> bool:
    """Whether this package sits at ``bindings/python`` of a Lamina source tree."""
    return (CHECKOUT / "Package.swift").is_file() and (CHECKOUT / "Makefile").is_file()


def make_library() -> Path:
    """Run ``make -C <checkout> lib`` and return the release library it leaves."""
    command = ["make", "-C", str(CHECKOUT), "lib"]
    try:
        returncode = subprocess.run(command).returncode
        problem = f"exit status {returncode}"
    except OSError as exc:  # no make on PATH
        returncode, problem = None, str(exc)
    if returncode != 0:
        raise SystemExit(
            f"error: building liblamina failed: `{' '.join(command)}` ({problem})."
            " It needs GNU make and the Swift toolchain (6.x) on PATH; see the checkout's"
            " README (and make's output above)."
        )
    library = CHECKOUT / "build" / "lib" / SONAME
    if not library.is_file():
        raise SystemExit(f"error: `{' '.join(command)}` succeeded but left no {library}")
    return library


def bundled_library() -> Path:
    """Return the library the package carries (outside a checkout), or exit with an error."""
    library = PACKAGE_DIR / "lamina" / SONAME
    if not library.is_file():
        raise SystemExit(
            f"error: {PACKAGE_DIR} is not bindings/python of a Lamina checkout (no Package.swift"
            f" and Makefile in {CHECKOUT}) and carries no lamina/{SONAME}. Install from a"
            " checkout (`pip install ./bindings/python` builds the library), or copy the"
            f" {SONAME} that `make lib` builds (build/lib/{SONAME}) into {library.parent} first."
        )
    return library


class BuildPy(build_py):
    """``build_py`` that also puts liblamina.so.0 next to the modules in ``build_lib``."""

    def run(self) -> None:
        library = make_library() if in_checkout() else bundled_library()
        super().run()
        if not self.editable_mode:  # editable installs find the checkout's build/lib
            target = Path(self.build_lib, "lamina", SONAME)
            partial = target.with_name(target.name + ".partial")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(library, partial)  # follows a symlinked library
            partial.chmod(0o755)
            os.replace(partial, target)  # never a half-copied library in build_lib

    def get_outputs(self, include_bytecode: bool = True) -> List[str]:
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs.append(str(Path(self.build_lib, "lamina", SONAME)))
        return outputs


class BinaryDistribution(Distribution):
    """A distribution with native code (carried as a file, not built as an extension)."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """ctypes, not the CPython ABI: any Python 3, this platform only."""

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"build_py": BuildPy, "bdist_wheel": PlatformWheel})
