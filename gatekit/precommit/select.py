"""The files a hook is given: pre-commit's include/exclude regexes and ``identify`` tags,
read from the candidate tree (mode and blob), so that the cache key needs no checkout."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

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

    def __init__(
        self,
        repo: pygit2.Repository,
        files: dict[str, tuple[int, str]],
        kept: Kept | None = None,
    ) -> None:
        self.repo = repo
        self.files = files
        self._tags: dict[str, frozenset[str]] = {}
        self._chosen: dict[tuple[object, ...], Choice] = {}
        self._kept = kept
        self._near: list[Tagger] = []
        self._changed: dict[int, list[str]] = {}
        self._unkept: dict[tuple[object, ...], Choice] = {}

    def every_file_for(self, hook: ResolvedHook) -> list[str]:
        """:func:`hook_files` of every file of the tree, once per set of filters (the
        hooks of a config share a few: ``types: [text]``, the top-level exclude): kept
        from an earlier check of this tree, else derived from another tree's choice
        (only the files that differ are looked at), else chosen from every file."""
        return self._choice(hook).paths

    def inputs_digest(self, hook: ResolvedHook) -> str:
        """sha256 of the (path, mode, blob OID) of every file of the tree ``hook`` is given."""
        return self._choice(hook).digest

    def _choice(self, hook: ResolvedHook) -> Choice:
        filters = _filters(hook)
        hit = self._chosen.get(filters)
        if hit is None:
            hit = self._known(filters)
            if hit is None:
                paths = self._derived(hook, filters)
                if paths is None:
                    paths = hook_files(hook, list(self.files), self)
                hit = Choice(paths, self._digest(paths))
                self._unkept[filters] = hit
            self._chosen[filters] = hit
        return hit

    def unkept(self) -> bool:
        """Whether choices were made that are not kept yet (see :meth:`keep`)."""
        return bool(self._unkept) and self._kept is not None

    def keep(self) -> None:
        """Keep the choices made for the next check, at once (one write per tree)."""
        if self._kept is not None and self._unkept:
            self._kept.put(self._unkept)
        self._unkept = {}

    def _digest(self, paths: Sequence[str]) -> str:
        files = self.files
        text = "".join(f"{p}\0{files[p][0]:o}\0{files[p][1]}\n" for p in paths)
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def _known(self, filters: tuple[object, ...]) -> Choice | None:
        """This tree's choice for ``filters`` as an earlier check kept it."""
        if self._kept is None:
            return None
        hit = self._kept.get(filters)
        if hit is None or not all(p in self.files for p in hit.paths):
            return None  # a memo that does not fit the tree is not used
        return hit

    def _derived(self, hook: ResolvedHook, filters: tuple[object, ...]) -> list[str] | None:
        """The choice of a tree seen before (the base, most often), with the files that
        differ between the two chosen again: whether a file is given depends on its
        path, mode and content only."""
        for near in self._near:
            theirs = near._chosen.get(filters) or near._known(filters)
            if theirs is None:
                continue
            mine = self.files
            changed = self._changed.get(id(near))
            if changed is None:
                changed = self._changed[id(near)] = [
                    p for p, e in mine.items() if near.files.get(p) != e
                ]
            kept = [p for p in theirs.paths if mine.get(p) == near.files[p]]
            return sorted(kept + hook_files(hook, changed, self))
        return None

    def adopt(self, other: Tagger) -> None:
        """Take the tags ``other`` computed for the files both trees hold unchanged (a
        path's tags follow from its name, mode and content), and derive choices from
        its (see :meth:`every_file_for`)."""
        mine = self.files
        for path, tags in other._tags.items():
            if mine.get(path) == other.files[path]:
                self._tags.setdefault(path, tags)
        self._near.append(other)

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


def _filters(hook: ResolvedHook) -> tuple[object, ...]:
    return (
        hook.top_files,
        hook.top_exclude,
        hook.files,
        hook.exclude,
        hook.types,
        hook.types_or,
        hook.exclude_types,
    )


class Choice(NamedTuple):
    """The files of a tree a set of filters chooses, and :meth:`Tagger.inputs_digest`."""

    paths: list[str]
    digest: str


class Kept(Protocol):
    """Choices of one tree kept from one check to the next (see :mod:`chosenmemo`)."""

    def get(self, filters: tuple[object, ...]) -> Choice | None: ...

    def put(self, choices: Mapping[tuple[object, ...], Choice]) -> None: ...


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
