"""The server: one accept loop in the main thread, one forked worker per check.

A worker is forked ahead of time while the server is idle (the spare): a check
is handed to it over a socket pair (request, the client's fds and the
connection), so the client does not wait for a fork. Without a spare (it died,
or two checks came at once) the server forks a worker for the request.

Started by ``gatekit daemon start`` as ``python -c BOOT <sys.path> --dir D
--idle-timeout S [--ready-fd N]``: it forks once more (so the starter can reap
its child at once), takes ``daemon.lock`` (one server per directory), imports
everything a check needs, binds ``daemon.sock`` (a fresh socket renamed over
any stale one), writes ``ready`` to the ready fd and serves until stopped,
idle for the timeout, or stale.

Stale: the fingerprint of gatekit's sources (path, mtime, size of every
``.py``), taken before importing them, is taken again before every fork; when
it differs, the request is refused as ``stale`` (the client runs in-process),
the socket is removed and the server exits. A request from another gatekit
version, package directory or interpreter is refused as ``mismatch``.

No threads are ever started here: fork() copies only the calling thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from gatekit import __version__
from gatekit.daemon import protocol, worker

Fingerprint = tuple[tuple[str, int, int], ...]
TICK = 1.0  # seconds between reaping/idle checks when no request comes
READ_TIMEOUT = 5.0  # a client must send its request within this


def package_fingerprint(root: str) -> Fingerprint:
    """(relative path, mtime_ns, size) of every ``.py`` under ``root``, sorted, and of the
    site-packages directories: installing, removing or upgrading any package (a
    dependency such as detect-secrets or nox) adds or removes a dist-info directory
    there, so the server, which holds the old modules imported, goes stale too."""
    out: list[tuple[str, int, int]] = []
    for path in sys.path:
        if path.endswith("-packages"):
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((path, st.st_mtime_ns, 0))
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    out.append((os.path.relpath(entry.path, root), st.st_mtime_ns, st.st_size))
            except OSError:
                continue
    return tuple(sorted(out))


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} gatekit daemon[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


class Server:
    def __init__(
        self,
        directory: str,
        listener: socket.socket,
        lock_fd: int,
        idle_timeout: float,
        fingerprint: Fingerprint,
    ) -> None:
        self.directory = directory
        self.path = protocol.socket_path(directory)
        self.listener = listener
        self.lock_fd = lock_fd
        self.idle_timeout = idle_timeout
        self.fingerprint = fingerprint
        self.package = protocol.package_dir()
        self.started = time.time()
        self.children: set[int] = set()
        self.spare: tuple[int, socket.socket] | None = None  # a worker forked in advance
        self.served = 0
        self.stopping = False
        self._last = time.monotonic()
        self._inode = os.stat(self.path).st_ino

    def serve(self) -> None:
        signal.signal(signal.SIGTERM, self._on_sigterm)
        from gatekit.precommit import forkserver

        # the workers' pre-commit gates find their hooks' interpreters started there
        forkserver.LASTING_DIR = Path(self.directory) / "forkservers"
        forkserver.LASTING_WITH = Path(self.path)
        while not self.stopping:
            self._ensure_spare()
            ready, _, _ = select.select([self.listener], [], [], TICK)
            self._reap()
            if ready:
                self._accept()
            elif not self.running() and time.monotonic() - self._last >= self.idle_timeout:
                log(f"idle for {self.idle_timeout:g} s: exiting")
                break
        self.close()
        self._drop_spare()
        while self.children:  # running checks finish; then nothing is left behind
            self._reap(block=True)

    def running(self) -> set[int]:
        """The workers serving a check (not the spare)."""
        return self.children - {self.spare[0]} if self.spare is not None else self.children

    def close(self) -> None:
        """Stop listening and remove the socket (if it is still ours)."""
        if self.listener.fileno() >= 0:
            self.listener.close()
            try:
                if os.stat(self.path).st_ino == self._inode:
                    os.unlink(self.path)
            except OSError:
                pass

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _reap(self, block: bool = False) -> None:
        while self.children:
            try:
                pid, _status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            if self.spare is not None and self.spare[0] == pid:
                self.spare[1].close()  # the spare died unused: the loop forks another
                self.spare = None
            self.children.discard(pid)
            self._last = time.monotonic()

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        fds: list[int] = []
        with conn:  # the parent's copy; a worker keeps its own
            try:
                conn.settimeout(READ_TIMEOUT)
                if not self._peer_is_us(conn):
                    return
                request, fds = protocol.receive(conn, maxfds=protocol.FDS)
                if request is not None:
                    self._handle(conn, request, fds)
            except (OSError, ValueError) as exc:
                log(f"request dropped: {exc}")
            finally:
                for fd in fds:
                    os.close(fd)

    def _peer_is_us(self, conn: socket.socket) -> bool:
        if not hasattr(socket, "SO_PEERCRED"):
            return True  # the 0700 directory is the only way in
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            log(f"refused a connection from uid {uid} (pid {pid})")
            return False
        return True

    def _handle(self, conn: socket.socket, request: Mapping[str, Any], fds: list[int]) -> None:
        op = request.get("op")
        if op == "status":
            protocol.send(conn, self.status())
        elif op == "stop":
            self.stopping = True
            self.close()
            self._drop_spare()
            protocol.send(conn, {"ok": True, "pid": os.getpid(), "running": len(self.running())})
            log("stopped on request")
        elif op == "check":
            refusal = self._refusal(request, fds)
            if refusal is not None:
                protocol.send(conn, {"ok": False, "reason": refusal})
                return
            self._fork(conn, request, fds)
        else:
            protocol.send(conn, {"ok": False, "reason": f"unknown op {op!r}"})

    def _refusal(self, request: Mapping[str, Any], fds: list[int]) -> str | None:
        theirs = (
            request.get("protocol"),
            request.get("version"),
            request.get("package"),
            request.get("python"),
        )
        ours = (protocol.PROTOCOL, __version__, self.package, protocol.interpreter())
        if theirs != ours:
            return "mismatch: the client runs another gatekit, package directory or interpreter"
        if len(fds) != protocol.FDS:
            return "bad request: fds 0, 1, 2 missing"
        if package_fingerprint(self.package) != self.fingerprint:
            log("gatekit's sources changed: stale, exiting")
            self.stopping = True
            self.close()
            return "stale: gatekit's sources changed since the daemon started"
        return None

    def _fork(self, conn: socket.socket, request: Mapping[str, Any], fds: list[int]) -> None:
        pid = self._hand_to_spare(conn, request, fds)
        if pid is None:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                self._in_child()
                worker.serve(conn, request, fds)
        self.children.add(pid)
        self.served += 1
        self._last = time.monotonic()

    # -- the spare: a worker forked while the server is idle, so a check pays no fork ----
    def _ensure_spare(self) -> None:
        if self.spare is not None or self.stopping:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            self._in_child()
            worker.standby(theirs)
        theirs.close()
        self.spare = (pid, ours)
        self.children.add(pid)

    def _hand_to_spare(
        self, conn: socket.socket, request: Mapping[str, Any], fds: list[int]
    ) -> int | None:
        """Give the request (with the client's fds and the connection) to the spare; its pid,
        or None when there is no spare or it cannot take it (then a worker is forked)."""
        if self.spare is None:
            return None
        pid, channel = self.spare
        self.spare = None
        try:
            protocol.send(channel, dict(request), fds=(*fds, conn.fileno()))
        except OSError as exc:
            log(f"the spare worker {pid} did not take a request: {exc}")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)  # reaped as any child
            return None
        finally:
            channel.close()
        return pid

    def _drop_spare(self) -> None:
        if self.spare is not None:
            self.spare[1].close()  # end of stream: the spare exits
            self.spare = None

    def _in_child(self) -> None:
        """In a forked child: nothing of the server's stays open."""
        for fd in (self.listener.fileno(), self.lock_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.spare is not None:
            with contextlib.suppress(OSError):
                self.spare[1].close()

    def status(self) -> dict[str, Any]:
        return {
            "ok": True,
            "pid": os.getpid(),
            "version": __version__,
            "socket": self.path,
            "package": self.package,
            "python": sys.executable,
            "prefix": sys.prefix,
            "started": self.started,
            "uptime": round(time.time() - self.started, 1),
            "served": self.served,
            "running": len(self.running()),
            "spare": self.spare[0] if self.spare is not None else None,
            "idle_timeout": self.idle_timeout,
        }


def main(argv: Sequence[str]) -> int:
    """Entry point of the spawned process (see the module docstring)."""
    opts = _options(argv)
    if os.fork():
        os._exit(0)  # the starter reaps this one; the grandchild serves
    directory = opts["dir"]
    ready_fd = int(opts.get("ready-fd", "-1"))
    fingerprint = package_fingerprint(protocol.package_dir())
    problem = protocol.dir_problem(directory)
    if problem is not None:
        return _fail(ready_fd, f"refusing {directory}: {problem}")
    lock_fd = os.open(
        os.path.join(directory, protocol.LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
    )
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _fail(ready_fd, "another gatekit daemon is running for this directory")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from gatekit.daemon.preload import preload

    failures, took = preload()
    # What is imported stays: out of the collector's sight, so that a worker's collections
    # do not touch (and copy, page by page) the memory it shares with the server.
    gc.collect()
    gc.freeze()
    for failure in failures:
        log(f"preload: {failure}")
    listener = _bind(directory)
    os.chdir("/")
    server = Server(directory, listener, lock_fd, float(opts["idle-timeout"]), fingerprint)
    log(f"serving {server.path} (gatekit {__version__}, preloaded in {took * 1000:.0f} ms)")
    if ready_fd >= 0:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    server.serve()
    return 0


def _bind(directory: str) -> socket.socket:
    final = protocol.socket_path(directory)
    temporary = f"{final}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    protocol.connect_unix(listener, temporary, bind=True)
    os.chmod(temporary, 0o600)
    listener.listen(64)
    os.replace(temporary, final)  # atomically over a stale socket, under the lock
    return listener


def _fail(ready_fd: int, message: str) -> int:
    log(message)
    if ready_fd >= 0:
        os.write(ready_fd, f"error: {message}\n".encode())
        os.close(ready_fd)
    return 1


def _options(argv: Sequence[str]) -> dict[str, str]:
    opts: dict[str, str] = {"idle-timeout": "1800"}
    args = list(argv)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or not args:
            raise SystemExit(f"gatekit daemon server: bad argument {flag!r}")
        opts[flag[2:]] = args.pop(0)
    if "dir" not in opts:
        raise SystemExit("gatekit daemon server: --dir is required")
    return opts
