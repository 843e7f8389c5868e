"""Two gatekit installations of one user each get their own warm-start server
(issue 10, item 5): before, the first one's socket made the second fall back to
in-process for ever."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from check_support import gate, write_config
from conftest import ROOT, Repo

pytestmark = pytest.mark.slow


def _installation(where: Path) -> Path:
    """A virtualenv whose gatekit is this checkout's, with the test environment's packages."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    paths = {str(ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "gatekit_test_outer.pth").write_text("\n".join(sorted(paths)) + "\n")
    return python


def _gk(
    python: Path, cwd: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "gatekit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _status(python: Path, cwd: Path, env: dict[str, str]) -> tuple[str, int]:
    proc = _gk(python, cwd, "daemon", "status", env=env)
    assert proc.returncode == 0, proc.stderr
    socket = re.search(r"socket\s+(\S+)", proc.stdout)
    served = re.search(r"served\s+(\d+) check", proc.stdout)
    assert socket and served, proc.stdout
    return socket.group(1), int(served.group(1))


def test_two_installations_are_each_served_by_their_own_daemon(repo: Repo, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k != "GATEKIT_NO_DAEMON"}
    env.update(XDG_RUNTIME_DIR=str(xdg), CI="true")  # CI: no auto-start
    first, second = _installation(tmp_path / "one"), _installation(tmp_path / "two")
    write_config(repo, [gate("ok", "pass")])
    repo.commit("config")
    try:
        for python in (first, second):
            proc = _gk(python, xdg, "daemon", "start", "--idle-timeout", "120", env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        sockets = {}
        for python in (first, second):
            socket, before = _status(python, repo.path, env)
            check = _gk(python, repo.path, "check", "--plain", "--no-record", env=env)
            assert check.returncode == 0, check.stderr
            assert _status(python, repo.path, env) == (socket, before + 1), check.stderr
            sockets[python] = socket
        assert sockets[first] != sockets[second]
        assert all(Path(s).parent.parent == xdg for s in sockets.values())
        # the test interpreter is a third installation: neither server is its own
        third = _gk(Path(sys.executable), repo.path, "daemon", "status", env=env)
        assert "not running" in third.stdout, third.stdout
    finally:
        for python in (first, second):
            _gk(python, xdg, "daemon", "stop", env=env)
