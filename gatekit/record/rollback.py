"""Restore the working tree and index (or some paths) to a checkpoint's tree.

Uncommitted work is never lost: without ``force`` the rollback refuses (and
changes nothing) when a path it would change has staged or unstaged changes,
or is an untracked file it would overwrite. With ``force`` it first records
the current state as a checkpoint on the chain ``rollback-backup``: an
"index" commit (tree = the index, parent = HEAD) is the checkpoint's base and
the checkpoint's tree is the working tree including untracked files (and any
ignored file the rollback overwrites), like ``git stash -u`` but on a chain.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.errors import RepositoryError
from gatekit.git.repo import workdir
from gatekit.lazyclass import dataclass
from gatekit.record.apply import (
    EXEC,
    LINK,
    ApplyRefusedError,
    FileWrite,
    IndexUpdate,
    apply_changes,
    read_worktree,
)
from gatekit.record.checkpoints import BACKUP_CHAIN, Checkpoint, write_checkpoint
from gatekit.record.fixes import clean_git_env
from gatekit.record.objects import Entry, flatten_tree, signature

if TYPE_CHECKING:
    import pygit2


@dataclass(frozen=True)
class RollbackReport:
    checkpoint: str
    changed: tuple[str, ...]
    backup: str | None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Git-style glob: ``**`` crosses directories, ``*``/``?`` do not; a directory matches below."""
    p = pattern.strip("/")
    out = ""
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif p.startswith("**", i):
            out += ".*"
            i += 2
        elif p[i] == "*":
            out += "[^/]*"
            i += 1
        elif p[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(p[i])
            i += 1
    return re.compile(f"^{out}(?:/.*)?$")


def _index_map(repo: pygit2.Repository) -> dict[str, Entry]:
    import pygit2

    index_path = Path(repo.path) / "index"
    if not index_path.exists():
        return {}
    ix = pygit2.Index(str(index_path))
    return {e.path: Entry(str(e.id), int(e.mode)) for e in ix}


def _head_map(repo: pygit2.Repository) -> dict[str, Entry]:
    import pygit2

    if repo.head_is_unborn:
        return {}
    return flatten_tree(repo, str(repo.head.peel(pygit2.Commit).tree_id))


def _same(data: bytes | None, mode: int | None, entry: Entry | None) -> bool:
    import pygit2

    if entry is None or data is None:
        return entry is None and data is None
    if (mode == LINK) != (entry.mode == LINK) or (
        entry.mode != LINK and (mode == EXEC) != (entry.mode == EXEC)
    ):
        return False
    return str(pygit2.hash(data)) == entry.oid


def rollback(
    repo: pygit2.Repository,
    checkpoint: Checkpoint,
    globs: Sequence[str] = (),
    force: bool = False,
) -> RollbackReport:
    root = workdir(repo)
    target = flatten_tree(repo, checkpoint.tree)
    index = _index_map(repo)
    head = _head_map(repo)
    patterns = [glob_regex(g) for g in globs]
    scope = sorted(
        p for p in target.keys() | index.keys() if not patterns or any(r.match(p) for r in patterns)
    )
    writes: list[FileWrite] = []
    updates: list[IndexUpdate] = []
    at_risk: list[str] = []
    overwritten_untracked: list[str] = []
    for path in scope:
        want = target.get(path)
        have = index.get(path)
        data, mode = read_worktree(root, path)
        wt_changes = not _same(data, mode, want)
        ix_changes = have != want
        if not (wt_changes or ix_changes):
            continue
        if have is None and data is not None:
            at_risk.append(f"{path}: untracked file would be overwritten")
            overwritten_untracked.append(path)
        elif have is not None and (have != head.get(path) or not _same(data, mode, have)):
            at_risk.append(f"{path}: has uncommitted changes")
        if wt_changes:
            content = None if want is None else repo[want.oid].data  # type: ignore[attr-defined]
            writes.append(FileWrite(path, content, want.mode if want else 0, expect=data))
        if ix_changes:
            updates.append(IndexUpdate(path, want, expect=have))
    backup = None
    if at_risk and not force:
        raise ApplyRefusedError(
            at_risk, tip="commit or stash your work, or use --force (it records a backup first)"
        )
    if at_risk:
        backup = backup_current_state(
            repo, f"before rollback to {checkpoint.id[:12]}", overwritten_untracked
        )
    apply_changes(repo, writes, updates)
    changed = sorted({w.path for w in writes} | {u.path for u in updates})
    return RollbackReport(checkpoint.id, tuple(changed), backup)


def _git(repo: pygit2.Repository, args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["git", f"--git-dir={repo.path}", f"--work-tree={workdir(repo)}", *args],
        cwd=workdir(repo),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RepositoryError(f"git {args[0]} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def worktree_tree(repo: pygit2.Repository, extra_paths: Sequence[str] = ()) -> str:
    """Tree of the working tree with untracked (not ignored) files, plus ``extra_paths``."""
    index_path = Path(repo.path) / "index"
    with tempfile.TemporaryDirectory(prefix="gatekit-backup-") as d:
        tmp_index = Path(d) / "index"
        if index_path.exists():
            tmp_index.write_bytes(index_path.read_bytes())
        env = clean_git_env()
        env["GIT_INDEX_FILE"] = str(tmp_index)
        _git(repo, ["add", "-A"], env)
        if extra_paths:
            _git(repo, ["add", "-f", "--", *extra_paths], env)
        return _git(repo, ["write-tree"], env)


def backup_current_state(
    repo: pygit2.Repository, reason: str, extra_paths: Sequence[str] = ()
) -> str:
    """Record index + working tree (incl. untracked) on the ``rollback-backup`` chain."""
    import pygit2

    index_path = Path(repo.path) / "index"
    ix = pygit2.Index(str(index_path)) if index_path.exists() else pygit2.Index()
    index_tree = ix.write_tree(repo)
    wt_tree = worktree_tree(repo, extra_paths)
    parents = [] if repo.head_is_unborn else [repo.head.target]
    sig = signature(repo)
    index_commit = repo.create_commit(
        None, sig, sig, f"gatekit backup (index) {reason}\n", index_tree, parents
    )
    head = "none" if repo.head_is_unborn else str(repo.head.target)
    return write_checkpoint(
        repo,
        BACKUP_CHAIN,
        wt_tree,
        str(index_commit),
        {"Kind": "backup", "Head": head, "Index": str(index_tree)},
        f"gatekit backup: {reason}",
    )
