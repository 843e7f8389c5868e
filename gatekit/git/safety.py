"""Path safety: tree entries that escape the repository, symlinks that escape the shadow.

Git refuses such trees when it checks them out, but a crafted object can still
reach gatekit (a fetched pull request, a pushed branch): gatekit checks every
candidate tree itself, names first (``..``, ``.git``, ``/`` in a name), then, once
materialised, where each symlink really leads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gatekit.atomicfile import save_quietly
from gatekit.errors import UnsafePathError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

_LINK_MODE = 0o120000
_TREE_MODE = 0o040000

# subtree OID -> symlink paths relative to that subtree. A tree's OID is a hash
# of its content, so a subtree seen once never needs checking again.
_SCANNED: dict[str, tuple[str, ...]] = {}
_SCANNED_MAX = 200_000
_MEMO_MAX = 50_000  # subtrees remembered on disk (about 2 MB)


@dataclass(frozen=True)
class TreeScan:
    tree: str
    symlinks: tuple[str, ...]


def unsafe_reason(name: str) -> str | None:
    """Why one path component is unsafe, or None when it is fine."""
    if name in ("", ".", ".."):
        return f"component {name!r}"
    if "/" in name or "\\" in name or "\0" in name:
        return "a separator inside a name"
    folded = name.lower().rstrip(" .")
    if folded in (".git", "git~1"):
        return "a .git component"
    return None


def check_path(path: str) -> None:
    """Raise UnsafePathError when a repository-relative path could escape the repository."""
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePathError(f"refusing the absolute path {path!r} in the candidate tree")
    for part in path.split("/"):
        reason = unsafe_reason(part)
        if reason:
            raise UnsafePathError(
                f"refusing the path {path!r} in the candidate tree: {reason}",
                tip="a tree with such a path can write outside the checkout; inspect where it came from",
            )


def scan_tree(repo: pygit2.Repository, tree: str) -> TreeScan:
    """Check every entry name of ``tree`` and list its symlinks (memoised per subtree).

    The memo is kept on disk (``<common dir>/gatekit/scanned-trees.json``) so that a new
    process only walks the subtrees it has not seen: a 10-file change in a
    20,000-file tree costs a handful of tree reads, not 20,000 entries.
    """
    memo_file = _memo_file(repo)
    if memo_file is not None and memo_file not in _LOADED:
        _LOADED.add(memo_file)
        _SCANNED.update(_read_memo(memo_file))
    before = len(_SCANNED)
    scan = TreeScan(tree, _scan(repo, tree, ""))
    if memo_file is not None and len(_SCANNED) != before:
        _write_memo(memo_file)
    return scan


_LOADED: set[Path] = set()


def _memo_file(repo: pygit2.Repository) -> Path | None:
    from gatekit.git.repo import gatekit_dir

    try:
        return gatekit_dir(repo) / "scanned-trees.json"
    except OSError:
        return None


def _read_memo(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: tuple(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, list)}


def _write_memo(path: Path) -> None:
    if len(_SCANNED) > _MEMO_MAX:
        _SCANNED.clear()
    save_quietly(path, json.dumps(_SCANNED, separators=(",", ":")))


def _scan(repo: pygit2.Repository, oid: str, prefix: str) -> tuple[str, ...]:
    known = _SCANNED.get(oid)
    if known is None:
        links: list[str] = []
        for entry in cast("pygit2.Tree", repo[oid]):
            name = entry.name or ""
            reason = unsafe_reason(name)
            if reason:
                raise UnsafePathError(
                    f"refusing the path {prefix + name!r} in the candidate tree: {reason}",
                    tip="a tree with such a path can write outside the checkout; inspect where it came from",
                )
            mode = entry.filemode
            if mode == _TREE_MODE:
                links.extend(name + "/" + sub for sub in _scan(repo, str(entry.id), ""))
            elif mode == _LINK_MODE:
                links.append(name)
        known = tuple(links)
        if len(_SCANNED) > _SCANNED_MAX:
            _SCANNED.clear()
        _SCANNED[oid] = known
    return tuple(prefix + p for p in known) if prefix else known


def unsafe_symlinks(root: Path, symlinks: tuple[str, ...]) -> list[tuple[str, str]]:
    """Symlinks under ``root`` whose real target lies outside it, with the reason."""
    real_root = os.path.realpath(root)
    bad: list[tuple[str, str]] = []
    for rel in symlinks:
        link = os.path.join(root, rel)
        try:
            target = os.readlink(link)
        except OSError:
            continue  # not materialised as a link (core.symlinks=false): a plain file
        if os.path.isabs(target):
            bad.append((rel, f"points to an absolute path ({target!r})"))
            continue
        resolved = os.path.realpath(link)
        if resolved != real_root and not resolved.startswith(real_root + os.sep):
            bad.append((rel, f"points outside the checkout ({target!r})"))
    return bad
