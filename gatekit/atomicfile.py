"""Whole-file writes that a reader or a kill never sees half done.

The text goes to a temporary file beside the target (``<name>.<pid>.tmp``),
which is then renamed over it: the old content or the new, never a mix. A
killed writer leaves only the temporary file (``gatekit gc`` removes old ones).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8); raises OSError, leaving no temporary file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def save_quietly(path: Path, text: str) -> bool:
    """:func:`write_atomic` for what only saves time (memos, caches, status files):
    False instead of an error when it cannot be written."""
    try:
        write_atomic(path, text)
    except OSError:
        return False
    return True


def keep_newest(top: Path, keep: int, counts: Callable[[str], bool]) -> None:
    """Remove all but the ``keep`` newest (by mtime) files of ``top`` whose names
    ``counts``: the bound of a memo directory (best effort, like :func:`save_quietly`)."""
    try:
        entries = [e for e in os.scandir(top) if counts(e.name)]
        if len(entries) <= keep:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for old in entries[: len(entries) - keep]:
            Path(old.path).unlink(missing_ok=True)
    except OSError:
        return
