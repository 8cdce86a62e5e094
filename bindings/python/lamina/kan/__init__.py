"""pykan 0.2.8's interface on Lamina: ``from lamina.kan import *`` replaces ``from kan import *``.

Like pykan's package, the star import brings the model (``KAN``, ``MultKAN``), the helpers
of ``kan.utils`` and ``kan.spline`` (``create_dataset``, ``ex_round``, ``SYMBOLIC_LIB``,
``add_symbolic``, ``B_batch``, ...) and the modules pykan's scripts use unqualified:
``torch``, ``np``, ``plt``, ``sympy`` and sympy's names, each only when installed (numpy
is always there). Lamina's own KAN with Lamina's defaults stays :class:`lamina.KAN`.
"""

from __future__ import annotations

import numpy as np

from .multkan import KAN, MultKAN
from .spline import B_batch, coef2curve, curve2coef, extend_grid
from .utils import (
    SYMBOLIC_LIB,
    add_symbolic,
    create_dataset,
    create_dataset_from_data,
    ex_round,
    fit_params,
    sparse_mask,
)

__all__ = [
    "B_batch",
    "KAN",
    "MultKAN",
    "SYMBOLIC_LIB",
    "add_symbolic",
    "coef2curve",
    "create_dataset",
    "create_dataset_from_data",
    "curve2coef",
    "ex_round",
    "extend_grid",
    "fit_params",
    "np",
    "sparse_mask",
]

try:
    import torch  # noqa: F401
    from torch import nn  # noqa: F401

    __all__ += ["torch", "nn"]
except ImportError:
    pass

try:
    import matplotlib.pyplot as plt  # noqa: F401

    __all__ += ["plt"]
except ImportError:
    pass

try:
    import sympy
    from sympy import *  # noqa: F401,F403
    from sympy import __all__ as _sympy_names

    __all__ += ["sympy"] + [name for name in _sympy_names if name not in __all__]
except ImportError:
    pass
