"""gatekit serve in headless Chromium: the live page follows a running gate without a reload,
then shows the report; 127.0.0.1 only, read-only, no request leaving the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import browser_page
from check_support import gate, write_config
from conftest import Repo

pytestmark = pytest.mark.slow

# Prints a line every 0.3 s until the test creates RELEASE (at most 60 s).
STEPS = (
    "import os, time\n"
    "for i in range(200):\n"
    "    print('step', i, flush=True)\n"
    "    if os.path.exists(RELEASE):\n"
    "        break\n"
    "    time.sleep(0.3)\n"
)


class Server:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture
def server(repo: Repo) -> Iterator[Server]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekit", "serve", "--port", "0"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("gatekit: serving http://127.0.0.1:"), line
        port = int(line.split("127.0.0.1:", 1)[1].split("/", 1)[0])
        yield Server(proc, port)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # closes the pipes


def _wait(what: str, fn: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_live_page_follows_a_run(repo: Repo, server: Server, tmp_path: Path) -> None:
    release = tmp_path / "release"
    steps = f"RELEASE = {str(release)!r}\n" + STEPS
    write_config(repo, [gate("quick", "print('quick done')"), gate("slow", steps, needs=["quick"])])
    repo.commit("config")
    check = subprocess.Popen(
        [sys.executable, "-m", "gatekit", "check", "--plain", "--rev", "HEAD"],
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        runs = _wait("the run to appear", lambda: server.get("/api/runs"))
        run_id = runs[0]["run_id"]
        _wait(
            "the slow gate to run",
            lambda: any(
                g["gate"] == "slow" and g["phase"] == "running" and g["last_lines"]
                for g in server.get(f"/api/runs/{run_id}")["gates"]
            ),
        )
        with browser_page(tmp_path / "profile", width=1000) as (page, guard):
            loads: list[str] = []
            page.on("load", lambda p: loads.append(p.url))  # type: ignore[attr-defined]
            page.goto(f"{server.base}/runs/{run_id}")  # type: ignore[attr-defined]
            row = 'tr[data-gate="slow"]'
            assert page.get_attribute(row, "data-phase") == "running"  # type: ignore[attr-defined]
            assert page.inner_text("#run-state") == "running"  # type: ignore[attr-defined]
            assert "passed" in page.inner_text('tr[data-gate="quick"] .badge')  # type: ignore[attr-defined]
            before = page.inner_text(f"{row} pre")  # type: ignore[attr-defined]
            page.screenshot(path=str(tmp_path / "live-running.png"), full_page=True)  # type: ignore[attr-defined]
            # the script rewrites the table in place: new lines arrive with no reload
            page.wait_for_function(  # type: ignore[attr-defined]
                "old => document.querySelector('tr[data-gate=\"slow\"] pre').textContent !== old",
                arg=before,
                timeout=15000,
            )
            after = page.inner_text(f"{row} pre")  # type: ignore[attr-defined]
            assert after != before and "step" in after
            assert len(loads) == 1, loads
            page.screenshot(path=str(tmp_path / "live-changed.png"), full_page=True)  # type: ignore[attr-defined]
            # when the run ends, the page turns into its report
            release.write_text("")
            page.wait_for_selector("#verdict", timeout=30000)  # type: ignore[attr-defined]
            assert page.get_attribute("#verdict", "data-verdict") == "passed"  # type: ignore[attr-defined]
            for gid in ("quick", "slow"):
                sel = f'table.timeline tr[data-gate="{gid}"]'
                assert page.get_attribute(sel, "data-outcome") == "passed"  # type: ignore[attr-defined]
            page.screenshot(path=str(tmp_path / "live-finished.png"), full_page=True)  # type: ignore[attr-defined]
            page.goto(server.base + "/")  # type: ignore[attr-defined]
            link = page.get_attribute(f'tr[data-run="{run_id}"] a', "href")  # type: ignore[attr-defined]
            assert link == f"/runs/{run_id}"
            assert page.get_attribute(f'tr[data-run="{run_id}"]', "data-state") == "finished"  # type: ignore[attr-defined]
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)  # type: ignore[attr-defined]
            assert guard.blocked == [], guard.blocked
            assert all(u.startswith(server.base + "/") for u in guard.allowed), guard.allowed
            assert any("/api/runs/" in u for u in guard.allowed)  # it polled
            assert not [c for c in guard.console if "Content Security Policy" in c], guard.console
            assert not [c for c in guard.console if c.startswith("pageerror")], guard.console
    finally:
        release.write_text("")  # ends the gate whatever happened above
        _out, err = check.communicate(timeout=120)
    assert check.returncode == 0, err


def test_read_only_and_loopback_only(repo: Repo, server: Server) -> None:
    for method in ("POST", "PUT", "DELETE"):
        req = urllib.request.Request(server.base + "/", method=method, data=b"x")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)
        assert info.value.code == 405
        info.value.close()
    for bad in ("/runs/..%2F..%2Fconfig", "/runs/../../HEAD", "/api/runs/nope", "/etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.base + bad, timeout=5)
        assert info.value.code == 404
        info.value.close()
    assert server.get("/api/runs") == []
    # bound to the loopback address only
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=False).stdout
    listening = [
        ln.split()[3] for ln in out.splitlines() if ln.split()[3].endswith(f":{server.port}")
    ]
    assert listening == [f"127.0.0.1:{server.port}"], listening


def test_port_in_use_is_a_clear_error(repo: Repo, server: Server) -> None:
    proc = repo.gatekit("serve", "--port", str(server.port), timeout=30)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}" in proc.stderr
    assert "Traceback" not in proc.stderr
