"""Compare-and-swap ref updates, lock contention and stale lock recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pygit2
import pytest
from conftest import ROOT, Repo

from gatekit.errors import TargetMovedError
from gatekit.record.locks import LockBusyError
from gatekit.record.refs import cas_update_ref, locked_ref, read_ref, ref_lock_file

REF = "refs/gatekit/test"


def _commit(r: Repo, msg: str) -> str:
    r.write("f.txt", msg)
    return r.commit(msg)


def test_cas_creates_updates_and_refuses(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    a = repo.git("rev-parse", "HEAD").strip()
    b = _commit(repo, "b")
    cas_update_ref(pr, REF, None, a, "create")
    assert read_ref(pr, REF) == a
    with pytest.raises(TargetMovedError) as info:
        cas_update_ref(pr, REF, b, a, "wrong expectation")
    assert info.value.exit_code == 4
    assert read_ref(pr, REF) == a
    with pytest.raises(TargetMovedError):
        cas_update_ref(pr, REF, None, b, "must not exist")
    cas_update_ref(pr, REF, a, b, "move")
    assert read_ref(pr, REF) == b
    assert not ref_lock_file(pr, REF).exists()


def test_exception_inside_lock_changes_nothing(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    a = repo.git("rev-parse", "HEAD").strip()
    with pytest.raises(RuntimeError), locked_ref(pr, REF) as tx:
        tx.set_target(REF, a, message="x")
        raise RuntimeError("boom")
    assert read_ref(pr, REF) is None
    assert not ref_lock_file(pr, REF).exists()


def test_foreign_lock_is_never_broken(repo: Repo) -> None:
    """A .lock without a gatekit owner record (git's own, say) blocks and is left alone."""
    pr = pygit2.Repository(str(repo.path))
    a = repo.git("rev-parse", "HEAD").strip()
    lock = ref_lock_file(pr, REF)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    t0 = time.monotonic()
    with pytest.raises(LockBusyError), locked_ref(pr, REF, timeout=0.3):
        pass
    assert time.monotonic() - t0 < 5
    assert lock.exists()
    lock.unlink()
    cas_update_ref(pr, REF, None, a, "now free")


HOLDER = """
import sys, time, pygit2
sys.path.insert(0, sys.argv[2])
from gatekit.record.refs import locked_ref
repo = pygit2.Repository(sys.argv[1])
with locked_ref(repo, sys.argv[3]) as tx:
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(repo_path: Path, ref: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo_path), str(ROOT), ref],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_stale_lock_of_killed_gatekit_is_recovered(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    a = repo.git("rev-parse", "HEAD").strip()
    proc = _holder(repo.path, REF)
    lock = ref_lock_file(pr, REF)
    assert lock.exists()
    # While the holder lives, its lock is respected.
    with pytest.raises(LockBusyError), locked_ref(pr, REF, timeout=0.3):
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    assert lock.exists()  # the crash left git's lock behind
    cas_update_ref(pr, REF, None, a, "after crash")
    assert read_ref(pr, REF) == a
    assert not lock.exists()
    assert not any(
        p.name.endswith(".owner") for p in (Path(pr.path) / "gatekit" / "locks").iterdir()
    )


WINDOW_HOLDER = """
import sys, time, pygit2
sys.path.insert(0, sys.argv[2])
from gatekit.record.locks import write_intent
from gatekit.record.refs import _lock_paths
repo = pygit2.Repository(sys.argv[1])
name = sys.argv[3]
_lock, _guard, owner = _lock_paths(repo, name)
write_intent(owner)          # what locked_ref does just before taking git's lock
tx = repo.transaction()
tx.lock_ref(name)            # ... and a kill lands before the owner record is written
print("locked", flush=True)
time.sleep(60)
"""


def test_lock_of_gatekit_killed_before_its_owner_record_is_recovered(repo: Repo) -> None:
    """The window between git creating <ref>.lock and the owner record: the intent proves it."""
    pr = pygit2.Repository(str(repo.path))
    a = repo.git("rev-parse", "HEAD").strip()
    proc = subprocess.Popen(
        [sys.executable, "-c", WINDOW_HOLDER, str(repo.path), str(ROOT), REF],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    lock = ref_lock_file(pr, REF)
    with pytest.raises(LockBusyError), locked_ref(pr, REF, timeout=0.3):
        pass  # alive: respected
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert lock.exists()
    t0 = time.monotonic()
    cas_update_ref(pr, REF, None, a, "after crash in the window")
    assert time.monotonic() - t0 < 5
    assert read_ref(pr, REF) == a
    assert not lock.exists()


def test_dead_intent_does_not_claim_a_lock_made_later(repo: Repo) -> None:
    """A stale intent of a dead process never lets gatekit break a lock someone else took later."""
    from gatekit.record.locks import intent_path_for
    from gatekit.record.refs import _lock_paths

    pr = pygit2.Repository(str(repo.path))
    lock, _guard, owner = _lock_paths(pr, REF)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    intent = intent_path_for(owner)
    intent.parent.mkdir(parents=True, exist_ok=True)
    intent.write_text(
        f'{{"pid": {dead.pid}, "start": null, "host": "{os.uname().nodename}", '
        f'"time_ns": {time.time_ns() - 60_000_000_000}}}'
    )
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")  # a lock taken by git itself, a minute after the dead intent
    with pytest.raises(LockBusyError), locked_ref(pr, REF, timeout=0.3):
        pass
    assert lock.exists()
    lock.unlink()
