"""Exceptions raised by the Lamina Python package.

Every non-OK ``lamina_status`` from the library becomes a :class:`LaminaError` subclass that
carries the library's message (``str(error)``, also ``error.message``) and the numeric code
(``error.status``). Checks this package makes itself before calling C (shapes, label ranges,
state-dict keys) raise the same classes with the status the library would have used.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "CancelledError",
    "DivergenceWarning",
    "FormatError",
    "InternalError",
    "InvalidArgumentError",
    "LaminaError",
    "LaminaIOError",
    "LibraryNotFoundError",
    "NumericError",
    "OutOfMemoryError",
    "STATUS_NAMES",
    "ShapeError",
    "UnsupportedError",
    "error_from_status",
]

#: ``lamina_status`` code -> its C name, as in include/lamina.h.
STATUS_NAMES: Dict[int, str] = {
    0: "LAMINA_OK",
    1: "LAMINA_E_INVALID_ARGUMENT",
    2: "LAMINA_E_SHAPE",
    3: "LAMINA_E_IO",
    4: "LAMINA_E_FORMAT",
    5: "LAMINA_E_NUMERIC",
    6: "LAMINA_E_OUT_OF_MEMORY",
    7: "LAMINA_E_UNSUPPORTED",
    8: "LAMINA_E_CANCELLED",
    9: "LAMINA_E_INTERNAL",
}


class LibraryNotFoundError(OSError):
    """``liblamina.so`` could not be found or loaded (see :mod:`lamina._library`)."""


class LaminaError(Exception):
    """A call into Lamina failed.

    Attributes:
        message: the library's description of the problem.
        status: the ``lamina_status`` code (an ``int``).

    """

    #: The status code this class stands for; each subclass sets its own.
    default_status: int = 9

    def __init__(self, message: str = "", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message: str = message
        self.status: int = int(self.default_status if status is None else status)

    @property
    def status_name(self) -> str:
        """The C name of :attr:`status`, such as ``"LAMINA_E_SHAPE"``."""
        return STATUS_NAMES.get(self.status, f"lamina_status({self.status})")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep message and status through pickling
        return (type(self), (self.message, self.status))


class InvalidArgumentError(LaminaError, ValueError):
    """``LAMINA_E_INVALID_ARGUMENT``: a bad value, bad JSON, or an unknown or bad key."""

    default_status = 1


class ShapeError(LaminaError, ValueError):
    """``LAMINA_E_SHAPE``: array sizes or counts do not match the model."""

    default_status = 2


class LaminaIOError(LaminaError, OSError):
    """``LAMINA_E_IO``: a file could not be opened, read or written."""

    default_status = 3


class FormatError(LaminaError):
    """``LAMINA_E_FORMAT``: a file or text is malformed, truncated or hostile."""

    default_status = 4


class NumericError(LaminaError):
    """``LAMINA_E_NUMERIC``: NaN or Inf in inputs, or training diverged."""

    default_status = 5


class OutOfMemoryError(LaminaError):
    """``LAMINA_E_OUT_OF_MEMORY``: an allocation failed or would exceed a limit."""

    default_status = 6


class UnsupportedError(LaminaError):
    """``LAMINA_E_UNSUPPORTED``: a valid request this model kind cannot do."""

    default_status = 7


class CancelledError(LaminaError):
    """``LAMINA_E_CANCELLED``: a progress callback asked to stop."""

    default_status = 8


class InternalError(LaminaError):
    """``LAMINA_E_INTERNAL``: a bug in Lamina; please report it."""

    default_status = 9


class DivergenceWarning(RuntimeWarning):
    """Training diverged (a non-finite loss, gradient or weight) and stopped early.

    Issued by the ``fit`` methods with ``on_divergence="warn"`` (the default): the fit
    returns its :class:`~lamina.History` so far, with ``history.stopped`` true and
    ``history.reason`` the library's message, and the model keeps the last finite weights
    (those before the failing step). ``on_divergence="raise"`` raises
    :class:`NumericError` instead. Silence or escalate it with :mod:`warnings` filters.
    """


_BY_STATUS: Dict[int, Type[LaminaError]] = {
    cls.default_status: cls
    for cls in (
        InvalidArgumentError,
        ShapeError,
        LaminaIOError,
        FormatError,
        NumericError,
        OutOfMemoryError,
        UnsupportedError,
        CancelledError,
        InternalError,
    )
}


def error_from_status(status: int, message: str = "") -> LaminaError:
    """Return (not raise) the exception for a non-OK ``status`` with ``message``.

    An unknown code gives a plain :class:`LaminaError` that still carries it.
    """
    cls = _BY_STATUS.get(int(status))
    if cls is None:
        error = LaminaError(message or f"unknown lamina_status {status}", status)
        return error
    return cls(message or STATUS_NAMES[int(status)], status)
