"""Candidate trees: exactly the tree that would land, built without touching the user's files.

A small registry maps each source name to a resolver:

- ``staged``: the index (what ``git commit`` would record). Inside a hook that
  git started with ``GIT_INDEX_FILE`` (``git commit -a``, ``git commit FILE``)
  that index is the one read. Intent-to-add entries are left out, as
  ``git write-tree`` does.
- ``worktree``: the index plus unstaged and untracked-but-not-ignored files
  (what ``git add -A && git commit`` would record), computed by git itself on a
  temporary copy of the index; the user's index file is never written.
- ``rev``: a commit's tree, compared against its first parent.
- ``merge``: the in-memory merge of HEAD into BASE, as a merge queue lands it
  (``git merge-tree --write-tree``; libgit2's merge when git is older than 2.38).

Only objects are written (blobs, trees); no ref, index or working-tree file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from gatekit.errors import CandidateError
from gatekit.git import memo
from gatekit.git.gitproc import describe_failure, run_git
from gatekit.git.repo import current_branch, gatekit_dir, workdir
from gatekit.git.safety import scan_tree
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import subprocess

    import pygit2

SourceName = Literal["staged", "worktree", "rev", "merge"]

_INTENT_TO_ADD = 1 << 13  # GIT_INDEX_ENTRY_INTENT_TO_ADD in flags_extended


@dataclass(frozen=True)
class CandidateSpec:
    source: SourceName
    rev: str | None = None  # for rev
    base: str | None = None  # for merge (BASE); optional explicit base for the others
    head: str | None = None  # for merge (HEAD)


@dataclass(frozen=True)
class Candidate:
    source: str
    tree: str  # hex OID of the candidate tree
    base: str | None  # hex OID of the commit it is compared against (None: unborn HEAD)
    changed: tuple[str, ...]  # sorted repo-relative paths differing between base tree and tree
    description: str  # for people, e.g. "staged index on main"


@dataclass(frozen=True)
class _Resolved:
    tree: str
    base: str | None
    description: str


Resolver = Callable[["pygit2.Repository", CandidateSpec], _Resolved]
_SOURCES: dict[str, Resolver] = {}


def register_source(name: str) -> Callable[[Resolver], Resolver]:
    def deco(fn: Resolver) -> Resolver:
        _SOURCES[name] = fn
        return fn

    return deco


def known_sources() -> tuple[str, ...]:
    return tuple(sorted(_SOURCES))


def default_spec_for_event(event: str) -> CandidateSpec:
    """pre-commit -> staged, manual -> worktree, ci/pull_request/merge/pre-push -> rev HEAD."""
    if event == "pre-commit":
        return CandidateSpec("staged")
    if event == "manual":
        return CandidateSpec("worktree")
    if event in ("ci", "pull_request", "merge", "pre-push", "push"):
        return CandidateSpec("rev", rev="HEAD")
    raise CandidateError(
        f"no default candidate for the event {event!r}",
        tip="choose one with --staged, --worktree, --rev REV or --merge BASE HEAD",
    )


def resolve_candidate(repo: pygit2.Repository, spec: CandidateSpec) -> Candidate:
    """Build the candidate tree for ``spec`` and the sorted paths it changes against its base."""
    resolver = _SOURCES.get(spec.source)
    if resolver is None:
        raise CandidateError(
            f"unknown candidate source {spec.source!r} (known: {', '.join(known_sources())})"
        )
    got = resolver(repo, spec)
    scan_tree(repo, got.tree)  # refuses paths that escape the repository
    base_tree = None if got.base is None else str(_commit(repo, got.base).tree_id)
    return Candidate(
        source=spec.source,
        tree=got.tree,
        base=got.base,
        changed=memo.changed_paths(
            repo, base_tree, got.tree, lambda: changed_paths(repo, base_tree, got.tree)
        ),
        description=got.description,
    )


def changed_paths(repo: pygit2.Repository, base_tree: str | None, tree: str) -> tuple[str, ...]:
    """Sorted paths that differ between two trees (None: the empty tree)."""
    if base_tree == tree:
        return ()
    new = cast("pygit2.Tree", repo[tree])
    if base_tree is None:
        diff = new.diff_to_tree(swap=True)
    else:
        diff = cast("pygit2.Tree", repo[base_tree]).diff_to_tree(new)
    paths: set[str] = set()
    for delta in diff.deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return tuple(sorted(paths))


# -- helpers ----------------------------------------------------------------------------


def _commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    import pygit2

    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise CandidateError(
            f"unknown revision {rev!r}",
            tip="give a commit, branch or tag that exists in this repository",
        ) from None
    assert isinstance(commit, pygit2.Commit)
    return commit


def _head(repo: pygit2.Repository) -> str | None:
    if repo.head_is_unborn:
        return None
    return str(repo.head.target)


def _base_for(repo: pygit2.Repository, spec: CandidateSpec) -> str | None:
    return str(_commit(repo, spec.base).id) if spec.base else _head(repo)


def _on_branch(repo: pygit2.Repository) -> str:
    branch = current_branch(repo)
    if repo.head_is_unborn:
        return f"(unborn {branch})" if branch else "(unborn)"
    return f"on {branch}" if branch else "on detached HEAD"


def _index_path(repo: pygit2.Repository) -> Path:
    override = os.environ.get("GIT_INDEX_FILE")
    if override:
        return Path(override).resolve()
    return Path(repo.path) / "index"


def _index_version(path: Path) -> int:
    with path.open("rb") as f:
        header = f.read(8)
    return int.from_bytes(header[4:8], "big") if header[:4] == b"DIRC" else 0


def _load_index(repo: pygit2.Repository, path: Path) -> pygit2.Index | None:
    """A private in-memory copy of the index at ``path`` (None when there is none)."""
    import pygit2

    if not path.exists():
        return None
    try:
        index = pygit2.Index(str(path))
    except pygit2.GitError as exc:
        raise CandidateError(
            f"cannot read the index: {exc}",
            tip="split or sparse indexes are not supported by libgit2; try 'git update-index --no-split-index'",
        ) from None
    conflicts = index.conflicts
    if conflicts is not None:
        paths = sorted({(e.path) for entries in conflicts for e in entries if e is not None})
        raise CandidateError(
            "the index has unresolved merge conflicts: " + ", ".join(paths),
            tip="resolve them and stage the result ('git add PATH') before checking",
        )
    return index


def _drop_intent_to_add(index: pygit2.Index, version: int) -> None:
    if version < 3:  # no extended flags: no intent-to-add entries
        return
    from pygit2.ffi import C, ffi

    doomed = []
    for i in range(len(index)):
        centry = C.git_index_get_byindex(index._index, i)
        if centry.flags_extended & _INTENT_TO_ADD:
            doomed.append(ffi.string(centry.path).decode("utf-8", "surrogateescape"))
    for path in doomed:
        index.remove(path)


# -- sources ----------------------------------------------------------------------------


@register_source("staged")
def _staged(repo: pygit2.Repository, spec: CandidateSpec) -> _Resolved:
    path = _index_path(repo)

    def write_tree() -> str:
        index = _load_index(repo, path)
        if index is None:
            return str(repo.TreeBuilder().write())
        _drop_intent_to_add(index, _index_version(path))
        return str(index.write_tree(repo))

    tree = memo.staged_tree(repo, path, write_tree)
    return _Resolved(tree, _base_for(repo, spec), f"staged index {_on_branch(repo)}")


@register_source("worktree")
def _worktree(repo: pygit2.Repository, spec: CandidateSpec) -> _Resolved:
    import tempfile

    top = workdir(repo)
    source_index = _index_path(repo)
    _load_index(repo, source_index)  # refuses an index with conflicts, like 'git commit -a'
    tmp_root = gatekit_dir(repo) / "tmp"
    tmp_root.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="index-", dir=tmp_root) as tmp:
        tmp_index = Path(tmp) / "index"
        if source_index.exists():
            shutil.copy2(source_index, tmp_index)  # keep mtime: same racy-git rules as the original
        env = {"GIT_DIR": repo.path, "GIT_WORK_TREE": str(top), "GIT_INDEX_FILE": str(tmp_index)}
        # written whole, as libgit2 reads it (a split or sparse index it cannot)
        whole = ["-c", "core.splitIndex=false", "-c", "index.sparse=false"]
        _git_for_candidate([*whole, "add", "-A"], top, env)
        tree = _index_tree(repo, tmp_index)
        if tree is None:  # an index libgit2 cannot read all the same: git writes the tree
            tree = _git_for_candidate(["write-tree"], top, env).stdout.decode().strip()
    return _Resolved(tree, _base_for(repo, spec), f"working tree {_on_branch(repo)}")


def _git_for_candidate(
    args: list[str], top: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    proc = run_git(args, cwd=top, env=env)
    if proc.returncode != 0:
        raise CandidateError(
            f"cannot build the working-tree candidate: {describe_failure(args, proc)}"
        )
    return proc


def _index_tree(repo: pygit2.Repository, path: Path) -> str | None:
    """The tree of the index 'git add -A' wrote (as 'git write-tree' gives it, without
    a second git process); None where libgit2 cannot read that index."""
    import pygit2

    try:
        index = pygit2.Index(str(path))
        _drop_intent_to_add(index, _index_version(path))
        return str(index.write_tree(repo))
    except (pygit2.GitError, OSError):
        return None


@register_source("rev")
def _rev(repo: pygit2.Repository, spec: CandidateSpec) -> _Resolved:
    rev = spec.rev or "HEAD"
    commit = _commit(repo, rev)
    if spec.base:
        base: str | None = str(_commit(repo, spec.base).id)
    else:
        base = str(commit.parent_ids[0]) if commit.parent_ids else None
    return _Resolved(str(commit.tree_id), base, f"commit {str(commit.id)[:12]} ({rev})")


@register_source("merge")
def _merge(repo: pygit2.Repository, spec: CandidateSpec) -> _Resolved:
    if not spec.base or not spec.head:
        raise CandidateError("a merge candidate needs both BASE and HEAD (--merge BASE HEAD)")
    base = str(_commit(repo, spec.base).id)
    head = str(_commit(repo, spec.head).id)
    tree = merge_tree(repo, base, head)
    return _Resolved(tree, base, f"merge of {spec.head} into {spec.base}")


def merge_tree(repo: pygit2.Repository, base: str, head: str) -> str:
    """The tree of merging ``head`` into ``base``; CandidateError lists conflicting paths."""
    args = ["merge-tree", "--write-tree", "--name-only", "-z", base, head]
    proc = run_git(args, env={"GIT_DIR": repo.path})
    if proc.returncode in (0, 1):
        fields = proc.stdout.split(b"\0")
        if proc.returncode == 0:
            return fields[0].decode().strip()
        conflicts = []
        for field in fields[1:]:
            if not field:
                break
            conflicts.append(field.decode("utf-8", "surrogateescape"))
        raise _conflict_error(base, head, sorted(set(conflicts)))
    if b"unrelated histories" in proc.stderr:
        raise CandidateError(
            f"cannot merge {head[:12]} into {base[:12]}: they share no history",
        )
    if proc.returncode == 129 or b"write-tree" in proc.stderr:  # git older than 2.38
        return merge_tree_libgit2(repo, base, head)
    raise CandidateError(f"cannot merge: {describe_failure(args, proc)}")


def merge_tree_libgit2(repo: pygit2.Repository, base: str, head: str) -> str:
    """libgit2's in-memory merge (no directory-rename detection, unlike git's ort)."""
    import pygit2

    try:
        index = repo.merge_commits(base, head)
    except pygit2.GitError as exc:
        raise CandidateError(f"cannot merge {head[:12]} into {base[:12]}: {exc}") from None
    if index.conflicts is not None:
        paths = sorted({e.path for entries in index.conflicts for e in entries if e is not None})
        raise _conflict_error(base, head, paths)
    return str(index.write_tree(repo))


def _conflict_error(base: str, head: str, paths: list[str]) -> CandidateError:
    listing = "\n  ".join(paths) if paths else "(no path reported)"
    return CandidateError(
        f"merging {head[:12]} into {base[:12]} conflicts in {len(paths)} path(s):\n  {listing}",
        tip="merge or rebase the branch onto its target and resolve the conflicts first",
    )
