"""Apply the changes of fix gates (formatters) to the user's index and working tree.

``apply_fixes(repo, candidate_tree, fix_tree)`` applies the diff
``candidate_tree -> fix_tree`` all or nothing (see :mod:`gatekit.record.apply`):

- for a *staged* candidate, the staged version of every affected file must
  still be its version in ``candidate_tree`` (a ``git add`` since the check
  refuses); the index gets the fixed version;
- the working-tree file gets the fixed version too; when it holds unstaged
  work, that work is kept by a 3-way merge (base = candidate blob, ours =
  worktree bytes, theirs = fixed blob, ``git merge-file``); a conflict refuses
  the whole apply;
- for a *worktree* candidate, the working-tree file must still be the
  candidate's version, and the index is left alone.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.git.gitproc import without_location
from gatekit.git.repo import workdir
from gatekit.lazyclass import dataclass
from gatekit.record.apply import (
    REGULAR,
    ApplyRefusedError,
    FileWrite,
    IndexUpdate,
    apply_changes,
    read_worktree,
)
from gatekit.record.objects import Entry, diff_trees

if TYPE_CHECKING:
    import pygit2


@dataclass(frozen=True)
class ApplyReport:
    changed: tuple[str, ...]  # paths whose fixes were applied
    merged: tuple[str, ...]  # of those, paths where unstaged work was kept by a merge


def clean_git_env() -> dict[str, str]:
    """The caller's environment for a git command of ours: no repository-location
    variable of a calling hook (the whole list gitproc keeps, not a subset)."""
    return without_location()


def merge3(base: bytes, ours: bytes, theirs: bytes) -> bytes | None:
    """3-way merge of file contents with ``git merge-file``; None on conflict or binary."""
    if b"\0" in base or b"\0" in ours or b"\0" in theirs:
        return None
    with tempfile.TemporaryDirectory(prefix="gatekit-merge-") as d:
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            p = Path(d) / name
            p.write_bytes(data)
            paths.append(str(p))
        proc = subprocess.run(
            ["git", "merge-file", "-p", "-q", *paths],
            capture_output=True,
            env=clean_git_env(),
            check=False,
        )
    if proc.returncode != 0:
        return None
    return proc.stdout


def _blob(repo: pygit2.Repository, entry: Entry | None) -> bytes | None:
    if entry is None:
        return None
    blob: bytes = repo[entry.oid].data  # type: ignore[attr-defined]
    return blob


def _index_entries(
    repo: pygit2.Repository, paths: list[str]
) -> tuple[dict[str, Entry | None], set[str]]:
    import pygit2

    index_path = Path(repo.path) / "index"
    ix = pygit2.Index(str(index_path)) if index_path.exists() else pygit2.Index()
    out: dict[str, Entry | None] = {}
    conflicts = ix.conflicts
    conflicted = {p for p in paths if conflicts is not None and p in conflicts}
    for p in paths:
        try:
            e = ix[p]
            out[p] = Entry(str(e.id), int(e.mode))
        except KeyError:
            out[p] = None
    return out, conflicted


def apply_fixes(
    repo: pygit2.Repository, candidate_tree: str, fix_tree: str, source: str = "staged"
) -> ApplyReport:
    """Apply ``candidate_tree -> fix_tree`` to the index and worktree, all or nothing."""
    if source not in ("staged", "worktree"):
        raise UsageError(
            f"fixes of a {source!r} candidate cannot be applied to the working tree",
            tip="fixes apply to staged or worktree candidates",
        )
    root = workdir(repo)
    changes = diff_trees(repo, candidate_tree, fix_tree)
    if not changes:
        return ApplyReport((), ())
    staged, conflicted = _index_entries(repo, list(changes))
    problems: list[str] = [f"{p}: has unresolved merge conflicts" for p in sorted(conflicted)]
    writes: list[FileWrite] = []
    updates: list[IndexUpdate] = []
    merged: list[str] = []
    for path, (old, new) in changes.items():
        if source == "staged" and staged[path] != old:
            problems.append(f"{path}: the staged version changed since the check (git add?)")
            continue
        base = _blob(repo, old)
        fixed = _blob(repo, new)
        ours, wt_mode = read_worktree(root, path)
        if ours == base:
            result = fixed
        elif source == "worktree":
            problems.append(f"{path}: the file changed in the working tree since the check")
            continue
        elif base is None or fixed is None or ours is None:
            problems.append(f"{path}: unstaged changes clash with the fix (added/deleted file)")
            continue
        else:
            result = merge3(base, ours, fixed)
            if result is None:
                problems.append(f"{path}: unstaged changes overlap the fix")
                continue
            merged.append(path)
        mode = new.mode if new is not None else REGULAR
        if old is not None and new is not None and old.mode == new.mode and wt_mode is not None:
            mode = wt_mode  # keep the user's exec bit when the fix did not change it
        writes.append(FileWrite(path, result, mode, expect=ours))
        if source == "staged":
            updates.append(IndexUpdate(path, new, expect=old))
    if problems:
        raise ApplyRefusedError(problems, tip="check again, then apply the fixes of the new check")
    apply_changes(repo, writes, updates)
    return ApplyReport(tuple(changes), tuple(merged))


def combined_fix_tree(
    repo: pygit2.Repository, candidate_tree: str, fix_trees: list[str]
) -> str | None:
    """One tree holding the changes of every fix gate; None when there is nothing to apply.

    Two fix gates that changed the same path differently cannot be combined.
    """
    import pygit2

    from gatekit.record.objects import edit_tree

    merged: dict[str, Entry | None] = {}
    for fix in dict.fromkeys(fix_trees):
        for path, (_old, new) in diff_trees(repo, candidate_tree, fix).items():
            if path in merged and merged[path] != new:
                raise ApplyRefusedError([f"{path}: two fix gates changed it differently"])
            merged[path] = new
    if not merged:
        return None
    return edit_tree(repo, repo[candidate_tree].peel(pygit2.Tree), merged)
