"""Which files a hook is given: the fast path equals pre-commit's plain rule on a grid, and
the base's tags are taken from the candidate's only for files both hold unchanged."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pygit2
import pytest

from gatekit.precommit.keys import tagger_for
from gatekit.precommit.resolve import ResolvedHook
from gatekit.precommit.select import Tagger, hook_files

PATHS = ["a.py", "docs/x.md", "tests/t.py", "setup.cfg", "bin/run", "\n", "gone.py", "b.yaml"]
TAGS = {
    "a.py": {"file", "text", "python"},
    "docs/x.md": {"file", "text", "markdown"},
    "tests/t.py": {"file", "text", "python"},
    "setup.cfg": {"file", "text", "ini"},
    "bin/run": {"file", "executable", "text", "shell"},
    "\n": {"file", "text"},
    "b.yaml": {"file", "binary", "yaml"},
}


class _Tags:
    files: Mapping[str, tuple[int, str]] = {p: (0o100644, "0" * 40) for p in TAGS}

    def tags(self, path: str) -> frozenset[str]:
        return frozenset(TAGS[path])


def _plain(hook: ResolvedHook, candidates: Sequence[str], tags: _Tags) -> list[str]:
    """pre-commit's rule, each regex searched for every path."""
    out = []
    for path in sorted(candidates):
        if path not in tags.files:
            continue
        if not re.search(hook.top_files, path) or re.search(hook.top_exclude, path):
            continue
        if not re.search(hook.files, path) or re.search(hook.exclude, path):
            continue
        t = tags.tags(path)
        if (
            set(hook.types) <= t
            and (not hook.types_or or set(hook.types_or) & t)
            and not set(hook.exclude_types) & t
        ):
            out.append(path)
    return out


def _hook(**changes: object) -> ResolvedHook:
    base = ResolvedHook(
        key="h", id="h", repo="local", rev=None, language="system", entry="true", args=(),
        files="", exclude="^$", types=("file",), types_or=(), exclude_types=(),
        always_run=False, pass_filenames=True, require_serial=False, stages=(),
        additional_dependencies=(), language_version="default", prefix="",
        top_files="", top_exclude="^$",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    ("top_files", "top_exclude", "files", "exclude"),
    list(itertools.product(["", r"\.py$"], ["^$", "^tests/"], ["", "^(a|b)"], ["^$", r"\.md$"])),
)
@pytest.mark.parametrize("types", [{}, {"types": ("text",)}, {"types_or": ("python", "yaml")}])
def test_the_files_a_hook_is_given_are_pre_commits(
    top_files: str, top_exclude: str, files: str, exclude: str, types: dict[str, object]
) -> None:
    hook = _hook(
        top_files=top_files,
        top_exclude=top_exclude,
        files=files,
        exclude=exclude,
        exclude_types=("shell",),
        **types,
    )
    assert hook_files(hook, PATHS, _Tags()) == _plain(hook, PATHS, _Tags())
    if "^$" in (top_exclude, exclude):  # the default exclude, never searched for, still
        assert "\n" not in hook_files(hook, PATHS, _Tags())  # excludes the path "\n"


def _tree(repo: pygit2.Repository, files: dict[str, bytes]) -> str:
    builder = repo.TreeBuilder()
    for name, data in files.items():
        builder.insert(name, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    return str(builder.write())


def test_the_base_takes_the_candidates_tags_only_for_files_both_hold_unchanged(
    tmp_path: Path,
) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    candidate = _tree(repo, {"same.txt": b"text\n", "changed": b"now text\n"})
    base = _tree(repo, {"same.txt": b"text\n", "changed": b"\x00\x01binary"})
    mine = tagger_for(repo, candidate)
    assert "text" in mine.tags("same.txt") and "text" in mine.tags("changed")
    theirs = tagger_for(repo, base)
    assert theirs.tags("same.txt") is mine.tags("same.txt")  # taken, not computed again
    assert "binary" in theirs.tags("changed")  # its own content decides
    fresh = Tagger(repo, theirs.files)
    assert fresh.tags("changed") == theirs.tags("changed")


def _tree_of(repo: pygit2.Repository, files: dict[str, tuple[bytes, int]]) -> str:
    index = pygit2.Index()
    for name, (data, mode) in files.items():
        index.add(pygit2.IndexEntry(name, repo.create_blob(data), mode))
    return str(index.write_tree(repo))


HOOKS = [
    _hook(),
    _hook(types=("text",), top_exclude="^tests/"),
    _hook(types_or=("python", "shell"), exclude_types=("binary",)),
    _hook(files=r"\.(py|cfg)$", types=("executable",)),
    _hook(types=("binary",)),
]
EXE, BLOB = pygit2.enums.FileMode.BLOB_EXECUTABLE, pygit2.enums.FileMode.BLOB


def test_a_new_trees_choice_derived_from_its_bases_equals_choosing_from_every_file(
    tmp_path: Path,
) -> None:
    """What changed between the trees is chosen again: content that turns a file
    binary, a mode that makes it executable, files added, deleted, moved."""
    from gatekit.precommit import keys

    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    base_files = {
        "a.py": (b"print(1)\n", BLOB),
        "tests/t.py": (b"x = 1\n", BLOB),
        "run": (b"#!/bin/sh\necho\n", BLOB),
        "data.bin": (b"text for now\n", BLOB),
        "setup.cfg": (b"[x]\n", BLOB),
        "old.py": (b"pass\n", BLOB),
    }
    cand_files = {
        **{k: v for k, v in base_files.items() if k != "old.py"},
        "run": (b"#!/bin/sh\necho\n", EXE),
        "data.bin": (b"\x00\x01\x02", BLOB),
        "tests/new.py": (b"y = 2\n", BLOB),
        "moved.py": (b"pass\n", BLOB),
    }
    base, cand = _tree_of(repo, base_files), _tree_of(repo, cand_files)
    keys._TAGGERS.clear()
    theirs = tagger_for(repo, base)
    for hook in HOOKS:
        theirs.every_file_for(hook)
    mine = tagger_for(repo, cand)
    fresh = Tagger(repo, mine.files)
    for hook in HOOKS:
        assert mine.every_file_for(hook) == hook_files(hook, list(fresh.files), fresh), hook
        assert mine.inputs_digest(hook) == fresh.inputs_digest(hook)
    assert len({mine.inputs_digest(h) for h in HOOKS}) == len(HOOKS)  # each its own files
    assert mine.inputs_digest(HOOKS[0]) != theirs.inputs_digest(HOOKS[0])
    assert mine._near == [theirs]
    # only what differs was looked at: unchanged files' tags came from the base
    assert set(mine._tags) - set(theirs._tags) <= {"run", "data.bin", "tests/new.py", "moved.py"}


def test_a_trees_choice_is_kept_for_the_next_check_and_a_memo_that_does_not_fit_is_not_used(
    tmp_path: Path,
) -> None:
    from gatekit.precommit import keys
    from gatekit.precommit.chosenmemo import TreeChoices

    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    tree = _tree_of(repo, {"a.py": (b"1\n", BLOB), "b.txt": (b"x\n", BLOB)})
    keys._TAGGERS.clear()
    hook = _hook(types_or=("python",))
    digest = keys.hook_inputs(repo, tree, hook)  # what a cache key asks: it keeps the choice
    assert tagger_for(repo, tree).every_file_for(hook) == ["a.py"]
    memo = TreeChoices(repo, tree).path
    assert memo.is_file() and "a.py" in memo.read_text()

    keys._TAGGERS.clear()  # the next check: another process
    again = tagger_for(repo, tree)
    assert again.every_file_for(hook) == ["a.py"]
    assert keys.hook_inputs(repo, tree, hook) == digest
    assert not again._tags  # read, not chosen again: no file was tagged

    # a memo naming a file the tree does not hold is ignored and written again
    memo.write_text(memo.read_text().replace('"a.py"', '"zzz.py"'))
    keys._TAGGERS.clear()
    assert keys.hook_inputs(repo, tree, hook) == digest
    assert '"a.py"' in memo.read_text()
    # another identify version: not used
    memo.write_text(
        memo.read_text().replace('"a.py"', '"b.txt"').replace('"identify": "', '"identify": "0.')
    )
    keys._TAGGERS.clear()
    assert tagger_for(repo, tree).every_file_for(hook) == ["a.py"]


def test_the_kept_choices_are_bounded_to_the_newest_trees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekit.precommit import chosenmemo, keys

    monkeypatch.setattr(chosenmemo, "KEEP", 2)
    repo = pygit2.init_repository(str(tmp_path / "r"), bare=True)
    hook = _hook()
    trees = [_tree_of(repo, {f"f{i}.py": (b"x\n", BLOB)}) for i in range(3)]
    for n, tree in enumerate(trees):
        keys._TAGGERS.clear()
        keys.hook_inputs(repo, tree, hook)
        os.utime(chosenmemo.TreeChoices(repo, tree).path, ns=(n * 10**9, n * 10**9))
    kept = sorted(p.stem for p in chosenmemo.TreeChoices(repo, trees[0]).path.parent.iterdir())
    assert kept == sorted(trees[1:])
