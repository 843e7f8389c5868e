"""Crash recovery: SIGKILL ``gatekit check`` mid-gate; the next command finds the dead
owner, marks the run crashed, stops the orphaned gate and leaves no lock behind."""

from __future__ import annotations

import json
import os
import signal

import pytest
from check_support import check, gate, stray_locks, write_config
from conftest import Repo
from operator_support import (
    alive,
    explain_json,
    gate_in,
    pid_gate_code,
    pids_in,
    runs_dir,
    start_check,
    status_json,
    validate,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_sigkilled_check_is_recovered_as_crashed(repo: Repo) -> None:
    pidfile = repo.path.parent / "gate.pid"
    write_config(
        repo,
        [
            gate("hang", pid_gate_code(pidfile, 120, child=True, quiet=False), cache=False),
            gate("quick", "print('ok')", cache=False),
        ],
    )
    repo.commit("config")
    p = start_check(repo, "--jobs", "2")
    wait_for(
        "the gate to start", lambda: pidfile.is_file() and len(pidfile.read_text().split()) == 2
    )
    leader, child = pids_in(pidfile)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert alive(leader) and alive(child), "the orphans must outlive the killed check"

    proc, doc = status_json(repo)
    # said once, on stderr, in one line
    lines = [ln for ln in proc.stderr.splitlines() if "crashed" in ln]
    assert len(lines) == 1 and "died" in lines[0], proc.stderr
    (run,) = doc["runs"]
    assert run["state"] == "crashed"
    assert gate_in(run, "hang")["phase"] == "crashed"
    assert not alive(leader) and not alive(child), "the orphaned gate is still running"
    assert stray_locks(repo) == []

    run_dir = runs_dir(repo) / run["run_id"]
    run_doc = json.loads((run_dir / "run.json").read_text())
    validate(run_doc, "run.schema.json")
    assert run_doc["state"] == "crashed" and run_doc["crash"]["code"] == "OWNER_DIED"
    st = json.loads((run_dir / "status" / "hang.json").read_text())
    validate(st, "status.schema.json")
    assert st["last_phase"] == "running" and st["code"] == "OWNER_DIED"
    assert (run_dir / "reports" / "hang.md").is_file()
    snaps = list((run_dir / "forensics" / "hang").iterdir())
    assert snaps, "no forensics snapshot for the crashed gate"
    procs_doc = json.loads((snaps[0] / "processes.json").read_text())
    assert {leader, child} <= {p["pid"] for p in procs_doc["processes"]}

    # a second command says nothing more: the run is recovered once
    again, _ = status_json(repo, "--all")
    assert "crashed (" not in again.stderr

    ex = explain_json(repo)
    hang = gate_in(ex, "hang")
    assert hang["outcome"] == "crashed" and hang["action"] == "rerun: crashed"
    assert hang["phase"] == "running"
    assert hang["next_command"] == "gatekit check --gate hang"

    # the next check runs to a verdict
    write_config(repo, [gate("quick", "print('ok')", cache=False)])
    repo.commit("quick only")
    proc2 = check(repo, timeout=120)
    assert proc2.returncode == 0, proc2.stderr
    assert stray_locks(repo) == []


def test_recovery_never_signals_a_group_that_is_not_the_gates(repo: Repo) -> None:
    """After a crash the recorded pid may belong to another program's group by now:
    recovery stops only processes carrying the run's token."""
    import os
    import subprocess
    import sys

    gk = repo.path / ".git" / "gatekit"
    run_id = "20260101T000000Z-1-abcdef"
    run_dir = gk / "runs" / run_id
    (run_dir / "status").mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        owner = {"pid": gone.pid, "start": "1", "host": os.uname().nodename, "cmdline": []}
        doc = {
            "schema_version": 1,
            "run_id": run_id,
            "state": "running",
            "owner": owner,
            "worker": {"pid": gone.pid, "start": "1"},
            "candidate": {},
            "gates": ["g"],
            "started_at": "2026-01-01T00:00:00.000Z",
            "watchdog": None,
            "verdict": None,
            "exit_code": None,
            "ended_at": None,
            "crash": None,
        }
        (run_dir / "run.json").write_text(json.dumps(doc))
        st = {
            "gate": "g",
            "phase": "running",
            "attempt": 1,
            "pid": other.pid,
            "started": None,
            "updated": "2026-01-01T00:00:00.000Z",
            "heartbeat": "2026-01-01T00:00:00.000Z",
            "log": "logs/g.log",
            "last_lines": [],
        }
        (run_dir / "status" / "g.json").write_text(json.dumps(st))
        (gk / "active").mkdir(exist_ok=True)
        (gk / "active" / run_id).write_text(str(run_dir))
        proc, out = status_json(repo)
        assert "crashed" in proc.stderr
        assert gate_in(out["runs"][0], "g")["phase"] == "crashed"
        assert other.poll() is None, "recovery killed a process that was not the gate's"
    finally:
        other.kill()
        other.wait()


def test_a_build_that_left_its_group_is_stopped_after_a_crash(repo: Repo) -> None:
    """A check SIGKILLed while it builds the candidate's own package: the build backend's
    child, which left the process group (a new session), carries the run's token and is
    stopped by recovery with the rest."""
    pidfile = repo.path.parent / "build.pid"
    spawn = (
        "import subprocess, sys\n"
        "def _hang():\n"
        "    c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],"
        " start_new_session=True)\n"
        f"    open({str(pidfile)!r}, 'w').write(str(c.pid))\n"
        "    c.wait()\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    _hang()\n"
        "    return []\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    _hang()\n"
        "def build_sdist(sdist_directory, config_settings=None):\n"
        "    _hang()\n"
    )
    repo.write("slowpkg/hangbackend.py", spawn)
    repo.write(
        "slowpkg/pyproject.toml",
        '[build-system]\nrequires = []\nbuild-backend = "hangbackend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "slowpkg"\nversion = "1.0"\n',
    )
    write_config(
        repo,
        [{"id": "tests", "session": {"deps": ["./slowpkg"], "run": ["python -c pass"]}}],
    )
    repo.commit("config")
    p = start_check(repo)
    wait_for("the build to start", lambda: pidfile.is_file() and pidfile.read_text() != "")
    (escaped,) = pids_in(pidfile)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert alive(escaped), "the build's child must outlive the killed check"
    assert os.getpgid(escaped) == escaped, "the child is in a session of its own"

    proc, doc = status_json(repo)
    (run,) = doc["runs"]
    assert run["state"] == "crashed" and "died" in proc.stderr
    tests = gate_in(run, "tests")
    assert tests["phase"] == "crashed", tests
    wait_for("the escaped build to be gone", lambda: not alive(escaped), timeout=15)
