"""Interrupting a shadow refresh at any moment leaves the user's files, index and refs intact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, Repo, git
from shadow_support import fingerprint

SOURCES = (["--worktree"], ["--staged"], ["--rev", "HEAD~1"], ["--rev", "HEAD"])


def _busy_repo(r: Repo) -> None:
    for d in range(20):
        for f in range(15):
            r.write(f"pkg{d}/mod{f}.py", f"value = {d * f}\n" * 20)
    r.write(".gitignore", "*.log\n")
    r.commit("many files")
    for d in range(0, 20, 3):
        r.write(f"pkg{d}/mod0.py", "changed\n")
    r.commit("second")
    r.write("pkg1/mod1.py", "staged\n")
    r.git("add", "pkg1/mod1.py")
    r.write("pkg1/mod1.py", "staged then edited\n")
    r.write("pkg2/mod2.py", "unstaged\n")
    (r.path / "pkg3/mod3.py").unlink()
    r.write("untracked.txt", "new\n")
    r.write("debug.log", "ignored\n")
    r.write("big.bin", os.urandom(200_000))


@pytest.mark.slow
def test_killing_refresh_at_random_moments_never_touches_the_user(repo: Repo) -> None:
    _busy_repo(repo)
    before = fingerprint(repo.path)
    rng = random.Random(1234)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")
    }
    env["PYTHONPATH"] = str(ROOT)
    # one uninterrupted run tells how long a refresh takes here: kills land inside that window
    window = 0.0
    for rev in ("HEAD", "HEAD~1"):  # the second run is a warm, incremental refresh
        start = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "gatekit", "shadow", "refresh", "--rev", rev],
            cwd=repo.path,
            env=env,
            capture_output=True,
            check=False,
        )
        window = min(time.monotonic() - start, 0.6)
        assert run.returncode == 0, run.stderr
    floor = min(window, 0.1)  # kills keep landing inside refreshes, not only at start-up
    deadline = time.monotonic() + 55
    killed = {signal.SIGKILL: 0, signal.SIGTERM: 0, signal.SIGINT: 0}
    wanted = {signal.SIGKILL: 50, signal.SIGTERM: 5, signal.SIGINT: 5}
    trial = 0
    while any(killed[s] < wanted[s] for s in wanted):
        sig = rng.choice([s for s in wanted if killed[s] < wanted[s]])
        source = SOURCES[trial % len(SOURCES)]
        trial += 1
        with subprocess.Popen(
            [sys.executable, "-m", "gatekit", "shadow", "refresh", *source],
            cwd=repo.path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as proc:
            time.sleep(rng.uniform(0.0, window))
            proc.send_signal(sig)
            if proc.wait() != 0:  # really interrupted, not finished before the signal
                killed[sig] += 1
            else:  # it finished first: the machine got faster than the first run said
                window = max(window * 0.8, floor)
        assert fingerprint(repo.path) == before, (
            f"trial {trial} ({sig.name}, {source}) changed the user's state"
        )
        assert time.monotonic() < deadline, f"too slow here: {killed} after {trial} trials"

    # after all that, a refresh still works and gives exactly the candidate
    time.sleep(0.2)  # let orphaned git children of killed runs finish
    done = repo.gatekit("shadow", "refresh", "--worktree")
    assert done.returncode == 0, done.stderr
    shadow = done.stdout.strip()
    assert git(repo.path, "add", "-A", "--dry-run") != ""  # the user's changes are still unstaged
    assert fingerprint(repo.path) == before
    assert git(shadow, "status", "--porcelain", "--ignored") == ""
    assert "untracked.txt" in os.listdir(shadow)


def test_a_stale_lock_of_the_shadow_ref_is_taken_over(repo: Repo) -> None:
    """A gatekit killed while it wrote ``refs/gatekit/shadow/<slot>`` leaves the ref's lock
    file; the next refresh, holding the slot, removes it and moves the ref (libgit2 says
    "failed to lock file" as an OSError, not a GitError)."""
    repo.write("a.txt", "one\n")
    repo.commit("one")
    first = repo.gatekit("shadow", "refresh", "--rev", "HEAD")
    assert first.returncode == 0, first.stderr
    lock = repo.path / ".git" / "refs" / "gatekit" / "shadow" / "s0.lock"
    lock.write_text("")
    repo.write("a.txt", "two\n")
    repo.commit("two")
    again = repo.gatekit("shadow", "refresh", "--rev", "HEAD")
    assert again.returncode == 0, again.stderr
    assert not lock.exists()
    shadow = again.stdout.strip()
    assert (Path(shadow) / "a.txt").read_text() == "two\n"
    assert git(repo.path, "rev-parse", "refs/gatekit/shadow/s0").strip() != ""
