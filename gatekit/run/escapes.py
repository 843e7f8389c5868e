"""Processes that left their gate's process group with ``setsid()``: found and stopped.

A gate's command runs in its own process group, and the runner kills that
group. A descendant that calls ``setsid()`` (a daemonising test server, say)
leaves the group and would outlive the gate. So, on Linux:

- the gatekit process becomes a *child subreaper* (``prctl``): a process whose
  parent dies is re-parented to gatekit instead of to init, so every orphan of
  a gate ends up as one of gatekit's own children;
- every command of a gate carries ``GATEKIT_GATE_RUN=<token>`` in its
  environment (inherited by everything it starts);
- when the command has ended, gatekit's children whose environment holds that
  token get SIGTERM (their whole group), then SIGKILL after the grace period,
  and are reaped.

Only processes carrying the token are touched: never another gate's command,
never a process gatekit started for itself. A process that dropped the
variable from its environment, or whose parent is still alive elsewhere, is
not found. Where ``prctl`` is not available nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes  # at import: a daemon's worker finds it loaded (importing it costs ~4 ms)
import os
import signal
import sys
import time

from gatekit.run import usage

TOKEN_VAR = "GATEKIT_GATE_RUN"
_PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def become_subreaper() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux); whether it is."""
    global _subreaper
    if _subreaper:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def new_token() -> str:
    """A token for one command of one gate (never part of hashed content)."""
    return os.urandom(8).hex()


def sweep(token: str, grace: float) -> list[int]:
    """Stop this process's children that carry ``token`` (and their groups); their pids."""
    if not _subreaper:
        return []
    found = [pid for pid in usage.children("self") if _carries(pid, token)]
    if not found:
        return []
    for pid in found:
        _signal_tree(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = list(found)
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not _reaped(pid)]
        if left:
            time.sleep(0.02)
    for pid in left:
        _signal_tree(pid, signal.SIGKILL)
    deadline = time.monotonic() + 1.0  # SIGKILL is prompt unless a process sits in the kernel
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if not _reaped(pid)]
        if left:
            time.sleep(0.01)
    return found


def _carries(pid: int, token: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
    except OSError:
        return False  # gone, or a zombie: nothing to stop
    return f"{TOKEN_VAR}={token}".encode() in environ.split(b"\0")


def _signal_tree(pid: int, sig: signal.Signals) -> None:
    """``sig`` to the group ``pid`` leads (after setsid it leads one), else to ``pid``."""
    try:
        pgid = os.getpgid(pid)
    except OSError:
        return
    with contextlib.suppress(OSError):
        if pgid == pid:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid
