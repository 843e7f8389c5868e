"""Where the daemon lives and how client and server talk (standard library only).

One server per user: ``$XDG_RUNTIME_DIR/gatekit-<uid>/daemon.sock``, or
``/tmp/gatekit-<uid>/daemon.sock`` without ``XDG_RUNTIME_DIR``. The directory
must be a real directory (not a symlink), owned by the user, mode 0700:
anything else is refused, by the server and by the client.

Messages are dicts of plain values (str, int, bool, None, lists and dicts of
them) serialised with :mod:`marshal` (built into the interpreter: the client
imports nothing to speak it; both ends run the same Python, which the server
checks, and the server reads only from a peer with the user's own uid), each
framed by its length (4 bytes, big endian).
The client's first message may carry file descriptors (SCM_RIGHTS) with its
length prefix. A check goes:

1. client -> server: ``{"op": "check", argv, cwd, env, umask, version, ...}``
   with the client's fds 0, 1 and 2;
2. the worker (forked for the request) -> client: ``{"ok": true, "pid": N}``
   once it has become the client's process, or ``{"ok": false, "reason": ...}``
   (from the server: stale, version mismatch) and the client runs in-process;
3. worker -> client: ``{"exit_code": N}``.

``status`` and ``stop`` are one request and one answer each.
"""

from __future__ import annotations

import _socket  # socket.py would import selectors: the client path does without
import marshal
import os
import stat
import sys

from gatekit.daemon.paths import SOCKET_NAME as SOCKET_NAME
from gatekit.daemon.paths import connect_unix as connect_unix
from gatekit.daemon.paths import socket_dir as socket_dir
from gatekit.daemon.paths import socket_path as socket_path

TYPE_CHECKING = False  # typing costs milliseconds the client path does not spend
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

PROTOCOL = 2
LOG_NAME = "daemon.log"
LOCK_NAME = "daemon.lock"
MAX_MESSAGE = 64 * 1024 * 1024
FDS = 3  # stdin, stdout, stderr
_INT = 4  # bytes of a C int: an fd in SCM_RIGHTS (array.array("i") would cost an import)


def dir_problem(directory: str) -> str | None:
    """Why ``directory`` must not be used (None: it is the user's own, mode 0700)."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return "it does not exist"
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory (a symlink or a file)"
    if st.st_uid != os.getuid():
        return f"it is owned by uid {st.st_uid}, not by you (uid {os.getuid()})"
    mode = stat.S_IMODE(st.st_mode)
    if mode != 0o700:
        return f"its mode is {mode:04o}, not 0700"
    return None


def encode(message: Mapping[str, Any]) -> bytes:
    body = marshal.dumps(dict(message))
    return len(body).to_bytes(4, "big") + body


def send(sock: _socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
    """One framed message; ``fds`` travel with its length prefix (as socket.send_fds)."""
    data = encode(message)
    if fds:
        packed = b"".join(fd.to_bytes(_INT, sys.byteorder, signed=True) for fd in fds)
        rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, packed)
        sent = sock.sendmsg([data[:4]], [rights])
        data = data[sent:]
    sock.sendall(data)


def receive(sock: _socket.socket, maxfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """The next message (None at end of stream) and the fds that came with it.

    The fds are the caller's to close, even when this raises ValueError (bad
    message) or OSError.
    """
    fds: list[int] = []
    if maxfds:
        flags = getattr(_socket, "MSG_CMSG_CLOEXEC", 0)
        head, ancillary, _flags, _addr = sock.recvmsg(4, _socket.CMSG_LEN(maxfds * _INT), flags)
        for level, kind, data in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                whole = len(data) - len(data) % _INT
                fds.extend(
                    int.from_bytes(data[i : i + _INT], sys.byteorder, signed=True)
                    for i in range(0, whole, _INT)
                )
    else:
        head = sock.recv(4)
    if not head:
        return None, fds
    head += _exactly(sock, 4 - len(head))
    size = int.from_bytes(head, "big")
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes refused")
    try:
        message = marshal.loads(_exactly(sock, size))
    except (EOFError, TypeError) as exc:  # marshal's words for a broken message
        raise ValueError(f"unreadable message: {exc}") from None
    if not isinstance(message, dict):
        raise ValueError("a message must be a dict")
    return message, fds


def _exactly(sock: _socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed in the middle of a message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def interpreter() -> list[object]:
    """The environment this process runs in (a venv's prefix and Python's version)."""
    return [sys.prefix, sys.hexversion]


def package_dir() -> str:
    """The gatekit package this process runs (client and server must run the same)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
