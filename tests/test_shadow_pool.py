"""Shadow worktrees: materialised exactly, refreshed incrementally, isolated, safe."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest
from conftest import ROOT, Repo, git
from shadow_support import fingerprint

from gatekit.errors import UnsafePathError
from gatekit.git.candidate import Candidate, CandidateSpec, resolve_candidate
from gatekit.git.guard import GATE_EMAIL, changes_since, snapshot_main
from gatekit.git.shadow import SHADOW_REF_PREFIX, ShadowPool


def cand(r: Repo, source: str = "staged", **kw: str) -> Candidate:
    return resolve_candidate(pygit2.Repository(str(r.path)), CandidateSpec(source, **kw))  # type: ignore[arg-type]


def pool(r: Repo) -> ShadowPool:
    return ShadowPool(pygit2.Repository(str(r.path)))


def tree_listing(r: Repo, tree: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, sha256 of content or link target) from the tree."""
    out = {}
    for item in r.git("ls-tree", "-r", "-z", tree).split("\0"):
        if not item:
            continue
        meta, path = item.split("\t", 1)
        mode, kind, oid = meta.split()
        if kind == "commit":
            out[path] = (mode, "")
            continue
        data = subprocess.run(
            ["git", "cat-file", "blob", oid], cwd=r.path, capture_output=True, check=True
        ).stdout
        out[path] = (mode, hashlib.sha256(data).hexdigest())
    return out


def disk_listing(root: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".git"]
            filenames = [f for f in filenames if f != ".git"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(full):
                out[rel] = ("120000", hashlib.sha256(os.readlink(full).encode()).hexdigest())
            else:
                mode = "100755" if os.stat(full).st_mode & 0o100 else "100644"
                out[rel] = (mode, hashlib.sha256(Path(full).read_bytes()).hexdigest())
        for d in list(dirnames):  # empty submodule dirs
            full = os.path.join(dirpath, d)
            if not os.path.islink(full) and not os.listdir(full):
                out[os.path.normpath(os.path.join(rel_dir, d))] = ("160000", "")
    return out


def assert_shadow_is(r: Repo, root: Path, c: Candidate) -> None:
    assert disk_listing(root) == tree_listing(r, c.tree)
    assert git(root, "rev-parse", "HEAD^{tree}").strip() == c.tree
    parents = git(root, "rev-list", "--parents", "-n1", "HEAD").split()[1:]
    assert parents == ([c.base] if c.base else [])
    assert git(root, "status", "--porcelain", "--ignored") == ""


@pytest.fixture
def project(repo: Repo) -> Repo:
    repo.write(".gitignore", "build/\n__pycache__/\n")
    repo.write("src/app.py", "print('hi')\n")
    repo.write("src/util.py", "x = 1\n")
    repo.write("run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    repo.write("docs/guide.md", "guide\n")
    os.symlink("src/app.py", repo.path / "app-link")
    repo.commit("project")
    return repo


def test_acquire_materialises_candidate_without_touching_user(project: Repo) -> None:
    project.write("src/app.py", "print('staged')\n")
    project.git("add", "src/app.py")
    project.write("src/app.py", "print('unstaged')\n")
    project.write("scratch.txt", "untracked\n")
    before = fingerprint(project.path)
    c = cand(project)
    with pool(project).acquire(c) as shadow:
        assert shadow.path.is_relative_to(project.path / ".git" / "gatekit" / "shadows")
        assert (shadow.path / "src/app.py").read_text() == "print('staged')\n"
        assert not (shadow.path / "scratch.txt").exists()
        assert_shadow_is(project, shadow.path, c)
        assert project.git("rev-parse", SHADOW_REF_PREFIX + shadow.name).strip() == shadow.commit
        assert fingerprint(project.path) == before
    assert fingerprint(project.path) == before
    assert project.git("status", "--porcelain") == " M src/app.py\n?? scratch.txt\n".replace(
        " M", "MM"
    )


def test_refresh_is_incremental_and_removes_leftovers(project: Repo) -> None:
    p = pool(project)
    first = cand(project, "rev", rev="HEAD")
    with p.acquire(first) as shadow:
        root = shadow.path
        # a previous gate's mess: edits, deletions, untracked and ignored files, index and HEAD moves
        (root / "src/util.py").write_text("tampered\n")
        (root / "docs/guide.md").unlink()
        (root / "stray.txt").write_text("stray\n")
        (root / "build").mkdir()
        (root / "build/out.o").write_bytes(b"\0")
        (root / "src/__pycache__").mkdir()
        (root / "src/__pycache__/app.pyc").write_bytes(b"pyc")
        (root / "run.sh").chmod(0o644)
        (root / "staged-by-gate.txt").write_text("x\n")
        git(root, "add", "staged-by-gate.txt")
        git(root, "commit", "-qm", "gate commit")
        os.symlink("run.sh", root / "new-link")
    project.write("src/app.py", "print('v2')\n")
    project.write("docs/new.md", "new\n")
    project.git("add", "-A")
    second = cand(project)
    with p.acquire(second) as shadow:
        assert shadow.path == root
        assert_shadow_is(project, root, second)
    with p.acquire(first) as shadow:
        assert_shadow_is(project, root, first)
        again = os.stat(root / "run.sh")
        assert again.st_mode & 0o100


def test_unchanged_files_keep_their_inode(project: Repo) -> None:
    p = pool(project)
    with p.acquire(cand(project, "rev", rev="HEAD")) as shadow:
        keep = os.stat(shadow.path / "src/util.py")
    project.write("src/app.py", "print('changed')\n")
    project.git("add", "-A")
    with p.acquire(cand(project)) as shadow:
        now = os.stat(shadow.path / "src/util.py")
        assert (now.st_ino, now.st_mtime_ns) == (keep.st_ino, keep.st_mtime_ns)
        assert (shadow.path / "src/app.py").read_text() == "print('changed')\n"


def test_reset_brings_back_the_candidate(project: Repo) -> None:
    c = cand(project, "worktree")
    with pool(project).acquire(c) as shadow:
        (shadow.path / "src/app.py").write_text("gate edit\n")
        (shadow.path / "junk").mkdir()
        (shadow.path / "junk/file").write_text("junk\n")
        shadow.reset()
        assert_shadow_is(project, shadow.path, c)


def test_concurrent_checks_get_distinct_shadows(project: Repo) -> None:
    c = cand(project)
    with (
        pool(project).acquire(c) as a,
        pool(project).acquire(c) as b,
        pool(project).acquire(c) as third,
    ):
        assert len({a.path, b.path, third.path}) == 3
        assert {a.name, b.name, third.name} == {"s0", "s1", "s2"}
        for s in (a, b, third):
            assert_shadow_is(project, s.path, c)


HOLDER = """
import sys, time, pygit2
from gatekit.git.candidate import CandidateSpec, resolve_candidate
from gatekit.git.shadow import ShadowPool
repo = pygit2.Repository(sys.argv[1])
with ShadowPool(repo).acquire(resolve_candidate(repo, CandidateSpec("staged"))) as s:
    print(s.name, flush=True)
    time.sleep(60)
"""


def test_slot_of_a_dead_owner_is_reused(project: Repo) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(project.path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "s0"
            with pool(project).acquire(cand(project)) as shadow:
                assert shadow.name == "s1"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    with pool(project).acquire(cand(project)) as shadow:
        assert shadow.name == "s0"


@pytest.mark.parametrize(
    "links",
    [
        {"out": "/etc/passwd"},
        {"sub/up": "../../outside"},
        {"dot": ".", "escape": "dot/.."},  # lexically inside, really outside
    ],
)
def test_symlinks_out_of_the_shadow_are_refused(project: Repo, links: dict[str, str]) -> None:
    for rel, target in links.items():
        (project.path / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, project.path / rel)
    project.git("add", "-A")
    c = cand(project)
    with pytest.raises(UnsafePathError, match="symlink"), pool(project).acquire(c):
        pytest.fail("an unsafe candidate must not be handed out")
    shadow_root = project.path / ".git/gatekit/shadows/s0"
    bad = [rel for rel in links if rel != "dot"]
    assert not any(os.path.lexists(shadow_root / rel) for rel in bad)


def test_inside_links_are_fine(project: Repo) -> None:
    os.symlink("../src", project.path / "docs/src-link")
    project.git("add", "-A")
    with pool(project).acquire(cand(project)) as shadow:
        assert (shadow.path / "docs/src-link/app.py").exists()


def test_unborn_repository(empty_repo: Repo) -> None:
    empty_repo.write("first.txt", "1\n")
    empty_repo.git("add", "first.txt")
    before = fingerprint(empty_repo.path)
    c = cand(empty_repo)
    assert c.base is None
    with pool(empty_repo).acquire(c) as shadow:
        assert (shadow.path / "first.txt").read_text() == "1\n"
        assert git(shadow.path, "rev-list", "--count", "HEAD").strip() == "1"
    assert fingerprint(empty_repo.path) == before
    assert empty_repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""


def test_broken_or_locked_down_shadow_is_rebuilt(project: Repo) -> None:
    p = pool(project)
    c = cand(project)
    with p.acquire(c) as shadow:
        root = shadow.path
    (root / ".git").unlink()  # a gate deleted the worktree link
    with p.acquire(c) as shadow:
        assert_shadow_is(project, shadow.path, c)
        (root / "locked").mkdir()
        (root / "locked/file").write_text("x")
        (root / "locked").chmod(0o500)
    try:
        with p.acquire(c) as shadow:
            assert_shadow_is(project, shadow.path, c)
    finally:
        if (root / "locked").exists():
            (root / "locked").chmod(0o700)
    assert (
        len([w for w in project.git("worktree", "list", "--porcelain").split("\n\n") if w.strip()])
        == 2
    )


def test_guard_reports_writes_into_the_main_repository(project: Repo) -> None:
    main = pygit2.Repository(str(project.path))
    with pool(project).acquire(cand(project)) as shadow:
        snap = snapshot_main(main)
        assert changes_since(main, snap) == []
        git(shadow.path, "update-ref", "refs/gatekit/mine", "HEAD")  # gatekit's own: ignored
        project.git("pack-refs", "--all")  # same refs, other storage: no change
        project.git("status", "--porcelain")  # a stat refresh rewrites the index: no change
        assert changes_since(main, snap) == []
        git(shadow.path, "branch", "sneaky")
        git(shadow.path, "config", "gate.wrote", "yes")
        git(project.path, "update-ref", "refs/heads/main", "HEAD~0")
        git(shadow.path, "update-ref", "-d", "refs/heads/main")
        changes = changes_since(main, snap)
    text = "\n".join(c.text for c in changes)
    assert "refs/heads/sneaky was created" in text
    assert "refs/heads/main was deleted" in text
    assert "config" in text
    project.write("README.md", "x\n")
    project.git("add", "README.md")
    assert any("index" in c.text for c in changes_since(main, snap))
    project.git("checkout", "-q", "-b", "elsewhere")
    assert any(c.text.startswith("HEAD changed") for c in changes_since(main, snap))


def test_guard_blames_gates_only_with_evidence(
    project: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ref moved by git running with the gates' identity is a gate's doing; the user's is not."""
    main = pygit2.Repository(str(project.path))
    snap = snapshot_main(main)
    project.git("branch", "users-own")  # the user, in another terminal
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", GATE_EMAIL)
    project.git("branch", "by-a-gate")
    blame = {c.text.split()[0]: c.by_gate for c in changes_since(main, snap)}
    assert blame == {"refs/heads/users-own": False, "refs/heads/by-a-gate": True}


def test_shadow_and_gc_commands(project: Repo) -> None:
    project.write("wip.txt", "wip\n")
    before = fingerprint(project.path)
    path = project.gatekit("shadow", "path")
    assert path.returncode == 0
    shadow = Path(path.stdout.strip())
    refreshed = project.gatekit("shadow", "refresh")  # default: the working tree
    assert refreshed.returncode == 0, refreshed.stderr
    assert Path(refreshed.stdout.strip()) == shadow
    assert (shadow / "wip.txt").read_text() == "wip\n"
    staged = project.gatekit("shadow", "refresh", "--staged")
    assert staged.returncode == 0 and not (shadow / "wip.txt").exists()
    assert project.gatekit("shadow", "refresh", "--rev", "HEAD").returncode == 0
    assert project.gatekit("shadow", "refresh", "--rev", "nope").returncode == 2
    assert fingerprint(project.path) == before

    fresh = project.gatekit("gc")
    assert fresh.returncode == 0 and shadow.exists()  # recently used: kept
    (project.path / ".git/gatekit/tmp").mkdir(exist_ok=True)
    old_tmp = project.path / ".git/gatekit/tmp/index-old"
    old_tmp.mkdir()
    os.utime(old_tmp, (time.time() - 7200, time.time() - 7200))
    # a closed gate view an ended check had not finished removing (work dir without rights)
    left = project.path / ".git/gatekit/runs/.trash/4242-0-lint"
    (left / "work" / "w1" / "work").mkdir(parents=True)
    (left / "upper").mkdir()
    (left / "upper" / "fixed.py").write_text("x\n")
    (left / "work" / "w1" / "work").chmod(0)
    gc = project.gatekit("gc", "--older-than", "0", "--keep", "5")
    assert gc.returncode == 0, gc.stderr
    assert "removed shadow s0" in gc.stdout
    assert "removed gate view 4242-0-lint" in gc.stdout and not left.exists()
    assert not shadow.exists() and not old_tmp.exists()
    assert project.git("for-each-ref", "refs/gatekit/shadow/") == ""
    assert project.git("worktree", "list").count("\n") == 1
    assert project.gatekit("shadow", "refresh").returncode == 0
    clean = project.gatekit("shadow", "clean")
    assert clean.returncode == 0 and "removed shadow s0" in clean.stdout
    assert not shadow.exists()
    assert fingerprint(project.path) == before


def test_user_hooks_do_not_run_in_the_shadow(project: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hook = project.path / ".git/hooks/post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    hook.chmod(0o755)
    with pool(project).acquire(cand(project)) as shadow:
        assert (shadow.path / "run.sh").exists()
    assert not marker.exists()


def _hold_lock(lock: Path, text: str, seconds: float) -> subprocess.Popen[bytes]:
    code = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.ftruncate(fd, 0); os.write(fd, sys.argv[2].encode())\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[3]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(lock), text, str(seconds)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
    return proc


@pytest.mark.parametrize("cleaning", [True, False])
def test_a_slot_being_cleaned_is_waited_for(repo: Repo, cleaning: bool) -> None:
    """A slot cleaned after a check is free in moments: wait for it instead of building
    another worktree. A slot held by a running check is not waited for."""
    p = pool(repo)
    c = cand(repo)
    with p.acquire(c):
        pass
    holder = _hold_lock(p.root / "s0.lock", "1\ncleaning\n" if cleaning else "1\n", 1.0)
    try:
        with p.acquire(c) as shadow:
            name = shadow.name
    finally:
        holder.communicate()
    assert name == ("s0" if cleaning else "s1")
