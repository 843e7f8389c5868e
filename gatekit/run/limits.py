"""A gate's resource limits, enforced on its whole process tree.

Two layers, because this machine may not let gatekit create cgroups:

- per process, ``setrlimit``, inherited by every descendant: by the ``ulimit``
  builtin of the shell a gate's view starts the command from, else by util-linux's
  ``prlimit`` (an ``exec`` wrapper, ~3 ms a command; also for the process count, which
  shells set with different flags), and only where ``prlimit`` exists: data segment at twice
  ``limits.memory``, CPU time at ``limits.cpu``, file size at ``limits.disk``,
  open files at ``limits.open_files`` and, for a user other than root (whom the
  kernel does not hold to it), the user's processes at their current count plus
  ``limits.processes``. They bound what one process can take between two looks
  of the watcher;
- for the tree, a watcher (:class:`LimitWatch`) the runner polls every 0.1 s:
  resident memory, CPU seconds and live processes of the tree (more often in
  the first 0.1 s, to see short commands at all), and every 0.5 s (less often
  on a large shadow) the size of the files under the shadow, TMPDIR and HOME
  modified since the attempt began. A breach kills the command's process group
  at once.

Where gatekit may create cgroups (:mod:`gatekit.run.cgroup`), the kernel holds
the tree to ``memory``, ``processes`` and a share of ``cores`` on top of both
layers, processes that left the group included.

Which applied is the result's ``limits_enforced``: "cgroup-v2" or "cgroup-v1"
(a cgroup, with both layers), "rlimit" (both layers) or "watch" (no
``prlimit`` on this system: the watcher alone).
"""

from __future__ import annotations

import math
import os
import resource
import shutil
import time
from dataclasses import field
from pathlib import Path

from gatekit.config.sizes import format_size
from gatekit.lazyclass import dataclass
from gatekit.plan.model import GateLimits
from gatekit.results import Cost, Outcome
from gatekit.run import cgroup, usage
from gatekit.run.proc import ProcResult
from gatekit.run.retry import AttemptReport

RLIMIT = "rlimit"
WATCH = "watch"  # no prlimit here: the tree watcher alone
_FIRST_SAMPLE = 0.0025  # seconds after a command starts, without a cgroup
_SAMPLE = 0.1
_DISK_SAMPLE = 0.5
_CLOCK_SLACK = 0.01  # file times come from a coarse clock, up to a tick behind time.time()
_MEMORY_REFUSED = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_FILE_TOO_LARGE = "File too large"
_SIGXCPU = 24
_SIGXFSZ = 25

NEXT_ACTION = {
    "LIMIT_MEMORY": "raise limits.memory or fix the leak",
    "LIMIT_CPU": "raise limits.cpu or find the busy loop",
    "LIMIT_DISK": "raise limits.disk or write less (the gate's files were removed)",
    "LIMIT_PROCESSES": "raise limits.processes or stop the fork loop",
}


@dataclass(frozen=True)
class Breach:
    code: str  # LIMIT_MEMORY, LIMIT_CPU, LIMIT_DISK or LIMIT_PROCESSES
    reached: float  # bytes, seconds or processes
    limit: float
    refused: str = ""  # set when a per-process rlimit refused it: what was refused
    tree: str = ""  # the tree when it was stopped (usage.describe), for the log

    @property
    def reason(self) -> str:
        what = {
            "LIMIT_MEMORY": ("resident memory", "limits.memory"),
            "LIMIT_CPU": ("CPU time", "limits.cpu"),
            "LIMIT_DISK": ("bytes written", "limits.disk"),
            "LIMIT_PROCESSES": ("live processes", "limits.processes"),
        }[self.code]
        reached, limit = _show(self.code, self.reached), _show(self.code, self.limit)
        if self.refused:
            return (
                f"{self.code}: {self.refused}; the gate's {what[0]} had reached {reached} "
                f"({what[1]} {limit})"
            )
        return f"{self.code}: the gate's {what[0]} reached {reached}, over {what[1]} ({limit})"

    def report(self, command: str, exit_code: int | None, took: float) -> AttemptReport:
        """The attempt's report: failed, deterministic (never retried blindly), the code."""
        return AttemptReport(
            Outcome.FAILED, took, exit_code, "deterministic", self.reason, command, code=self.code
        )


def _show(code: str, value: float) -> str:
    if code in ("LIMIT_MEMORY", "LIMIT_DISK"):
        return format_size(value)
    if code == "LIMIT_CPU":
        return f"{value:.2f}s"
    return f"{value:.0f}"


_prlimit: list[str | None] = []  # found once per process


def _prlimit_path() -> str | None:
    if not _prlimit:
        _prlimit.append(shutil.which("prlimit"))
    return _prlimit[0]


def active(limits: GateLimits) -> bool:
    return any(v is not None for v in limits.model_dump().values())


def enforcement(limits: GateLimits) -> str | None:
    """How ``limits`` are enforced here (None: there are none, or not on this system):
    a cgroup per command where one can be made and a limit it holds is set, else
    rlimits with the watcher, else the watcher alone."""
    if not active(limits) or not usage.available():
        return None
    layout = cgroup.layout() if _kernel_held(limits) else None
    if layout is not None:
        return layout.kind
    return RLIMIT if _prlimit_path() is not None else WATCH


def uses_cgroup(limits: GateLimits) -> bool:
    """Whether ``limits`` are meant to be held by a cgroup per command here."""
    return active(limits) and _kernel_held(limits) and cgroup.layout() is not None


def without_cgroup() -> str:
    """What enforces limits when a command's cgroup could not be made after all."""
    return RLIMIT if _prlimit_path() is not None else WATCH


def _kernel_held(limits: GateLimits) -> bool:
    return limits.memory is not None or limits.processes is not None or limits.cores is not None


def open_cgroup(limits: GateLimits) -> cgroup.GateCgroup | None:
    """The cgroup for one command of a gate, when its limits are enforced by one."""
    where = cgroup.layout()
    if where is None or not _kernel_held(limits):
        return None
    try:
        return cgroup.GateCgroup(where, limits.memory, limits.processes, limits.cores)
    except OSError:
        return None  # the hierarchy changed under us: rlimits and the watcher still apply


def affinity_argv(limits: GateLimits) -> list[str]:
    """Without a cgroup, a share of cores is approximated by CPU affinity: the command may
    run on ``ceil(cores)`` of the CPUs gatekit may use (util-linux's ``taskset``)."""
    if limits.cores is None:
        return []
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    want = max(1, math.ceil(limits.cores))
    taskset = shutil.which("taskset")
    if taskset is None or not allowed or want >= len(allowed):
        return []
    return [taskset, "-c", ",".join(str(c) for c in allowed[:want])]


Rlimit = tuple[str, int, int]  # prlimit's name of the resource, soft, hard


def rlimits(limits: GateLimits) -> tuple[Rlimit, ...]:
    """The per-process limits for ``limits`` (none when ``prlimit`` is missing: the
    watcher alone, as :func:`enforcement` says)."""
    if _prlimit_path() is None:
        return ()
    out: list[Rlimit] = []

    def cap(name: str, rlim: int, value: int) -> None:
        hard = resource.getrlimit(rlim)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        out.append((name, value, value))

    if limits.memory is not None:
        cap("data", resource.RLIMIT_DATA, 2 * limits.memory)
    if limits.cpu is not None:
        soft = math.ceil(limits.cpu) + 1  # a backstop: the watcher stops the tree first
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        top = soft + 2 if hard == resource.RLIM_INFINITY else min(soft + 2, hard)
        out.append(("cpu", min(soft, top), top))
    if limits.disk is not None:
        cap("fsize", resource.RLIMIT_FSIZE, limits.disk)
    if limits.open_files is not None:
        cap("nofile", resource.RLIMIT_NOFILE, limits.open_files)
    if limits.processes is not None and os.geteuid() != 0:
        cap("nproc", resource.RLIMIT_NPROC, _user_processes() + limits.processes)
    return tuple(out)


def rlimit_argv(values: tuple[Rlimit, ...]) -> list[str]:
    """The ``prlimit`` wrapper that sets ``values`` ([] when it is missing or none apply)."""
    prlimit = _prlimit_path()
    if prlimit is None or not values:
        return []
    return [prlimit, *(f"--{name}={soft}:{hard}" for name, soft, hard in values), "--"]


# POSIX sh's ulimit: its flag and unit for the resources a shell can set. The units are
# those of dash, bash as sh (POSIX mode), busybox ash and zsh alike; the process count
# has no common flag (-u in bash, -p in dash), so a limit on it takes prlimit.
_ULIMIT = {"data": ("-d", 1024), "cpu": ("-t", 1), "fsize": ("-f", 512), "nofile": ("-n", 1)}


def ulimit_commands(values: tuple[Rlimit, ...]) -> str | None:
    """Shell commands setting ``values`` (soft, then hard: lowering one never passes the
    other), so that the shell a command starts from sets them with its ``ulimit``
    builtin instead of an ``exec`` of ``prlimit`` (~3 ms a command). Sizes are rounded
    down to the shell's unit (a KiB, 512 bytes). None when a shell cannot set one."""
    if any(name not in _ULIMIT for name, _, _ in values):
        return None
    parts = []
    for name, soft, hard in values:
        flag, unit = _ULIMIT[name]
        parts.append(f"ulimit -S {flag} {soft // unit} && ulimit -H {flag} {hard // unit}")
    return " && ".join(parts)


def _user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                continue
    return count


@dataclass
class LimitWatch:
    """Watches one attempt of a gate (all its commands) against its limits."""

    limits: GateLimits
    views: list[Path]  # where the disk limit counts: the shadow, TMPDIR, HOME
    peak_rss: int = 0
    cpu_user: float = 0.0  # finished commands
    cpu_system: float = 0.0
    bytes_written: int = 0
    disk: int = 0
    _since: float = 0.0
    _next: float = 0.0
    _next_disk: float = 0.0
    _disk_cost: float = 0.0
    _cpu_now: tuple[float, float] = (0.0, 0.0)  # the running command, sampled
    _refused: set[str] = field(default_factory=set)
    _polls: int = 0
    _own_hwm: int = 0
    _cgroup: cgroup.GateCgroup | None = None  # the running command's
    _final: cgroup.Reading | None = None  # the last command's, read before its removal

    def __post_init__(self) -> None:
        # a command's ru_maxrss includes the memory of gatekit, whose child it was
        # until exec: it is only the command's own when larger than that
        self._own_hwm = usage.vm_hwm("self")
        # files modified from now on are the gate's (less a tick of the kernel's clock)
        self._since = time.time() - _CLOCK_SLACK
        self._next_disk = time.monotonic() + _DISK_SAMPLE

    def feed(self, line: str) -> None:
        """An output line: notice allocations and writes the rlimits refused."""
        if any(s in line for s in _MEMORY_REFUSED):
            self._refused.add("LIMIT_MEMORY")
        if _FILE_TOO_LARGE in line:
            self._refused.add("LIMIT_DISK")

    def attach(self, group: cgroup.GateCgroup | None) -> None:
        """The cgroup of the command about to run (None: it has none).

        With a cgroup the kernel holds memory and processes and keeps the peak and the CPU
        time of the whole tree, read when the command ends: the first sample can wait
        (early samples only catch a short command's peak, which the cgroup keeps)."""
        self._cgroup, self._final = group, None
        # without a cgroup the first sample comes after the command had a moment to start:
        # one taken at once finds only the shell gatekit started (a /proc walk for nothing)
        self._next = time.monotonic() + (_SAMPLE if group is not None else _FIRST_SAMPLE)

    def detach(self) -> None:
        """The command ended: read its cgroup, kill what is left in it, remove it."""
        group, self._cgroup = self._cgroup, None
        if group is None:
            return
        try:
            group.kill_all()
            self._final = group.read()
        finally:
            group.remove()

    def _kernel_breach(self, reading: cgroup.Reading, tree: str = "") -> Breach | None:
        lim = self.limits
        if reading.oom_kills and lim.memory is not None:
            reached = max(self.peak_rss, reading.memory_peak or 0)
            why = "the kernel's OOM killer stopped a process at the gate's cgroup limit"
            return Breach("LIMIT_MEMORY", reached, lim.memory, why, tree)
        if reading.pids_refused and lim.processes is not None:
            why = f"the kernel refused {reading.pids_refused} fork(s) at the gate's cgroup limit"
            return Breach("LIMIT_PROCESSES", lim.processes, lim.processes, why, tree)
        return None

    def due(self) -> float:
        return self._next - time.monotonic()

    def poll(self, pgid: int) -> Breach | None:
        now = time.monotonic()
        if now < self._next:
            return None
        # look early and often at first: a short command's peak is otherwise never seen
        self._polls += 1
        self._next = now + min(_SAMPLE, 0.0025 * 2**self._polls)
        s = usage.sample_tree(pgid)
        self.peak_rss = max(self.peak_rss, s.rss, s.hwm)
        user, system = max(self._cpu_now[0], s.cpu_user), max(self._cpu_now[1], s.cpu_system)
        lim = self.limits
        if self._cgroup is not None:
            reading = self._cgroup.read()
            # the kernel's count also has what left the process group
            user, system = max(user, reading.cpu_user), max(system, reading.cpu_system)
            self.peak_rss = max(self.peak_rss, reading.memory_peak or 0)
            breach = self._kernel_breach(reading, usage.describe(s))
            if breach is not None:
                self._cpu_now = (user, system)
                return breach
        self._cpu_now = (user, system)
        if lim.memory is not None and s.rss > lim.memory:
            return Breach("LIMIT_MEMORY", s.rss, lim.memory, tree=usage.describe(s))
        if lim.processes is not None and s.processes > lim.processes:
            return Breach("LIMIT_PROCESSES", s.processes, lim.processes, tree=usage.describe(s))
        spent = self.cpu_user + self.cpu_system + user + system
        if lim.cpu is not None and spent > lim.cpu:
            return Breach("LIMIT_CPU", spent, lim.cpu, tree=usage.describe(s))
        if lim.disk is not None and now >= self._next_disk:
            t0 = time.monotonic()
            self.disk = max(self.disk, usage.written_bytes(self.views, self._since))
            took = time.monotonic() - t0
            self._next_disk = now + max(_DISK_SAMPLE, 10 * took)
            if self.disk > lim.disk:
                return Breach("LIMIT_DISK", self.disk, lim.disk)
        return None

    def ended(self, res: ProcResult) -> Breach | None:
        """Account a finished command; the breach it met (its own, or an rlimit's)."""
        user, system = self._cpu_now
        if res.usage is not None:
            user, system = max(user, res.usage.cpu_user), max(system, res.usage.cpu_system)
            if res.usage.max_rss > self._own_hwm:
                self.peak_rss = max(self.peak_rss, res.usage.max_rss)
            self.bytes_written += res.usage.bytes_written
        final, self._final = self._final, None
        if final is not None:  # the whole tree, daemons that left the group included
            user, system = max(user, final.cpu_user), max(system, final.cpu_system)
            self.peak_rss = max(self.peak_rss, final.memory_peak or 0)
        self.cpu_user += user
        self.cpu_system += system
        self._cpu_now = (0.0, 0.0)
        self._next = 0.0
        self._polls = 0
        if self.limits.disk is not None and not res.ok:  # the figure as it was left
            self.disk = max(self.disk, usage.written_bytes(self.views, self._since))
        if isinstance(res.breach, Breach):
            return res.breach
        if final is not None and not res.timed_out and not res.stopped:
            breach = self._kernel_breach(final)
            if breach is not None:
                return breach
        if res.ok or res.timed_out or res.stopped or res.exit_code is None:
            return None
        lim = self.limits
        spent = self.cpu_user + self.cpu_system
        if lim.cpu is not None and (
            res.exit_code == -_SIGXCPU or (res.exit_code == -9 and spent >= 0.8 * lim.cpu)
        ):
            # the kernel sent it at the per-process limit, whatever the samples saw
            spent = max(spent, math.ceil(lim.cpu) + 1)
            return Breach("LIMIT_CPU", spent, lim.cpu, "a process used up its CPU time")
        if lim.disk is not None and (res.exit_code == -_SIGXFSZ or "LIMIT_DISK" in self._refused):
            return Breach("LIMIT_DISK", self.disk, lim.disk, "a file reached the size limit")
        if lim.memory is not None and "LIMIT_MEMORY" in self._refused:
            cap = format_size(2 * lim.memory)
            return Breach(
                "LIMIT_MEMORY",
                self.peak_rss,
                lim.memory,
                f"an allocation over the per-process cap ({cap}) was refused",
            )
        return None

    def cost(self, wall: float) -> Cost:
        return Cost(
            wall=round(wall, 3),
            cpu_user=round(self.cpu_user, 3),
            cpu_system=round(self.cpu_system, 3),
            peak_memory=self.peak_rss or None,
            bytes_written=self.bytes_written,
        )
