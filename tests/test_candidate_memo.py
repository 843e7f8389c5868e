"""The memo of staged trees and changed paths: a hit is exact, anything odd is a miss."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pygit2
import pytest
from conftest import Repo

from gatekit.errors import CandidateError
from gatekit.git.candidate import CandidateSpec, resolve_candidate


def staged(r: Repo) -> tuple[str, tuple[str, ...]]:
    c = resolve_candidate(pygit2.Repository(str(r.path)), CandidateSpec("staged"))
    return c.tree, c.changed


def memo_file(r: Repo, name: str = "memo-index.json") -> Path:
    return r.path / ".git" / "gatekit" / name


def test_every_staging_gives_gits_tree(repo: Repo) -> None:
    """Staged, restaged, unstaged and restaged again: each time git write-tree's tree."""
    seen = []
    for content in ("one\n", "two\n", "one\n", "three\n"):
        repo.write("f.txt", content)
        repo.git("add", "f.txt")
        for _ in range(2):  # the second call is a memo hit
            tree, changed = staged(repo)
            assert tree == repo.git("write-tree").strip()
            assert changed == ("f.txt",)
        seen.append(tree)
    repo.git("reset", "-q", "f.txt")
    assert staged(repo) == (repo.git("write-tree").strip(), ())
    assert seen[0] == seen[2] != seen[1]
    assert memo_file(repo).exists() and memo_file(repo, "memo-changed.json").exists()


def test_a_memo_naming_a_missing_tree_is_a_miss(repo: Repo) -> None:
    repo.write("f.txt", "x\n")
    repo.git("add", "f.txt")
    tree, _ = staged(repo)
    data = json.loads(memo_file(repo).read_text())
    key = next(k for k, v in data.items() if v == tree)
    data[key] = "0" * 40  # a tree that is not in the repository
    memo_file(repo).write_text(json.dumps(data))
    assert staged(repo)[0] == tree


@pytest.mark.parametrize("junk", ["", "{", "[1, 2]", '{"k": 3}', "\x00\x01"])
def test_a_corrupt_memo_is_a_miss(repo: Repo, junk: str) -> None:
    repo.write("f.txt", "y\n")
    repo.git("add", "f.txt")
    tree, changed = staged(repo)
    memo_file(repo).write_text(junk)
    memo_file(repo, "memo-changed.json").write_text(junk)
    assert staged(repo) == (tree, changed)


def test_a_conflicted_index_is_refused_every_time(repo: Repo) -> None:
    """Refusal is never memoised as a tree (nor is a tree remembered for the same bytes)."""
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "other")
    repo.write("c.txt", "other\n")
    repo.commit("other", "c.txt")
    repo.git("checkout", "-q", base)
    repo.write("c.txt", "mine\n")
    repo.commit("mine", "c.txt")
    repo.git("merge", "other", check=False)
    for _ in range(2):
        with pytest.raises(CandidateError, match="unresolved merge conflicts"):
            staged(repo)


def test_git_index_file_is_the_index_read(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("f.txt", "main\n")
    repo.git("add", "f.txt")
    main_tree, _ = staged(repo)
    other = repo.path / ".git" / "other-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(other)}
    import subprocess

    for args in (["read-tree", "HEAD"],):
        subprocess.run(["git", *args], cwd=repo.path, env=env, check=True)
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    tree, changed = staged(repo)
    assert tree != main_tree and changed == ()
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert staged(repo)[0] == main_tree
