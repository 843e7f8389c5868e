"""gatekit watch follows a running check's output, ``[gate] `` per line, until it ends,
and exits with its exit code; on a finished run it prints the tail and exits."""

from __future__ import annotations

import pytest
from check_support import gate, write_config
from conftest import Repo
from operator_support import start_check, wait_for

pytestmark = pytest.mark.slow

TICKS = (
    "import sys, time, pathlib\n"
    "pathlib.Path('{marker}').touch()\n"
    "for i in range(6):\n"
    "    print(f'tick {{i}}', flush=True); time.sleep(0.4)\n"
    "sys.exit(2)\n"
)


def test_watch_follows_a_run_to_its_exit_code(repo: Repo) -> None:
    marker = repo.path.parent / "started"
    write_config(
        repo,
        [
            gate("ticks", TICKS.format(marker=marker), cache=False),
            gate("other", "print('other says hi')", cache=False),
        ],
    )
    repo.commit("config")
    p = start_check(repo)
    wait_for("the gate to start", marker.is_file)
    watched = repo.gatekit("watch", timeout=120)
    assert p.wait(timeout=60) == 1
    assert watched.returncode == 1, watched.stderr
    lines = watched.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("[ticks] tick")] == [
        f"[ticks] tick {i}" for i in range(6)
    ]
    assert lines[-1].endswith("finished: failed")

    one = repo.gatekit("watch", "other")
    assert one.returncode == 1
    assert "[other] other says hi" in one.stdout
    assert "[ticks]" not in one.stdout
