"""Lamina: build, train and run small neural networks (Python bindings over liblamina).

Example::

    import numpy as np
    import lamina

    x = np.random.uniform(-1, 1, (4096, 2)).astype(np.float32)
    y = np.sin(np.pi * x[:, :1]) * np.cos(np.pi * x[:, 1:])
    model = lamina.MLP(2, [64, 64], 1, activation="tanh")
    history = model.fit(x, y, epochs=20, batch_size=128, learning_rate=3e-3)
    model.save("model.safetensors")
    same = lamina.load("model.safetensors")
    assert (same.predict(x) == model.predict(x)).all()

The shared library is found through ``LAMINA_LIBRARY``, the package directory, the
repository's ``build/lib``, or the system search path (see :mod:`lamina._library`).
"""

from __future__ import annotations

from . import _library
from .errors import (
    CancelledError,
    DivergenceWarning,
    FormatError,
    InternalError,
    InvalidArgumentError,
    LaminaError,
    LaminaIOError,
    LibraryNotFoundError,
    NumericError,
    OutOfMemoryError,
    ShapeError,
    UnsupportedError,
)
from .field import TriplaneField, stack_fields
from .kan_model import KAN, create_dataset
from . import metrics
from .mesh_ops import (
    load_mesh,
    mesh_closest_point,
    mesh_sdf,
    mesh_winding_number,
    point_cloud_distance,
    sample_sdf_points,
    sample_surface,
    save_mesh,
)
from .model import MLP, IncompatibleKeys, Model, load, loads
from .shapes import marching_cubes, shape_gradient, shape_mesh, shape_sdf
from .terms import LossTerms, TermsHistory
from .threads import num_threads, set_num_threads
from .trainer import History, Progress, Trainer

__version__ = "0.2.0"

__all__ = [
    "CancelledError",
    "DivergenceWarning",
    "FormatError",
    "History",
    "IncompatibleKeys",
    "InternalError",
    "InvalidArgumentError",
    "KAN",
    "LaminaError",
    "LaminaIOError",
    "LibraryNotFoundError",
    "LossTerms",
    "MLP",
    "Model",
    "NumericError",
    "OutOfMemoryError",
    "Progress",
    "ShapeError",
    "TermsHistory",
    "Trainer",
    "TriplaneField",
    "UnsupportedError",
    "__version__",
    "create_dataset",
    "library_path",
    "library_version",
    "load",
    "load_mesh",
    "loads",
    "marching_cubes",
    "mesh_closest_point",
    "mesh_sdf",
    "mesh_winding_number",
    "metrics",
    "num_threads",
    "point_cloud_distance",
    "sample_sdf_points",
    "sample_surface",
    "save_mesh",
    "set_num_threads",
    "shape_gradient",
    "shape_mesh",
    "shape_sdf",
    "stack_fields",
]


def __getattr__(name: str):
    """``lamina.kan`` (pykan's interface) is imported on first use: it imports torch,
    sympy and matplotlib when they are installed, which ``import lamina`` never does."""
    if name == "kan":
        import importlib

        return importlib.import_module(".kan", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def library_version() -> str:
    """Return the loaded library's version, "MAJOR.MINOR.PATCH" (``lamina_version()``)."""
    return _library.lib().lamina_version().decode("ascii")


def library_path() -> str:
    """Return the path of the loaded ``liblamina.so``."""
    return _library.library_path()
