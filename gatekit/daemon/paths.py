"""Where the daemon's socket lives: ``os`` only, so that ``gatekit check`` can tell
whether a daemon may be running before it imports anything else.

Each installation of gatekit (a pipx one, a project's virtualenv, another project's)
has a socket of its own: a server only serves the gatekit it was started from, so
one shared socket would leave every other installation in-process for ever.
"""

from __future__ import annotations

import os
import sys
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SOCKET_NAME = "daemon.sock"


def installation_id() -> str:
    """Eight hex digits naming this installation: gatekit's package directory and the
    environment (``sys.prefix``) it runs in."""
    package = os.path.dirname(os.path.realpath(__file__))
    key = f"{package}\0{os.path.realpath(sys.prefix)}".encode()
    return f"{zlib.crc32(key):08x}"


def socket_dir(environ: Mapping[str, str]) -> str:
    """``$XDG_RUNTIME_DIR/gatekit-<uid>-<installation>``, else the same under ``/tmp``
    (relative values ignored)."""
    base = environ.get("XDG_RUNTIME_DIR", "")
    if not os.path.isabs(base):
        base = "/tmp"
    return os.path.join(base, f"gatekit-{os.getuid()}-{installation_id()}")


def socket_path(directory: str) -> str:
    return os.path.join(directory, SOCKET_NAME)


def may_be_running(environ: Mapping[str, str]) -> bool:
    """A socket exists (the client then checks everything else)."""
    return os.path.exists(socket_path(socket_dir(environ)))


# sun_path holds 108 bytes with its NUL; a longer path is reached through the directory's fd
_SUN_PATH_MAX = 100


def connect_unix(sock: object, path: str, bind: bool = False) -> None:
    """``sock.connect(path)`` (or ``bind``), also for a path longer than an AF_UNIX address
    holds: then through ``/proc/self/fd/N/NAME`` of the directory, opened for the call."""
    call = sock.bind if bind else sock.connect  # type: ignore[attr-defined]
    if len(path.encode()) <= _SUN_PATH_MAX:
        call(path)
        return
    directory, name = os.path.split(path)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        call(f"/proc/self/fd/{fd}/{name}")
    finally:
        os.close(fd)
