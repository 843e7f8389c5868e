"""Through the warm-start daemon the client owns the run: when the client dies (SIGKILL,
a closed terminal), the worker stops the run's gates at once and the run is crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from check_support import gate, write_config
from conftest import Repo
from operator_support import alive, pid_gate_code, pids_in, runs_dir, wait_for

from gatekit.daemon import control

pytestmark = pytest.mark.slow


def _env(xdg: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEKIT_NO_DAEMON"}
    env.update(XDG_RUNTIME_DIR=str(xdg), CI="true")  # CI: no auto-start
    return env


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP])
def test_the_worker_stops_the_gates_of_a_client_that_died(
    repo: Repo, tmp_path: Path, sig: signal.Signals
) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = _env(xdg)
    start = subprocess.run(
        [sys.executable, "-m", "gatekit", "daemon", "start", "--idle-timeout", "120"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert start.returncode == 0, start.stderr
    try:
        pidfile = tmp_path / "gate.pid"
        write_config(repo, [gate("slow", pid_gate_code(pidfile, 120, child=True), cache=False)])
        repo.commit("config")
        client = subprocess.Popen(
            [sys.executable, "-m", "gatekit", "check", "--plain"],
            cwd=repo.path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            "the gate to start", lambda: pidfile.is_file() and len(pidfile.read_text().split()) == 2
        )
        leader, child = pids_in(pidfile)
        (run_id,) = [d.name for d in runs_dir(repo).iterdir() if (d / "run.json").is_file()]
        run_doc = json.loads((runs_dir(repo) / run_id / "run.json").read_text())
        assert run_doc["owner"]["pid"] == client.pid  # the client owns it
        assert run_doc["worker"]["pid"] != client.pid  # the daemon's worker runs it
        client.send_signal(sig)
        client.wait(timeout=30)
        # "at once": TERM to the gate's group as soon as the connection closes
        wait_for("the gate to be stopped", lambda: not alive(leader) and not alive(child), 10)
        wait_for(
            "the run to be marked crashed",
            lambda: (
                json.loads((runs_dir(repo) / run_id / "run.json").read_text())["state"] == "crashed"
            ),
            20,
        )
        run_doc = json.loads((runs_dir(repo) / run_id / "run.json").read_text())
        assert run_doc["crash"]["code"] == "CLIENT_GONE"
        assert f"pid {client.pid}" in run_doc["crash"]["why"]
        st = json.loads((runs_dir(repo) / run_id / "status" / "slow.json").read_text())
        assert st["phase"] == "crashed"
        ex = subprocess.run(
            [sys.executable, "-m", "gatekit", "explain", "--json"],
            cwd=repo.path,
            env={**env, "GATEKIT_NO_DAEMON": "1"},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        slow = json.loads(ex.stdout)["gates"][0]
        assert slow["outcome"] == "crashed" and slow["action"] == "rerun: crashed"
    finally:
        control.stop({"XDG_RUNTIME_DIR": str(xdg)})
