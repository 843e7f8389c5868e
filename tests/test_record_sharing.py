"""gatekit push / fetch through a bare remote; notes of two clones merge, never clobber."""

from __future__ import annotations

from pathlib import Path

import pygit2
from conftest import Repo, git
from record_support import make_result

from gatekit.record.checkpoints import iter_checkpoints, record_checkpoint
from gatekit.record.notes import iter_notes, read_records


def _clone(remote: Path, path: Path) -> Repo:
    git(path.parent, "clone", "-q", str(remote), str(path))
    return Repo(path)


def _record(r: Repo, chain: str) -> str:
    pr = pygit2.Repository(str(r.path))
    tree = r.git("rev-parse", "HEAD^{tree}").strip()
    head = r.git("rev-parse", "HEAD").strip()
    return record_checkpoint(pr, chain, tree, head, make_result(tree, head))


def test_push_fetch_and_concurrent_notes_merge(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("push", "-q", str(remote), "main")
    alice = _clone(remote, tmp_path / "alice")
    bob = _clone(remote, tmp_path / "bob")
    a1 = _record(alice, "alice")
    b1 = _record(bob, "bob")
    assert alice.gatekit("push").returncode == 0
    pushed = bob.gatekit("push")  # notes diverged: fetch, merge, retry
    assert pushed.returncode == 0, pushed.stderr
    assert "merged" in pushed.stdout
    fetched = alice.gatekit("fetch")
    assert fetched.returncode == 0, fetched.stderr
    pa = pygit2.Repository(str(alice.path))
    assert read_records(pa, a1) and read_records(pa, b1)  # both notes, none clobbered
    assert [c.id for c in iter_checkpoints(pa, "origin/bob")] == [b1]
    assert "refs/gatekit/remotes/origin/checkpoints/bob" in pa.references
    assert "refs/notes/remotes/origin/gatekit" in pa.references
    # the same chain name moved on the remote: a rejection, reported, nothing clobbered
    _record(alice, "shared")
    assert alice.gatekit("push").returncode == 0
    _record(bob, "shared")
    clash = bob.gatekit("push")
    assert clash.returncode == 1 and "shared" in clash.stderr
    # plain git reads what gatekit wrote, and the remote holds all notes
    assert (
        len(git(remote, "notes", "--ref=gatekit", "list").splitlines())
        == len(list(iter_notes(pa))) + 1
    )
    for r in (alice, bob):
        r.git("fsck", "--strict")


def test_fetch_without_remote_notes(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("push", "-q", str(remote), "main")
    c = _clone(remote, tmp_path / "c")
    proc = c.gatekit("fetch")
    assert proc.returncode == 0, proc.stderr
