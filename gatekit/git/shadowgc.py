"""Removing stale shadows and leftovers of interrupted runs."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from gatekit.git.repo import gatekit_dir
from gatekit.git.shadow import SHADOW_REF_PREFIX, ShadowPool

if TYPE_CHECKING:
    import pygit2

TMP_MAX_AGE = 3600.0  # temporary indexes of a killed run: older than this is abandoned


def gc_shadows(repo: pygit2.Repository, max_age: float, *, now: float | None = None) -> list[str]:
    """Remove shadows unused for ``max_age`` seconds (never one in use) and orphans.

    Returns one line per removal, for people.
    """
    now = time.time() if now is None else now
    pool = ShadowPool(repo)
    removed: list[str] = []
    for name in pool.slot_names():
        used = pool.last_used(name)
        if used is not None and now - used < max_age:
            continue
        if pool.remove(name):
            removed.append(f"shadow {name}")
    for name in pool.orphan_refs():
        ref = SHADOW_REF_PREFIX + name
        if ref in repo.references:
            repo.references.delete(ref)
            removed.append(f"ref {ref}")
    removed.extend(f"worktree admin dir {a}" for a in pool.prune_admin_dirs())
    state = gatekit_dir(repo)
    leftovers = list(state.glob("*.tmp"))  # memo files of a killed writer
    if pool.root.is_dir():
        leftovers.extend(pool.root.glob("*.tmp"))  # clean marks of a killed worker
    if (state / "tmp").is_dir():
        leftovers.extend((state / "tmp").iterdir())  # temporary indexes of killed runs
    if leftovers:
        for entry in leftovers:
            try:
                age = now - entry.stat().st_mtime
            except OSError:
                continue
            if age > TMP_MAX_AGE:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(f"temporary {entry.name}")
    return removed


def clean_shadows(repo: pygit2.Repository) -> tuple[list[str], list[str]]:
    """Remove every shadow not in use; returns (removed, busy)."""
    pool = ShadowPool(repo)
    removed: list[str] = []
    busy: list[str] = []
    for name in pool.slot_names():
        (removed if pool.remove(name) else busy).append(name)
    for name in pool.orphan_refs():
        repo.references.delete(SHADOW_REF_PREFIX + name)
    pool.prune_admin_dirs()
    return removed, busy
