"""Small helpers over git objects: identity, tree editing, flattening trees."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pygit2


class Entry(NamedTuple):
    oid: str
    mode: int


def signature(repo: pygit2.Repository) -> pygit2.Signature:
    """The configured identity, or a neutral gatekit one (records must not need a user)."""
    import pygit2

    try:
        return repo.default_signature
    except (KeyError, pygit2.GitError):
        return pygit2.Signature("gatekit", "gatekit@localhost", int(time.time()), 0)


def edit_tree(
    repo: pygit2.Repository,
    tree: pygit2.Tree | None,
    changes: Mapping[str, Entry | None],
) -> str:
    """Write a copy of ``tree`` with ``changes`` (path -> entry, None deletes); returns its hex."""
    import pygit2

    direct: dict[str, Entry | None] = {}
    nested: dict[str, dict[str, Entry | None]] = {}
    for path, entry in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            nested.setdefault(head, {})[rest] = entry
        else:
            direct[head] = entry
    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    for name, entry in direct.items():
        if entry is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, pygit2.Oid(hex=entry.oid), entry.mode)
    for name, sub_changes in nested.items():
        sub: pygit2.Tree | None = None
        if tree is not None and name in tree:
            obj = repo[tree[name].id]
            if isinstance(obj, pygit2.Tree):
                sub = obj
        new_sub = edit_tree(repo, sub, sub_changes)
        if len(repo[new_sub]) == 0:  # type: ignore[arg-type]
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, pygit2.Oid(hex=new_sub), pygit2.enums.FileMode.TREE)
    return str(builder.write())


def flatten_tree(repo: pygit2.Repository, tree: pygit2.Tree | str | None) -> dict[str, Entry]:
    """Every blob/link/gitlink of ``tree`` by repo-relative path."""
    import pygit2

    out: dict[str, Entry] = {}
    if tree is None:
        return out
    if isinstance(tree, str):
        tree = repo[tree].peel(pygit2.Tree)

    def walk(t: pygit2.Tree, prefix: str) -> None:
        for e in t:
            path = prefix + (e.name or "")
            if e.filemode == pygit2.enums.FileMode.TREE:
                walk(repo[e.id], path + "/")  # type: ignore[arg-type]
            else:
                out[path] = Entry(str(e.id), int(e.filemode))

    walk(tree, "")
    return out


def tree_entries(
    repo: pygit2.Repository, tree_hex: str, *, submodules: bool = True
) -> dict[str, tuple[int, str]]:
    """path -> (file mode, OID) of every entry of a tree below its subtrees: blobs, links
    and (with ``submodules``) gitlinks."""
    import pygit2

    out: dict[str, tuple[int, str]] = {}
    stack: list[tuple[str, pygit2.Tree]] = [("", repo[tree_hex].peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            path = prefix + str(entry.name)
            mode = int(entry.filemode)
            if mode == pygit2.enums.FileMode.TREE:
                stack.append((path + "/", repo[entry.id].peel(pygit2.Tree)))
            elif submodules or mode != pygit2.enums.FileMode.COMMIT:
                out[path] = (mode, str(entry.id))
    return out


def diff_trees(
    repo: pygit2.Repository, old: str | None, new: str | None
) -> dict[str, tuple[Entry | None, Entry | None]]:
    """Paths that differ between two trees: path -> (old entry, new entry)."""
    import pygit2

    if old is None or new is None:
        a = flatten_tree(repo, old)
        b = flatten_tree(repo, new)
        return {
            p: (a.get(p), b.get(p)) for p in sorted(a.keys() | b.keys()) if a.get(p) != b.get(p)
        }
    t_old = repo[old].peel(pygit2.Tree)
    t_new = repo[new].peel(pygit2.Tree)
    out: dict[str, tuple[Entry | None, Entry | None]] = {}
    for d in t_old.diff_to_tree(t_new).deltas:
        before = (
            None
            if d.status == pygit2.enums.DeltaStatus.ADDED
            else Entry(str(d.old_file.id), int(d.old_file.mode))
        )
        after = (
            None
            if d.status == pygit2.enums.DeltaStatus.DELETED
            else Entry(str(d.new_file.id), int(d.new_file.mode))
        )
        path = d.new_file.path or d.old_file.path
        if path in out:  # a type change comes as a deletion plus an addition
            prev_before, prev_after = out[path]
            before, after = prev_before or before, prev_after or after
        out[path] = (before, after)
    return dict(sorted(out.items()))


def tree_text(tree: pygit2.Tree, rel: str) -> str | None:
    """The text of the file ``rel`` of ``tree`` (None: no such file)."""
    import pygit2

    try:
        obj = tree[rel]
    except KeyError:
        return None
    if not isinstance(obj, pygit2.Blob):
        return None
    return obj.data.decode("utf-8", "replace")
