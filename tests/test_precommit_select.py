"""Which files a hook is given: the fast path equals pre-commit's plain rule on a grid, and
the base's tags are taken from the candidate's only for files both hold unchanged."""

from __future__ import annotations

import dataclasses
import itertools
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
