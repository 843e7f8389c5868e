"""Old wheels and overlays of local packages (``gatekit gc``).

Every new tree of a local package adds a wheel and an overlay under
``<env cache>/local/``. Each use touches the entry's ``ready`` marker; ``gatekit
gc`` removes entries unused for ``--older-than`` days, each under its own lock
(an entry being built or installed right now is left alone).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

KINDS = ("wheels", "overlays")


def touch(marker: Path) -> None:
    """Record a use (the age ``gatekit gc`` goes by)."""
    with contextlib.suppress(OSError):
        os.utime(marker)


def stale_entries(cache: Path, older_than: float, now: float | None = None) -> list[Path]:
    now = time.time() if now is None else now
    out = []
    for kind in KINDS:
        root = cache / "local" / kind
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            if not entry.is_dir() or entry.suffix == ".tmp":
                continue
            try:
                used = (entry / "ready").stat().st_mtime
            except OSError:
                used = entry.stat().st_mtime  # never finished: as old as the directory
            if now - used >= older_than:
                out.append(entry)
    return out


def prune_local(cache: Path, older_than: float, now: float | None = None) -> list[str]:
    """Remove stale entries; returns what was removed, relative to the cache."""
    removed = []
    for entry in stale_entries(cache, older_than, now):
        lock = entry.with_suffix(".lock")
        with lock.open("a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being built or installed right now
            trash = entry.with_name(f"{entry.name}.trash{os.getpid()}")
            entry.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
            lock.unlink(missing_ok=True)
        removed.append(str(entry.relative_to(cache)))
    return removed
