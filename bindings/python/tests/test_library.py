"""The ctypes layer against include/lamina.h, library discovery, versions, threads."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import lamina
from lamina import _library

from conftest import HEADER, PACKAGE_ROOT, REPO_ROOT

needs_header = pytest.mark.skipif(
    not HEADER.exists(), reason="include/lamina.h not beside the package"
)


def _header_text() -> str:
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _declared_functions():
    """name -> list of parameter declarations, for every function in the header."""
    found = {}
    for match in re.finditer(
        r"([A-Za-z_][\w\s\*]*?)\b(lamina_\w+)\s*\(([^;{}]*?)\)\s*;", _header_text()
    ):
        if "typedef" in match.group(1) or "(" in match.group(3):
            continue
        params = [p.strip() for p in match.group(3).split(",")]
        found[match.group(2)] = [] if params == ["void"] else params
        _RETURNS[match.group(2)] = " ".join(match.group(1).split())
    return found


_RETURNS = {}
_C_RETURNS = {
    "const char *": ctypes.c_char_p,
    "lamina_status": ctypes.c_int,
    "size_t": ctypes.c_size_t,
    "void": None,
}


_C_TYPES = {
    "size_t": ctypes.c_size_t,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "int": ctypes.c_int,
    "uint64_t": ctypes.c_uint64,
}


@needs_header
def test_every_header_function_has_a_signature():
    declared = _declared_functions()
    assert len(declared) >= 25
    assert set(declared) == set(_library.SIGNATURES)
    for name, params in declared.items():
        restype, argtypes = _library.SIGNATURES[name]
        assert restype is _C_RETURNS[_RETURNS[name]], name
        assert len(argtypes) == len(params), name
        for param, argtype in zip(params, argtypes):
            if "*" in param or param.startswith("lamina_progress_fn"):
                assert argtype in (
                    ctypes.c_void_p,
                    ctypes.c_char_p,
                    _library.PROGRESS_FN,
                ) or issubclass(argtype, ctypes._Pointer), (name, param)
            elif param.startswith("lamina_status"):
                assert argtype is ctypes.c_int, (name, param)
            else:
                ctype = param.split()[-2] if len(param.split()) > 1 else param
                assert argtype is _C_TYPES[ctype], (name, param)


@needs_header
def test_every_header_function_is_exported():
    lib = _library.lib()
    for name in _declared_functions():
        assert hasattr(lib, name), name


@needs_header
def test_status_codes_match_header():
    from lamina.errors import STATUS_NAMES

    codes = {
        name: int(value)
        for name, value in re.findall(r"\b(LAMINA_(?:OK|E_\w+))\s*=\s*(\d+)", _header_text())
    }
    assert codes == {name: code for code, name in STATUS_NAMES.items()}


@needs_header
def test_progress_struct_matches_header():
    body = re.search(r"typedef struct lamina_progress\s*\{(.*?)\}", _header_text(), re.S).group(1)
    fields = re.findall(r"(\w+)\s+(\w+)\s*;", body)
    ours = [(name, ctype) for name, ctype in _library.LaminaProgress._fields_]
    assert [name for _, name in fields] == [name for name, _ in ours]
    for (ctype_name, _), (_, ctype) in zip(fields, ours):
        assert ctype is _C_TYPES[ctype_name]


@needs_header
def test_versions_agree():
    header_version = re.search(
        r'#define LAMINA_VERSION_STRING "([^"]+)"', HEADER.read_text()
    ).group(1)
    assert lamina.library_version() == header_version == lamina.__version__


def test_library_path_honours_environment():
    env = os.environ.get("LAMINA_LIBRARY")
    if not env:
        pytest.skip("LAMINA_LIBRARY not set")
    assert lamina.library_path() == env


def _run(code: str, env: dict, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_missing_library_named_by_environment_is_reported(tmp_path):
    env = dict(os.environ, LAMINA_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=str(PACKAGE_ROOT))
    code = (
        "import lamina\n"
        "try:\n"
        "    lamina.library_version()\n"
        "except lamina.LibraryNotFoundError as e:\n"
        "    print('ERR', e)\n"
    )
    result = _run(code, env, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ERR") and "LAMINA_LIBRARY" in result.stdout


def test_library_inside_package_is_found(tmp_path):
    """Without LAMINA_LIBRARY, a copy of the package carrying liblamina.so.0 loads its own."""
    package = tmp_path / "site" / "lamina"
    shutil.copytree(
        PACKAGE_ROOT / "lamina",
        package,
        ignore=shutil.ignore_patterns("liblamina.so*", "__pycache__"),
    )
    shutil.copy2(os.path.realpath(lamina.library_path()), package / "liblamina.so.0")
    env = {k: v for k, v in os.environ.items() if k != "LAMINA_LIBRARY"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    code = "import lamina; print(lamina.library_path()); print(lamina.library_version())"
    result = _run(code, env, str(tmp_path))
    assert result.returncode == 0, result.stderr
    path, version = result.stdout.split()
    assert path == str(package / "liblamina.so.0")
    assert version == lamina.__version__


def test_repository_build_is_found_from_a_checkout(tmp_path):
    """Without LAMINA_LIBRARY, the source tree finds the repository's build/lib."""
    repo_library = REPO_ROOT / "build" / "lib" / "liblamina.so.0"
    if not repo_library.exists() or any((PACKAGE_ROOT / "lamina").glob("liblamina.so*")):
        pytest.skip("needs build/lib/liblamina.so.0 and no library copied into the package")
    env = {k: v for k, v in os.environ.items() if k != "LAMINA_LIBRARY"}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    result = _run("import lamina; print(lamina.library_path())", env, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(repo_library)


def _not_found_message(monkeypatch: pytest.MonkeyPatch, package_dir) -> str:
    """The LibraryNotFoundError message of a package at `package_dir` that finds nothing."""
    monkeypatch.delenv(_library.ENV_VAR, raising=False)
    monkeypatch.setattr(_library, "_PACKAGE_DIR", package_dir)
    monkeypatch.setattr(_library.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(lamina.LibraryNotFoundError) as info:
        _library._load()
    return str(info.value)


def test_installed_package_without_library_names_the_fix(tmp_path, monkeypatch):
    """An installed package without liblamina.so.0: reinstall with pip, or LAMINA_LIBRARY."""
    package = tmp_path / "site-packages" / "lamina"
    package.mkdir(parents=True)
    message = _not_found_message(monkeypatch, package)
    assert f"({package}) carries no liblamina.so.0" in message
    assert "`pip install ./bindings/python`" in message
    assert "LAMINA_LIBRARY=/path/to/checkout/build/lib/liblamina.so" in message
    assert str(package / "liblamina.so.0") in message  # and the places it tried


def test_checkout_without_library_names_make_lib(tmp_path, monkeypatch):
    """A checkout whose build/lib is empty: `make -C <checkout> lib`."""
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "lamina.h").touch()
    package = tmp_path / "bindings" / "python" / "lamina"
    package.mkdir(parents=True)
    (package.parent / "pyproject.toml").touch()
    message = _not_found_message(monkeypatch, package)
    assert f"build it with `make -C {tmp_path} lib`" in message
    assert "or set LAMINA_LIBRARY=/path/to/liblamina.so" in message
    assert str(tmp_path / "build" / "lib" / "liblamina.so.0") in message


def test_concurrent_predictions_agree():
    """lamina_model_predict is READ-ONLY: many threads at once give the serial answer."""
    model = lamina.MLP(8, [64, 64], 4, activation="gelu")
    xs = [np.random.default_rng(i).normal(size=(256, 8)).astype(np.float32) for i in range(8)]
    expected = [model.predict(x) for x in xs]
    results = [None] * len(xs)

    def work(i):
        for _ in range(20):
            results[i] = model.predict(xs[i])
            assert np.array_equal(results[i], expected[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_demo_runs_quickly():
    demo = PACKAGE_ROOT / "examples" / "demo.py"
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    result = subprocess.run(
        [sys.executable, str(demo), "--epochs", "2", "--samples", "1024"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RMSE" in result.stdout and "match exactly" in result.stdout
