"""A forked worker: become the client's process, run ``gatekit.cli.main``, answer its exit code.

The worker takes over what makes a process "the client's": fds 0, 1, 2 (sent
over the socket) with fresh ``sys.std*`` text wrappers (line-buffered on a
terminal, as Python does), the working directory, the whole environment, the
umask, ``sys.argv``, Python's default signal handlers, and the caches that
libraries compute from the environment (libgit2's config search path, the
temporary directory, the time zone, the locale). Then it runs the command and
exits with ``os._exit``, never returning into the server's loop.
"""

from __future__ import annotations

import contextlib
import io
import locale
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TextIO

from gatekit import afterwards
from gatekit.daemon import protocol
from gatekit.operator import clientwatch, runfile

# The server's own std streams: kept referenced, or collecting them would close fds 0-2.
_REPLACED: list[object] = []


def standby(channel: socket.socket) -> NoReturn:
    """The spare: wait for the server to hand over a request, then serve it; never returns.

    The server sends the request with four fds: the client's 0, 1, 2 and the connection.
    End of stream (the server stops, or the spare is not needed) exits quietly.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's handler
    try:
        request, fds = protocol.receive(channel, maxfds=protocol.FDS + 1)
    except (OSError, ValueError):
        request, fds = None, []
    finally:
        channel.close()
    if request is None or len(fds) != protocol.FDS + 1:
        for fd in fds:
            _close(fd)
        _exit(0)
    conn = socket.socket(fileno=fds[-1])
    serve(conn, request, fds[: protocol.FDS])


def serve(conn: socket.socket, request: Mapping[str, Any], fds: Sequence[int]) -> NoReturn:
    """Run the request in this (forked) process; never returns."""
    code = 1
    try:
        try:
            _become_client(request, fds)
        except Exception as exc:
            _answer(conn, {"ok": False, "reason": f"worker setup failed: {exc}"})
            _exit(1)
        if not _answer(conn, {"ok": True, "pid": os.getpid()}):
            _exit(1)  # the client gave up waiting: it runs the check itself
        _own_runs_for_client(conn)
        afterwards.enable()
        code = _run(list(request["argv"]))
        clientwatch.done()
        _flush()
        _answer(conn, {"exit_code": code})
        _release_client(conn)
        afterwards.run_deferred()
    finally:
        _exit(code)


def _own_runs_for_client(conn: socket.socket) -> None:
    """The client owns the runs this worker starts; its death stops them (clientwatch)."""
    pid = clientwatch.peer_pid(conn)
    if pid is not None:
        runfile.set_client(pid)
    clientwatch.watch(conn, pid)


def _release_client(conn: socket.socket) -> None:
    """Let go of everything of the client's (its stdio may be a pipe read to the end)."""
    with contextlib.suppress(OSError):
        conn.close()
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        if null > 2:
            os.close(null)


def _exit(code: int) -> NoReturn:
    os._exit(code & 0xFF if code >= 0 else 1)


def _answer(conn: socket.socket, message: Mapping[str, Any]) -> bool:
    try:
        protocol.send(conn, message)
    except OSError:
        return False
    return True


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _become_client(request: Mapping[str, Any], fds: Sequence[int]) -> None:
    _default_signals()
    stdio = request.get("stdio") or [None, None, None]
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)  # inheritable, as a process's std fds are
    for fd in fds:
        if fd > 2:
            _close(fd)
    _rebuild_stdio(stdio, unbuffered=bool(request["env"].get("PYTHONUNBUFFERED")))
    os.chdir(str(request["cwd"]))
    _set_environ(request["env"])
    os.umask(int(request["umask"]))
    sys.argv = [str(request.get("argv0") or "gatekit"), *map(str, request["argv"])]


def _default_signals() -> None:
    """What a fresh Python process starts with (the server ignores or catches some)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Python ignores it; subprocess restores it


def _rebuild_stdio(stdio: Sequence[Any], unbuffered: bool) -> None:
    streams = (sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__)
    for old in streams:
        if old is not None:
            with contextlib.suppress(OSError, ValueError):
                old.flush()
    _REPLACED.extend(streams)
    sys.stdin = _text(0, "r", stdio[0])
    sys.stdout = _text(1, "w", stdio[1], unbuffered=unbuffered)
    sys.stderr = _text(2, "w", stdio[2], errors="backslashreplace", unbuffered=unbuffered)
    # shutil.get_terminal_size() and friends look at the originals.
    setattr(sys, "__stdin__", sys.stdin)  # noqa: B010 (typed Final)
    setattr(sys, "__stdout__", sys.stdout)  # noqa: B010
    setattr(sys, "__stderr__", sys.stderr)  # noqa: B010


def _text(
    fd: int, mode: str, info: Any, errors: str = "strict", unbuffered: bool = False
) -> TextIO:
    encoding = "utf-8"
    if isinstance(info, list) and len(info) == 2:
        encoding, errors = str(info[0]), str(info[1])
    try:
        tty = os.isatty(fd)
    except OSError:
        tty = False
    # As CPython: stdout line-buffered on a terminal only, stderr always line-buffered.
    line = mode == "w" and (tty or fd == 2)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered: io.BufferedReader | io.BufferedWriter
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=encoding,
        errors=errors,
        newline="\n",
        line_buffering=line,
        write_through=unbuffered and mode == "w",  # PYTHONUNBUFFERED, as python -u
    )


def _set_environ(env: Mapping[str, str]) -> None:
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    tempfile.tempdir = None  # recomputed from TMPDIR on first use
    if "pygit2" in sys.modules:
        _reset_git_search_paths()


def _reset_git_search_paths() -> None:
    """libgit2 read HOME and XDG_CONFIG_HOME when the server imported it: read them again."""
    import pygit2
    from pygit2.enums import ConfigLevel

    for level in (ConfigLevel.SYSTEM, ConfigLevel.XDG, ConfigLevel.GLOBAL):
        with contextlib.suppress(Exception):  # pygit2.GitError: a libgit2 without that level
            pygit2.settings.search_path[level] = None  # type: ignore[assignment]


def _run(argv: list[str]) -> int:
    from gatekit.cli import main, pause_collector

    if argv[:1] == ["check"]:
        pause_collector()
    try:
        return int(main(argv, use_daemon=False))
    except SystemExit as exc:
        return _status(exc.code)
    except KeyboardInterrupt:
        print("gatekit: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        traceback.print_exc()
        return 1


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
