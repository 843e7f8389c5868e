"""Facts about processes from ``/proc``: alive or dead (by pid *and* start time), command
lines, process trees, and stopping a set of processes for sure.

A pid alone says little: after a crash the number may belong to another program.
A process is the one we recorded only when its start time (clock ticks since
boot, field 22 of ``/proc/<pid>/stat``) is the recorded one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from gatekit.lazyclass import dataclass

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    pgid: int
    state: str
    comm: str
    start: str
    cpu_ticks: int


def stat(pid: int) -> ProcStat | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or ')': split after the last ')'.
    comm = raw[raw.find("(") + 1 : raw.rfind(")")]
    f = raw[raw.rfind(")") + 2 :].split()
    if len(f) < 20:
        return None
    return ProcStat(pid, int(f[1]), int(f[2]), f[0], comm, f[19], int(f[11]) + int(f[12]))


def hostname() -> str:
    """This machine's name, as ``socket.gethostname()`` gives it, without importing
    :mod:`socket` (~11 M instructions: its enums; every run writes its host)."""
    return os.uname().nodename


def start_time(pid: int) -> str | None:
    st = stat(pid)
    return st.start if st else None


def cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode("utf-8", "replace") for p in raw.split(b"\0") if p]


def exists(pid: int) -> bool:
    """A process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    st = stat(pid)
    return st is None or st.state not in ("Z", "X")


def is_alive(pid: int | None, start: str | None) -> bool:
    """The recorded process (pid and start time) still runs. Unknown start: the pid decides."""
    if not pid or pid <= 0:
        return False
    if not exists(pid):
        return False
    if start is None:
        return True
    now = start_time(pid)
    return now is None or now == start


def describe(pid: int | None, start: str | None) -> str:
    """'alive', 'dead', or 'reused' (the pid now belongs to another program)."""
    if not pid or not exists(pid):
        return "dead"
    if start is not None and start_time(pid) not in (None, start):
        return "reused"
    return "alive"


def all_pids() -> list[int]:
    try:
        return [int(n) for n in os.listdir(PROC) if n.isdigit()]
    except OSError:
        return []


def carrying(var: str, value: str, *, prefix: bool = False) -> list[int]:
    """Processes whose environment has ``var=value`` (``prefix``: a value starting so);
    only processes whose environment we may read."""
    needle = f"{var}={value}".encode()
    me = os.getpid()
    found = []
    for pid in all_pids():
        if pid == me:
            continue
        try:
            env = (PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue
        items = env.split(b"\0")
        if any(item.startswith(needle) if prefix else item == needle for item in items):
            st = stat(pid)
            if st is not None and st.state not in ("Z", "X"):
                found.append(pid)
    return sorted(found)


def group_members(pgid: int) -> list[int]:
    return sorted(
        st.pid
        for st in map(stat, all_pids())
        if st is not None and st.pgid == pgid and st.state not in ("Z", "X")
    )


def descendants(roots: list[int]) -> list[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for st in map(stat, all_pids()):
        if st is not None:
            children.setdefault(st.ppid, []).append(st.pid)
    out: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in out:
            continue
        out.append(pid)
        stack.extend(children.get(pid, ()))
    return sorted(out)


def stop_all(pids: list[int], grace: float) -> list[int]:
    """SIGTERM each process (its whole group when it leads one), wait ``grace`` seconds,
    SIGKILL what is left, and wait until all are confirmed gone. Returns the ones still
    alive at the end (normally none)."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    left = _wait_gone(pids, grace)
    for pid in left:
        _signal(pid, signal.SIGKILL)
    return _wait_gone(left, 2.0)


def _wait_gone(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    left = [p for p in pids if exists(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if exists(p)]
    return left


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
