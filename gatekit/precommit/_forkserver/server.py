"""gatekit's fork server for Python hooks: run by the interpreter of a hook's environment.

Started once per run and environment (``python server.py FD BINDIR ENTRY...``), it
imports the modules of the hooks that will run (``module:function`` entries of the
environment's console scripts), then forks one child per command gatekit sends: the
child enters the gate's cgroups, a mount namespace of its own with the gate's view
of the shadow mounted (and a network namespace where asked), sets the gate's
rlimits, environment and arguments, and calls the entry point as the console script
would. A hook so started skips the interpreter's start and the imports that every
hook process repeats.

The protocol, on a SOCK_SEQPACKET socket (one message per datagram, JSON):

- gatekit -> server: ``{"id": N}`` with two descriptors attached (SCM_RIGHTS): the
  write end of the command's output pipe, and the read end of a pipe that holds its
  spec as JSON (argv, entry, env, cwd, cgroups, view: lower, upper, work, options,
  network, rlimits). The spec holds the gate's environment, so it is never a file.
- server -> gatekit: ``{"id": N, "pid": PID}`` once forked (``"error"`` instead if it
  could not fork), then ``{"id": N, "status": WAITSTATUS, "ru": [...]}`` when it ends.

It must run on every Python a hook environment may have (3.8 and newer) and import
nothing of gatekit: it is not in gatekit's environment.
"""

from __future__ import annotations

import sys

del sys.path[0]  # this script's directory is no source of modules

import array  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
SETUP_FAILED = 125  # as the view's shell exits when its mount fails
_libc = ctypes.CDLL(None, use_errno=True)


class _Server:
    """The loop: connections from gatekit, the children they asked for, the imports."""

    def __init__(self, argv: list[str]) -> None:
        self.listener: socket.socket | None = None
        self.path = ""
        self.inode = 0
        self.with_path = ""
        self.with_inode = 0
        self.idle = 0.0
        self.watched: list[tuple[str, int]] = []
        self.connections: list[socket.socket] = []
        if argv[0] == "--listen":  # --listen PATH IDLE_SECONDS WATCHED WITH BINDIR ENTRY...
            self.path, self.idle = argv[1], float(argv[2])
            self.watched = [(p, _mtime(p)) for p in argv[3].split(os.pathsep) if p]
            self.listener = _bind(self.path)
            self.inode = os.stat(self.path).st_ino  # the socket file's (not the socket's)
            self.with_path = argv[4]  # it serves as long as this file is the same
            self.with_inode = _inode(self.with_path)
            argv = argv[5:]
        else:  # FD BINDIR ENTRY...: one connection, the run's
            self.connections.append(socket.socket(fileno=int(argv[0])))
            argv = argv[1:]
        sys.path.insert(0, argv[0])  # as a console script of the environment has it
        self.preload = [entry.partition(":")[0] for entry in argv[1:]]
        self.children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (connection, id)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.last_busy = time.monotonic()

    def serve(self) -> None:
        # the first entry now (its command waits for it), the others whenever no request is
        # waiting: a hook that comes later then finds its modules already imported
        if self.preload:
            _import(self.preload.pop(0))
        while True:
            watched = [c.fileno() for c in self.connections] + [self.wake_r]
            if self.listener is not None:
                watched.append(self.listener.fileno())
            timeout = 0 if self.preload else (1.0 if self.listener is not None else None)
            ready = select.select(watched, [], [], timeout)[0]
            if not ready and self.preload:
                _import(self.preload.pop(0))
                continue
            if self.wake_r in ready:
                os.read(self.wake_r, 4096)
            if self.listener is not None and self.listener.fileno() in ready:
                with contextlib.suppress(OSError):
                    self.connections.append(self.listener.accept()[0])
            for conn in [c for c in self.connections if c.fileno() in ready]:
                self._request(conn)
            self._reap()
            if self._done():
                return

    def _done(self) -> bool:
        if self.connections or self.children:
            self.last_busy = time.monotonic()
            return False
        if self.listener is None:
            return True  # the run's connection closed: gatekit went away
        if self.with_path and _inode(self.with_path) != self.with_inode:
            return True  # its daemon stopped
        return time.monotonic() - self.last_busy > self.idle or not self._ours()

    def _ours(self) -> bool:
        """Whether the socket path is still this server's (a newer one may replace it)."""
        try:
            return os.stat(self.path).st_ino == self.inode
        except OSError:
            return False

    def _stale(self) -> bool:
        """Whether the environment changed since this server imported from it."""
        return any(_mtime(path) != seen for path, seen in self.watched)

    def _request(self, conn: socket.socket) -> None:
        request, fds = _receive(conn)
        if request is None:
            self.connections.remove(conn)
            conn.close()
            return
        if "preload" in request:
            self.preload.extend(e.partition(":")[0] for e in request["preload"])
            return
        if self._stale():
            _send(conn, {"id": request["id"], "error": "stale: the environment changed"})
            for fd in fds:
                os.close(fd)
            self._retire()
            return
        try:
            pid = os.fork()
        except OSError as exc:
            _send(conn, {"id": request["id"], "error": str(exc)})
            for fd in fds:
                os.close(fd)
            return
        if pid == 0:
            inherited = [c.fileno() for c in self.connections] + [self.wake_r, self.wake_w]
            if self.listener is not None:
                inherited.append(self.listener.fileno())
            _child(fds, tuple(inherited))
        for fd in fds:
            os.close(fd)
        self.children[pid] = (conn, request["id"])
        _send(conn, {"id": request["id"], "pid": pid})

    def _retire(self) -> None:
        """Take no more connections: the next gatekit starts a fresh server."""
        if self.listener is not None:
            if self._ours():
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            self.listener.close()
            self.listener = None

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            found = self.children.pop(pid, None)
            if found is not None:
                conn, rid = found
                usage = [ru.ru_utime, ru.ru_stime, ru.ru_maxrss, ru.ru_oublock]
                with contextlib.suppress(OSError):  # its gatekit went away
                    _send(conn, {"id": rid, "status": status, "ru": usage})


def main() -> None:
    server = _Server(sys.argv[1:])
    try:
        server.serve()
    finally:
        server._retire()


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return -1


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _bind(path: str) -> socket.socket:
    """A listening socket at ``path``, bound beside it and renamed over whatever is there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    temp = f"{path}.{os.getpid()}"
    with contextlib.suppress(OSError):
        os.unlink(temp)
    sock.bind(temp)
    sock.listen(16)
    os.rename(temp, path)
    return sock


def _import(module: str) -> None:
    with contextlib.suppress(BaseException):  # the child imports it again, failing as the hook
        importlib.import_module(module)
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()  # the children share these pages instead of copying them on collection


def _receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if not data:
        return None, list(fds)
    request: dict[str, Any] = json.loads(data)
    return request, list(fds)


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode())


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _enter(spec: dict[str, Any]) -> None:
    """The gate's cgroups, namespaces, view and rlimits, as the view's shell sets them."""
    os.setsid()  # its own process group, as gatekit starts every command
    for procs in spec["cgroups"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    view = spec["view"]
    _check(_libc.unshare(CLONE_NEWNS | (CLONE_NEWNET if spec["network"] else 0)), "unshare")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "private mounts")
    lower = view["lower"].encode()
    options = "lowerdir={},upperdir={},workdir={}{}".format(
        view["lower"], view["upper"], view["work"], view["options"]
    )
    _check(_libc.mount(b"overlay", lower, b"overlay", 0, options.encode()), "mount the view")
    os.chdir(spec["cwd"])
    if "umask" in spec:  # gatekit's, not the one of the process that started the server
        os.umask(spec["umask"])
    for name, soft, hard in spec["rlimits"]:
        kind = getattr(resource, "RLIMIT_" + name.upper())
        resource.setrlimit(kind, (soft, hard))


def _child(fds: list[int], inherited: tuple[int, ...]) -> None:
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in inherited:
            os.close(fd)
        out, spec_fd = fds
        with os.fdopen(spec_fd, "rb") as f:
            spec = json.loads(f.read())
        try:
            _enter(spec)
        except OSError as exc:
            os.write(out, f"gatekit: cannot enter the gate's view: {exc}\n".encode())
            os._exit(SETUP_FAILED)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in (null, out):
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(spec["env"])
        tempfile = sys.modules.get("tempfile")
        if tempfile is not None:
            tempfile.tempdir = None  # type: ignore[attr-defined]  # the gate's TMPDIR, not one the server's imports found
        sys.argv = list(spec["argv"])
        module, _, attr = spec["entry"].partition(":")
        target: object = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
        code = _exit_code(target())  # type: ignore[operator]
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    _finish(code)


def _exit_code(value: object) -> int:
    """What ``sys.exit(value)`` would exit with."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    import atexit

    try:
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
