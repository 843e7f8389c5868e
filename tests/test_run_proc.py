"""Process groups: timeouts kill grandchildren, leftovers are swept, Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from run_helpers import gate, plan, process_gone, run

from gatekit.results import Outcome
from gatekit.run.proc import ProcessRegistry, run_process

ROOT = Path(__file__).resolve().parent.parent

# A gate that starts a grandchild ignoring SIGTERM, records its pid, and sleeps itself.
STUBBORN = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
    open(sys.argv[1], "w").write(f"{os.getpid()} {child.pid}")
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("started", flush=True)
    time.sleep(60)
    """
)


def _pids(path: Path, timeout: float = 10) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return [int(x) for x in path.read_text().split()]
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_timeout_kills_the_whole_group_including_a_stubborn_grandchild(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    grace = 0.5
    p = plan(gate("hang", f"{sys.executable} {script} {pidfile}", timeout=1.0))
    t0 = time.monotonic()
    res, run_dir = run(p, tmp_path, grace=grace)
    took = time.monotonic() - t0
    r = res["hang"]
    assert r.outcome is Outcome.TIMED_OUT
    assert r.attempts[0].failure_class == "timeout"
    assert len(r.attempts) == 1  # timeouts are not retried
    assert took < 1.0 + grace + 1.5
    for pid in _pids(pidfile):
        assert process_gone(pid), f"process {pid} survived"
    assert (run_dir / "reports/hang.md").read_text().count("timeout") >= 1


def test_leftover_background_children_are_swept(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg"
    code = (
        "import subprocess, sys; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], stdout=subprocess.DEVNULL); "
        f"open({str(pidfile)!r}, 'w').write(str(c.pid))"
    )
    t0 = time.monotonic()
    res = run_process(
        [sys.executable, "-c", code], cwd=tmp_path, env=dict(os.environ), timeout=30, grace=0.5
    )
    assert res.exit_code == 0 and time.monotonic() - t0 < 5
    assert process_gone(_pids(pidfile)[0])


def test_output_streams_line_by_line_to_log_and_callback(tmp_path: Path) -> None:
    lines: list[str] = []
    log = (tmp_path / "log").open("w")
    code = "import sys; print('one'); sys.stderr.write('two\\n'); print('three', end='')"
    res = run_process(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=dict(os.environ),
        timeout=10,
        log=log,
        on_line=lines.append,
    )
    log.close()
    assert res.ok and res.duration > 0
    assert lines == ["one", "two", "three"]
    assert (tmp_path / "log").read_text() == "one\ntwo\nthree\n"


def test_registry_stop_ends_running_groups(tmp_path: Path) -> None:
    import threading

    reg = ProcessRegistry()
    timer = threading.Timer(0.5, reg.stop)
    timer.start()
    t0 = time.monotonic()
    res = run_process(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        cwd=tmp_path,
        env=dict(os.environ),
        timeout=30,
        grace=0.5,
        registry=reg,
    )
    assert res.stopped and not res.timed_out and time.monotonic() - t0 < 3
    assert run_process(
        ["true"], cwd=tmp_path, env=dict(os.environ), timeout=5, registry=reg
    ).stopped


RUNNER = textwrap.dedent(
    """
    import io, json, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from run_helpers import TmpShadow, gate, plan
    from gatekit.run.execute import RunOptions, execute_plan, interrupted
    from gatekit.run.output import PlainReporter
    tmp = Path({tmp!r})
    cmd = {cmd!r}
    p = plan(gate("one", cmd + " " + str(tmp / "p1")), gate("two", cmd + " " + str(tmp / "p2")),
             gate("three", "true", needs=["one"]))
    (tmp / "shadow").mkdir(exist_ok=True)
    opts = RunOptions(jobs=2, grace=0.5, env_cache_dir=tmp / "envs")
    results = execute_plan(p, TmpShadow(tmp / "shadow"), tmp / "run", opts, PlainReporter(io.StringIO()), None)
    print(json.dumps({{r.id: [r.outcome.value, r.reason] for r in results}}))
    sys.exit(130 if interrupted(results) else 0)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_everything_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    runner = tmp_path / "runner.py"
    runner.write_text(
        RUNNER.format(
            tests=str(ROOT / "tests"), tmp=str(tmp_path), cmd=f"{sys.executable} {script}"
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(runner)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids = _pids(tmp_path / "p1") + _pids(tmp_path / "p2")
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    took = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert took < 0.5 + 3
    outcomes = json.loads(out.strip().splitlines()[-1])
    assert outcomes["one"][0] == "stopped" and outcomes["two"][0] == "stopped"
    assert outcomes["three"] == ["stopped", "not started: interrupted"]
    for pid in pids:
        assert process_gone(pid), f"process {pid} survived"
    assert "Traceback" not in err
