"""A cgroup per gate command, where this user may create one (Linux).

The kernel then holds the gate's whole tree to its limits, processes that left
its process group included: ``memory`` (the kernel's OOM killer acts inside the
cgroup only, never on the machine), ``processes`` (``fork`` fails past
``pids.max``) and ``cores`` (a CPU bandwidth quota). At the end every process
still in the cgroup is killed and the cgroup removed.

Two layouts, found once per process:

- cgroup v2 (``cgroup2`` mounted with the ``memory`` and ``pids`` controllers
  enabled for the children of gatekit's own cgroup: a delegated subtree, a
  systemd user scope): ``memory.max`` with ``memory.swap.max`` 0, ``pids.max``,
  ``cpu.max``; breaches read from ``memory.events`` and ``pids.events``;
- cgroup v1 (one hierarchy per controller, writable as root in many containers
  and CI machines): ``memory.limit_in_bytes`` (and ``memory.memsw`` where swap
  accounting is on), ``pids.max``, ``cpu.cfs_quota_us``; ``cpuacct`` for CPU.

The gate's cgroups are made below gatekit's own (``/proc/self/cgroup``) in a
``gatekit`` directory, so limits set on gatekit (a container's) still apply.
A command enters its cgroup before it runs: the argv starts with a small
``sh`` that writes its own pid to each ``cgroup.procs``, then ``exec``s.
Cgroups left by a gatekit that died are removed by the next one (empty
cgroups only: ``rmdir`` refuses the others).

On cgroup v1 the cgroups are kept for the next command instead of removed: a removed
memory cgroup that still has page cache charged to it stays in the kernel ("dying")
until that cache is reclaimed, holding kernel memory, and every hook command made one
(measured: the ``memory`` count of ``/proc/cgroups`` grew by ~90 a run of the
pre-commit bench; with cgroups kept it stayed flat over four runs). An ended
command's cgroup, empty, is renamed ``idle-<pid>-<n>``; the
next command of any gatekit on the machine takes one by renaming it to its own name (a
rename is atomic: of two gatekits renaming one idle cgroup, one gets it). It gets its
limits written again, and its counters are read against what they held when it was
taken (v1's OOM, fork and CPU counters cannot be reset; its peak can). At most
:data:`KEEP_IDLE` idle cgroups are kept per hierarchy, the others removed. cgroup v2
cannot rename a cgroup: there each command's cgroup is made and removed.

Entering a cgroup is cheap only right after another entry. On cgroup v1 every move
of a process takes the kernel's ``cgroup_threadgroup_rwsem`` for writing, and that
lock's fast path stays on for one RCU grace period after its last writer; a command
started after a pause waits a whole grace period in its ``echo $$ >`` (measured on
one 2-core machine: 17-23 ms a command, against 0.3-0.6 ms back to back). While a
run starts gate commands, :func:`entries_kept_fast` keeps the fast path on: a thread
moves gatekit into the cgroup it is already in (a no-op for the kernel's
accounting) every few milliseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from gatekit.lazyclass import dataclass
from gatekit.record.locks import pid_exists

V1 = "cgroup-v1"
V2 = "cgroup-v2"
# sh: write $$ to each cgroup.procs file given before "--", then drop them and the "--"
ENTER_LOOP = (
    'while [ "$1" != -- ]; do echo $$ > "$1" || '
    '{ echo "gatekit: cannot enter cgroup $1" >&2; exit 125; }; shift; done; shift'
)
_ENTER = ENTER_LOOP + '; exec "$@"'
_PERIOD_US = 100_000
_KEEP_FAST_EVERY = 0.005  # seconds; well under one RCU grace period (~20 ms seen)
_TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0  # cpuacct.stat
_counter = itertools.count()
IDLE = "idle"  # an idle cgroup's name: idle-<pid>-<n> (the gatekit that left it)
KEEP_IDLE = 16  # per hierarchy: more than the commands one machine runs at once


@dataclass(frozen=True)
class Layout:
    kind: str  # V1 or V2
    parents: dict[str, Path]  # controller ("memory", "pids", "cpu", "cpuacct", "" for v2) -> dir


@dataclass(frozen=True)
class Reading:
    """What the kernel counted for one cgroup."""

    oom_kills: int = 0
    pids_refused: int = 0  # forks refused at pids.max
    cpu_user: float = 0.0  # seconds, every process that was in the cgroup
    cpu_system: float = 0.0
    memory_peak: int | None = None  # bytes charged (page cache included)


_found: list[Layout | None] = []


def layout() -> Layout | None:
    """Where this process may create gate cgroups (found once), or None."""
    if not _found:
        if os.environ.get("GATEKIT_CGROUPS", "").lower() in ("0", "no", "off", "false"):
            _found.append(None)
        else:
            _found.append(_discover())
    return _found[0]


@contextlib.contextmanager
def entries_kept_fast(wanted: bool) -> Iterator[None]:
    """While inside, keep entering a cgroup fast (cgroup v1; see the module's text).

    Does nothing unless ``wanted`` (some gate command of the run will enter a cgroup),
    gatekit makes v1 cgroups here, and it may write its own cgroup's ``cgroup.procs``.
    The thread stops at the first refused write and when the block ends."""
    where = layout() if wanted else None
    own = where.parents.get("pids") if where is not None and where.kind == V1 else None
    try:
        fd = os.open(own.parent / "cgroup.procs", os.O_WRONLY) if own is not None else -1
    except OSError:
        fd = -1
    if fd < 0:
        yield
        return
    stop = threading.Event()
    pid = str(os.getpid()).encode()

    def keep() -> None:
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, pid)
                    if stop.wait(_KEEP_FAST_EVERY):
                        return
        finally:
            os.close(fd)

    thread = threading.Thread(target=keep, name="gatekit-cgroup-entries", daemon=True)
    thread.start()
    try:
        yield
    finally:
        # Not waited for: its first move may still wait out a grace period (a run whose
        # gates were all cached ended ~10 ms later for it). It ends at its next wake-up.
        stop.set()


def use(where: Layout | None) -> None:
    """Use ``where`` from now on (None: no cgroups, as ``GATEKIT_CGROUPS=0`` at start-up),
    for a process that compares both ways (``bench/limits.py``)."""
    _found[:] = [where]


def _own_paths() -> dict[str, str]:
    """Controller -> this process's cgroup path ("" for the v2 hierarchy)."""
    out: dict[str, str] = {}
    try:
        text = Path("/proc/self/cgroup").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            out[""] = path
        for name in controllers.split(","):
            if name:
                out[name] = path
    return out


def _mounts() -> dict[str, tuple[Path, str]]:
    """Controller ("" for cgroup2) -> (mount point, root of the mount)."""
    out: dict[str, tuple[Path, str]] = {}
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        root, point, fstype, opts = fields[3], Path(fields[4]), rest[0], rest[2].split(",")
        if fstype == "cgroup2":
            out.setdefault("", (point, root))
        elif fstype == "cgroup":
            for name in ("memory", "pids", "cpu", "cpuacct"):
                if name in opts:
                    out.setdefault(name, (point, root))
    return out


def _dir_of(mount: tuple[Path, str], path: str) -> Path:
    point, root = mount
    rel = path[len(root) :] if root != "/" and path.startswith(root) else path
    return point / rel.lstrip("/") / "gatekit"


def _writable(parent: Path, probe_files: tuple[str, ...]) -> bool:
    try:
        parent.mkdir(exist_ok=True)
        probe = parent / f"probe-{os.getpid()}-{next(_counter)}"
        probe.mkdir()
    except OSError:
        return False
    try:
        return all((probe / f).exists() for f in probe_files) and os.access(
            probe / "cgroup.procs", os.W_OK
        )
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def _discover() -> Layout | None:
    own, mounts = _own_paths(), _mounts()
    if "" in mounts and "" in own:
        parent = _dir_of(mounts[""], own[""])
        if _v2_ready(parent) and _writable(parent, ("memory.max", "pids.max")):
            _sweep({"": parent})
            return Layout(V2, {"": parent})
    parents: dict[str, Path] = {}
    needs = {"memory": ("memory.limit_in_bytes",), "pids": ("pids.max",)}
    optional = {"cpu": ("cpu.cfs_quota_us",), "cpuacct": ("cpuacct.usage",)}
    for name, files in {**needs, **optional}.items():
        if name in mounts and name in own:
            parent = _dir_of(mounts[name], own[name])
            if _writable(parent, files):
                parents[name] = parent
    if not all(n in parents for n in needs):
        return None
    _sweep(parents)
    return Layout(V1, parents)


def _v2_ready(parent: Path) -> bool:
    """The v2 ``gatekit`` dir exists or can be made, with memory and pids for its children
    (a dir made for nothing is removed again: gatekit leaves no trace where it cannot work)."""
    existed = parent.is_dir()
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return False
    ready = _v2_delegate(parent)
    if not ready and not existed:
        with contextlib.suppress(OSError):
            parent.rmdir()
    return ready


def _v2_delegate(parent: Path) -> bool:
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if "memory" in enabled and "pids" in enabled:
            return True
        available = (parent / "cgroup.controllers").read_text().split()
        want = [c for c in ("memory", "pids", "cpu") if c in available and c not in enabled]
        if "memory" not in available or "pids" not in available:
            return False
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in want))
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False
    return "memory" in enabled and "pids" in enabled


def _sweep(parents: dict[str, Path]) -> None:
    """Remove the gate cgroups a gatekit that died left behind (named ``g-<pid>-<n>``
    after the gatekit that made them, ``probe-<pid>-<n>`` for its probes): processes
    still in one (a daemon of a gate whose gatekit was killed) are killed first. A live
    gatekit's cgroups, made and not yet entered or running, stay; so do those holding
    a gate of a run its repository has yet to recover (any repository's check may
    sweep here, and that run's recovery snapshots its processes before it stops them:
    see :func:`gatekit.operator.runfile.awaiting_recovery`)."""
    for parent in parents.values():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if len(parts) != 3 or parts[0] not in ("g", "probe") or not parts[1].isdigit():
                continue
            if pid_exists(int(parts[1])) or _awaits_recovery(parent / name):
                continue
            _kill_in(parent / name)
            _rmdir(parent / name)


def _awaits_recovery(d: Path) -> bool:
    from gatekit.operator.forensics import env_of
    from gatekit.operator.runfile import awaiting_recovery

    try:
        pids = (d / "cgroup.procs").read_text().split()
    except OSError:
        return False
    return any(awaiting_recovery(env_of(int(pid))) for pid in pids)


def _kill_in(d: Path, within: float = 2.0) -> None:
    """SIGKILL every process in cgroup ``d`` until none is left (or ``within`` passed)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _rmdir(d: Path) -> None:
    for _ in range(50):  # a killed process leaves the cgroup a moment after it died
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)


def enter_argv(procs_files: Sequence[str]) -> list[str]:
    """The prefix that moves a command into the cgroups of ``procs_files`` before it runs."""
    return ["sh", "-c", _ENTER, "gatekit-cgroup", *procs_files, "--"]


class GateCgroup:
    """One command's cgroup(s): made with its limits (or taken idle, on v1), entered by the
    command, read, then kept idle (v1) or removed."""

    def __init__(
        self, where: Layout, memory: int | None, processes: int | None, cores: float | None
    ) -> None:
        self.layout = where
        name = f"g-{os.getpid()}-{next(_counter)}"
        # v1: the cpu hierarchy only for a share of cores (each hierarchy is a mkdir, a
        # write and an rmdir per command)
        self.dirs = {
            c: p / name for c, p in where.parents.items() if c != "cpu" or cores is not None
        }
        self._reused: set[str] = set()  # hierarchies whose cgroup was taken idle
        self._base = Reading(memory_peak=0)  # the counters when it was taken
        made: list[Path] = []
        try:
            for c, d in self.dirs.items():
                if where.kind == V1 and _take_idle(d):
                    self._reused.add(c)
                else:
                    d.mkdir()
                made.append(d)
            self._configure(memory, processes, cores)
            if self._reused:
                self._base = self._counters()
        except OSError:
            for d in made:
                with contextlib.suppress(OSError):
                    d.rmdir()
            raise

    # set-up ------------------------------------------------------------
    def _configure(self, memory: int | None, processes: int | None, cores: float | None) -> None:
        quota = None if cores is None else max(1000, round(cores * _PERIOD_US))
        if self.layout.kind == V2:
            d = self.dirs[""]
            if memory is not None:
                _write(d / "memory.max", str(memory))
                _write_if(d / "memory.swap.max", "0")
            if processes is not None:
                _write(d / "pids.max", str(processes))
            if quota is not None and (d / "cpu.max").exists():
                _write(d / "cpu.max", f"{quota} {_PERIOD_US}")
            return
        mem, reused = self.dirs["memory"], "memory" in self._reused
        if reused:
            # memsw may never be below the memory limit: lift it before the limit moves
            _write_if(mem / "memory.memsw.limit_in_bytes", "-1")
        if memory is not None or reused:
            _write(mem / "memory.limit_in_bytes", str(memory if memory is not None else -1))
        if memory is not None:
            _write_if(mem / "memory.memsw.limit_in_bytes", str(memory))
        if reused:
            _write(mem / "memory.max_usage_in_bytes", "0")  # the peak from now on
        if processes is not None or "pids" in self._reused:
            _write(self.dirs["pids"] / "pids.max", "max" if processes is None else str(processes))
        if quota is not None and "cpu" in self.dirs:
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", str(quota))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` file of each hierarchy: a command writes its pid to each."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def enter_argv(self) -> list[str]:
        """The prefix that moves a command into this cgroup before it runs."""
        return enter_argv(self.procs_files())

    # reading -----------------------------------------------------------
    def read(self) -> Reading:
        """The counters since this command's cgroup was made or taken."""
        now, base = self._counters(), self._base
        peak = None
        if now.memory_peak is not None:
            peak = max(0, now.memory_peak - (base.memory_peak or 0))
        return Reading(
            oom_kills=now.oom_kills - base.oom_kills,
            pids_refused=now.pids_refused - base.pids_refused,
            cpu_user=max(0.0, now.cpu_user - base.cpu_user),
            cpu_system=max(0.0, now.cpu_system - base.cpu_system),
            memory_peak=peak,
        )

    def _counters(self) -> Reading:
        """The kernel's counters as they stand. Taken idle, a cgroup's peak was reset to
        its charge then (the page cache earlier commands left charged to it): that
        charge is the baseline its command's peak is counted above."""
        if self.layout.kind == V2:
            d = self.dirs[""]
            mem, pids = _keyed(d / "memory.events"), _keyed(d / "pids.events")
            cpu = _keyed(d / "cpu.stat")
            return Reading(
                oom_kills=mem.get("oom_kill", 0),
                pids_refused=pids.get("max", 0),
                cpu_user=cpu.get("user_usec", 0) / 1e6,
                cpu_system=cpu.get("system_usec", 0) / 1e6,
                memory_peak=_int(d / "memory.peak"),
            )
        oom = _keyed(self.dirs["memory"] / "memory.oom_control").get("oom_kill", 0)
        refused = _keyed(self.dirs["pids"] / "pids.events").get("max", 0)
        cpu = _keyed(self.dirs["cpuacct"] / "cpuacct.stat") if "cpuacct" in self.dirs else {}
        return Reading(
            oom_kills=oom,
            pids_refused=refused,
            cpu_user=cpu.get("user", 0) / _TICK,
            cpu_system=cpu.get("system", 0) / _TICK,
            memory_peak=_int(self.dirs["memory"] / "memory.max_usage_in_bytes"),
        )

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs.values():
            try:
                out.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return out

    # the end -----------------------------------------------------------
    def kill_all(self, within: float = 5.0) -> int:
        """SIGKILL every process in the cgroup until none is left; how many were killed."""
        killed: set[int] = set()
        kill_file = self.dirs.get("", Path("/nonexistent")) / "cgroup.kill"
        if self.layout.kind == V2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        deadline = time.monotonic() + within
        while True:
            left = self.pids()
            if not left or time.monotonic() > deadline:
                return len(killed)
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            time.sleep(0.01)

    def remove(self) -> None:
        """Keep each (empty) cgroup idle for the next command (v1), else remove it."""
        for d in self.dirs.values():
            if not (self.layout.kind == V1 and _keep_idle(d)):
                _rmdir(d)


def _take_idle(d: Path) -> bool:
    """Rename an idle cgroup of ``d``'s hierarchy to ``d``; False when there is none."""
    try:
        names = os.listdir(d.parent)
    except OSError:
        return False
    for name in names:
        if name.startswith(IDLE + "-"):
            try:
                os.rename(d.parent / name, d)
                return True
            except OSError:
                continue  # another gatekit took it first
    return False


def _keep_idle(d: Path) -> bool:
    """Rename the ended command's cgroup ``d`` idle, if it is empty and fewer than
    :data:`KEEP_IDLE` are idle; False when it is not kept."""
    try:
        if (d / "cgroup.procs").read_text().split():
            return False
        idle = sum(n.startswith(IDLE + "-") for n in os.listdir(d.parent))
        if idle >= KEEP_IDLE:
            return False
        os.rename(d, d.parent / f"{IDLE}-{os.getpid()}-{next(_counter)}")
    except OSError:
        return False
    return True


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _write_if(path: Path, text: str) -> None:
    if path.exists():
        with contextlib.suppress(OSError):
            path.write_text(text)


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _keyed(path: Path) -> dict[str, int]:
    """A ``key value`` file (memory.events, pids.events, memory.oom_control, cpu.stat)."""
    out: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            with contextlib.suppress(ValueError):
                out[parts[0]] = int(parts[1])
    return out
