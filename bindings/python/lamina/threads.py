"""The number of threads Lamina runs on (``lamina_set_num_threads``, ``lamina_num_threads``).

Lamina splits large products and loops over one process-wide pool of worker threads plus
the calling thread. By default the pool uses ``LAMINA_NUM_THREADS`` when it is a positive
integer (read once, when the count is first needed), else the cores in the process's
affinity mask, at most 8 either way. Many processes on one machine (a process pool, Ray
workers) can each keep to a share of the cores::

    import lamina
    lamina.set_num_threads(1)

Results are bit-identical for every thread count.
"""

from __future__ import annotations

import operator

from . import _library

__all__ = ["num_threads", "set_num_threads"]

#: The most threads Lamina runs on; larger counts are clamped to it.
MAX_THREADS = 8


def set_num_threads(n: int) -> None:
    """Run Lamina's calls on ``n`` threads, the calling thread included, from now on.

    ``n = 0`` restores the default (``LAMINA_NUM_THREADS``, else the cores in the affinity
    mask, at most 8); ``n > 8`` is clamped to 8. Works at any time: a lower count parks the
    extra workers, a higher one starts more. Negative or non-integer ``n`` raises
    :class:`ValueError` or :class:`TypeError` (C's ``size_t`` has no negative values).
    """
    count = operator.index(n)
    if count < 0:
        raise ValueError(f"set_num_threads: n must be >= 0 (0 restores the default), not {count}")
    # Anything past size_t is "more than the most", clamped like any n > 8.
    count = min(count, MAX_THREADS + 1)
    _library.check(_library.lib().lamina_set_num_threads(count))


def num_threads() -> int:
    """Return the number of threads, the calling thread included, that Lamina runs on."""
    return int(_library.lib().lamina_num_threads())
