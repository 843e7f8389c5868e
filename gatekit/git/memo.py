"""Small on-disk memos of pure functions of git content, so a new process skips the work.

- :func:`staged_tree`: the index file's own checksum (git's trailing hash of its
  whole content) -> the tree ``write-tree`` makes of it. Reading a 20,000-entry
  index and writing its tree costs ~17 ms; reading its last bytes costs nothing.
- :func:`changed_paths`: (base tree, tree) -> the sorted paths that differ.

Each memo is one JSON file under ``<common dir>/gatekit/`` holding the newest
few entries, replaced atomically; a lost or corrupt memo is only a miss. The
values are pure functions of their keys (content hashes), so a hit is exact;
a memoised tree is used only while the object is still in the repository.
An index written with ``index.skipHash`` has a zero trailer and is never memoised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.atomicfile import save_quietly

if TYPE_CHECKING:
    import pygit2

_ENTRIES = 16  # per memo file: a few indexes and candidates in flight at once
_MAX_PATHS = 5000  # larger change sets are not worth a file write


def staged_tree(repo: pygit2.Repository, index_path: Path, compute: Callable[[], str]) -> str:
    """The tree of the index at ``index_path``, from the memo when its content is known."""
    key = _index_key(repo, index_path)
    if key is None:
        return compute()
    memo = _Memo(_file(repo, "memo-index.json"))
    tree = memo.get(key)
    if isinstance(tree, str) and _has(repo, tree):
        return tree
    tree = compute()
    memo.put(key, tree)
    return tree


def changed_paths(
    repo: pygit2.Repository,
    base_tree: str | None,
    tree: str,
    compute: Callable[[], tuple[str, ...]],
) -> tuple[str, ...]:
    """The paths differing between two trees, from the memo when this pair is known."""
    key = f"{base_tree or '-'}:{tree}"
    memo = _Memo(_file(repo, "memo-changed.json"))
    found = memo.get(key)
    if isinstance(found, list) and all(isinstance(p, str) for p in found):
        return tuple(found)
    paths = compute()
    if len(paths) <= _MAX_PATHS:
        memo.put(key, list(paths))
    return paths


def _index_key(repo: pygit2.Repository, path: Path) -> str | None:
    """``<size>:<trailer hex>`` of the index file; None when it has no usable checksum."""
    size = 32 if getattr(repo, "object_format", None) == "sha256" else 20
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            length = f.tell()
            if length < 12 + size:
                return None
            f.seek(-size, os.SEEK_END)
            trailer = f.read(size)
    except OSError:
        return None
    if len(trailer) != size or not any(trailer):
        return None
    return f"{length}:{trailer.hex()}"


def _has(repo: pygit2.Repository, oid: str) -> bool:
    try:
        return oid in repo
    except ValueError:
        return False


def _file(repo: pygit2.Repository, name: str) -> Path | None:
    from gatekit.git.repo import gatekit_dir

    try:
        return gatekit_dir(repo) / name
    except OSError:
        return None


class _Memo:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._data: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._data is None:
            self._data = {}
            if self.path is not None:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = None
                if isinstance(data, dict):
                    self._data = {str(k): v for k, v in data.items()}
        return self._data

    def get(self, key: str) -> object:
        return self._load().get(key)

    def put(self, key: str, value: object) -> None:
        if self.path is None:
            return
        data = self._load()
        data.pop(key, None)
        data[key] = value  # newest last
        while len(data) > _ENTRIES:
            del data[next(iter(data))]
        save_quietly(self.path, json.dumps(data, separators=(",", ":")))
