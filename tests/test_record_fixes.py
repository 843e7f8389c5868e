"""apply_fixes: all or nothing, unstaged work kept, refusals change nothing, crash safety."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pygit2
import pytest
from conftest import ROOT, Repo, git
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekit.record.apply import ApplyRefusedError, recover_pending_apply
from gatekit.record.fixes import apply_fixes, combined_fix_tree


def strip_ws(data: bytes) -> bytes:
    return b"".join(line.rstrip() + b"\n" for line in data.splitlines())


def fix_tree_for(pr: pygit2.Repository, cand: str, fixer=strip_ws) -> str:  # type: ignore[no-untyped-def]
    """What a formatter gate would leave in the shadow: every blob of the tree fixed."""

    def walk(tree: pygit2.Tree) -> pygit2.Oid:
        tb = pr.TreeBuilder(tree)
        for e in tree:
            if e.filemode == pygit2.enums.FileMode.TREE:
                tb.insert(e.name, walk(pr[e.id]), e.filemode)
            elif e.filemode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
                tb.insert(e.name, pr.create_blob(fixer(pr[e.id].data)), e.filemode)
        return tb.write()

    return str(walk(pr[cand].peel(pygit2.Tree)))


def state(r: Repo) -> tuple[dict[str, bytes], str, bytes]:
    """Worktree files, staged entries, and the raw index bytes (untouched = identical)."""
    files = {
        str(p.relative_to(r.path)): p.read_bytes()
        for p in sorted(r.path.rglob("*"))
        if ".git" not in p.relative_to(r.path).parts and p.is_file()
    }
    return files, r.git("ls-files", "-s"), (r.path / ".git" / "index").read_bytes()


def staged_tree(r: Repo) -> str:
    return r.git("write-tree").strip()


def test_fixes_applied_and_unstaged_work_kept(repo: Repo) -> None:
    repo.write("a.py", "x = 1   \ny = 2\nz = 3\nw = 4\n")
    repo.write("b.py", "ok \n")
    repo.write("c.py", "clean\n")
    repo.git("add", "-A")
    repo.write("a.py", "x = 1   \ny = 2\nz = 3\nw = 44\n")  # unstaged change far from the fix
    pr = pygit2.Repository(str(repo.path))
    cand = staged_tree(repo)
    report = apply_fixes(pr, cand, fix_tree_for(pr, cand))
    assert set(report.changed) == {"a.py", "b.py"} and report.merged == ("a.py",)
    assert repo.git("show", ":a.py") == "x = 1\ny = 2\nz = 3\nw = 4\n"
    assert (repo.path / "a.py").read_text() == "x = 1\ny = 2\nz = 3\nw = 44\n"
    assert (repo.path / "b.py").read_text() == "ok\n" and repo.git("show", ":b.py") == "ok\n"
    repo.git("fsck", "--strict")
    assert repo.git("status", "--porcelain") == "AM a.py\nA  b.py\nA  c.py\n"


def test_git_add_between_check_and_apply_is_refused(repo: Repo) -> None:
    repo.write("a.py", "x = 1  \n")
    repo.git("add", "a.py")
    pr = pygit2.Repository(str(repo.path))
    cand = staged_tree(repo)
    fix = fix_tree_for(pr, cand)
    repo.write("a.py", "x = 2  \n")
    repo.git("add", "a.py")  # the user staged something else meanwhile
    before = state(repo)
    with pytest.raises(ApplyRefusedError) as info:
        apply_fixes(pr, cand, fix)
    assert "staged version changed" in info.value.message
    assert state(repo) == before


def test_overlapping_unstaged_change_refuses_all(repo: Repo) -> None:
    repo.write("a.py", "x = 1  \n")
    repo.write("b.py", "y  \n")
    repo.git("add", "-A")
    repo.write("a.py", "x = 10  \n")  # same line as the fix: conflict
    pr = pygit2.Repository(str(repo.path))
    cand = staged_tree(repo)
    before = state(repo)
    with pytest.raises(ApplyRefusedError):
        apply_fixes(pr, cand, fix_tree_for(pr, cand))
    assert state(repo) == before  # b.py was not fixed either: all or nothing


def test_worktree_candidate_and_combined_trees(repo: Repo) -> None:
    repo.write("a.py", "a  \n")
    repo.write("b.py", "b\t\n")
    pr = pygit2.Repository(str(repo.path))
    # a worktree candidate: index untouched, worktree fixed
    env = dict(os.environ, GIT_INDEX_FILE=str(repo.path / ".git" / "tmpindex"))
    subprocess.run(["git", "add", "-A"], cwd=repo.path, env=env, check=True)
    cand = subprocess.run(
        ["git", "write-tree"], cwd=repo.path, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    (repo.path / ".git" / "tmpindex").unlink()
    only_a = fix_tree_for(pr, cand, lambda d: d.replace(b"a  ", b"a"))
    only_b = fix_tree_for(pr, cand, lambda d: d.replace(b"b\t", b"b"))
    both = combined_fix_tree(pr, cand, [only_a, only_b])
    assert both is not None
    index_before = repo.git("ls-files", "-s")
    apply_fixes(pr, cand, both, source="worktree")
    assert (repo.path / "a.py").read_text() == "a\n" and (repo.path / "b.py").read_text() == "b\n"
    assert repo.git("ls-files", "-s") == index_before


lines = st.lists(
    st.tuples(
        st.sampled_from(["alpha", "beta", "gamma", "delta", "eps"]),
        st.sampled_from(["", " ", "  ", "\t"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.lists(lines, min_size=1, max_size=3),
    edits=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 11), st.sampled_from(["EDIT", "new  "])),
        max_size=4,
    ),
)
def test_property_apply_keeps_unstaged_bytes(
    tmp_path_factory: pytest.TempPathFactory,
    files: list[list[tuple[str, str]]],
    edits: list[tuple[int, int, str]],
) -> None:
    path = tmp_path_factory.mktemp("prop")
    git(path, "init", "-q", "-b", "main")
    r = Repo(path)
    staged: dict[str, list[bytes]] = {}
    for i, f in enumerate(files):
        staged[f"f{i}.txt"] = [(w + ws).encode() for w, ws in f]
        r.write(f"f{i}.txt", b"".join(x + b"\n" for x in staged[f"f{i}.txt"]))
    r.git("add", "-A")
    worktree = {k: list(v) for k, v in staged.items()}
    for fi, li, text in edits:  # unstaged line replacements (line count kept)
        name = f"f{fi % len(files)}.txt"
        if li < len(worktree[name]):
            worktree[name][li] = text.encode()
    for name, ls in worktree.items():
        r.write(name, b"".join(x + b"\n" for x in ls))
    pr = pygit2.Repository(str(path))
    cand = staged_tree(r)
    before = state(r)
    try:
        apply_fixes(pr, cand, fix_tree_for(pr, cand))
    except ApplyRefusedError:
        assert state(r) == before
        return
    for name in staged:
        assert r.git("show", f":{name}").encode() == strip_ws(
            b"".join(x + b"\n" for x in staged[name])
        )
        expected = b"".join(
            (w if w != s else s.rstrip()) + b"\n"
            for s, w in zip(staged[name], worktree[name], strict=True)
        )
        assert (
            path / name
        ).read_bytes() == expected  # user's unstaged lines byte-identical, fixes present
    r.git("fsck", "--strict")


APPLIER = """
import sys
sys.path.insert(0, sys.argv[2])
import pygit2
from gatekit.record.fixes import apply_fixes
repo = pygit2.Repository(sys.argv[1])
print("ready", flush=True)
try:
    apply_fixes(repo, sys.argv[3], sys.argv[4])
except KeyboardInterrupt:
    sys.exit(130)
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_apply_leaves_old_or_new_state(repo: Repo, sig: signal.Signals) -> None:
    for i in range(60):
        repo.write(f"d{i % 7}/f{i}.txt", f"line {i}  \nmore\n" * 20)
    repo.commit("many files")
    for i in range(0, 60, 4):
        repo.write(f"d{i % 7}/f{i}.txt", f"line {i}  \nmore\n" * 20 + "unstaged\n")
    pr = pygit2.Repository(str(repo.path))
    cand = staged_tree(repo)
    fix = fix_tree_for(pr, cand)
    old = state(repo)
    # the expected new state: an uninterrupted apply in a copy of the repository
    copy = repo.path.parent / "copy"
    shutil.copytree(repo.path, copy, symlinks=True)
    t0 = time.monotonic()
    apply_fixes(pygit2.Repository(str(copy)), cand, fix)
    took = time.monotonic() - t0
    new = state(Repo(copy))
    assert new[:2] != old[:2]
    rng = random.Random(int(sig))
    seen: set[str] = set()
    for _trial in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", APPLIER, str(repo.path), str(ROOT), cand, fix],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, took * 1.5))
        proc.send_signal(sig)
        proc.wait(timeout=60)
        proc.stdout.close()
        if sig == signal.SIGKILL:
            recover_pending_apply(pr)
        now = state(repo)
        assert not (repo.path / ".git" / "index.lock").exists()
        repo.git("status", "--porcelain")  # the index is valid
        if now[:2] == old[:2]:
            seen.add("old")
        else:
            assert now[:2] == new[:2], "a mix of old and new state"
            seen.add("new")
            repo.git("read-tree", cand)  # back to the old state for the next trial
            for name, data in old[0].items():
                (repo.path / name).write_bytes(data)
            old = state(repo)
    print(sig, seen, took)
    assert seen  # at least one outcome observed
