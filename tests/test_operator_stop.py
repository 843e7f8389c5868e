"""gatekit stop GATE on one gate of a parallel run: its whole process group is gone, the
other gates finish and the run reaches its verdict."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from check_support import gate, write_config
from conftest import Repo
from operator_support import (
    alive,
    explain_json,
    gate_in,
    pid_gate_code,
    pids_in,
    start_check,
    status_json,
    validate,
    wait_for,
)

pytestmark = pytest.mark.slow


def _running(repo: Repo, gid: str) -> bool:
    _, doc = status_json(repo)
    return any(
        g["gate"] == gid and g["phase"] == "running" and g["pid"]
        for run in doc["runs"]
        for g in run["gates"]
    )


def test_stop_one_gate_of_a_parallel_run(repo: Repo) -> None:
    pidfile = repo.path.parent / "victim.pid"
    marker = repo.path.parent / "others-started"
    slow = (
        f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(3); print('done')"
    )
    write_config(
        repo,
        [
            gate("victim", pid_gate_code(pidfile, 120, child=True), cache=False),
            gate("one", slow, cache=False),
            gate("two", slow, cache=False),
            gate("after", "print('after')", cache=False, needs=["one"]),
        ],
    )
    repo.commit("config")
    out = repo.path.parent / "check.json"
    p = start_check(repo, "--jobs", "3", "--json", out=out)
    wait_for(
        "the victim to start", lambda: pidfile.is_file() and len(pidfile.read_text().split()) == 2
    )
    wait_for("the status to show it running", lambda: _running(repo, "victim"))
    leader, child = pids_in(pidfile)

    stop = repo.gatekit("stop", "victim", timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert "stopped victim" in stop.stdout
    # the whole process group is gone, at the moment gatekit stop returns
    assert not alive(leader) and not alive(child)

    assert p.wait(timeout=120) == 1  # a required gate did not pass: failed, not interrupted
    doc = json.loads(out.read_text())
    outcomes = {g["id"]: g for g in doc["gates"]}
    assert doc["verdict"] == "failed"
    assert outcomes["victim"]["outcome"] == "stopped"
    assert outcomes["victim"]["code"] == "STOPPED_BY_OPERATOR"
    assert len(outcomes["victim"]["attempts"]) == 1  # never retried
    assert outcomes["one"]["outcome"] == "passed"
    assert outcomes["two"]["outcome"] == "passed"
    assert outcomes["after"]["outcome"] == "passed"

    ex = explain_json(repo)
    victim = gate_in(ex, "victim")
    assert victim["code"] == "STOPPED_BY_OPERATOR" and victim["action"] == "rerun: stopped"
    assert victim["forensics"], "no forensics snapshot of the stopped gate"
    snap = Path(victim["forensics"]) / "processes.json"
    procs = json.loads(snap.read_text())["processes"]
    assert {leader, child} <= {p["pid"] for p in procs}
    assert [g["gate"] for g in ex["gates"]] == ["victim"]


def test_stop_refuses_an_unknown_gate_and_a_finished_run(repo: Repo) -> None:
    write_config(repo, [gate("quick", "print('ok')", cache=False)])
    repo.commit("config")
    assert repo.gatekit("check", "--plain").returncode == 0
    proc = repo.gatekit("stop", "quikc")
    assert proc.returncode == 2
    assert "is not running" in proc.stderr and "Traceback" not in proc.stderr
    none = repo.gatekit("stop", "--run", "nope")
    assert none.returncode == 2 and "no run 'nope'" in none.stderr


def test_status_shows_phase_and_a_fresh_heartbeat(repo: Repo) -> None:
    pidfile = repo.path.parent / "quiet.pid"
    write_config(repo, [gate("quiet", pid_gate_code(pidfile, 9), cache=False)])
    repo.commit("config")
    p = start_check(repo)
    try:
        wait_for("the gate to start", pidfile.is_file)
        time.sleep(6.5)  # longer than a heartbeat may be old: the gate prints nothing
        _, doc = status_json(repo)
        (run,) = doc["runs"]
        assert run["state"] == "running"
        quiet = gate_in(run, "quiet")
        assert quiet["phase"] == "running"
        assert quiet["heartbeat_age"] is not None and quiet["heartbeat_age"] < 6.0
        assert quiet["elapsed"] >= 6.0 and quiet["pid"] == pids_in(pidfile)[0]
        st_path = repo.path / ".git" / "gatekit" / "runs" / run["run_id"] / "status" / "quiet.json"
        validate(json.loads(st_path.read_text()), "status.schema.json")
        text = repo.gatekit("status")
        assert "quiet" in text.stdout and "running" in text.stdout and "heartbeat" in text.stdout
    finally:
        assert p.wait(timeout=60) == 0
    events = (repo.path / ".git" / "gatekit" / "runs" / run["run_id"] / "events.jsonl").read_text()
    for line in events.splitlines():
        validate(json.loads(line), "event.schema.json")
    _, after = status_json(repo)
    assert after["runs"] == []
    nothing = repo.gatekit("status")
    assert nothing.returncode == 0 and "no gatekit run in progress" in nothing.stdout


def test_stop_during_a_retry_wait_ends_the_gate_at_once(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate(
                "net",
                "import sys; print('service unavailable'); sys.exit(75)",
                cache=False,
                retries={"transient": 3, "exit_codes": [75], "backoff": 60},
            )
        ],
    )
    repo.commit("config")
    out = repo.path.parent / "check.json"
    p = start_check(repo, "--json", out=out)

    def waiting() -> bool:
        _, doc = status_json(repo)
        return any(g["phase"] == "retry-wait" for run in doc["runs"] for g in run["gates"])

    wait_for("the retry wait", waiting)
    started = time.monotonic()
    assert repo.gatekit("stop", "net").returncode == 0
    assert p.wait(timeout=60) == 1
    assert time.monotonic() - started < 30  # not the 60 s backoff
    net = json.loads(out.read_text())["gates"][0]
    assert net["outcome"] == "stopped" and net["code"] == "STOPPED_BY_OPERATOR"
    assert len(net["attempts"]) == 1
