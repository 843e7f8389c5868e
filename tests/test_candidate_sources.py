"""Candidate sources: each yields the tree git itself would commit, without touching the user."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pygit2
import pytest
from conftest import Repo, git
from shadow_support import fingerprint, oracle_merge, oracle_staged, oracle_worktree

from gatekit.errors import CandidateError, ExitCode, UnsafePathError
from gatekit.git.candidate import (
    Candidate,
    CandidateSpec,
    default_spec_for_event,
    known_sources,
    merge_tree_libgit2,
    resolve_candidate,
)


def resolve(r: Repo, source: str, **kw: str) -> Candidate:
    return resolve_candidate(pygit2.Repository(str(r.path)), CandidateSpec(source, **kw))  # type: ignore[arg-type]


def ls_tree(r: Repo, tree: str) -> dict[str, tuple[str, str]]:
    out = r.git("ls-tree", "-r", "-z", tree)
    entries = {}
    for item in out.split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, _kind, oid = meta.split()
            entries[path] = (mode, oid)
    return entries


def test_registry_and_events() -> None:
    assert known_sources() == ("merge", "rev", "staged", "worktree")
    assert default_spec_for_event("pre-commit") == CandidateSpec("staged")
    assert default_spec_for_event("manual") == CandidateSpec("worktree")
    for event in ("ci", "pull_request", "merge", "pre-push"):
        assert default_spec_for_event(event) == CandidateSpec("rev", rev="HEAD")
    with pytest.raises(CandidateError):
        default_spec_for_event("tuesday")


def test_staged_and_worktree_match_git(repo: Repo) -> None:
    repo.write("a.txt", "one\n")
    repo.write("gone.txt", "bye\n")
    repo.write("run.sh", "#!/bin/sh\n", mode=0o644)
    repo.write(".gitignore", "*.log\n")
    repo.commit("base")
    repo.write("a.txt", "two\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", "three\n")  # partially staged
    (repo.path / "gone.txt").unlink()  # unstaged deletion
    (repo.path / "run.sh").chmod(0o755)  # unstaged exec bit
    repo.write("new.txt", "untracked\n")
    repo.write("debug.log", "ignored\n")
    before = fingerprint(repo.path)

    staged = resolve(repo, "staged")
    worktree = resolve(repo, "worktree")

    assert staged.tree == oracle_staged(repo.path)
    assert worktree.tree == oracle_worktree(repo.path)
    assert staged.changed == ("a.txt",)
    assert worktree.changed == ("a.txt", "gone.txt", "new.txt", "run.sh")
    assert ls_tree(repo, worktree.tree)["run.sh"][0] == "100755"
    assert "debug.log" not in ls_tree(repo, worktree.tree)
    head = repo.git("rev-parse", "HEAD").strip()
    assert staged.base == worktree.base == head
    assert staged.description == "staged index on main"
    assert fingerprint(repo.path) == before


def test_intent_to_add_is_left_out_of_staged(repo: Repo) -> None:
    repo.write("later.txt", "content\n")
    repo.git("add", "-N", "later.txt")
    repo.write("now.txt", "x\n")
    repo.git("add", "now.txt")
    before = fingerprint(repo.path)
    staged = resolve(repo, "staged")
    assert staged.tree == oracle_staged(repo.path)
    assert "later.txt" not in ls_tree(repo, staged.tree)
    assert staged.changed == ("now.txt",)
    worktree = resolve(repo, "worktree")
    assert worktree.tree == oracle_worktree(repo.path)
    assert "later.txt" in ls_tree(repo, worktree.tree)
    assert fingerprint(repo.path) == before


def test_staged_deletion_rename_and_symlink(repo: Repo) -> None:
    repo.write("old/name.txt", "x\n")
    repo.write("del.txt", "y\n")
    repo.commit("base")
    (repo.path / "new").mkdir()
    repo.git("mv", "old/name.txt", "new/name.txt")
    repo.git("rm", "-q", "del.txt")
    os.symlink("new/name.txt", repo.path / "link")
    repo.git("add", "link")
    staged = resolve(repo, "staged")
    assert staged.tree == oracle_staged(repo.path)
    assert staged.changed == ("del.txt", "link", "new/name.txt", "old/name.txt")
    assert ls_tree(repo, staged.tree)["link"][0] == "120000"


def test_submodule_gitlink(repo: Repo) -> None:
    sub = repo.path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "f").write_text("1\n")
    git(sub, "add", "f")
    git(sub, "commit", "-qm", "one")
    repo.git("add", "sub")
    first = git(sub, "rev-parse", "HEAD").strip()
    staged = resolve(repo, "staged")
    assert ls_tree(repo, staged.tree)["sub"] == ("160000", first)
    assert staged.changed == ("sub",)
    (sub / "f").write_text("2\n")
    git(sub, "commit", "-qam", "two")
    second = git(sub, "rev-parse", "HEAD").strip()
    before = fingerprint(repo.path)
    worktree = resolve(repo, "worktree")
    assert worktree.tree == oracle_worktree(repo.path)
    assert ls_tree(repo, worktree.tree)["sub"] == ("160000", second)
    assert resolve(repo, "staged").tree == staged.tree
    assert fingerprint(repo.path) == before


def test_unborn_head(empty_repo: Repo) -> None:
    empty = resolve(empty_repo, "staged")
    assert empty.base is None and empty.changed == ()
    assert empty.tree == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert "unborn" in empty.description
    empty_repo.write("a.txt", "a\n")
    empty_repo.write("d/b.txt", "b\n")
    empty_repo.git("add", "a.txt", "d/b.txt")
    empty_repo.write("c.txt", "c\n")
    before = fingerprint(empty_repo.path)
    staged = resolve(empty_repo, "staged")
    assert staged.base is None
    assert staged.changed == ("a.txt", "d/b.txt")
    assert staged.tree == oracle_staged(empty_repo.path)
    worktree = resolve(empty_repo, "worktree")
    assert worktree.changed == ("a.txt", "c.txt", "d/b.txt")
    assert fingerprint(empty_repo.path) == before


def test_worktree_without_index_file(empty_repo: Repo) -> None:
    empty_repo.write("x.txt", "x\n")
    assert not (empty_repo.path / ".git" / "index").exists()
    cand = resolve(empty_repo, "worktree")
    assert cand.changed == ("x.txt",)
    assert not (empty_repo.path / ".git" / "index").exists()


def test_rev_and_explicit_base(repo: Repo) -> None:
    root = repo.git("rev-parse", "HEAD").strip()
    repo.write("b.txt", "b\n")
    second = repo.commit("second")
    cand = resolve(repo, "rev", rev="HEAD")
    assert cand.base == root and cand.changed == ("b.txt",)
    first = resolve(repo, "rev", rev=root)
    assert first.base is None and first.changed == ("README.md",)
    explicit = resolve(repo, "rev", rev=second, base=second)
    assert explicit.changed == ()
    with pytest.raises(CandidateError, match="unknown revision"):
        resolve(repo, "rev", rev="no-such-branch")


def test_merge_clean_and_conflicting(repo: Repo) -> None:
    repo.write("shared.txt", "1\n2\n3\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.txt", "f\n")
    repo.write("shared.txt", "1\n2\n3 feature\n")
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("main.txt", "m\n")
    repo.commit("main")
    before = fingerprint(repo.path)
    cand = resolve(repo, "merge", base="main", head="feature")
    tree, conflicts = oracle_merge(repo.path, "main", "feature")
    assert cand.tree == tree and not conflicts
    assert cand.base == repo.git("rev-parse", "main").strip()
    assert cand.changed == ("feature.txt", "shared.txt")
    main = repo.git("rev-parse", "main").strip()
    feature = repo.git("rev-parse", "feature").strip()
    assert merge_tree_libgit2(pygit2.Repository(str(repo.path)), main, feature) == tree

    repo.git("checkout", "-q", "-b", "other", base)
    repo.write("shared.txt", "1\n2\n3 other\n")
    repo.commit("other")
    repo.git("checkout", "-q", "main")
    before = fingerprint(repo.path)
    with pytest.raises(CandidateError) as info:
        resolve(repo, "merge", base="feature", head="other")
    assert "shared.txt" in info.value.message
    assert info.value.exit_code == ExitCode.USAGE == 2
    f, o = (repo.git("rev-parse", b).strip() for b in ("feature", "other"))
    with pytest.raises(CandidateError, match=r"shared\.txt"):
        merge_tree_libgit2(pygit2.Repository(str(repo.path)), f, o)
    assert fingerprint(repo.path) == before
    proc = repo.gatekit("shadow", "refresh", "--merge", "feature", "other")
    assert proc.returncode == 2 and "shared.txt" in proc.stderr and "Traceback" not in proc.stderr


def test_index_with_conflicts_is_refused(repo: Repo) -> None:
    repo.write("c.txt", "base\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "x")
    repo.write("c.txt", "x\n")
    repo.commit("x")
    repo.git("checkout", "-q", "main")
    repo.write("c.txt", "main\n")
    repo.commit("main")
    repo.git("merge", "x", check=False)
    for source in ("staged", "worktree"):
        with pytest.raises(CandidateError, match=r"conflicts: c\.txt"):
            resolve(repo, source)


def _raw_tree(r: Repo, entries: list[tuple[str, bytes, str]]) -> str:
    raw = b"".join(
        mode.encode() + b" " + name + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries
    )
    proc = subprocess.run(
        ["git", "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
        cwd=r.path,
        input=raw,
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode().strip()


@pytest.mark.parametrize("name", [b"..", b".git", b".GIT", b"a/b"])
def test_unsafe_tree_paths_are_refused(repo: Repo, name: bytes) -> None:
    blob = repo.git("hash-object", "-w", "README.md").strip()
    inner = _raw_tree(repo, [("100644", b"evil", blob)])
    mode = "40000" if name != b"a/b" else "100644"
    top = _raw_tree(
        repo, [("100644", b"ok", blob), (mode, name, inner if mode == "40000" else blob)]
    )
    commit = repo.git("commit-tree", top, "-m", "evil").strip()
    with pytest.raises(UnsafePathError):
        resolve(repo, "rev", rev=commit)


def test_hook_index_file_is_honoured(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside 'git commit -a' hooks, GIT_INDEX_FILE names the index being committed."""
    alt = tmp_path / "alt-index"
    repo.write("README.md", "changed\n")
    env = dict(os.environ, GIT_INDEX_FILE=str(alt))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo.path, env=env, check=True)
    subprocess.run(["git", "add", "README.md"], cwd=repo.path, env=env, check=True)
    monkeypatch.setenv("GIT_INDEX_FILE", str(alt))
    assert resolve(repo, "staged").changed == ("README.md",)
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert resolve(repo, "staged").changed == ()


def test_worktree_tree_is_gits_read_from_the_index_git_add_wrote(repo: Repo) -> None:
    """The working-tree candidate's tree comes from the index 'git add -A' wrote, read
    by libgit2 (one git process, not two), also where the user's git writes split
    indexes (core.splitIndex), which libgit2 cannot read: that one is written whole."""
    from gatekit.git import candidate

    repo.write("a.txt", "one\n")
    repo.commit("base")
    os.symlink("a.txt", repo.path / "link")
    repo.write("a.txt", "two\n")
    read: list[str | None] = []
    real = candidate._index_tree

    def spy(r: pygit2.Repository, path: Path) -> str | None:
        read.append(real(r, path))
        return read[-1]

    candidate._index_tree = spy  # type: ignore[assignment]
    try:
        plain = resolve(repo, "worktree")
        assert plain.tree == oracle_worktree(repo.path)
        assert ls_tree(repo, plain.tree)["link"][0] == "120000"
        repo.git("config", "core.splitIndex", "true")
        repo.write("b.txt", "three\n")
        split = resolve(repo, "worktree")
    finally:
        candidate._index_tree = real  # type: ignore[assignment]
    assert split.tree == oracle_worktree(repo.path)
    assert read == [plain.tree, split.tree]  # both read by libgit2
