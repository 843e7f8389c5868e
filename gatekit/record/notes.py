"""Result records as git notes in ``refs/notes/gatekit``: one JSON record per line.

Writes never go through ``repo.create_note`` (it loses updates under concurrent
writers): the notes commit is built here, on the tip read under the ref lock
(:func:`gatekit.record.refs.update_ref`), so concurrent writers queue instead of
overwriting each other. Many notes go into one commit (batching).

Layout: git stores the note of object ``abcdef...`` at ``abcdef...`` (flat) or,
in large notes trees, under fan-out directories (``ab/cdef...``, ``ab/cd/ef...``).
Reads accept any fan-out; a new note follows the fan-out directories that
already exist (flat in a fresh tree, as git does until it needs fan-out); an
existing note is updated in place. Once the top level would hold more than
``FANOUT_AT`` flat notes, the write that crosses it moves them all under
``ab/`` directories (as git does), so that every later write rewrites two small
trees instead of one that grows with every check. One record per line, so
``git notes merge -s cat_sort_uniq`` (and :func:`merge_notes`) merge writers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from gatekit.record.objects import Entry, edit_tree, signature
from gatekit.record.refs import read_ref, update_ref

if TYPE_CHECKING:
    import pygit2

    from gatekit.results import RunResult

NOTES_REF = "refs/notes/gatekit"
_HEX = re.compile(r"^[0-9a-f]+$")
_BLOB = 0o100644
FANOUT_AT = 256  # flat notes in the top-level tree before they move under ab/ directories


def _tree_of(repo: pygit2.Repository, commit_hex: str | None) -> pygit2.Tree | None:
    import pygit2

    if commit_hex is None:
        return None
    return repo[commit_hex].peel(pygit2.Commit).tree


def find_note(
    repo: pygit2.Repository, tree: pygit2.Tree | None, oid: str
) -> tuple[str, str] | None:
    """(path in the notes tree, blob hex) of the note of ``oid``, any fan-out."""
    import pygit2

    prefix = ""
    rest = oid
    while tree is not None and rest:
        if rest in tree:
            return prefix + rest, str(tree[rest].id)
        head = rest[:2]
        if len(rest) <= 2 or head not in tree:
            return None
        sub = repo[tree[head].id]
        if not isinstance(sub, pygit2.Tree):
            return None
        tree, prefix, rest = sub, prefix + head + "/", rest[2:]
    return None


def _placement(repo: pygit2.Repository, tree: pygit2.Tree | None, oid: str) -> str:
    """Where a new note of ``oid`` goes: below the fan-out directories that exist."""
    import pygit2

    prefix = ""
    rest = oid
    while tree is not None and len(rest) > 2 and rest[:2] in tree:
        sub = repo[tree[rest[:2]].id]
        if not isinstance(sub, pygit2.Tree):
            break
        tree, prefix, rest = sub, prefix + rest[:2] + "/", rest[2:]
    return prefix + rest


def iter_notes(repo: pygit2.Repository, ref: str = NOTES_REF) -> Iterator[tuple[str, str, str]]:
    """Every note of ``ref``: (annotated object hex, path in the tree, blob hex)."""
    yield from _walk_notes(repo, _tree_of(repo, read_ref(repo, ref)), "", "")


def _walk_notes(
    repo: pygit2.Repository, tree: pygit2.Tree | None, path: str, hexpart: str
) -> Iterator[tuple[str, str, str]]:
    import pygit2

    if tree is None:
        return
    for e in tree:
        name = e.name or ""
        if not _HEX.match(name):
            continue  # not a note (git allows other files in a notes tree)
        full = hexpart + name
        if e.filemode == pygit2.enums.FileMode.TREE and len(name) == 2:
            yield from _walk_notes(repo, repo[e.id], path + name + "/", full)  # type: ignore[arg-type]
        elif len(full) in (40, 64):
            yield full, path + name, str(e.id)


def _merge_lines(old: bytes, new_lines: Sequence[str]) -> bytes | None:
    """``old`` plus the lines of ``new_lines`` it lacks; None when nothing is new."""
    have = set(old.decode("utf-8", "replace").splitlines())
    add = [ln for ln in dict.fromkeys(new_lines) if ln not in have]
    if not add:
        return None
    text = old if not old or old.endswith(b"\n") else old + b"\n"
    return text + "".join(ln + "\n" for ln in add).encode()


def append_notes(
    repo: pygit2.Repository, items: Sequence[tuple[str, str]], ref: str = NOTES_REF
) -> str | None:
    """Append one-line records to the notes of objects, all in one notes commit.

    ``items`` are (object hex, one-line record). A line already present in that
    note is not added twice. Returns the notes tip afterwards.
    """
    grouped: dict[str, list[str]] = {}
    for oid, line in items:
        if "\n" in line or "\r" in line:
            raise ValueError("a note record must be a single line")
        grouped.setdefault(oid.lower(), []).append(line)
    if not grouped:
        return read_ref(repo, ref)

    def build(current: str | None) -> str | None:
        tree = _tree_of(repo, current)
        changes: dict[str, Entry | None] = {}
        for oid, lines in grouped.items():
            found = find_note(repo, tree, oid)
            if found is not None:
                merged = _merge_lines(repo[found[1]].data, lines)  # type: ignore[attr-defined]
                if merged is None:
                    continue
                changes[found[0]] = Entry(str(repo.create_blob(merged)), _BLOB)
            else:
                data = "".join(ln + "\n" for ln in dict.fromkeys(lines)).encode()
                changes[_placement(repo, tree, oid)] = Entry(str(repo.create_blob(data)), _BLOB)
        if not changes:
            return None
        _fan_out(repo, tree, changes)
        return _commit(
            repo, tree, changes, [current] if current else [], "Notes added by 'gatekit'\n"
        )

    return update_ref(repo, ref, build, "gatekit: append notes")


def _fan_out(
    repo: pygit2.Repository, tree: pygit2.Tree | None, changes: dict[str, Entry | None]
) -> None:
    """When the top level would hold more than FANOUT_AT flat notes, move them (and the
    new ones) under ``ab/`` directories: ``changes`` is extended in place."""
    flat_new = [p for p, e in changes.items() if e is not None and "/" not in p]
    flat_old: list[tuple[str, str]] = []
    for e in tree if tree is not None else []:
        name = e.name or ""
        if len(name) in (40, 64) and _HEX.match(name) and name not in changes:
            flat_old.append((name, str(e.id)))
    if len(flat_old) + len(flat_new) <= FANOUT_AT:
        return
    moves: dict[str, Entry | None] = {}
    for name, blob in flat_old:
        moves[name] = None
        moves[_fanned(repo, tree, name)] = Entry(blob, _BLOB)
    for name in flat_new:
        entry = changes.pop(name)
        moves[name] = None  # an existing flat note that was appended to moves too
        moves[_fanned(repo, tree, name)] = entry
    changes.update(moves)


def _fanned(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str) -> str:
    """Where a top-level note ``name`` goes under fan-out: ``ab/`` plus any deeper
    fan-out that directory already has."""
    import pygit2

    head, rest = name[:2], name[2:]
    sub = None
    if tree is not None and head in tree:
        obj = repo[tree[head].id]
        sub = obj if isinstance(obj, pygit2.Tree) else None
    return f"{head}/{_placement(repo, sub, rest)}"


def _commit(
    repo: pygit2.Repository,
    tree: pygit2.Tree | None,
    changes: dict[str, Entry | None],
    parents: list[str],
    message: str,
) -> str:
    import pygit2

    new_tree = edit_tree(repo, tree, changes)
    sig = signature(repo)
    oid = repo.create_commit(
        None, sig, sig, message, pygit2.Oid(hex=new_tree), [pygit2.Oid(hex=p) for p in parents]
    )
    return str(oid)


def remove_notes(repo: pygit2.Repository, oids: Sequence[str], ref: str = NOTES_REF) -> str | None:
    """Delete the notes of ``oids`` (in one commit)."""

    def build(current: str | None) -> str | None:
        tree = _tree_of(repo, current)
        changes: dict[str, Entry | None] = {}
        for oid in oids:
            found = find_note(repo, tree, oid)
            if found is not None:
                changes[found[0]] = None
        if not changes or current is None:
            return None
        return _commit(repo, tree, changes, [current], "Notes removed by 'gatekit'\n")

    return update_ref(repo, ref, build, "gatekit: remove notes")


def read_note_lines(repo: pygit2.Repository, oid: str, ref: str = NOTES_REF) -> list[str]:
    found = find_note(repo, _tree_of(repo, read_ref(repo, ref)), oid.lower())
    if found is None:
        return []
    data: bytes = repo[found[1]].data  # type: ignore[attr-defined]
    return [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]


def read_records(repo: pygit2.Repository, oid: str, ref: str = NOTES_REF) -> list[RunResult]:
    """The result records in the note of ``oid`` (lines that are not records are skipped)."""
    from gatekit.results import RunResult

    out: list[RunResult] = []
    for line in read_note_lines(repo, oid, ref):
        try:
            out.append(RunResult.model_validate_json(line))
        except ValueError:
            continue
    return out


def merge_notes(repo: pygit2.Repository, other_ref: str, ref: str = NOTES_REF) -> str | None:
    """Merge the notes of ``other_ref`` into ``ref`` by line union; never drops a local line.

    Fast-forwards when ``ref`` is absent or an ancestor; otherwise writes a merge
    commit (parents: local tip, other tip), so the result pushes as a fast-forward.
    """
    import pygit2

    other = read_ref(repo, other_ref)
    if other is None:
        return read_ref(repo, ref)

    def build(current: str | None) -> str | None:
        if current is None:
            return other
        if current == other or repo.descendant_of(pygit2.Oid(hex=current), pygit2.Oid(hex=other)):
            return None
        if repo.descendant_of(pygit2.Oid(hex=other), pygit2.Oid(hex=current)):
            return other
        tree = _tree_of(repo, current)
        changes: dict[str, Entry | None] = {}
        for oid, _path, blob in _walk_notes(repo, _tree_of(repo, other), "", ""):
            found = find_note(repo, tree, oid)
            if found is None:
                changes[_placement(repo, tree, oid)] = Entry(blob, _BLOB)
            elif found[1] != blob:
                theirs = repo[blob].data.decode("utf-8", "replace").splitlines()  # type: ignore[attr-defined]
                merged = _merge_lines(repo[found[1]].data, [ln for ln in theirs if ln.strip()])  # type: ignore[attr-defined]
                if merged is not None:
                    changes[found[0]] = Entry(str(repo.create_blob(merged)), _BLOB)
        return _commit(
            repo, tree, changes, [current, other], f"Notes merged by 'gatekit' from {other_ref}\n"
        )

    return update_ref(repo, ref, build, f"gatekit: merge notes from {other_ref}")
