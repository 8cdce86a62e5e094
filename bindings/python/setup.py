"""Marks the wheel as platform-specific when it carries liblamina.so (see pyproject.toml).

All metadata lives in pyproject.toml. A wheel built after ``make`` copied the library into
``lamina/`` holds native code, so it is tagged ``py3-none-<platform>`` instead of ``any``.
"""

from pathlib import Path

from setuptools import Distribution, setup

HAS_LIBRARY = any(Path(__file__).resolve().parent.joinpath("lamina").glob("liblamina.so*"))


class BinaryDistribution(Distribution):
    """A distribution that carries a native library (through package data, not extensions)."""

    def has_ext_modules(self):
        return HAS_LIBRARY


cmdclass = {}
if HAS_LIBRARY:
    try:
        from setuptools.command.bdist_wheel import bdist_wheel
    except ImportError:  # setuptools < 70.1
        try:
            from wheel.bdist_wheel import bdist_wheel
        except ImportError:
            bdist_wheel = None

    if bdist_wheel is not None:

        class PlatformWheel(bdist_wheel):
            """ctypes, not the CPython ABI: any Python 3, this platform only."""

            def get_tag(self):
                _, _, platform = super().get_tag()
                return "py3", "none", platform

        cmdclass["bdist_wheel"] = PlatformWheel

setup(distclass=BinaryDistribution, cmdclass=cmdclass)
