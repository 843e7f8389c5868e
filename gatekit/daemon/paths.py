"""Where the daemon's socket lives: ``os`` only, so that ``gatekit check`` can tell
whether a daemon may be running before it imports anything else."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SOCKET_NAME = "daemon.sock"


def socket_dir(environ: Mapping[str, str]) -> str:
    """``$XDG_RUNTIME_DIR/gatekit-<uid>``, else ``/tmp/gatekit-<uid>`` (relative values ignored)."""
    base = environ.get("XDG_RUNTIME_DIR", "")
    if not os.path.isabs(base):
        base = "/tmp"
    return os.path.join(base, f"gatekit-{os.getuid()}")


def socket_path(directory: str) -> str:
    return os.path.join(directory, SOCKET_NAME)


def may_be_running(environ: Mapping[str, str]) -> bool:
    """A socket exists (the client then checks everything else)."""
    return os.path.exists(socket_path(socket_dir(environ)))
