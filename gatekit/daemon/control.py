"""``gatekit daemon start|stop|status``: the core behind the command (no argparse here)."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from gatekit.daemon import client, protocol
from gatekit.errors import UsageError
from gatekit.git.gitproc import without_location
from gatekit.lazyclass import dataclass

START_TIMEOUT = 60.0  # seconds for the server to import everything and listen
LOG_LIMIT = 1 << 20  # the log is started afresh beyond this size
# The server runs with the starter's sys.path, whatever the working directory.
BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from gatekit.daemon.server import main; sys.exit(main(sys.argv[2:]))"
)


@dataclass(frozen=True)
class DaemonStatus:
    running: bool
    directory: str
    info: Mapping[str, Any]  # the server's status answer (empty when not running)
    note: str = ""


def private_dir(environ: Mapping[str, str], create: bool) -> str:
    """The socket directory, created 0700 if asked; refuses one that is not private."""
    directory = protocol.socket_dir(environ)
    if create:
        try:
            os.mkdir(directory, 0o700)
            os.chmod(directory, 0o700)  # whatever the umask: we just made it
        except FileExistsError:
            pass
        except OSError as exc:
            raise UsageError(f"cannot create {directory}: {exc.strerror}") from None
    problem = protocol.dir_problem(directory)
    if problem is not None and (create or os.path.lexists(directory)):
        raise UsageError(
            f"refusing to use {directory} for the daemon's socket: {problem}",
            tip=f"it must be a directory of yours with mode 0700 (chmod 700 {directory}, or remove it)",
        )
    return directory


def status(environ: Mapping[str, str]) -> DaemonStatus:
    directory = private_dir(environ, create=False)
    info = client.control(directory, "status")
    if info is not None and info.get("ok"):
        return DaemonStatus(True, directory, info)
    note = ""
    if os.path.lexists(protocol.socket_path(directory)):
        note = "a socket is left from a server that is gone (start replaces it, stop removes it)"
    return DaemonStatus(False, directory, {}, note)


def start(environ: Mapping[str, str], idle_timeout: float) -> DaemonStatus:
    """Start the server (or find it running); returns once it listens."""
    directory = private_dir(environ, create=True)
    current = status(environ)
    if current.running:
        return DaemonStatus(True, directory, current.info, "already running")
    log_path = os.path.join(directory, protocol.LOG_NAME)
    read_end, write_end = os.pipe()
    try:
        proc = _launch(environ, directory, idle_timeout, write_end)
        os.close(write_end)
        write_end = -1
        proc.wait()  # the first process forks the server and exits at once
        answer = _read_ready(read_end)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if answer != "ready":
        reason = answer.removeprefix("error: ") if answer else "it exited before listening"
        raise UsageError(f"the daemon did not start: {reason}", tip=f"see {log_path}")
    now = status(environ)
    if not now.running:
        raise UsageError("the daemon started but does not answer", tip=f"see {log_path}")
    return now


def spawn(environ: Mapping[str, str], idle_timeout: float) -> bool:
    """Start the server in the background without waiting for it (``gatekit check`` does
    this when none answered). Best effort: False when the socket directory cannot be used
    or a server already answers there. A server that finds another one running exits at
    once (one per directory)."""
    try:
        directory = private_dir(environ, create=True)
        if status(environ).running:
            return False  # one answers but would not serve us (another gatekit): leave it
        _launch(environ, directory, idle_timeout, None)
    except (UsageError, OSError):
        return False
    return True


def _launch(
    environ: Mapping[str, str], directory: str, idle_timeout: float, ready_fd: int | None
) -> subprocess.Popen[bytes]:
    """The process that forks the server (its output goes to the daemon's log)."""
    log_path = os.path.join(directory, protocol.LOG_NAME)
    mode = "wb" if _size(log_path) > LOG_LIMIT else "ab"
    with open(log_path, mode) as log, open(os.devnull, "rb") as devnull:
        os.chmod(log_path, 0o600)
        cmd = [
            sys.executable,
            "-c",
            BOOT,
            json.dumps(sys.path),
            "--dir",
            directory,
            "--idle-timeout",
            repr(float(idle_timeout)),
        ]
        if ready_fd is not None:
            cmd += ["--ready-fd", str(ready_fd)]
        return subprocess.Popen(
            cmd,
            stdin=devnull,
            stdout=log,
            stderr=log,
            cwd="/",
            # without a calling hook's repository variables (a worker takes each
            # client's own environment anyway)
            env=without_location(environ),
            start_new_session=True,
            pass_fds=() if ready_fd is None else (ready_fd,),
        )


def stop(environ: Mapping[str, str]) -> DaemonStatus:
    """Stop the server; returns what it was (running False: there was none)."""
    directory = private_dir(environ, create=False)
    answer = client.control(directory, "stop")
    if answer is not None and answer.get("ok"):
        if not answer.get("running"):
            _wait_gone(int(answer.get("pid", 0)), timeout=5.0)
        return DaemonStatus(True, directory, answer)
    path = protocol.socket_path(directory)
    if os.path.lexists(path) and _no_server_holds_lock(directory):
        os.unlink(path)
        return DaemonStatus(False, directory, {}, "removed a socket left by a server that is gone")
    return DaemonStatus(False, directory, {})


def _read_ready(fd: int) -> str:
    data = b""
    deadline = time.monotonic() + START_TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        if data.endswith(b"\n"):
            break
    return data.decode("utf-8", "replace").strip()


def _wait_gone(pid: int, timeout: float) -> None:
    """Until the server exits (it first waits for the checks it is running)."""
    deadline = time.monotonic() + timeout
    while pid > 0 and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    return  # exited; its parent has yet to reap it
        except FileNotFoundError:
            return
        except (OSError, IndexError):
            try:
                os.kill(pid, 0)
            except OSError:
                return
        time.sleep(0.02)


def _no_server_holds_lock(directory: str) -> bool:
    try:
        fd = os.open(os.path.join(directory, protocol.LOCK_NAME), os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the lock we may hold
    return True


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
