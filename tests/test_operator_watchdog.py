"""The watchdog: a gate that prints nothing for ``stall_timeout`` is snapshotted and
stopped (WATCHDOG_STUCK); a run whose heartbeat is older than ``watchdog`` too."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from check_support import check_json, gate, gate_of, run_dir_of, write_config
from conftest import Repo
from operator_support import (
    alive,
    explain_json,
    gate_in,
    pid_gate_code,
    pids_in,
    start_check,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_a_silent_gate_is_stopped_by_the_stall_watchdog(repo: Repo) -> None:
    pidfile = repo.path.parent / "hang.pid"
    write_config(
        repo,
        [
            gate(
                "hang",
                pid_gate_code(pidfile, 120, child=True, quiet=False),
                cache=False,
                stall_timeout="1s",
                retries={"flaky": 2},
            ),
            gate(
                "chatty",
                "import time\nfor i in range(8):\n    print(i, flush=True); time.sleep(0.4)",
                cache=False,
                stall_timeout=1,
            ),
        ],
    )
    repo.commit("config")
    proc, doc = check_json(repo, "--jobs", "2", expect=1)
    hang = gate_of(doc, "hang")
    assert hang["outcome"] == "stopped" and hang["code"] == "WATCHDOG_STUCK", hang
    assert "stall_timeout" in hang["reason"]
    assert len(hang["attempts"]) == 1  # a watchdog stop is never retried
    assert gate_of(doc, "chatty")["outcome"] == "passed"  # output keeps the watchdog away
    assert doc["verdict"] == "failed"
    leader, child = pids_in(pidfile)
    assert not alive(leader) and not alive(child)

    run_dir = run_dir_of(proc)
    snaps = sorted((run_dir / "forensics" / "hang").iterdir())
    assert snaps, "no forensics snapshot"
    snap = snaps[0]
    procs = json.loads((snap / "processes.json").read_text())["processes"]
    by_pid = {p["pid"]: p for p in procs}
    assert {leader, child} <= set(by_pid)
    assert by_pid[leader]["rss_bytes"] > 0 and by_pid[leader]["cmdline"]
    assert "started" in (snap / "log-tail.txt").read_text()
    env = json.loads((snap / "environment.json").read_text())
    assert "PATH" in env and env.get("GATEKIT_RUN", "").endswith("/hang")
    runbook = (run_dir / "reports" / "hang.md").read_text()
    assert "WATCHDOG_STUCK" in runbook and str(snap.relative_to(run_dir)) in runbook

    ex = explain_json(repo, "hang")
    g = gate_in(ex, "hang")
    assert g["code"] == "WATCHDOG_STUCK"
    assert g["action"] == "raise the timeout" and g["setting"] == "stall_timeout"
    assert "stall_timeout" in g["next_action"]
    text = repo.gatekit("explain", "hang")
    assert "WATCHDOG_STUCK" in text.stdout and "raise the timeout" in text.stdout


def test_a_frozen_run_is_stopped_by_the_heartbeat_watchdog(repo: Repo) -> None:
    """The check itself is stuck (SIGSTOP): its heartbeat ages; the next gatekit command
    stops the gate; when the check moves again it records WATCHDOG_STUCK."""
    pidfile = repo.path.parent / "gate.pid"
    write_config(
        repo,
        [gate("slow", pid_gate_code(pidfile, 120, quiet=False), cache=False)],
        defaults={"watchdog": "3s"},
    )
    repo.commit("config")
    out = repo.path.parent / "check.json"
    p = start_check(repo, "--json", out=out)
    wait_for("the gate to start", pidfile.is_file)
    (leader,) = pids_in(pidfile)
    os.kill(p.pid, signal.SIGSTOP)
    try:
        time.sleep(4.5)
        status = repo.gatekit("status", timeout=60)
        assert "WATCHDOG_STUCK" not in status.stdout
        assert "stopped by the watchdog" in status.stderr, status.stderr
        assert not alive(leader)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    assert p.wait(timeout=60) == 1
    doc = json.loads(out.read_text())
    slow = gate_of(doc, "slow")
    assert slow["outcome"] == "stopped" and slow["code"] == "WATCHDOG_STUCK"
    ex = explain_json(repo)
    g = gate_in(ex, "slow")
    assert g["action"] == "raise the timeout" and g["setting"] == "watchdog"


def test_stall_timeout_is_a_duration_with_a_clear_error(repo: Repo) -> None:
    write_config(repo, [gate("x", "print(1)", stall_timeout="soon")])
    proc = repo.gatekit("check", "--plain")
    assert proc.returncode == 2 and "stall_timeout" in proc.stderr
    assert "validation.yaml:" in proc.stderr and "Traceback" not in proc.stderr


def test_a_timeout_is_snapshotted_before_the_kill(repo: Repo) -> None:
    pidfile = repo.path.parent / "slow.pid"
    write_config(
        repo, [gate("slow", pid_gate_code(pidfile, 60, child=True), cache=False, timeout="1s")]
    )
    repo.commit("config")
    proc, doc = check_json(repo, expect=1)
    assert gate_of(doc, "slow")["outcome"] == "timed_out"
    leader, child = pids_in(pidfile)
    run_dir = run_dir_of(proc)
    (snap,) = (run_dir / "forensics" / "slow").iterdir()
    procs = json.loads((snap / "processes.json").read_text())
    assert procs["why"].startswith("timed out")
    assert {leader, child} <= {p["pid"] for p in procs["processes"]}
    assert str(snap.relative_to(run_dir)) in (run_dir / "reports" / "slow.md").read_text()
    g = gate_in(explain_json(repo), "slow")
    assert g["action"] == "raise the timeout" and g["setting"] == "timeout"
    assert g["signature"] and g["forensics"] == str(snap)
