"""Detecting a gate that writes into the main repository's ``.git``.

Gates run in a shadow worktree, but that worktree shares the common git dir:
``git branch``, ``git config`` or ``git update-ref`` inside a gate reach the
user's repository. ``snapshot_main`` records HEAD, the index, config and every
ref (loose and packed, read as name -> value, so a ``git pack-refs`` alone is no
change) before the gates run; ``changes_since`` lists what differs afterwards.
gatekit's own refs (``refs/gatekit/``, ``refs/notes/gatekit``) are ignored: the
run itself writes them.

The user may work in another terminal meanwhile, so a change is blamed on a
gate only with evidence: gates run git with gatekit's gate identity
(:data:`GATE_EMAIL`), so a ref or HEAD whose newest reflog entry carries it was
moved by a gate; the shared config is blamed on gates (people rarely change it
during a check, and tools run inside a worktree write it by accident). Other
changes (a branch the user made, a commit, a fetch, a ``git add``) are
reported as "by you or by a gate". An index rewritten by a stat refresh
(``git status``) with the same entries is no change.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.git.repo import common_dir
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

OWN_REF_PREFIXES = ("refs/gatekit/", "refs/notes/gatekit")
GATE_EMAIL = "gate@gatekit.invalid"  # the git identity gates run with (see run.sandbox)


@dataclass(frozen=True)
class GuardSnapshot:
    head: str | None  # content of the main HEAD file
    index: bytes | None  # the main index file (compared by entries when the bytes differ)
    config: str | None  # sha256 of the common config file
    refs: dict[str, str]  # ref name -> value ("ref: ..." for symbolic refs)


@dataclass(frozen=True)
class GuardChange:
    text: str
    by_gate: bool  # True: evidence says a gate did it; False: the user may have


def snapshot_main(repo: pygit2.Repository) -> GuardSnapshot:
    gitdir = Path(repo.path)
    common = common_dir(repo)
    return GuardSnapshot(
        head=_read(gitdir / "HEAD"),
        index=_read_bytes(gitdir / "index"),
        config=_digest(common / "config"),
        refs=_refs(common),
    )


def changes_since(repo: pygit2.Repository, snap: GuardSnapshot) -> list[GuardChange]:
    """What changed in the main repository since ``snap``, one entry per change, for people."""
    now = snapshot_main(repo)
    common = common_dir(repo)
    gitdir = Path(repo.path)
    changes: list[GuardChange] = []
    if now.head != snap.head:
        text = f"HEAD changed: {_short(snap.head)} -> {_short(now.head)}"
        changes.append(GuardChange(text, _moved_by_gate(gitdir / "logs" / "HEAD")))
    if now.index != snap.index and _index_entries(snap.index) != _index_entries(now.index):
        changes.append(GuardChange("the index (.git/index) was changed", False))
    if now.config != snap.config:
        changes.append(GuardChange("the repository config (.git/config) was changed", True))
    for name in sorted(set(snap.refs) | set(now.refs)):
        before, after = snap.refs.get(name), now.refs.get(name)
        if before == after:
            continue
        if before is None:
            text = f"{name} was created at {_short(after)}"
        elif after is None:
            text = f"{name} was deleted (was {_short(before)})"
        else:
            text = f"{name} moved: {_short(before)} -> {_short(after)}"
        changes.append(GuardChange(text, _moved_by_gate(common / "logs" / name)))
    return changes


def _moved_by_gate(reflog: Path) -> bool:
    """Whether the newest reflog entry was written with the gates' git identity."""
    try:
        with reflog.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().splitlines()
    except OSError:
        return False
    return bool(lines) and f"<{GATE_EMAIL}>".encode() in lines[-1]


def _index_entries(data: bytes | None) -> list[tuple[str, int, str, int]] | None:
    """(path, mode, blob, stage) of every entry: what a stat refresh leaves as it was."""
    if data is None:
        return None
    import tempfile

    import pygit2

    with tempfile.NamedTemporaryFile(prefix="gatekit-index-") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            index = pygit2.Index(tmp.name)
        except pygit2.GitError:
            return [("<unreadable>", 0, hashlib.sha256(data).hexdigest(), 0)]
        return [(e.path, e.mode, str(e.id), 0) for e in index]


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


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
