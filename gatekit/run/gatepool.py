"""The threads gates run on, each result handed back as soon as its gate ends.

The scheduler never starts more gates than it has slots for, so a thread per gate is
the whole pool. It stands in for ``concurrent.futures`` (``ThreadPoolExecutor`` and
``wait(FIRST_COMPLETED)``), whose import (with ``logging``) cost every check ~4 ms.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
A = TypeVar("A")


class Job(Generic[T]):
    """One call on its own thread; :meth:`result` returns its value or raises its error."""

    def __init__(self, done: queue.SimpleQueue[Job[T] | None]) -> None:
        self._done = done
        self._value: T | None = None
        self._error: BaseException | None = None
        self.done = False  # set before the pool is told, so a waiter always sees it

    def _run(self, fn: Callable[[A], T], arg: A) -> None:
        try:
            self._value = fn(arg)
        except BaseException as exc:  # handed to whoever collects the result, as a Future does
            self._error = exc
        finally:
            self.done = True
            self._done.put(self)

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class GatePool(Generic[T]):
    def __init__(self, name: str) -> None:
        self._name = name
        self._done: queue.SimpleQueue[Job[T] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[[A], T], arg: A) -> Job[T]:
        job: Job[T] = Job(self._done)
        name = f"{self._name}_{len(self._threads)}"
        thread = threading.Thread(target=job._run, args=(fn, arg), name=name)
        self._threads.append(thread)
        thread.start()
        return job

    def nudge(self) -> None:
        """Wake :meth:`wait` without a job having ended (a job gave its slot back)."""
        self._done.put(None)

    def wait(self, timeout: float) -> None:
        """Until a job ends (or :meth:`nudge`), or ``timeout``; which ended, each job's
        ``done`` says (an interrupted wait loses nothing)."""
        try:
            self._done.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            try:
                self._done.get_nowait()
            except queue.Empty:
                return

    def shutdown(self) -> None:
        """Wait for every thread (their gates stop on their own once asked)."""
        for thread in self._threads:
            thread.join()
