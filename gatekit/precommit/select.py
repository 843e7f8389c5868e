"""The files a hook is given: pre-commit's include/exclude regexes and ``identify`` tags,
read from the candidate tree (mode and blob), so that the cache key needs no checkout."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from gatekit.precommit.resolve import ResolvedHook
from gatekit.record.objects import tree_entries

if TYPE_CHECKING:
    import pygit2

_EVERY = ""  # pre-commit's default ``files``: every path
_NONE = "^$"  # its default ``exclude``: no path but "\n" (a path is never empty)
_EXECUTABLE = 0o100755
_SYMLINK = 0o120000


def tree_files(repo: pygit2.Repository, tree_hex: str) -> dict[str, tuple[int, str]]:
    """path -> (mode, blob OID) of every file of a tree (submodules left out)."""
    return tree_entries(repo, tree_hex, submodules=False)


class Tagger:
    """``identify`` tags of tree entries, as ``identify.tags_from_path`` gives them on disk."""

    def __init__(self, repo: pygit2.Repository, files: dict[str, tuple[int, str]]) -> None:
        self.repo = repo
        self.files = files
        self._tags: dict[str, frozenset[str]] = {}
        self._chosen: dict[tuple[object, ...], list[str]] = {}

    def every_file_for(self, hook: ResolvedHook) -> list[str]:
        """:func:`hook_files` of every file of the tree, once per set of filters (the
        hooks of a config share a few: ``types: [text]``, the top-level exclude)."""
        filters = (
            hook.top_files,
            hook.top_exclude,
            hook.files,
            hook.exclude,
            hook.types,
            hook.types_or,
            hook.exclude_types,
        )
        hit = self._chosen.get(filters)
        if hit is None:
            hit = self._chosen[filters] = hook_files(hook, list(self.files), self)
        return hit

    def adopt(self, other: Tagger) -> None:
        """Take the tags ``other`` computed for the files both trees hold unchanged (a
        path's tags follow from its name, mode and content)."""
        mine = self.files
        for path, tags in other._tags.items():
            if mine.get(path) == other.files[path]:
                self._tags.setdefault(path, tags)

    def tags(self, path: str) -> frozenset[str]:
        hit = self._tags.get(path)
        if hit is None:
            hit = self._tags[path] = self._compute(path)
        return hit

    def _compute(self, path: str) -> frozenset[str]:
        from identify import identify

        mode, oid = self.files[path]
        if mode == _SYMLINK:
            return frozenset({identify.SYMLINK})
        executable = mode == _EXECUTABLE
        tags = {identify.FILE, identify.EXECUTABLE if executable else identify.NON_EXECUTABLE}
        by_name = identify.tags_from_filename(path.rsplit("/", 1)[-1])
        data: bytes | None = None
        if by_name:
            tags.update(by_name)
        elif executable:
            data = self._data(oid)
            shebang = identify.parse_shebang(io.BytesIO(data))
            if shebang:
                tags.update(identify.tags_from_interpreter(shebang[0]))
        if not identify.ENCODING_TAGS & tags:
            data = self._data(oid) if data is None else data
            tags.add(identify.TEXT if identify.is_text(io.BytesIO(data)) else identify.BINARY)
        return frozenset(tags)

    def _data(self, oid: str) -> bytes:
        blob = self.repo[oid]
        data: bytes = blob.data  # type: ignore[attr-defined]
        return data


class Tags(Protocol):
    """What :func:`hook_files` reads: the files there are, and their ``identify`` tags."""

    @property
    def files(self) -> Mapping[str, tuple[int, str]]: ...

    def tags(self, path: str) -> frozenset[str]: ...


def hook_files(hook: ResolvedHook, candidates: Sequence[str], tagger: Tags) -> list[str]:
    """The paths of ``candidates`` the hook is given, in pre-commit's order (sorted).

    pre-commit's defaults (``files: ''`` takes every path, ``exclude: '^$'`` none) are
    not searched for: a check asks this of every hook for every file of the candidate
    and of its base (the cache keys), and those searches were most of its time."""
    files = tagger.files
    paths = [p for p in sorted(candidates) if p in files]  # not deleted in the candidate
    for pattern, keep in (
        (hook.top_files, True),
        (hook.top_exclude, False),
        (hook.files, True),
        (hook.exclude, False),
    ):
        if pattern == _EVERY and keep:
            continue
        if pattern == _NONE and not keep:
            paths = [p for p in paths if p != "\n"]  # the one path '^$' finds
            continue
        search = re.compile(pattern).search
        paths = [p for p in paths if (search(p) is not None) is keep]
    types, types_or, excluded = (
        frozenset(hook.types),
        frozenset(hook.types_or),
        frozenset(hook.exclude_types),
    )
    if not types and not types_or and not excluded:
        return paths
    tags_of = tagger.tags
    return [
        p
        for p in paths
        if types <= (tags := tags_of(p))
        and (not types_or or types_or & tags)
        and not excluded & tags
    ]
