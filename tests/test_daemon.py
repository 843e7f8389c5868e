"""``gatekit daemon``: checks through the warm-start server behave as in-process checks.

Real processes throughout: a server started with ``XDG_RUNTIME_DIR`` in a tmp
dir, clients run as ``python -m gatekit``, compared with the same command run
in-process (``GATEKIT_NO_DAEMON=1``).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from check_support import gate, outcomes, write_config
from conftest import ROOT, Repo

from gatekit.daemon import client, control, protocol
from gatekit.daemon.paths import installation_id

pytestmark = pytest.mark.slow


def client_env(xdg: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEKIT_NO_DAEMON"}
    env["XDG_RUNTIME_DIR"] = str(xdg)
    env["CI"] = "true"  # no auto-start: each test says which server runs
    env.update(extra)
    return env


def gk(
    cwd: Path, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatekit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def daemon_log(xdg: Path) -> str:
    path = xdg / f"gatekit-{os.getuid()}-{installation_id()}" / protocol.LOG_NAME
    return f"--- {path}\n{path.read_text()[-3000:] if path.exists() else '(none)'}"


def served(xdg: Path) -> int:
    st = control.status({"XDG_RUNTIME_DIR": str(xdg)})
    assert st.running, (
        f"the daemon in {xdg} is not running (sources changed while testing?)\n{daemon_log(xdg)}"
    )
    return int(st.info["served"])


def start_daemon(xdg: Path, env: dict[str, str]) -> None:
    proc = gk(xdg, "daemon", "start", "--idle-timeout", "300", env=env)
    assert proc.returncode == 0, explain(proc)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """XDG_RUNTIME_DIR of a server shared by this module's tests; stopped at the end."""
    xdg = tmp_path_factory.mktemp("xdg")
    xdg.chmod(0o700)
    env = client_env(xdg, HOME=str(xdg))
    start_daemon(xdg, env)
    try:
        yield xdg
    finally:
        gk(xdg, "daemon", "stop", env=env)


def both(
    repo: Repo, xdg: Path, *args: str, cwd: Path | None = None, **extra: str
) -> tuple[Any, Any]:
    """The same command through the daemon and in-process (asserting the daemon ran it)."""
    before = served(xdg)
    via = gk(cwd or repo.path, "check", "--plain", *args, env=client_env(xdg, **extra))
    assert served(xdg) == before + 1, (
        f"the check did not go through the daemon:\n{explain(via)}\n{daemon_log(xdg)}"
    )
    local = gk(
        cwd or repo.path,
        "check",
        "--plain",
        *args,
        env=client_env(xdg, GATEKIT_NO_DAEMON="1", **extra),
    )
    assert served(xdg) == before + 1
    return via, local


def summary(proc: subprocess.CompletedProcess[str]) -> tuple[int, str, dict[str, str], str]:
    doc = json.loads(proc.stdout)
    return proc.returncode, doc["verdict"], outcomes(doc), doc["candidate"]["tree"]


def test_verdicts_and_exit_codes_match_in_process(repo: Repo, daemon: Path) -> None:
    write_config(repo, [gate("one", "print('one ok')"), gate("two", "pass")])
    repo.write("a.txt", "a\n")
    repo.git("add", "a.txt")
    via, local = both(repo, daemon, "--staged", "--json", "--no-cache", "--no-record")
    assert via.returncode == 0, explain(via)
    assert summary(via) == summary(local)
    assert "[one] one ok" in via.stderr  # gate output reached the client's stderr
    assert "Traceback" not in via.stderr

    write_config(repo, [gate("one", "pass"), gate("bad", "import sys; print('boom'); sys.exit(3)")])
    via, local = both(repo, daemon, "--worktree", "--json", "--no-cache", "--no-record")
    assert via.returncode == 1, explain(via)
    assert summary(via) == summary(local)
    assert summary(via)[2] == {"one": "passed", "bad": "failed"}

    repo.write("validation.yaml", "version: 1\ngates:\n  - id: typo\n    sesion: {run: [true]}\n")
    via, local = both(repo, daemon, "--worktree")
    assert via.returncode == local.returncode == 2, explain(via)
    assert "validation.yaml:" in via.stderr and "sesion" in via.stderr
    assert via.stderr == local.stderr
    assert "Traceback" not in via.stderr


def test_worker_sees_the_clients_cwd_and_environment(repo: Repo, daemon: Path) -> None:
    code = (
        "import os, sys; "
        "sys.exit(0 if os.environ.get('ONLY_CLIENT') == 'yes' and 'NOT_NAMED' not in os.environ else 7)"
    )
    write_config(repo, [gate("env", code, pass_env=["ONLY_CLIENT"])])
    (repo.path / "sub" / "dir").mkdir(parents=True)
    deep = repo.path / "sub" / "dir"  # the repository is found from the client's cwd
    args = ("--worktree", "--json", "--no-cache", "--no-record")
    via, local = both(repo, daemon, *args, cwd=deep, ONLY_CLIENT="yes", NOT_NAMED="x")
    assert via.returncode == 0, explain(via)
    assert summary(via) == summary(local)
    # Without the variable in the client's environment the gate fails: it came from the client.
    via, local = both(repo, daemon, *args, cwd=deep, NOT_NAMED="x")
    assert via.returncode == 1, explain(via)
    assert summary(via) == summary(local)


def test_git_index_file_of_a_hook_is_the_staged_candidate(repo: Repo, daemon: Path) -> None:
    write_config(repo, [gate("ok", "pass")])
    repo.commit("config")
    repo.write("other.txt", "only in the other index\n")
    index = repo.path / ".git" / "other-index"
    git_env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    for cmd in (["read-tree", "HEAD"], ["add", "other.txt"]):
        subprocess.run(["git", *cmd], cwd=repo.path, env=git_env, check=True, capture_output=True)
    expected = subprocess.run(
        ["git", "write-tree"],
        cwd=repo.path,
        env=git_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    args = ("--staged", "--json", "--no-cache", "--no-record")
    via, local = both(repo, daemon, *args, GIT_INDEX_FILE=str(index))
    assert via.returncode == 0, explain(via)
    assert summary(via) == summary(local)
    assert summary(via)[3] == expected


def test_ctrl_c_is_forwarded_and_leaves_no_process(repo: Repo, daemon: Path) -> None:
    mark = f"gk-daemon-{uuid.uuid4().hex}"
    write_config(repo, [gate("slow", f"import time; print('{mark}', flush=True); time.sleep(60)")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatekit", "check", "--plain", "--worktree", "--no-cache"],
        cwd=repo.path,
        env=client_env(daemon),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in proc.stderr or ()], daemon=True
    )
    reader.start()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while not any(mark in line for line in seen):
            assert time.monotonic() < deadline, "".join(seen)
            seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=5)
    proc.stderr.close()
    while not lines.empty():
        seen.append(lines.get())
    assert any("stopped" in line for line in seen), "".join(seen)
    deadline = time.monotonic() + 10
    while _processes_with(mark) or control.status({"XDG_RUNTIME_DIR": str(daemon)}).info.get(
        "running"
    ):
        assert time.monotonic() < deadline, f"left behind: {_processes_with(mark)}"
        time.sleep(0.1)


def _processes_with(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_stale_server_falls_back_and_exits(repo: Repo, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "gatekit", pkg / "gatekit", ignore=shutil.ignore_patterns("__pycache__"))
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = client_env(xdg, PYTHONPATH=str(pkg))
    start_daemon(xdg, env)
    # the copy is another installation: its socket directory is its own
    copy_socket = next(xdg.glob(f"gatekit-{os.getuid()}-*/{protocol.SOCKET_NAME}"))
    assert copy_socket.parent.name != f"gatekit-{os.getuid()}-{installation_id()}"

    def copy_served() -> int:
        info = client.control(str(copy_socket.parent), "status")
        assert info is not None and info.get("ok"), daemon_log(xdg)
        return int(info["served"])

    try:
        write_config(repo, [gate("ok", "pass")])
        args = ("check", "--plain", "--worktree", "--json", "--no-cache", "--no-record")
        proc = gk(repo.path, *args, env=env)
        assert proc.returncode == 0 and copy_served() == 1, explain(proc)
        # Another gatekit (this checkout, not the copy): never served by the copy's server.
        proc = gk(repo.path, *args, env=client_env(xdg))
        assert proc.returncode == 0 and copy_served() == 1, explain(proc)
        # The copy's sources change: the server refuses as stale, the client runs in-process.
        changed = pkg / "gatekit" / "results.py"
        os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
        proc = gk(repo.path, *args, env=env)
        assert proc.returncode == 0, explain(proc)
        assert json.loads(proc.stdout)["verdict"] == "passed"
        assert not copy_socket.exists()
    finally:
        gk(xdg, "daemon", "stop", env=env)


def test_start_status_stop(repo: Repo, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = client_env(xdg)
    sock = xdg / f"gatekit-{os.getuid()}-{installation_id()}" / protocol.SOCKET_NAME
    start_daemon(xdg, env)
    try:
        st = gk(xdg, "daemon", "status", env=env)
        assert st.returncode == 0, explain(st)
        for word in ("pid", str(sock), "version", "uptime"):
            assert word in st.stdout
        again = gk(xdg, "daemon", "start", env=env)
        assert again.returncode == 0 and "already running" in again.stdout, explain(again)
        mode = (xdg / f"gatekit-{os.getuid()}-{installation_id()}").stat().st_mode & 0o777
        assert mode == 0o700 and sock.exists()
    finally:
        stop = gk(xdg, "daemon", "stop", env=env)
    assert stop.returncode == 0 and "stopped" in stop.stdout, explain(stop)
    assert not sock.exists()
    st = gk(xdg, "daemon", "status", env=env)
    assert st.returncode == 1 and "not running" in st.stdout
    write_config(repo, [gate("ok", "pass")])
    proc = gk(repo.path, "check", "--worktree", env=env)  # no server: in-process, as before
    assert proc.returncode == 0, explain(proc)


def test_socket_dir_that_is_not_private_is_refused(repo: Repo, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    shared = xdg / f"gatekit-{os.getuid()}-{installation_id()}"
    shared.mkdir()
    shared.chmod(0o755)
    env = client_env(xdg)
    proc = gk(xdg, "daemon", "start", env=env)
    assert proc.returncode == 2, explain(proc)
    assert f"refusing to use {shared}" in proc.stderr and "0755" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (shared / protocol.SOCKET_NAME).exists()
    write_config(repo, [gate("ok", "pass")])
    proc = gk(repo.path, "check", "--worktree", env=env)
    assert proc.returncode == 0, explain(proc)


def _wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def fresh_check(repo: Repo, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``gatekit check --plain --staged --no-cache --no-record`` (plus ``extra``)."""
    args = ("check", "--plain", "--staged", "--no-cache", "--no-record", *extra)
    return gk(repo.path, *args, env=env)


def test_worker_cleans_the_shadow_after_answering(repo: Repo, daemon: Path) -> None:
    """The worker answers, then refreshes the slot and marks it clean; the next check of the
    same candidate skips the refresh and still sees nothing a gate left behind."""
    dirty = (
        "import os, pathlib, sys; "
        "bad = [p for p in ('left-behind.txt', 'build/out.o') if os.path.exists(p)]; "
        "bad += ['tracked.txt'] if pathlib.Path('tracked.txt').read_text() != 'tracked\\n' else []; "
        "pathlib.Path('left-behind.txt').write_text('x'); "
        "os.makedirs('build', exist_ok=True); pathlib.Path('build/out.o').write_text('o'); "
        "print('dirty:', bad); sys.exit(1 if bad else 0)"
    )
    write_config(repo, [gate("dirty", dirty)])
    repo.write("tracked.txt", "tracked\n")
    repo.git("add", "-A")
    shadows = repo.path / ".git" / "gatekit" / "shadows"
    env = client_env(daemon)
    for attempt in range(3):
        before = served(daemon)
        proc = fresh_check(repo, env)
        assert proc.returncode == 0, f"attempt {attempt}: {explain(proc)}"
        assert served(daemon) == before + 1
        mark = shadows / "s0.clean"
        assert _wait_for(mark.exists), (
            f"no clean mark after attempt {attempt}\n{daemon_log(daemon)}"
        )
        # the mark names the commit the slot was left clean at: the shadow's HEAD
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=shadows / "s0",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert mark.read_text().strip() == head
        assert not (shadows / "s0" / "left-behind.txt").exists()
        assert (shadows / "s0" / "tracked.txt").read_text() == "tracked\n"
    # an in-process check leaves the mark too: its gate wrote only into its own view
    local = fresh_check(repo, client_env(daemon, GATEKIT_NO_DAEMON="1"))
    assert local.returncode == 0, explain(local)
    assert (shadows / "s0.clean").read_text().strip() == head
    assert not (shadows / "s0" / "left-behind.txt").exists()
    assert [p.name for p in shadows.iterdir() if p.is_dir()] == ["s0"]  # never a second slot


def test_a_new_candidate_after_a_clean_slot(repo: Repo, daemon: Path) -> None:
    """A clean mark at another commit: only the checkout runs, and the gate sees the new tree."""
    code = (
        "import pathlib, sys; sys.exit(0 if pathlib.Path('v.txt').read_text() == 'two\\n' else 5)"
    )
    write_config(repo, [gate("sees", code)])
    repo.write("v.txt", "one\n")
    repo.git("add", "-A")
    env = client_env(daemon)
    first = fresh_check(repo, env)
    assert first.returncode == 1, explain(first)  # v.txt is 'one'
    mark = repo.path / ".git" / "gatekit" / "shadows" / "s0.clean"
    assert _wait_for(mark.exists), daemon_log(daemon)
    repo.write("v.txt", "two\n")
    repo.git("add", "-A")
    second = fresh_check(repo, env)
    assert second.returncode == 0, explain(second)


def test_an_in_process_check_starts_the_daemon_for_the_next(repo: Repo, tmp_path: Path) -> None:
    """Without a daemon, a check runs in-process and starts one in the background; the next
    check goes through it. Not on CI, nor with GATEKIT_NO_DAEMON=1."""
    write_config(repo, [gate("ok", "pass")])
    repo.git("add", "-A")
    for name, extra in (("ci", {"CI": "true"}), ("off", {"CI": "", "GATEKIT_NO_DAEMON": "1"})):
        xdg = tmp_path / name
        xdg.mkdir(mode=0o700)
        proc = gk(repo.path, "check", "--plain", "--staged", env=client_env(xdg, **extra))
        assert proc.returncode == 0, explain(proc)
        assert not (
            xdg / f"gatekit-{os.getuid()}-{installation_id()}"
        ).exists()  # nothing was started
    xdg = tmp_path / "auto"
    xdg.mkdir(mode=0o700)
    env = client_env(xdg, CI="")
    try:
        first = gk(repo.path, "check", "--plain", "--staged", "--no-cache", env=env)
        assert first.returncode == 0, explain(first)
        assert "started the warm-start daemon" not in first.stderr  # not a terminal: quiet
        assert _wait_for(lambda: control.status({"XDG_RUNTIME_DIR": str(xdg)}).running), daemon_log(
            xdg
        )
        second = gk(repo.path, "check", "--plain", "--staged", "--no-cache", env=env)
        assert second.returncode == 0, explain(second)
        assert served(xdg) == 1
    finally:
        gk(xdg, "daemon", "stop", env=env)


def test_a_check_is_served_by_the_worker_forked_in_advance(repo: Repo, daemon: Path) -> None:
    """The server keeps a spare worker forked while idle; a check is handed to it (the gate's
    parent is that spare), and a new spare is forked for the next check."""
    write_config(repo, [gate("who", "import os; print('parent', os.getppid())")])
    repo.git("add", "-A")
    env = {"XDG_RUNTIME_DIR": str(daemon)}
    seen = []
    for _ in range(2):
        assert _wait_for(lambda: control.status(env).info.get("spare") is not None)
        spare = control.status(env).info["spare"]
        proc = fresh_check(repo, client_env(daemon), "--gate", "who")
        assert proc.returncode == 0, explain(proc)
        assert f"[who] parent {spare}" in proc.stderr, explain(proc)
        seen.append(spare)
    assert seen[0] != seen[1]


def test_a_spare_that_died_is_replaced(repo: Repo, daemon: Path) -> None:
    """Killing the spare loses nothing: the next check is served (by a fork, or by the
    spare forked in its place) and a new spare appears."""
    write_config(repo, [gate("ok", "pass")])
    repo.git("add", "-A")
    env = {"XDG_RUNTIME_DIR": str(daemon)}
    assert _wait_for(lambda: control.status(env).info.get("spare") is not None)
    dead = control.status(env).info["spare"]
    os.kill(dead, signal.SIGKILL)
    before = served(daemon)
    proc = gk(repo.path, "check", "--plain", "--staged", "--no-record", env=client_env(daemon))
    assert proc.returncode == 0, explain(proc)
    assert served(daemon) == before + 1
    assert _wait_for(lambda: control.status(env).info.get("spare") not in (None, dead))


def test_the_server_makes_the_lazy_dataclasses_before_it_forks_workers() -> None:
    """A worker would otherwise make every dataclass its check instantiates, at every
    check (gatekit.lazyclass defers them to first use)."""
    script = (
        "import sys, pkgutil, importlib, gatekit\n"
        "from gatekit import lazyclass\n"
        "def lazy():\n"
        "    return [v for m in list(sys.modules.values()) if m is not None\n"
        "            and m.__name__.startswith('gatekit.')\n"
        "            for v in vars(m).values() if lazyclass.is_lazy(v)]\n"
        "import gatekit.run.gate, gatekit.check.pipeline\n"
        "before = len(lazy())\n"
        "from gatekit.daemon.preload import preload\n"
        "failures, _ = preload()\n"
        "print(before, len(lazy()), failures)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=2)
    assert int(out[0]) > 10 and out[1:] == ["0", "[]\n"]
