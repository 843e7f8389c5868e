"""gatekit unlock: a live owner's lock is refused (with the command that would end it),
a dead owner's lock is removed, and so is one whose pid now runs another program."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from check_support import gate, write_config
from conftest import Repo
from operator_support import pid_gate_code, start_check, wait_for

pytestmark = pytest.mark.slow

HOLD = """
import sys, time
from pathlib import Path
from gatekit.git.repo import open_repo
from gatekit.record.refs import locked_ref
repo = open_repo(sys.argv[1])
with locked_ref(repo, "refs/gatekit/checkpoints/held"):
    Path(sys.argv[2]).write_text("held")
    time.sleep(120)
"""
NAME = "refs/gatekit/checkpoints/held"


def _locks(repo: Repo) -> dict[str, dict[str, object]]:
    proc = repo.gatekit("unlock", "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {lock["name"]: lock for lock in json.loads(proc.stdout)}


def _hold(repo: Repo, tmp_path: Path) -> subprocess.Popen[bytes]:
    ready = tmp_path / "held"
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(repo.path), str(ready)])
    wait_for("the lock to be taken", ready.is_file)
    return p


def test_unlock_refuses_a_live_owner_and_removes_a_dead_ones(repo: Repo, tmp_path: Path) -> None:
    lock_file = repo.path / ".git" / f"{NAME}.lock"
    p = _hold(repo, tmp_path)
    try:
        lock = _locks(repo)[NAME]
        assert lock["pid"] == p.pid and lock["state"] == "alive" and not lock["removable"]
        refused = repo.gatekit("unlock", NAME)
        assert refused.returncode == 1
        assert f"held by pid {p.pid}, which is alive" in refused.stdout
        assert lock_file.exists()
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    lock = _locks(repo)[NAME]
    assert lock["state"] == "dead" and lock["removable"]
    assert lock_file.exists()  # listing never removes anything
    removed = repo.gatekit("unlock", NAME)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert f"removed {NAME}" in removed.stdout
    assert not lock_file.exists()
    assert NAME not in _locks(repo)


def test_a_reused_pid_does_not_keep_a_dead_owners_lock(repo: Repo, tmp_path: Path) -> None:
    """The owner died and its pid number now belongs to another program (simulated by
    pointing the owner record at a live ``sleep``: same pid number, other start time)."""
    lock_file = repo.path / ".git" / f"{NAME}.lock"
    p = _hold(repo, tmp_path)
    p.send_signal(signal.SIGKILL)
    p.wait()
    other = subprocess.Popen(["sleep", "60"])
    try:
        owners = list((repo.path / ".git" / "gatekit" / "locks").glob("*.owner"))
        assert len(owners) == 1
        record = json.loads(owners[0].read_text())
        assert record["pid"] == p.pid
        record["pid"] = other.pid  # the start time stays the dead owner's
        owners[0].write_text(json.dumps(record))
        lock = _locks(repo)[NAME]
        assert lock["pid"] == other.pid and lock["state"] == "reused"
        removed = repo.gatekit("unlock", "--dead")
        assert removed.returncode == 0 and f"removed {NAME}" in removed.stdout
        assert not lock_file.exists()
        assert other.poll() is None  # the other program is left alone
    finally:
        other.kill()
        other.wait()


def test_a_running_checks_lock_names_the_stop_command(repo: Repo) -> None:
    pidfile = repo.path.parent / "gate.pid"
    write_config(repo, [gate("slow", pid_gate_code(pidfile, 60), cache=False)])
    repo.commit("config")
    p = start_check(repo)
    try:
        wait_for("the gate to start", pidfile.is_file)
        runs = [lk for lk in _locks(repo).values() if lk["kind"] == "run"]
        assert len(runs) == 1 and runs[0]["state"] == "alive"
        run_id = str(runs[0]["name"]).removeprefix("run ")
        assert runs[0]["stop"] == f"gatekit stop --run {run_id}"
        refused = repo.gatekit("unlock", str(runs[0]["name"]))
        assert refused.returncode == 1 and f"gatekit stop --run {run_id}" in refused.stdout
        stop = repo.gatekit("stop", "--run", run_id)
        assert stop.returncode == 0, stop.stderr
    finally:
        assert p.wait(timeout=60) == 1
    assert [lk for lk in _locks(repo).values() if lk["kind"] == "run"] == []
