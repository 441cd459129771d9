"""Streaming jobs: reading ahead of the computation and writing behind it, in order, on threads.

A bulk job (rating is the first) reads batches, computes in Python and writes the results in
one transaction. When the database works outside the interpreter (a server), the job gains by
overlapping the three: ``read_ahead`` reads the next batches on a thread of its own while the
current one is computed, and ``OrderedWriter`` runs the writes in submission order on another,
owning the transaction (so its connection is never used by two threads at once). Without such
a database both run inline, in the caller's thread, in the same order.

This module knows nothing of billing: what a job opens, writes and commits is given to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Generic, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


class OrderedWriter(Generic[_R]):
    """The writes of a job, run in submission order in one resource (a transaction), on a thread
    of their own when ``threaded``.

    ``begin(scope)`` opens the resource on first use (entering what must be closed into
    ``scope``); ``finish(resource)`` ends it successfully (``close(commit=True)``). After a
    failure nothing else runs and the resource is closed without ``finish`` (rolled back).
    """

    def __init__(
        self,
        begin: Callable[[ExitStack], _R],
        finish: Callable[[_R], None],
        *,
        threaded: bool,
        name: str = "nuage-job-writer",
    ) -> None:
        self._begin = begin
        self._finish = finish
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name) if threaded else None
        self._scope: ExitStack | None = None
        self._resource: _R | None = None
        self._failure: BaseException | None = None

    def _opened(self) -> _R:
        if self._resource is None:
            with ExitStack() as scope:
                resource = self._begin(scope)
                self._scope, self._resource = scope.pop_all(), resource
        return self._resource

    def _end(self, commit: bool) -> None:
        scope, resource = self._scope, self._resource
        self._scope, self._resource = None, None
        if scope is None or resource is None:
            return
        with scope:
            if commit:
                self._finish(resource)

    def _guarded(self, work: Callable[[], _T]) -> _T:
        if self._failure is not None:
            raise self._failure  # nothing runs after a failed step
        try:
            return work()
        except BaseException as error:
            self._failure = error
            raise

    def _submit(self, work: Callable[[], _T]) -> Future[_T]:
        if self._pool is not None:
            return self._pool.submit(self._guarded, work)
        future: Future[_T] = Future()
        try:
            future.set_result(self._guarded(work))
        except Exception as error:
            future.set_exception(error)
        return future

    def run(self, work: Callable[[_R], _T]) -> Future[_T]:
        """Queue ``work`` on the resource (opened by the first piece of work)."""
        return self._submit(lambda: work(self._opened()))

    def close(self, commit: bool) -> None:
        """Finish what is queued (or drop it), then stop the thread; raise an earlier failure."""
        try:
            if commit:
                self._submit(lambda: self._end(True)).result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._end(False)  # after a failure or without commit: closed without finishing


def read_ahead(batches: Iterator[_T], threaded: bool, *, depth: int = 2) -> Generator[_T, None, None]:
    """The batches of ``batches``, read on a thread of their own ``depth`` batches ahead when
    ``threaded`` (else inline). Close the generator before what ``batches`` reads from: it stops
    the thread, which closes ``batches`` itself (on the thread that read)."""
    if not threaded:
        yield from batches
        return
    with ThreadPoolExecutor(1, thread_name_prefix="nuage-job-reader") as reader:
        try:
            coming = deque(reader.submit(next, batches, None) for _ in range(depth))
            while (batch := coming.popleft().result()) is not None:
                coming.append(reader.submit(next, batches, None))
                yield batch
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                reader.submit(close).result()  # after the read in flight, on the thread that read
