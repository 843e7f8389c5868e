"""What a gate's process tree uses now, read from ``/proc`` (Linux).

The tree is the command's leader and its descendants, found through the
kernel's ``children`` lists, plus members of the leader's process group that
were re-parented to gatekit (its child subreaper, see :mod:`gatekit.run.escapes`)
after their parent exited. Memory is the sum of the members' resident set
sizes (pages shared between members count once per member: a little more than
a cgroup would charge). CPU is the members' own and their reaped children's
user and system time, so work of processes that already exited still counts.
"""

from __future__ import annotations

import os
from pathlib import Path

from gatekit.lazyclass import dataclass

_PROC = Path("/proc")
_TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class TreeSample:
    rss: int  # bytes
    cpu_user: float  # seconds
    cpu_system: float
    processes: int  # live (non-zombie) members
    hwm: int = 0  # bytes: the largest resident high-water mark of one member
    members: tuple[tuple[int, str, int], ...] = ()  # (pid, command name, rss) of the live ones


@dataclass(frozen=True)
class _Stat:
    state: str
    ppid: int
    pgrp: int
    user: float
    system: float
    rss: int
    comm: str = ""


def available() -> bool:
    return (_PROC / "self" / "stat").exists()


def _stat(pid: int) -> _Stat | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    f = text[text.rfind(")") + 2 :].split()
    if len(f) < 22:
        return None
    user = (int(f[11]) + int(f[13])) / _TICK
    system = (int(f[12]) + int(f[14])) / _TICK
    comm = text[text.find("(") + 1 : text.rfind(")")]
    return _Stat(f[0], int(f[1]), int(f[2]), user, system, int(f[21]) * _PAGE, comm)


def thread_cpu() -> tuple[float, float] | None:
    """CPU seconds (user, system) of the calling thread, where the system tells."""
    import resource

    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:
        return None
    ru = resource.getrusage(who)
    return ru.ru_utime, ru.ru_stime


def vm_hwm(pid: int | str) -> int:
    """Peak resident memory of one process since its last exec (bytes; 0 when gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def children(pid: int | str) -> list[int]:
    """The children of process ``pid`` (``"self"``: gatekit's own), from every thread's
    ``children`` list (plain ``open``: read after and during every command)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                out.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def sample_tree(leader: int) -> TreeSample:
    """The tree of ``leader`` as it is now (all zeros once it is gone)."""
    roots = [leader]
    for pid in children(os.getpid()):  # orphans of the tree re-parented to gatekit
        if pid != leader:
            st = _stat(pid)
            if st is not None and st.pgrp == leader:
                roots.append(pid)
    seen: set[int] = set()
    rss = processes = hwm = 0
    members: list[tuple[int, str, int]] = []
    user = system = 0.0
    stack = roots
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        st = _stat(pid)
        if st is None:
            continue
        user += st.user
        system += st.system
        if st.state not in ("Z", "X"):
            processes += 1
            rss += st.rss
            hwm = max(hwm, vm_hwm(pid))
            members.append((pid, st.comm, st.rss))
        stack.extend(children(pid))
    return TreeSample(rss, user, system, processes, hwm, tuple(members))


def describe(sample: TreeSample, shown: int = 5) -> str:
    """``python3 (pid 4242) 312.0 MiB, sh (pid 4240) 1.2 MiB; 40 x sleep``: the largest
    members and the most frequent command names (names only, never arguments)."""
    from collections import Counter

    from gatekit.config.sizes import format_size

    top = sorted(sample.members, key=lambda m: -m[2])[:shown]
    parts = [f"{comm} (pid {pid}) {format_size(rss)}" for pid, comm, rss in top]
    names = Counter(comm for _, comm, _ in sample.members).most_common(3)
    counts = ", ".join(f"{n} x {comm}" for comm, n in names if n > 1)
    return ", ".join(parts) + (f"; {counts}" if counts else "")


def written_bytes(paths: list[Path], since: float) -> int:
    """Apparent size of the regular files under ``paths`` modified at or after ``since``
    (a shadow's .git excluded): what a gate started at ``since`` wrote there."""
    total = 0
    stack = [str(p) for p in paths]
    while stack:
        top = stack.pop()
        try:
            entries = os.scandir(top)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name != ".git":
                            stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if st.st_mtime >= since:
                            total += st.st_size
                except OSError:
                    continue
    return total


def umask() -> int:
    """This process's umask, read without changing it (``os.umask`` sets one to read it,
    which another thread's files would get meanwhile)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
