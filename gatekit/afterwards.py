"""Work that may wait until the command has answered (the daemon's worker only).

A daemon worker answers its client's exit code first, then runs what was
deferred here (e.g. cleaning the shadow a check used, so the next check finds it
ready). Anywhere else nothing is deferred: :func:`defer` says False and the
caller does the work itself, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

_tasks: list[Callable[[], None]] | None = None  # None: deferring is off


def enable() -> None:
    global _tasks
    if _tasks is None:
        _tasks = []


def defer(task: Callable[[], None]) -> bool:
    """Queue ``task`` for after the answer; False (not queued) when deferring is off."""
    if _tasks is None:
        return False
    _tasks.append(task)
    return True


def run_deferred() -> None:
    """Run what was deferred, in order; a failing task does not stop the others."""
    while _tasks:
        task = _tasks.pop(0)
        with contextlib.suppress(Exception):
            task()
