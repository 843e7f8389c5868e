"""Detecting a gate that writes into the main repository's ``.git``.

Gates run in a shadow worktree, but that worktree shares the common git dir:
``git branch``, ``git config`` or ``git update-ref`` inside a gate reach the
user's repository. ``snapshot_main`` records HEAD, the index, config and every
ref (loose and packed, read as name -> value, so a ``git pack-refs`` alone is no
change) before the gates run; ``changes_since`` lists what differs afterwards.
gatekit's own refs (``refs/gatekit/``, ``refs/notes/gatekit``) are ignored: the
run itself writes them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.git.repo import common_dir

if TYPE_CHECKING:
    import pygit2

OWN_REF_PREFIXES = ("refs/gatekit/", "refs/notes/gatekit")


@dataclass(frozen=True)
class GuardSnapshot:
    head: str | None  # content of the main HEAD file
    index: str | None  # sha256 of the main index file
    config: str | None  # sha256 of the common config file
    refs: dict[str, str]  # ref name -> value ("ref: ..." for symbolic refs)


def snapshot_main(repo: pygit2.Repository) -> GuardSnapshot:
    gitdir = Path(repo.path)
    common = common_dir(repo)
    return GuardSnapshot(
        head=_read(gitdir / "HEAD"),
        index=_digest(gitdir / "index"),
        config=_digest(common / "config"),
        refs=_refs(common),
    )


def changes_since(repo: pygit2.Repository, snap: GuardSnapshot) -> list[str]:
    """What changed in the main repository since ``snap``, one line per change, for people."""
    now = snapshot_main(repo)
    changes: list[str] = []
    if now.head != snap.head:
        changes.append(f"HEAD changed: {_short(snap.head)} -> {_short(now.head)}")
    if now.index != snap.index:
        changes.append("the index (.git/index) was written")
    if now.config != snap.config:
        changes.append("the repository config (.git/config) was changed")
    for name in sorted(set(snap.refs) | set(now.refs)):
        before, after = snap.refs.get(name), now.refs.get(name)
        if before == after:
            continue
        if before is None:
            changes.append(f"{name} was created at {_short(after)}")
        elif after is None:
            changes.append(f"{name} was deleted (was {_short(before)})")
        else:
            changes.append(f"{name} moved: {_short(before)} -> {_short(after)}")
    return changes


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _refs(common: Path) -> dict[str, str]:
    refs: dict[str, str] = {}
    packed = _read(common / "packed-refs")
    for line in (packed or "").splitlines():
        if not line or line[0] in "#^":
            continue
        value, _, name = line.partition(" ")
        refs[name] = value
    root = common / "refs"
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            if fname.endswith(".lock"):
                continue
            full = Path(dirpath) / fname
            name = full.relative_to(common).as_posix()
            loose = _read(full)
            if loose is not None:
                refs[name] = loose
    return {k: v for k, v in refs.items() if not k.startswith(OWN_REF_PREFIXES)}


def _short(value: str | None) -> str:
    if value is None:
        return "(none)"
    return value if value.startswith("ref:") else value[:12]
