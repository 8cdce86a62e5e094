"""Where tasks run: a local pool of spawned processes, Ray tasks, or the calling process.

Each executor takes tasks (dicts, see :mod:`lamina.dataset.work`) and hands back outcomes:
``("ok", results)``; ``("crashed", message)`` when the process running the task died
(killed, out of memory), which the driver answers by resubmitting the task's shapes one
per task; or ``("error", message)`` for an exception outside the shapes' own failures (which
the task reports itself), which fails the task's shapes. Workers run ``threads`` threads each (``lamina.set_num_threads``), so that
``workers x threads`` matches the cores given.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
from typing import Any, Dict, List, Optional, Tuple

from ..errors import InvalidArgumentError
from .work import fit_chunk, set_threads

__all__ = ["EXECUTORS", "InlineExecutor", "LocalExecutor", "RayExecutor", "make_executor"]

#: The executors' names.
EXECUTORS = ("local", "ray", "inline")

Outcome = Tuple[str, Any]


class InlineExecutor:
    """Runs each task in the calling process when it is collected (for debugging, and for
    single shapes).
    """

    def __init__(self, threads: Optional[int] = None) -> None:
        self.slots = 1
        self.threads = threads
        self._queue: List[Tuple[int, Dict[str, Any]]] = []
        self._next = 0

    def submit(self, task: Dict[str, Any]) -> int:
        """Queue ``task``; returns its key."""
        self._next += 1
        self._queue.append((self._next, dict(task, threads=self.threads)))
        return self._next

    def collect(self, timeout: Optional[float]) -> List[Tuple[Any, Outcome]]:
        """Run the oldest task and return its outcome."""
        if not self._queue:
            return []
        key, task = self._queue.pop(0)
        return [(key, ("ok", fit_chunk(task)))]

    def close(self) -> None:
        """Drop queued tasks."""
        self._queue.clear()


def _start_worker(threads: int) -> None:
    # Before the library's first call, so the worker's pool starts at its size.
    os.environ["LAMINA_NUM_THREADS"] = str(threads)
    set_threads(threads)


class LocalExecutor:
    """A pool of ``workers`` processes started with ``spawn`` (never ``fork``: a forked child
    of a process that used Lamina can hang), each running ``threads`` threads.

    A worker that dies breaks the whole pool (``concurrent.futures`` cannot tell which task
    it held); every task in flight then comes back ``"crashed"`` and the next submit starts
    a new pool.
    """

    def __init__(self, workers: int, threads: int) -> None:
        if workers < 1 or threads < 1:
            raise InvalidArgumentError(
                f"workers and threads must be >= 1, not {workers} and {threads}"
            )
        self.workers = workers
        self.threads = threads
        self.slots = 2 * workers
        self._pool: Optional[futures.ProcessPoolExecutor] = None
        self._inflight: Dict[futures.Future, None] = {}

    def _ensure_pool(self) -> futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = futures.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.threads,),
            )
        return self._pool

    def submit(self, task: Dict[str, Any]) -> futures.Future:
        """Start ``task`` on the pool; returns its future."""
        payload = dict(task, threads=self.threads)
        try:
            future = self._ensure_pool().submit(fit_chunk, payload)
        except futures.process.BrokenProcessPool:
            # A worker died since the last collect; its tasks come back "crashed" there.
            self._drop_pool()
            future = self._ensure_pool().submit(fit_chunk, payload)
        self._inflight[future] = None
        return future

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def collect(self, timeout: Optional[float]) -> List[Tuple[Any, Outcome]]:
        """Outcomes of the tasks that finished within ``timeout`` seconds."""
        if not self._inflight:
            return []
        done, _ = futures.wait(
            list(self._inflight), timeout=timeout, return_when=futures.FIRST_COMPLETED
        )
        outcomes: List[Tuple[Any, Outcome]] = []
        broken = False
        for future in done:
            del self._inflight[future]
            try:
                outcomes.append((future, ("ok", future.result())))
            except futures.process.BrokenProcessPool as error:
                broken = True
                outcomes.append((future, ("crashed", f"a worker process died ({error})")))
            except futures.CancelledError:
                # Queued on a pool that broke and was shut down before it ran.
                outcomes.append(
                    (future, ("crashed", "a worker process died (the task was dropped)"))
                )
            except Exception as error:  # a bug or a result that would not pickle
                outcomes.append((future, ("error", f"{type(error).__name__}: {error}")))
        if broken:
            self._drop_pool()
        return outcomes

    def close(self) -> None:
        """Stop the workers (tasks still running are abandoned)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._inflight.clear()


def _ray_fit_chunk(task: Dict[str, Any]) -> List[Dict[str, Any]]:
    return fit_chunk(task)


class RayExecutor:
    """Runs each task as a Ray task asking for ``threads`` CPUs, the shapes' arrays going
    through Ray's object store (``ray.put``) and the results (model file bytes) coming
    back through it. Connects to ``address`` (or ``RAY_ADDRESS``, else starts a local Ray)
    unless Ray is already initialised. Ray's own task retries are off: the driver resubmits
    the shapes of a task whose worker died, as for the local pool.
    """

    def __init__(
        self, threads: int, address: Optional[str] = None, slots: Optional[int] = None
    ) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("executor='ray' needs Ray: pip install 'lamina[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            self._started = True
        self.threads = threads
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = slots or max(1, 2 * cpus // threads)
        self._remote = ray.remote(_ray_fit_chunk).options(num_cpus=threads, max_retries=0)
        self._inflight: Dict[Any, None] = {}

    def submit(self, task: Dict[str, Any]) -> Any:
        """Put ``task`` in the object store and start a Ray task on it; returns its ref."""
        ref = self._remote.remote(self._ray.put(dict(task, threads=self.threads)))
        self._inflight[ref] = None
        return ref

    def collect(self, timeout: Optional[float]) -> List[Tuple[Any, Outcome]]:
        """Outcomes of the tasks that finished within ``timeout`` seconds."""
        if not self._inflight:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=timeout)
        outcomes: List[Tuple[Any, Outcome]] = []
        for ref in ready:
            del self._inflight[ref]
            try:
                outcomes.append((ref, ("ok", ray.get(ref))))
            except (
                ray.exceptions.WorkerCrashedError,
                ray.exceptions.NodeDiedError,
                ray.exceptions.ObjectLostError,
                ray.exceptions.OutOfMemoryError,
            ) as error:
                outcomes.append(
                    (ref, ("crashed", f"the Ray worker died ({type(error).__name__})"))
                )
            except ray.exceptions.RayTaskError as error:
                cause = getattr(error, "cause", None) or error
                outcomes.append((ref, ("error", f"{type(cause).__name__}: {cause}")))
        return outcomes

    def close(self) -> None:
        """Cancel tasks in flight; shut Ray down if this executor started it."""
        for ref in list(self._inflight):
            self._ray.cancel(ref, force=True)
        self._inflight.clear()
        if self._started:
            self._ray.shutdown()


def make_executor(
    executor: str, workers: Optional[int], threads: int, ray_address: Optional[str]
) -> Any:
    """The executor named ``executor``: ``"local"`` (``workers`` processes, default the
    cores divided by ``threads``), ``"ray"`` or ``"inline"``.
    """
    check_executor(executor)
    if executor == "local":
        if workers is None:
            workers = max(1, (os.cpu_count() or 1) // threads)
        return LocalExecutor(workers, threads)
    if executor == "ray":
        return RayExecutor(threads, ray_address)
    return InlineExecutor(threads)


def check_executor(executor: str) -> None:
    """Refuse an unknown executor name before any work."""
    if executor not in EXECUTORS:
        raise InvalidArgumentError(
            f"executor must be 'local', 'ray' or 'inline', not {executor!r}"
        )
