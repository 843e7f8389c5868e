"""Python hooks started by a fork server (gatekit.precommit.forkserver): in the gate's
sandbox, view, cgroup and limits as a process of their own would be, with its outcome."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Repo
from precommit_support import probe_hook_repo

from gatekit.precommit.forkserver import (
    SERVER,
    SERVER_GONE,
    ForkServer,
    _parse_console_scripts,
    entry_for,
)
from gatekit.run.proc import SpawnLost

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pre-commit-probe")]
ROOT_VIEWS = os.getuid() == 0 and Path("/proc/self/ns/mnt").exists()
needs_root = pytest.mark.skipif(not ROOT_VIEWS, reason="the fork server serves root's views")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """The probe hook repository, its commit, and this module's PRE_COMMIT_HOME."""
    top = tmp_path_factory.mktemp("probe")
    path, rev = probe_hook_repo(top / "probe-hook")
    return path, rev, top / "pre-commit-home"


def _project(repo: Repo, probe: tuple[Path, str, Path], args: list[str], gate: str = "") -> None:
    path, rev, _ = probe
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n-   repo: {path}\n    rev: {rev}\n    hooks:\n    -   id: probe\n"
        f"        args: {json.dumps(args)}\n",
    )
    repo.write(
        "validation.yaml", f"version: 1\ngates:\n  - {{id: probe, pre-commit: probe{gate}}}\n"
    )
    repo.commit("probe")


def _check(
    repo: Repo, probe: tuple[Path, str, Path], env: dict[str, str] | None = None
) -> tuple[dict[str, object], str, Path]:
    """The probe gate's result, its log, and the run directory."""
    proc = repo.gatekit(
        "check",
        "--all",
        "--json",
        "--no-cache",
        env={"PRE_COMMIT_HOME": str(probe[2]), **(env or {})},
    )
    assert proc.returncode in (0, 1), proc.stderr
    gate = next(g for g in json.loads(proc.stdout)["gates"] if g["id"] == "probe")
    run_dir = max((repo.path / ".git" / "gatekit" / "runs").glob("2*"))
    return gate, (run_dir / "logs" / "probe.log").read_text(), run_dir


def _probed(log: str) -> dict[str, object]:
    line = next(li for li in log.splitlines() if li.startswith("PROBE "))
    found: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return found


def _left_running(marker: str, under: Path | None = None) -> list[str]:
    """Command lines of live processes that mention ``marker`` (and work ``under`` it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cwd = Path(os.readlink(entry / "cwd"))
        except (OSError, IndexError):
            continue
        alive = state not in ("Z", "X")
        if marker in cmdline and alive and (under is None or cwd.is_relative_to(under)):
            found.append(cmdline)
    return found


@needs_root
def test_a_python_hook_runs_from_the_fork_server_in_the_gates_sandbox(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    _project(repo, probe, ["--write"], ", limits: {open_files: 77, memory: 1G}")
    gate, log, run_dir = _check(repo, probe)
    assert gate["outcome"] == "passed", log
    seen = _probed(log)
    assert str(SERVER) in str(seen["parent"])  # forked by the server, not exec'd
    assert str(seen["argv0"]).endswith("/bin/probe-hook")  # as its console script sees it
    assert seen["files"] == 3  # README.md and the two config files: text
    # the gate's own sandbox: the shadow (in its view), its HOME, its group and limits
    assert Path(str(seen["cwd"])).is_relative_to(repo.path / ".git" / "gatekit" / "shadows")
    assert seen["home"] == str(run_dir / "sandbox" / "probe" / "home")
    # not the TMPDIR the server's import of the hook found
    assert seen["tmp"] == str(run_dir / "sandbox" / "probe" / "tmp")
    assert seen["pgid_is_pid"] is True
    assert seen["nofile"] == 77
    assert "gatekit" in str(seen["cgroup"])
    # what it wrote stayed in its view
    assert not (repo.path / "probe-wrote.txt").exists()
    assert not list((repo.path / ".git" / "gatekit" / "shadows").rglob("probe-wrote.txt"))
    assert (run_dir / "sandbox" / "forkserver-1.log").is_file()
    assert not _left_running(str(SERVER), repo.path)  # the run's server ended with it


@needs_root
@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--exit=3"], 3, None),
        (["--boom"], 1, "RuntimeError: probe exploded"),
        (["--say"], 1, "probe says no"),
    ],
)
def test_the_hooks_exit_is_the_gates_as_sys_exit_would_make_it(
    repo: Repo, probe: tuple[Path, str, Path], args: list[str], code: int, said: str | None
) -> None:
    _project(repo, probe, args)
    gate, log, _ = _check(repo, probe)
    assert gate["outcome"] == "failed", log
    assert str(gate["reason"]).endswith(f"exited with {code}"), gate["reason"]
    assert str(SERVER) in str(_probed(log)["parent"])
    if said is not None:
        assert said in log


@needs_root
def test_a_hook_over_its_timeout_is_killed_with_nothing_left(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    _project(repo, probe, ["--sleep"], ", timeout: 2s")
    gate, log, _ = _check(repo, probe)
    assert gate["outcome"] == "timed_out", log
    assert str(gate["reason"]).startswith("timed out after 2s"), gate["reason"]
    assert not _left_running(str(probe[2]))  # neither the sleeping child nor its server


@needs_root
def test_a_server_that_dies_under_its_hook_ends_the_gate_not_the_run(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    _project(repo, probe, ["--kill-server", "--sleep"], ", timeout: 60s")
    gate, log, _ = _check(repo, probe)
    # the child's end can no longer be seen: the gate ends (its group killed) at once
    assert gate["outcome"] == "failed", log
    assert str(gate["reason"]).endswith("exited with 125"), (gate["reason"], log)
    assert float(str(gate["duration"])) < 30
    assert not _left_running(str(probe[2]))


@needs_root
def test_more_files_than_a_pipe_holds_reach_the_hook(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    for i in range(1500):  # ~100 KiB of names: more than a pipe's default 64 KiB
        repo.write(f"files/{'n' * 60}-{i:04d}.txt", "x\n")
    _project(repo, probe, [])
    gate, log, _ = _check(repo, probe)
    assert gate["outcome"] == "passed", log
    assert _probed(log)["files"] == 1503


@needs_root
def test_the_callers_byte_code_prefix_reaches_the_hook(
    repo: Repo, probe: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """pre-commit built the environment with the caller's environment: with a prefix, its
    byte code is there, and a hook without it would compile every module at every run."""
    _project(repo, probe, [])
    gate, log, _ = _check(repo, probe, env={"PYTHONPYCACHEPREFIX": str(tmp_path / "pyc")})
    assert gate["outcome"] == "passed", log
    assert _probed(log)["pycache_prefix"] == str(tmp_path / "pyc")


def test_console_scripts_are_read_as_installers_write_them() -> None:
    text = (
        "# a comment\n[console_scripts]\nfix-it = pkg.fix:main\n"
        "with-extras = pkg.cli:run [color]\nno-function = pkg.cli\n\n"
        "[gui_scripts]\nwindow = pkg.gui:main\n"
    )
    assert _parse_console_scripts(text) == {"fix-it": "pkg.fix:main", "with-extras": "pkg.cli:run"}


def test_only_a_console_script_of_the_environment_is_an_entry(tmp_path: Path) -> None:
    env = tmp_path / "py_env-python3"
    site = env / "lib" / "python3.11" / "site-packages" / "pkg-1.0.dist-info"
    site.mkdir(parents=True)
    (site / "entry_points.txt").write_text("[console_scripts]\nfix-it = pkg.fix:main\n")
    (env / "bin").mkdir()
    (env / "bin" / "python").touch()
    (env / "bin" / "fix-it").write_text("#!python\n")
    found = entry_for(env, ["fix-it", "a.py"])
    assert found is not None and found.target == "pkg.fix:main"
    assert found.script == env / "bin" / "fix-it"
    assert entry_for(env, ["other", "a.py"]) is None  # not a console script of it
    assert entry_for(env, ["./fix-it"]) is None  # a path: what the hook names, not ours
    assert entry_for(None, ["fix-it"]) is None


@needs_root
def test_no_server_starts_for_cached_gates_nor_for_other_python_variables(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    _project(repo, probe, [])
    env = {"PRE_COMMIT_HOME": str(probe[2])}
    first = repo.gatekit("check", "--all", "--json", env=env)
    assert first.returncode == 0, first.stderr
    runs = repo.path / ".git" / "gatekit" / "runs"
    assert list(max(runs.glob("2*")).glob("sandbox/forkserver-*.log"))
    again = repo.gatekit("check", "--all", "--json", env=env)
    gates = {g["id"]: g["outcome"] for g in json.loads(again.stdout)["gates"]}
    assert gates["probe"] == "cached"
    assert not list(max(runs.glob("2*")).glob("sandbox/forkserver-*.log"))  # nothing started
    # an interpreter reads PYTHON* variables when it starts: with its own, the hook does too
    repo.write(
        "validation.yaml",
        "version: 1\ngates:\n  - {id: probe, pre-commit: probe, env: {PYTHONWARNINGS: ignore}}\n",
    )
    repo.commit("own python variables")
    gate, log, _ = _check(repo, probe)
    assert gate["outcome"] == "passed", log
    seen = _probed(log)
    assert seen["warnings"] == "ignore"
    assert str(SERVER) not in str(seen["parent"])


def _daemon_check(
    repo: Repo, probe: tuple[Path, str, Path], xdg: Path, umask: int = 0o022
) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "GATEKIT_NO_DAEMON"}
    env.update(XDG_RUNTIME_DIR=str(xdg), CI="true", PRE_COMMIT_HOME=str(probe[2]))
    proc = subprocess.run(
        [
            "sh",
            "-c",
            f'umask {umask:03o} && exec "$@"',
            "sh",
            *[sys.executable, "-m", "gatekit", "check", "--all", "--no-cache", "--json"],
        ],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = max((repo.path / ".git" / "gatekit" / "runs").glob("2*"))
    return _probed((run_dir / "logs" / "probe.log").read_text())


@needs_root
def test_a_daemons_checks_share_a_lasting_server_until_the_environment_changes(
    repo: Repo, probe: tuple[Path, str, Path], tmp_path: Path
) -> None:
    import tempfile

    # a short path: a socket's path holds 107 bytes (longer: each run has its own server)
    xdg = Path(tempfile.mkdtemp(prefix="gk-"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(xdg), "CI": "true"}
    daemon = [sys.executable, "-m", "gatekit", "daemon"]
    started = subprocess.run([*daemon, "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        _project(repo, probe, [])
        first = _daemon_check(repo, probe, xdg)
        second = _daemon_check(repo, probe, xdg, umask=0o027)
        assert "--listen" in str(first["parent"])  # the daemon's lasting server
        assert first["ppid"] == second["ppid"]  # the same one: started, imported once
        # each child as the check's own process would be: its umask, not the server's
        assert (first["umask"], second["umask"]) == (0o022, 0o027)
        # pre-commit builds the environment again (here: a package's files change)
        site = next(probe[2].glob("repo*/py_env-*/lib/python*/site-packages"))
        os.utime(site, ns=(time.time_ns(), time.time_ns() + 10**9))
        stale = _daemon_check(repo, probe, xdg)  # refused: the hook starts as a process
        assert "--listen" not in str(stale["parent"])
        fresh = _daemon_check(repo, probe, xdg)
        assert "--listen" in str(fresh["parent"]) and fresh["ppid"] != first["ppid"]
    finally:
        subprocess.run([*daemon, "stop"], env=env, capture_output=True)
        shutil.rmtree(xdg, ignore_errors=True)
    deadline = time.monotonic() + 10
    while _left_running(str(SERVER)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _left_running(str(SERVER))  # the daemon's servers end with it


@needs_root
def test_a_crashed_runs_forked_hook_is_left_to_that_runs_recovery(
    repo: Repo, probe: tuple[Path, str, Path]
) -> None:
    """A forked child shows its server's environment in /proc: the server's names the run
    as a gate command's does, so another check's sweep of a dead gatekit's cgroups leaves
    the child to its own run's recovery (gatekit.run.cgroup), as it leaves any gate's."""
    from gatekit.operator import forensics, runfile

    _project(repo, probe, ["--sleep"], ", timeout: 60s")
    env = {**os.environ, "PRE_COMMIT_HOME": str(probe[2])}
    check = subprocess.Popen(
        [sys.executable, "-m", "gatekit", "check", "--all", "--no-cache"],
        cwd=repo.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, seen = time.monotonic() + 60, None
        while seen is None and time.monotonic() < deadline:
            logs = list((repo.path / ".git" / "gatekit" / "runs").glob("2*/logs/probe.log"))
            if logs and "PROBE " in logs[0].read_text():
                seen = _probed(logs[0].read_text())
            time.sleep(0.05)
        assert seen is not None and str(SERVER) in str(seen["parent"])
        shown = forensics.env_of(int(str(seen["pid"])))
        assert runfile.awaiting_recovery(shown)  # its run still runs: hands off
    finally:
        check.kill()
        check.wait()
    # the run's own recovery (its next check) finds the run crashed and stops the hook
    status = repo.gatekit("status", env={"PRE_COMMIT_HOME": str(probe[2])})
    assert "crashed" in status.stdout + status.stderr
    deadline = time.monotonic() + 20
    while _left_running(str(probe[2]), repo.path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _left_running(str(probe[2]), repo.path)  # neither the hook nor its server


def _answering(answer: dict[str, object] | None) -> tuple[ForkServer, threading.Thread]:
    """A ForkServer whose server is a thread on a socket pair: it reads one request, then
    sends ``answer`` (its id filled in) and closes, or (None) closes without a word, as a
    server killed right after it forked the command would."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def serve() -> None:
        data, ancillary, _, _ = theirs.recvmsg(65536, socket.CMSG_SPACE(8))
        for _level, _kind, payload in ancillary:  # the command's output and spec pipes
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i : i + 4], sys.byteorder))
        if answer is None:
            theirs.close()
            return
        theirs.send(json.dumps({**answer, "id": json.loads(data)["id"]}).encode())
        theirs.close()  # after its answer: the request was settled

    thread = threading.Thread(target=serve)
    thread.start()
    return ForkServer(ours, None), thread


def test_a_server_gone_after_it_was_asked_never_gets_the_command_started_twice() -> None:
    """Asked to fork, the server went away before it answered: it may have forked the
    command (the probe hook above kills its server at once), so the command is not started
    again as a process: it ends as one whose server died under it (125). A server that
    refused (a stale one) or was gone before it was asked leaves the command to start."""
    server, thread = _answering(None)
    with pytest.raises(SpawnLost) as lost:
        server.spawn({"argv": ["probe-hook"]})
    thread.join()
    assert lost.value.exit_code == SERVER_GONE
    assert "went away before it said it had started the command" in str(lost.value)
    # gone already: the request is never sent, so it may start as a process
    with pytest.raises(OSError, match="the fork server is gone") as gone:
        server.spawn({"argv": ["probe-hook"]})
    assert not isinstance(gone.value, SpawnLost)
    server.close()

    refusing, thread = _answering({"error": "stale: the environment changed"})
    with pytest.raises(OSError, match="stale") as refused:
        refusing.spawn({"argv": ["probe-hook"]})
    thread.join()
    assert not isinstance(refused.value, SpawnLost)
    refusing.close()
