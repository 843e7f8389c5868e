"""In a daemon worker: notice at once when the client (the user's ``gatekit check``) dies.

The client keeps its connection to the worker open until it gets the exit code,
and never writes to it after the request. So the connection becoming readable
means the client is gone (SIGKILL, a closed terminal). The worker then stops its
own run as Ctrl-C would (SIGTERM to itself: every gate's process group gets
TERM, grace, KILL), and the run is marked ``crashed``: no gate goes on running
for a caller that is gone.
"""

from __future__ import annotations

import os
import select
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a worker has it imported; an in-process check asks client_gone() only
    import socket

_gone = threading.Event()
_done = threading.Event()
_why = ""


def client_gone() -> bool:
    return _gone.is_set()


def why() -> str:
    return _why


def watch(conn: socket.socket, client_pid: int | None) -> None:
    """Start watching ``conn`` (daemon thread); :func:`done` stops it."""
    thread = threading.Thread(
        target=_loop, args=(conn, client_pid), name="gatekit-client-watch", daemon=True
    )
    thread.start()


def done() -> None:
    _done.set()


def _loop(conn: socket.socket, client_pid: int | None) -> None:
    import socket

    global _why
    fd = conn.fileno()
    while not _done.is_set():
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
        except (OSError, ValueError):
            return
        if not ready or _done.is_set():
            continue
        try:
            data = conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            return  # the client wrote (it never does): not an end of stream; stop watching
        _why = f"the client of the daemon (pid {client_pid}) went away"
        _gone.set()
        os.kill(os.getpid(), signal.SIGTERM)
        return


def peer_pid(conn: socket.socket) -> int | None:
    """The pid of the process at the other end of a unix socket (Linux), else None."""
    import socket

    if not hasattr(socket, "SO_PEERCRED"):
        return None
    import struct

    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    pid = struct.unpack("3i", creds)[0]
    return pid if pid > 0 else None
