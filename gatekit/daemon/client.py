"""The client: ``gatekit check`` through a running daemon, and the control requests.

Standard library only, and cheap: it runs before gatekit imports anything else.
Whatever goes wrong before the server accepted the request (no socket, a
directory that is not private, refused, stale server, another version) makes
:func:`run_check` return None and the caller runs the check in-process.

Once a worker accepted, the client only waits for its exit code. Ctrl-C and
SIGTERM are forwarded to the worker; the worker stops its gates as a normal
process would and answers 130. SIGHUP (the terminal closed) ends the client at
once (129): the worker sees the connection close, stops the run's gates and
marks the run crashed, as when the client is killed.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal.py: its enums cost more than this module
import _socket  # not socket.py: its imports cost more than this whole module
import os
import sys

from gatekit import __version__
from gatekit.daemon import protocol

TYPE_CHECKING = False  # typing costs milliseconds this path does not spend
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType
    from typing import Any, TextIO

    _Handler = Callable[[int, FrameType | None], Any] | int | None

HANDSHAKE_TIMEOUT = 10.0  # seconds for the server to accept (or refuse) a request
_FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)


def run_check(argv: Sequence[str]) -> int | None:
    """The exit code of ``gatekit <argv>`` run by the daemon; None: run it in-process."""
    directory = protocol.socket_dir(os.environ)
    if protocol.dir_problem(directory) is not None:
        return None
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT)
            protocol.connect_unix(sock, protocol.socket_path(directory))
        except OSError:
            return None
        forwarder = _Forwarder()
        try:
            forwarder.install()
        except ValueError:  # not the main thread: signals cannot be forwarded
            return None
        try:
            return _converse(sock, argv, forwarder)
        finally:
            forwarder.restore()
    finally:
        sock.close()


def _converse(sock: _socket.socket, argv: Sequence[str], forwarder: _Forwarder) -> int | None:
    try:
        protocol.send(sock, check_request(argv), fds=(0, 1, 2))
        reply, _ = protocol.receive(sock)
    except (OSError, ValueError):
        reply = None
    if reply is None or reply.get("ok") is not True or not isinstance(reply.get("pid"), int):
        if forwarder.pending:  # interrupted before anything ran
            print("gatekit: interrupted", file=sys.stderr)
            return 130
        return None
    pid = reply["pid"]
    forwarder.attach(pid)
    try:
        sock.settimeout(None)
        result, _ = protocol.receive(sock)
    except (OSError, ValueError):
        result = None
    code = None if result is None else result.get("exit_code")
    if isinstance(code, int):
        return code
    if forwarder.sent:  # the worker died of the signal we forwarded
        return 128 + forwarder.sent[-1]
    print(
        f"gatekit: error: the daemon's worker (pid {pid}) ended without an exit code; "
        f"see {os.path.join(protocol.socket_dir(os.environ), protocol.LOG_NAME)}",
        file=sys.stderr,
    )
    return 1


def check_request(argv: Sequence[str]) -> dict[str, Any]:
    umask = os.umask(0o077)
    os.umask(umask)
    return {
        "op": "check",
        "protocol": protocol.PROTOCOL,
        "version": __version__,
        "package": protocol.package_dir(),
        "python": protocol.interpreter(),
        "argv0": sys.argv[0] if sys.argv else "gatekit",
        "argv": list(argv),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "stdio": [_stream_info(sys.stdin), _stream_info(sys.stdout), _stream_info(sys.stderr)],
    }


def _stream_info(stream: TextIO | None) -> list[str] | None:
    encoding = getattr(stream, "encoding", None)
    errors = getattr(stream, "errors", None)
    if not isinstance(encoding, str) or not isinstance(errors, str):
        return None
    return [encoding, errors]


class _Forwarder:
    """Signal handlers that pass the signal on to the worker once its pid is known."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
        self.sent: list[int] = []
        self._previous: dict[int, _Handler] = {}

    def install(self) -> None:
        for signum in _FORWARDED:
            self._previous[signum] = _signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            _signal.signal(signum, handler)
        self._previous.clear()

    def attach(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._send(signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == _signal.SIGHUP and self.pid is not None:
            os._exit(128 + signum)  # no one to report to: the worker stops the run
        if self.pid is None:
            self.pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        if self.pid is None:
            return
        target = _signal.SIGTERM if signum == _signal.SIGHUP else signum
        try:
            os.kill(self.pid, target)
        except OSError:
            return
        self.sent.append(target)


def control(directory: str, op: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """Send ``{"op": op}`` to the server in ``directory``; its answer, None if none listens."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        protocol.connect_unix(sock, protocol.socket_path(directory))
        protocol.send(sock, {"op": op, "protocol": protocol.PROTOCOL})
        reply, _ = protocol.receive(sock)
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return reply
