"""A process that leaves its gate's process group with setsid() does not outlive the gate.

Real ``gatekit check`` runs (the CLI process is the child subreaper), real
``setsid`` escapes: one started directly by the gate, one by a child that
exits at once (a double fork, as daemons do), one that ignores SIGTERM.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from check_support import check_json, gate, write_config
from conftest import Repo
from run_helpers import process_gone

ESCAPE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    pids = []
    # 1: a direct child in a new session
    pids.append(subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(120)"]).pid)
    # 2: a double fork: the middle process exits, the grandchild calls setsid
    r, w = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()
            os.write(w, str(os.getpid()).encode())
            os.close(w)
            time.sleep(120)
            os._exit(0)
        os._exit(0)
    os.close(w)
    pids.append(int(os.read(r, 32)))
    # 3: a new session that ignores SIGTERM
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    pids.append(subprocess.Popen(["setsid", sys.executable, "-c", stubborn]).pid)
    time.sleep(0.3)  # let them all get going
    open(sys.argv[1], "w").write(" ".join(map(str, pids)))
    print("escaped:", pids, flush=True)
    """
)


@pytest.mark.slow
def test_processes_that_left_the_group_are_stopped_with_the_gate(
    repo: Repo, tmp_path: Path
) -> None:
    script = tmp_path / "escape.py"
    script.write_text(ESCAPE)
    pidfile = tmp_path / "pids"
    code = f"import runpy, sys; sys.argv = ['x', {str(pidfile)!r}]; runpy.run_path({str(script)!r})"
    write_config(repo, [gate("escapes", code, timeout="60s")])
    repo.git("add", "-A")
    t0 = time.monotonic()
    proc, doc = check_json(repo, "--staged", "--no-cache", "--no-record", expect=0)
    took = time.monotonic() - t0
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 3
    assert [p for p in pids if not process_gone(p)] == [], proc.stderr
    assert took < 30, "the check waited for the escaped processes instead of stopping them"
    assert doc["gates"][0]["outcome"] == "passed"
