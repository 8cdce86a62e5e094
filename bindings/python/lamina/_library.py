"""Locating and loading ``liblamina.so``, and the ctypes signature of every C function.

The library is looked for, in order:

1. the path in the environment variable ``LAMINA_LIBRARY``;
2. ``liblamina.so.0`` (or ``liblamina.so``) inside this package's directory, where every
   wheel carries it (``pip install ./bindings/python`` builds it with ``make lib``);
3. ``build/lib`` of the repository this package's source lives in (running from a checkout,
   or an editable install);
4. ``ctypes.util.find_library("lamina")`` (a system-wide install, e.g. ``make install``).

Loading is lazy: ``import lamina`` never fails for want of the library; the first call that
needs it does, with :class:`~lamina.errors.LibraryNotFoundError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import LibraryNotFoundError, error_from_status

__all__ = [
    "ENV_VAR",
    "LaminaProgress",
    "PROGRESS_FN",
    "SIGNATURES",
    "as_float_pointer",
    "candidate_paths",
    "check",
    "encode_path",
    "last_error",
    "lib",
    "library_path",
    "untyped",
    "names_in",
    "read_text",
]

#: Environment variable that names the library file to load, overriding every other place.
ENV_VAR = "LAMINA_LIBRARY"

_PACKAGE_DIR = Path(__file__).resolve().parent
_LIBRARY_NAMES = ("liblamina.so.0", "liblamina.so")


class LaminaProgress(ctypes.Structure):
    """Mirror of ``struct lamina_progress`` (fields are only ever added at its end)."""

    _fields_ = [
        ("step", ctypes.c_size_t),
        ("steps", ctypes.c_size_t),
        ("epoch", ctypes.c_size_t),
        ("epochs", ctypes.c_size_t),
        ("loss", ctypes.c_float),
        ("validation_loss", ctypes.c_float),
        ("elapsed_seconds", ctypes.c_double),
    ]


#: ``typedef int (*lamina_progress_fn)(const lamina_progress *, void *)``
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(LaminaProgress), ctypes.c_void_p)

_status = ctypes.c_int
_handle = ctypes.c_void_p
_handle_out = ctypes.POINTER(ctypes.c_void_p)
_floats = ctypes.POINTER(ctypes.c_float)
_uint32s = ctypes.POINTER(ctypes.c_uint32)
_size = ctypes.c_size_t
_size_out = ctypes.POINTER(ctypes.c_size_t)
_text = ctypes.c_char_p
_buffer = ctypes.c_char_p  # writable char buffers are passed as ctypes string buffers
_handles = ctypes.POINTER(ctypes.c_void_p)  # a caller's array of model handles

#: name -> (restype, argtypes) for every function declared in include/lamina.h.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    "lamina_version": (ctypes.c_char_p, []),
    "lamina_status_string": (ctypes.c_char_p, [_status]),
    "lamina_last_error": (ctypes.c_char_p, []),
    "lamina_set_num_threads": (_status, [_size]),
    "lamina_num_threads": (_size, []),
    "lamina_model_create": (_status, [_text, _handle_out]),
    "lamina_model_free": (None, [_handle]),
    "lamina_model_clone": (_status, [_handle, _handle_out]),
    "lamina_model_spec": (_status, [_handle, _buffer, _size, _size_out]),
    "lamina_model_input_dim": (_size, [_handle]),
    "lamina_model_output_dim": (_size, [_handle]),
    "lamina_model_parameter_count": (_size, [_handle]),
    # x and y as void pointers: Model.predict passes plain addresses, bytes and ctypes
    # arrays (cheaper than numpy's data_as); float pointers are accepted as well.
    "lamina_model_predict": (_status, [_handle, ctypes.c_void_p, _size, ctypes.c_void_p]),
    "lamina_model_input_gradient": (_status, [_handle, _floats, _size, _floats]),
    "lamina_model_input_derivatives": (
        _status, [_handle, _floats, _size, _floats, _floats, _floats],
    ),
    "lamina_model_save": (_status, [_handle, _text]),
    "lamina_model_load": (_status, [_text, _handle_out]),
    "lamina_model_save_buffer": (_status, [_handle, ctypes.c_void_p, _size, _size_out]),
    "lamina_model_load_buffer": (_status, [ctypes.c_void_p, _size, _handle_out]),
    "lamina_model_tensor_count": (_size, [_handle]),
    "lamina_model_tensor_name": (_status, [_handle, _size, _buffer, _size, _size_out]),
    "lamina_model_tensor_shape": (_status, [_handle, _text, _size_out, _size, _size_out]),
    "lamina_model_tensor_read": (_status, [_handle, _text, _floats, _size]),
    "lamina_model_tensor_write": (_status, [_handle, _text, _floats, _size]),
    "lamina_model_kan_update_grid": (_status, [_handle, _floats, _size, ctypes.c_float]),
    "lamina_model_kan_refine": (_status, [_handle, _size, _floats, _size, _handle_out]),
    "lamina_model_kan_edge_curve": (
        _status,
        [_handle, _size, _size, _size, _floats, _size, _floats],
    ),
    "lamina_model_kan_attribute": (_status, [_handle, _floats, _size, _floats, _size, _size_out]),
    "lamina_model_kan_prune": (
        _status,
        [_handle, _floats, _size, ctypes.c_float, ctypes.c_float, _handle_out],
    ),
    "lamina_model_kan_regularization": (_status, [_handle, _floats, _size, _text, _floats]),
    "lamina_model_kan_suggest_symbolic": (
        _status,
        [_handle, _size, _size, _size, _floats, _size, ctypes.c_float, _buffer, _size, _size_out],
    ),
    "lamina_model_kan_fix_symbolic": (
        _status,
        [_handle, _size, _size, _size, _text, _floats, _size, _floats],
    ),
    "lamina_model_kan_auto_symbolic": (
        _status,
        [_handle, _text, _floats, _size, ctypes.c_float, ctypes.c_float],
    ),
    "lamina_model_kan_symbolic_formula": (_status, [_handle, _buffer, _size, _size_out]),
    "lamina_model_kan_symbolic_search": (
        _status,
        [_handle, _size, _size, _size, _floats, _size, _text, _buffer, _size, _size_out],
    ),
    "lamina_model_kan_set_symbolic": (_status, [_handle, _size, _size, _size, _text, _floats]),
    "lamina_kan_symbolic_library": (_status, [_buffer, _size, _size_out]),
    "lamina_model_kan_mixture": (_status, [_handle, _size, _floats, _size, _size_out]),
    "lamina_model_kan_keep_strongest": (_status, [_handle, _handle_out]),
    # Triangle meshes
    "lamina_mesh_create": (_status, [_floats, _size, _uint32s, _size, _handle_out]),
    "lamina_mesh_free": (None, [_handle]),
    "lamina_mesh_vertex_count": (_size, [_handle]),
    "lamina_mesh_face_count": (_size, [_handle]),
    "lamina_mesh_vertices": (_status, [_handle, _floats, _size, _size_out]),
    "lamina_mesh_faces": (_status, [_handle, _uint32s, _size, _size_out]),
    "lamina_mesh_normals": (_status, [_handle, _floats, _size, _size_out]),
    # (mesh files, signed distance and sampling)
    "lamina_mesh_load": (_status, [_text, _handle_out]),
    "lamina_mesh_save": (_status, [_handle, _text]),
    "lamina_mesh_signed_distance": (_status, [_handle, _floats, _size, _floats]),
    "lamina_mesh_winding_number": (_status, [_handle, _floats, _size, _floats]),
    "lamina_mesh_closest_point": (_status, [_handle, _floats, _size, _floats, _uint32s]),
    "lamina_point_cloud_distance": (_status, [_floats, _size, _floats, _size, _floats, _uint32s]),
    "lamina_mesh_sample_surface": (_status, [_handle, _size, ctypes.c_uint64, _floats, _floats]),
    "lamina_mesh_sample_points": (_status, [_handle, _text, _size, _floats, _floats]),

    # Analytic shapes, marching cubes and mesh metrics
    "lamina_shape_sdf": (_status, [_text, _floats, _size, _floats]),
    "lamina_shape_gradient": (_status, [_text, _floats, _size, _floats, _floats]),
    "lamina_marching_cubes": (
        _status,
        [_floats, _size, _size, _size, _floats, ctypes.c_float, _handle_out],
    ),
    "lamina_shape_mesh": (_status, [_text, _size, _floats, _handle_out]),
    "lamina_mesh_compare": (
        _status,
        [
            _handle, _handle, _size, ctypes.c_uint64, ctypes.c_float,
            _floats, _floats, _floats, _floats,
        ],
    ),

    # Tri-plane fields
    "lamina_model_slice": (
        _status,
        [_handle, _size, ctypes.c_float, _size, _floats, _floats],
    ),
    "lamina_model_triplane_upsample": (_status, [_handle, _size, _handle_out]),
    "lamina_model_field_split": (_status, [_handle, _size, _handle_out]),
    "lamina_model_field_stack": (_status, [_handles, _size, _text, _handle_out]),
    "lamina_model_extract_mesh": (
        _status,
        [_handle, _size, ctypes.c_float, _floats, _handle_out],
    ),

    # Training
    "lamina_trainer_create": (_status, [_handle, _text, _handle_out]),
    "lamina_trainer_free": (None, [_handle]),
    "lamina_trainer_config": (_status, [_handle, _buffer, _size, _size_out]),
    "lamina_trainer_step": (_status, [_handle, _floats, _floats, _size, _floats]),
    "lamina_trainer_evaluate": (_status, [_handle, _floats, _floats, _size, _floats]),
    "lamina_trainer_fit": (
        _status,
        [_handle, _floats, _floats, _size, PROGRESS_FN, ctypes.c_void_p, _floats],
    ),
    "lamina_trainer_kan_fit": (
        _status,
        [
            _handle, _floats, _floats, _size, _floats, _floats, _size, _text, PROGRESS_FN,
            ctypes.c_void_p, _floats, _floats, _floats, _size, _size_out,
        ],
    ),
    "lamina_trainer_save_state": (_status, [_handle, _text]),
    "lamina_trainer_load_state": (_status, [_handle, _text]),

    # Loss terms
    "lamina_loss_terms_create": (_status, [_handle, _text, _handle_out]),
    "lamina_loss_terms_free": (None, [_handle]),
    "lamina_loss_terms_count": (_size, [_handle]),
    "lamina_loss_terms_config": (_status, [_handle, _buffer, _size, _size_out]),
    "lamina_loss_terms_set_points": (_status, [_handle, _size, _floats, _size, _floats, _size]),
    "lamina_trainer_step_terms": (_status, [_handle, _handle, _floats, _size, _floats]),
    "lamina_trainer_fit_terms": (
        _status,
        [_handle, _handle, _size, _text, PROGRESS_FN, ctypes.c_void_p, _floats, _size, _size_out],
    ),

    # Fitting fields
    "lamina_model_fit_config": (_status, [_handle, _text, _size, _buffer, _size, _size_out]),
    "lamina_model_fit_mesh": (
        _status,
        [_handle, _handle, _text, PROGRESS_FN, ctypes.c_void_p, _floats],
    ),
    "lamina_model_fit_points": (
        _status,
        [_handle, _floats, _floats, _size, _text, PROGRESS_FN, ctypes.c_void_p, _floats, _size,
         _size_out],
    ),

    # Vector-Jacobian products (custom losses)
    "lamina_model_tensor_trainable": (_status, [_handle, _text, ctypes.POINTER(ctypes.c_int32)]),
    "lamina_model_vjp": (_status, [_handle, _floats, _size, _floats, _floats]),
    "lamina_model_parameter_vjp": (
        _status,
        [_handle, _floats, _size, _floats, _floats, _size, _floats],
    ),
    "lamina_trainer_step_vjp": (_status, [_handle, _floats, _floats, _size, _floats]),
}

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _checkout() -> Optional[Path]:
    """Return the repository root when this package runs from a Lamina checkout, else None."""
    # bindings/python/lamina -> the repository root is 3 levels up.
    repo = _PACKAGE_DIR.parent.parent.parent
    if (_PACKAGE_DIR.parent / "pyproject.toml").exists() and (
        repo / "include" / "lamina.h"
    ).exists():
        return repo
    return None


def candidate_paths() -> List[Tuple[str, str]]:
    """Return ``(where, path)`` pairs for every place the library is looked for, in order."""
    found: List[Tuple[str, str]] = []
    env = os.environ.get(ENV_VAR)
    if env:
        found.append((ENV_VAR, env))
    for name in _LIBRARY_NAMES:
        found.append(("package", str(_PACKAGE_DIR / name)))
    repo = _checkout()
    if repo is not None:
        for name in _LIBRARY_NAMES:
            found.append(("repository", str(repo / "build" / "lib" / name)))
    system = ctypes.util.find_library("lamina")
    if system:
        found.append(("system", system))
    return found


def _configure(cdll: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            function = getattr(cdll, name)
        except AttributeError as exc:
            raise LibraryNotFoundError(
                f"{cdll._name} does not export {name}; it is not a compatible liblamina"
            ) from exc
        function.restype = restype
        function.argtypes = argtypes


def _load() -> Tuple[ctypes.CDLL, str]:
    tried: List[str] = []
    env = os.environ.get(ENV_VAR)
    for where, path in candidate_paths():
        is_file_path = os.sep in path
        if is_file_path and not os.path.exists(path):
            if where == ENV_VAR:
                raise LibraryNotFoundError(f"{ENV_VAR}={env!r} does not exist")
            tried.append(path)
            continue
        try:
            cdll = ctypes.CDLL(path)
        except OSError as exc:
            if where == ENV_VAR:
                raise LibraryNotFoundError(f"cannot load {ENV_VAR}={env!r}: {exc}") from exc
            tried.append(f"{path} ({exc})")
            continue
        _configure(cdll)
        return cdll, path
    raise LibraryNotFoundError(
        f"liblamina.so not found; {_how_to_get_the_library()} Tried: "
        + ", ".join(tried + ["ctypes.util.find_library('lamina')"])
    )


def _how_to_get_the_library() -> str:
    """Say which commands provide the library, for the not-found message."""
    repo = _checkout()
    if repo is not None:
        return f"build it with `make -C {repo} lib`, or set {ENV_VAR}=/path/to/liblamina.so."
    return (
        f"this installed lamina package ({_PACKAGE_DIR}) carries no liblamina.so.0. Reinstall"
        " it from a Lamina checkout with `pip install ./bindings/python` (which builds the"
        " library and puts it into the package), or build it there with `make lib` and set"
        f" {ENV_VAR}=/path/to/checkout/build/lib/liblamina.so."
    )


def lib() -> ctypes.CDLL:
    """Return the loaded library, loading it on first use. Thread-safe."""
    global _lib, _lib_path
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib, _lib_path = _load()
    return _lib


_untyped: Dict[str, Any] = {}


def untyped(name: str) -> Any:
    """A second ctypes function object for ``name`` without argtypes, for hot paths.

    Callers must pass ctypes instances (``c_void_p``, ``c_size_t``, ...), ``bytes`` or ctypes
    arrays, never plain ints (which ctypes would pass as C ``int``); skipping argtypes
    conversion saves ~0.3 us per call. The return type is ``lamina_status`` (C ``int``, the
    ctypes default).
    """
    function = _untyped.get(name)
    if function is None:
        function = lib()[name]  # indexing makes a new function object, unlike getattr
        function.restype = ctypes.c_int
        _untyped[name] = function
    return function


def library_path() -> str:
    """Return the path (or soname) of the library that was loaded."""
    lib()
    assert _lib_path is not None
    return _lib_path


def last_error() -> str:
    """Return the calling thread's last error message from the library."""
    message = lib().lamina_last_error()
    return message.decode("utf-8", "replace") if message else ""


def check(status: int, context: Optional[str] = None) -> None:
    """Raise the :class:`~lamina.errors.LaminaError` subclass for a non-OK status.

    Must be called right after the failing call, on the same thread, so the library's
    thread-local message still describes it.
    """
    if status != 0:
        message = last_error()
        if context:
            message = f"{context}: {message}" if message else context
        raise error_from_status(int(status), message)


def read_text(function: Any, *args: Any) -> str:
    """Call a two-call-pattern function ``f(*args, buf, cap, len)`` and return its text."""
    length = ctypes.c_size_t(0)
    check(function(*args, None, 0, ctypes.byref(length)))
    # The text can only change between the calls if someone writes concurrently; retry then.
    for _ in range(8):
        buffer = ctypes.create_string_buffer(length.value + 1)
        needed = ctypes.c_size_t(0)
        status = function(*args, buffer, len(buffer), ctypes.byref(needed))
        if status == 0:
            return buffer.raw[: needed.value].decode("utf-8")
        if needed.value + 1 <= len(buffer):
            check(status)
        length = needed
    check(status)
    raise AssertionError("unreachable")  # pragma: no cover


def encode_path(path: "os.PathLike[str] | str | bytes") -> bytes:
    """Encode a file system path for the C side."""
    return os.fsencode(path)


def as_float_pointer(array: Any) -> "ctypes._Pointer[ctypes.c_float]":
    """Return a ``float *`` to the data of a float32 numpy array (no copy)."""
    return array.ctypes.data_as(_floats)


def names_in(sequence: Sequence[str]) -> str:
    """Format names for an error message."""
    return ", ".join(repr(name) for name in sequence)
