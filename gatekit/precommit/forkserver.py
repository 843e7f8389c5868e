"""Python hooks started by a fork server instead of a new interpreter each.

Every command of a ``language: python`` hook is a new interpreter in the hook's
environment, which starts, imports the hook's modules and only then looks at the
files: for one staged file that is nearly all of its time. Where gatekit runs as
root with overlay views, the gates of one run whose hooks share an environment get
their commands from one fork server (``_forkserver/server.py``, run by that
environment's interpreter): it imports the modules of those hooks once, and forks a
child per command that enters the gate's cgroups, namespaces and view itself and
calls the console script's entry point (see the server's docstring).

A hook qualifies when its entry names a console script of its environment
(``[console_scripts]`` of an installed distribution); any other hook, and any gate
whose command needs what only the shell wrapper does (CPU affinity, a user
namespace), starts as before. The server lives as long as the run's hook source.
"""

from __future__ import annotations

import array
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from gatekit.lazyclass import dataclass
from gatekit.operator.runfile import RUN_VAR
from gatekit.run.proc import SpawnLost, Usage

SERVER = Path(__file__).with_name("_forkserver") / "server.py"
START_TIMEOUT = 30.0  # seconds for the server to fork a child (its imports come first)
SERVER_GONE = 125  # a child whose server went away before it reported the end
_GONE = "the fork server went away"
LASTING_IDLE = 600.0  # seconds a daemon's lasting server waits for the next run
# Set in a daemon's workers: where lasting servers listen (one per environment), so
# that a check finds its hooks' interpreters started and their modules imported.
LASTING_DIR: Path | None = None
LASTING_WITH: Path | None = None  # the daemon's socket: its servers end when it goes
_LAUNCHED: list[subprocess.Popen[bytes]] = []  # lasting servers this process started


@dataclass(frozen=True)
class Entry:
    """A console script of a hook environment: run as ``module:function``."""

    python: Path
    bindir: Path
    script: Path
    target: str  # module:function


_scripts: dict[tuple[str, int], dict[str, str]] = {}
_scripts_lock = threading.Lock()


def console_scripts(envdir: Path) -> dict[str, str]:
    """script name -> ``module:function`` of the distributions installed in ``envdir``,
    read once per version of its site-packages."""
    found: dict[str, str] = {}
    for site in sorted(envdir.glob("lib/python*/site-packages")):
        try:
            version = site.stat().st_mtime_ns
        except OSError:
            continue
        key = (str(site), version)
        with _scripts_lock:
            known = _scripts.get(key)
        if known is None:
            known = {}
            for points in sorted(site.glob("*.dist-info/entry_points.txt")):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    known.update(_parse_console_scripts(points.read_text(encoding="utf-8")))
            with _scripts_lock:
                _scripts[key] = known
        found.update(known)
    return found


def _parse_console_scripts(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section != "console_scripts" or "=" not in line:
            continue
        name, _, value = line.partition("=")
        target = value.split("[", 1)[0].strip()  # extras do not change what runs
        if ":" in target:
            found_module, _, attr = target.partition(":")
            if found_module.strip() and attr.strip():
                out[name.strip()] = f"{found_module.strip()}:{attr.strip()}"
    return out


def entry_for(envdir: Path | None, argv: Sequence[str]) -> Entry | None:
    """The console script ``argv`` starts in ``envdir``, if it is one."""
    if envdir is None or not argv or "/" in argv[0]:
        return None
    bindir = envdir / "bin"
    script, python = bindir / argv[0], bindir / "python"
    target = console_scripts(envdir).get(argv[0])
    if target is None or not script.is_file() or not python.exists():
        return None
    return Entry(python, bindir, script, target)


class ServerChild:
    """One command forked by the server: what :func:`gatekit.run.proc.run_process` waits on."""

    def __init__(self, stdout: IO[bytes]) -> None:
        self._stdout: IO[bytes] | None = stdout
        self.pid = 0
        self.returncode: int | None = None
        self.usage: Usage | None = None
        self.error: str | None = None
        self.started = threading.Event()
        self.ended = threading.Event()
        self.cancelled = False  # given up on before it started: killed if it does

    @property
    def stdout(self) -> IO[bytes] | None:
        return self._stdout

    def reap(self, block: bool) -> Usage | None:
        if block:
            self.ended.wait()
        return self.usage

    def wait(self) -> int:
        self.ended.wait()
        return SERVER_GONE if self.returncode is None else self.returncode

    def _end(self, returncode: int, usage: Usage | None) -> None:
        self.usage = usage
        self.returncode = returncode
        self.ended.set()


class ForkServer:
    """A connection to a server process, and the children it forked for it, by request id:
    a server of the run's own (:meth:`start`), or a lasting one of the daemon's
    (:meth:`lasting`)."""

    def __init__(self, sock: socket.socket, proc: subprocess.Popen[bytes] | None) -> None:
        self._sock = sock
        self._proc = proc  # None: a lasting server, not this run's to end
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._children: dict[int, ServerChild] = {}
        self._gone = False
        self._reader = threading.Thread(target=self._read, name="gatekit-forkserver", daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls, entry: Entry, preload: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path
    ) -> ForkServer:
        """A server of this run's, on a socket pair: it ends when the run closes it."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [str(entry.python), str(SERVER), str(theirs.fileno()), str(entry.bindir)]
        try:
            proc = _launch([*argv, *preload], cwd, env, log, (theirs.fileno(),))
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        return cls(ours, proc)

    @classmethod
    def lasting(
        cls, entry: Entry, preload: Sequence[str], env: Mapping[str, str], path: Path
    ) -> ForkServer:
        """A connection to the lasting server listening at ``path``, started (in ``env``,
        its HOME its cwd, its log beside the socket) when none answers there. It ends
        after :data:`LASTING_IDLE` seconds without a connection, or once the environment
        changed under it (it refuses, and the next run starts a new one), or when
        :data:`LASTING_WITH` is gone (the daemon stopped)."""
        sock = _connect(path)
        if sock is None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # as private as the daemon's
            home = Path(env["HOME"])
            home.mkdir(parents=True, exist_ok=True)
            watched = os.pathsep.join([str(p) for p in _watched(entry)])
            argv = [str(entry.python), str(SERVER), "--listen", str(path), str(LASTING_IDLE)]
            tail = [watched, str(LASTING_WITH or ""), str(entry.bindir), *preload]
            _LAUNCHED.append(_launch([*argv, *tail], home, env, path.with_suffix(".log")))
            sock = _connect(path, wait=START_TIMEOUT)
            if sock is None:
                raise OSError(f"no fork server answers at {path}")
        else:
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"preload": list(preload)}).encode())
        return cls(sock, None)

    def spawn(self, spec: dict[str, Any]) -> ServerChild:
        """Fork a child for ``spec``; OSError when it cannot."""
        spec_read = _spec_pipe(json.dumps(spec, sort_keys=True).encode())
        read_end, write_end = os.pipe()
        child = ServerChild(os.fdopen(read_end, "rb", buffering=0))
        rid = next(self._ids)
        try:
            with self._lock:
                if self._gone:
                    _close(child)
                    raise OSError("the fork server is gone")
                self._children[rid] = child
            try:
                message = json.dumps({"id": rid}).encode()
                fds = array.array("i", [write_end, spec_read])
                self._sock.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            except OSError:
                self._forget(rid)
                _close(child)
                raise
        finally:
            os.close(write_end)
            os.close(spec_read)
        if not child.started.wait(START_TIMEOUT) or child.error is not None:
            child.cancelled = True
            self._forget(rid)
            _close(child)
            if child.error == _GONE:  # asked, then gone before it answered: it may have
                # forked the command (which may have killed it), so it does not start again
                raise SpawnLost(f"{_GONE} before it said it had started the command", SERVER_GONE)
            raise OSError(child.error or "the fork server did not start the command")
        return child

    def _forget(self, rid: int) -> None:
        with self._lock:
            self._children.pop(rid, None)

    def _read(self) -> None:
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._lock:
                child = self._children.get(message["id"])
                if child is not None and ("error" in message or "status" in message):
                    del self._children[message["id"]]
            if child is None and "pid" in message:  # given up on and forgotten: kill it
                with contextlib.suppress(OSError):
                    os.killpg(int(message["pid"]), signal.SIGKILL)
            if child is None:
                continue
            if "pid" in message:
                child.pid = int(message["pid"])
                child.started.set()
                if child.cancelled:  # too late: the command runs as it would without us
                    with contextlib.suppress(OSError):
                        os.killpg(child.pid, signal.SIGKILL)
            elif "error" in message:
                child.error = str(message["error"])
                child.started.set()
            else:
                utime, stime, maxrss, oublock = message["ru"]
                usage = Usage(float(utime), float(stime), int(maxrss) * 1024, int(oublock) * 512)
                child._end(os.waitstatus_to_exitcode(int(message["status"])), usage)
        with self._lock:  # the server went away: nothing more will be reported
            self._gone = True
            left, self._children = list(self._children.values()), {}
        for child in left:
            child.error = child.error or _GONE
            child.started.set()
            child._end(SERVER_GONE, None)

    def close(self) -> None:
        """Close the connection: a run's own server exits then (its children are the
        gates'), a lasting one serves the next run."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=5)


def _launch(
    argv: list[str], cwd: Path, env: Mapping[str, str], log: Path, fds: tuple[int, ...] = ()
) -> subprocess.Popen[bytes]:
    """A server process in a session of its own, its output appended to ``log``."""
    with open(log, "ab") as err:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            pass_fds=fds,
            start_new_session=True,
        )


def _connect(path: Path, wait: float = 0.0) -> socket.socket | None:
    """A connection to the server at ``path``, trying for ``wait`` seconds; None if none."""
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.002)


def _watched(entry: Entry) -> list[Path]:
    """What changes when the environment is built again or a package is added to it."""
    envdir = entry.bindir.parent
    return [
        entry.bindir,
        envdir / ".install_state_v2",
        *sorted(envdir.glob("lib/python*/site-packages")),
    ]


def lasting_path(top: Path, entry: Entry, env: Mapping[str, str]) -> Path:
    """Where the lasting server of this interpreter and environment listens (under
    ``top``): its name digests both, and this server script's version."""
    import hashlib

    st = SERVER.stat()
    key = json.dumps(
        [str(entry.python), sorted(env.items()), st.st_mtime_ns, st.st_size], sort_keys=True
    )
    return top / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.sock"


def _spec_pipe(data: bytes) -> int:
    """The read end of a pipe that holds ``data`` whole (grown to fit it)."""
    read_end, write_end = os.pipe()
    try:
        if len(data) >= 65536:
            import fcntl

            fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), len(data) + 1)
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
    except OSError:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end


def _close(child: ServerChild) -> None:
    if child.stdout is not None:
        child.stdout.close()


class ServerPool:
    """A run's fork servers: one per hook environment, started at its first command.
    A server that cannot start is not tried again in the run (its hooks start as before)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[Path, ForkServer | None] = {}

    def has(self, entry: Entry) -> bool:
        with self._lock:
            return entry.python in self._servers

    def server_for(
        self,
        entry: Entry,
        preload: Callable[[], Sequence[str]],
        env: Mapping[str, str],
        scratch: Path,
    ) -> ForkServer | None:
        """The server of ``entry``'s environment, started (importing ``preload()`` first,
        in ``env``, its log and cwd under ``scratch``) if it is not yet; None where it
        could not start."""
        with self._lock:
            if entry.python not in self._servers:
                try:
                    self._servers[entry.python] = _server(entry, preload(), env, scratch)
                except OSError:
                    self._servers[entry.python] = None
            return self._servers[entry.python]

    def starter(
        self,
        entry: Entry,
        argv: Sequence[str],
        preload: Callable[[], Sequence[str]],
        env: Mapping[str, str],
        scratch: Path,
    ) -> Callable[[dict[str, Any]], ServerChild] | None:
        """What starts ``argv`` (``entry``'s script and its arguments) from a gate's spec,
        or None where the environment's server could not start (see :meth:`server_for`)."""
        server = self.server_for(entry, preload, env, scratch)
        if server is None:
            return None
        args = [str(entry.script), *argv[1:]]  # sys.argv as the console script would see it

        def start(spec: dict[str, Any]) -> ServerChild:
            return server.spawn({**spec, "argv": args, "entry": entry.target})

        return start

    def close(self) -> None:
        with self._lock:
            servers, self._servers = [s for s in self._servers.values() if s], {}
        for server in servers:
            server.close()


def _server(
    entry: Entry, preload: Sequence[str], env: Mapping[str, str], scratch: Path
) -> ForkServer:
    """A daemon's lasting server (see :data:`LASTING_DIR`) where its socket's path fits,
    else one of the run's own."""
    if LASTING_DIR is not None:  # nothing of the run: it serves the runs after it too
        plain = {k: v for k, v in env.items() if k not in ("HOME", "TMPDIR", RUN_VAR)}
        path = lasting_path(LASTING_DIR, entry, plain)
        if len(str(path)) < 100:  # AF_UNIX paths hold 107 bytes
            home = path.with_suffix(".home")
            return ForkServer.lasting(
                entry, preload, {**plain, "HOME": str(home), "TMPDIR": str(home)}, path
            )
    home = Path(env.get("HOME") or scratch)
    home.mkdir(parents=True, exist_ok=True)
    Path(env.get("TMPDIR") or home).mkdir(parents=True, exist_ok=True)
    log = scratch / f"forkserver-{len(list(scratch.glob('forkserver-*.log'))) + 1}.log"
    return ForkServer.start(entry, preload, env, home, log)
