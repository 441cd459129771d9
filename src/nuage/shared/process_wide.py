"""A process-wide interpreter setting changed while any of several overlapping jobs runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """``save()`` reads the setting when the first job begins, each job applies its change on
    entry, ``restore`` puts back what was saved once the last of the overlapping jobs ends
    (thread-safe: the jobs may run in several threads)."""

    def __init__(self, save: Callable[[], T], restore: Callable[[T], None]) -> None:
        self._save = save
        self._restore = restore
        self._lock = threading.Lock()
        self._jobs = 0
        self._saved: list[T] = []  # what the first job read, while any runs

    @contextmanager
    def held(self, apply: Callable[[], None]) -> Iterator[None]:
        """Run the ``with`` block with ``apply()`` done (under the lock), restored after the last."""
        with self._lock:
            if self._jobs == 0:
                self._saved.append(self._save())
            self._jobs += 1
            apply()
        try:
            yield
        finally:
            with self._lock:
                self._jobs -= 1
                if self._jobs == 0:
                    self._restore(self._saved.pop())
