"""The one subprocess entry point of the runner.

Every command a gate runs starts here, in its own process group (a new
session), with its output merged and streamed line by line to a log file and a
callback. On timeout, or when the run is stopped (Ctrl-C), the whole group gets
SIGTERM, then SIGKILL after a grace period: grandchildren included, also ones
that ignore SIGTERM. A group is also swept when its leader exits, so a command
that leaves background children behind leaves nothing running.

A grandchild that calls ``setsid()`` itself leaves the group and escapes this
sweep; with a ``token``, :mod:`gatekit.run.escapes` finds and stops it as well.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from gatekit.lazyclass import dataclass
from gatekit.run import escapes

LineCallback = Callable[[str], None]

_CHUNK = 65536
_MAX_LINE = 65536
_POLL = 0.1
# After the leader exits, how long background children holding the output pipe
# may keep writing before the group is swept.
_DRAIN = 0.5


class Started(Protocol):
    """A command started elsewhere than by :class:`subprocess.Popen` (a fork server's
    child): what the runner needs of it."""

    pid: int
    returncode: int | None

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def reap(self, block: bool) -> Usage | None:
        """Its usage once it has ended (waiting for that with ``block``), else None."""

    def wait(self) -> int: ...


Spawn = Callable[[Mapping[str, str]], Started]


class SpawnLost(Exception):
    """A :data:`Spawn` was asked to start the command and then lost it: it may have
    started it (a fork server that died before it said). Starting the command again
    could run it twice, so it ends as it would have: with ``exit_code``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Watch(Protocol):
    """Watches a running command's resources (see :mod:`gatekit.run.limits`)."""

    def poll(self, pgid: int) -> object | None:
        """Called often while the command runs; a breach (not None) stops its group."""

    def due(self) -> float:
        """Seconds until the watch wants to be polled again."""


@dataclass(frozen=True)
class Usage:
    """What the command and the descendants it waited for spent (``wait4``)."""

    cpu_user: float
    cpu_system: float
    max_rss: int  # bytes, of the largest single process
    bytes_written: int

    @classmethod
    def from_rusage(cls, ru: Any) -> Usage:
        # ru_maxrss is in KiB on Linux; ru_oublock counts 512-byte blocks
        return cls(ru.ru_utime, ru.ru_stime, int(ru.ru_maxrss) * 1024, int(ru.ru_oublock) * 512)


@dataclass(frozen=True)
class ProcResult:
    """How a command ended."""

    exit_code: int | None  # None: it never started (see ``error``)
    timed_out: bool
    stopped: bool  # ended because the run was stopped (Ctrl-C)
    duration: float
    pid: int | None
    error: str | None = None  # OSError text when the command could not start
    breach: object | None = None  # what the watch reported when it stopped the group
    usage: Usage | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.stopped


class ProcessRegistry:
    """The process groups running now; ``stop()`` ends them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, subprocess.Popen[bytes] | Started] = {}
        self.stopping = threading.Event()

    def add(self, proc: subprocess.Popen[bytes] | Started) -> None:
        with self._lock:
            self._groups[proc.pid] = proc

    def remove(self, proc: subprocess.Popen[bytes] | Started) -> None:
        with self._lock:
            self._groups.pop(proc.pid, None)

    def pgids(self) -> list[int]:
        with self._lock:
            return list(self._groups)

    def stop(self) -> None:
        """Ask every running command to stop; their runners do TERM, grace, KILL."""
        self.stopping.set()

    def kill_now(self) -> None:
        """SIGKILL every group at once (a second Ctrl-C)."""
        self.stopping.set()
        for pgid in self.pgids():
            _signal_group(pgid, signal.SIGKILL)


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None,
    grace: float = 5.0,
    log: IO[str] | None = None,
    on_line: LineCallback | None = None,
    registry: ProcessRegistry | None = None,
    on_start: Callable[[int], None] | None = None,
    token: str | None = None,
    watch: Watch | None = None,
    before_timeout_kill: Callable[[int], None] | None = None,
    spawn: Spawn | None = None,
) -> ProcResult:
    """Run ``argv`` in its own process group and wait for the whole group to end.

    ``before_timeout_kill(pgid)`` runs when the timeout expires, before the group is
    signalled (a forensics snapshot of what was still running).

    With ``token`` (see :mod:`gatekit.run.escapes`), processes of the command that left
    the group with ``setsid()`` are stopped too once it has ended. With ``watch``, the
    group is killed at once when the watch reports a breach. With ``spawn``, the command
    is started by it (given the environment): a fork server's child that enters the
    group, the sandbox and the view itself; where it cannot (OSError), from ``argv``;
    where it may have and lost it (:class:`SpawnLost`), not again."""
    start = time.monotonic()
    if token is not None:
        env = {**env, escapes.TOKEN_VAR: token}
    if registry is not None and registry.stopping.is_set():
        return ProcResult(None, False, True, 0.0, None)
    proc: subprocess.Popen[bytes] | Started | None = None
    if spawn is not None:
        try:
            proc = spawn(env)
        except SpawnLost as exc:
            if log is not None:
                log.write(f"gatekit: {exc}\n")
            return ProcResult(exc.exit_code, False, False, time.monotonic() - start, None)
        except OSError as exc:  # no server to start it: it starts from argv, and says why
            if log is not None:
                log.write(
                    f"gatekit: the fork server did not start it ({exc}): started as a process\n"
                )
    try:
        if proc is None:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    except OSError as exc:
        return ProcResult(None, False, False, time.monotonic() - start, None, error=str(exc))
    if registry is not None:
        registry.add(proc)
    try:
        if on_start is not None:
            on_start(proc.pid)
        timed_out, stopped, breach = _pump(
            proc, start, timeout, grace, log, on_line, registry, watch, before_timeout_kill
        )
    finally:
        if registry is not None:
            registry.remove(proc)
        if proc.stdout is not None:
            proc.stdout.close()
    usage = _reap(proc, block=True)
    code = proc.wait()
    if token is not None:
        escapes.sweep(token, grace)
    took = time.monotonic() - start
    return ProcResult(code, timed_out, stopped, took, proc.pid, breach=breach, usage=usage)


def _reap(proc: subprocess.Popen[bytes] | Started, block: bool = False) -> Usage | None:
    """Reap the leader with ``wait4`` (keeping its resource usage); None if it still runs."""
    if not isinstance(proc, subprocess.Popen):
        return proc.reap(block)
    if proc.returncode is not None:
        return getattr(proc, "_gatekit_usage", None)
    try:
        pid, status, ru = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:  # reaped elsewhere: its usage is lost
        proc.poll()
        return None
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    usage = Usage.from_rusage(ru)
    proc._gatekit_usage = usage  # type: ignore[attr-defined]
    return usage


def _exited(proc: subprocess.Popen[bytes] | Started, wait: float = 0.0) -> bool:
    """Whether the leader has exited (reaping it), waiting up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    delay = 0.0005
    while True:
        _reap(proc)
        if proc.returncode is not None:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        delay = min(delay * 2, left, 0.05)
        time.sleep(delay)


def _pump(
    proc: subprocess.Popen[bytes] | Started,
    start: float,
    timeout: float | None,
    grace: float,
    log: IO[str] | None,
    on_line: LineCallback | None,
    registry: ProcessRegistry | None,
    watch: Watch | None = None,
    before_timeout_kill: Callable[[int], None] | None = None,
) -> tuple[bool, bool, object | None]:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines = _LineSplitter(log, on_line)
    deadline = None if timeout is None else start + timeout
    timed_out = stopped = False
    breach: object | None = None
    eof = False
    leader_exit: float | None = None
    try:
        while True:
            wait = _POLL if watch is None else min(_POLL, max(watch.due(), 0.0))
            if not eof:
                ready, _, _ = select.select([fd], [], [], wait)
                if ready:
                    data = os.read(fd, _CHUNK)
                    if data:
                        lines.feed(data)
                    else:
                        eof = True
            else:
                _exited(proc, wait)
            now = time.monotonic()
            if leader_exit is None and _exited(proc):
                leader_exit = now
            if eof and leader_exit is not None:
                break
            if leader_exit is not None and now - leader_exit > _DRAIN:
                # The leader is gone; children left behind still hold the pipe.
                terminate_group(proc.pid, grace)
                _drain(fd, lines)
                break
            if deadline is not None and now >= deadline:
                timed_out = True
                if before_timeout_kill is not None:
                    with contextlib.suppress(Exception):  # evidence must not stop the kill
                        before_timeout_kill(proc.pid)
                terminate_group(proc.pid, grace)
                _drain(fd, lines)
                break
            if registry is not None and registry.stopping.is_set():
                stopped = True
                terminate_group(proc.pid, grace)
                _drain(fd, lines)
                break
            if watch is not None:
                breach = watch.poll(proc.pid)
                if breach is not None:  # no grace: a runaway keeps running away
                    _signal_group(proc.pid, signal.SIGKILL)
                    terminate_group(proc.pid, 0.0)
                    _drain(fd, lines)
                    break
    finally:
        lines.close()
    # A clean exit may still leave members of the group behind (closed stdout).
    if group_alive(proc.pid):
        terminate_group(proc.pid, grace)
    return timed_out, stopped, breach


def _drain(fd: int, lines: _LineSplitter) -> None:
    """Read what is left in the pipe without blocking."""
    with contextlib.suppress(OSError):
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, _CHUNK)
            if not data:
                break
            lines.feed(data)


class _LineSplitter:
    def __init__(self, log: IO[str] | None, on_line: LineCallback | None) -> None:
        self._buf = b""
        self._log = log
        self._on_line = on_line

    def feed(self, data: bytes) -> None:
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) >= _MAX_LINE:
                    self._emit(self._buf[:_MAX_LINE])
                    self._buf = self._buf[_MAX_LINE:]
                    continue
                return
            self._emit(self._buf[:nl])
            self._buf = self._buf[nl + 1 :]

    def close(self) -> None:
        if self._buf:
            self._emit(self._buf)
            self._buf = b""

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self._log is not None:
            self._log.write(line + "\n")
            self._log.flush()
        if self._on_line is not None:
            self._on_line(line)


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is still in group ``pgid``.

    Zombies do not count: an init that never reaps orphans (some containers)
    would otherwise keep a dead group "alive" for ever.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc_dir = Path("/proc")
    if not (proc_dir / "self" / "stat").exists():
        return True
    with os.scandir(proc_dir) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                return True
    return False


def terminate_group(pgid: int, grace: float) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL what is left."""
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and group_alive(pgid):
        time.sleep(0.02)
