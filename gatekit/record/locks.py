"""Lock ownership: who holds a lock, and whether that process is confirmed dead.

A lock file left by a crashed gatekit must not block the next run, and a lock
held by a live process must never be broken. gatekit therefore writes an
*owner record* (pid, process start time, host, and the lock file's inode and
mtime) next to every lock it takes, in its private state dir. A lock is stale
only when its owner record matches the lock file exactly and the owner process
is confirmed dead (no such pid, or a pid reused by a process that started at a
different time). Never by age alone; a lock without an owner record (taken by
git itself, say) is never removed.

Recovery itself is serialised by an ``fcntl`` lock, so two gatekit processes
never both "recover" the same lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from gatekit.atomicfile import write_atomic
from gatekit.errors import GatekitError
from gatekit.lazyclass import dataclass
from gatekit.operator.procs import hostname

LOCK_TIMEOUT = 30.0  # seconds a writer waits for a busy lock before giving up


class LockBusyError(GatekitError):
    """A lock stayed busy (held by a live process) for longer than we wait."""


def backoff_delay(attempt: int, base: float = 0.002, cap: float = 0.1) -> float:
    """Exponential backoff with full jitter: bounded, and never in lockstep."""
    import random

    return random.uniform(0, min(cap, base * (2**attempt)))


def wait_until(
    acquired: Callable[[], bool],
    timeout: float,
    busy: Callable[[], GatekitError],
    *,
    base: float = 0.002,
    cap: float = 0.1,
) -> None:
    """Call ``acquired()`` until it returns True, backing off with jitter; raise ``busy()``
    once ``timeout`` seconds have passed. The one retry loop of every gatekit lock."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while not acquired():
        if time.monotonic() > deadline:
            raise busy()
        time.sleep(backoff_delay(attempt, base, cap))
        attempt += 1


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if unknown."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or ')': split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class OwnerRecord:
    pid: int
    start: str | None
    host: str
    lock_ino: int
    lock_mtime_ns: int

    def is_dead(self) -> bool:
        """True only when the owner is confirmed dead on this host."""
        if self.host != hostname():
            return False  # another machine (network file system): cannot tell
        if not pid_exists(self.pid):
            return True
        if self.start is None:
            return False
        now = process_start_time(self.pid)
        return now is not None and now != self.start


def write_owner(owner_path: Path, lock_path: Path) -> None:
    st = lock_path.stat()
    rec = OwnerRecord(
        pid=os.getpid(),
        start=process_start_time(os.getpid()),
        host=hostname(),
        lock_ino=st.st_ino,
        lock_mtime_ns=st.st_mtime_ns,
    )
    owner_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(owner_path, json.dumps(asdict(rec)))


def read_owner(owner_path: Path) -> OwnerRecord | None:
    try:
        data = json.loads(owner_path.read_text())
        return OwnerRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# A lock file created within this window after an intent record was written
# belongs to the process that wrote the intent (it takes the lock next, while
# holding the flocked guard, so no other gatekit process can come between).
INTENT_WINDOW_NS = 2_000_000_000


def intent_path_for(owner_path: Path, pid: int | None = None) -> Path:
    """This process's intent record (one per process: a waiter never hides the holder's)."""
    return owner_path.with_name(f"{owner_path.name}.intent.{os.getpid() if pid is None else pid}")


def write_intent(owner_path: Path) -> None:
    """Say "I am about to take this lock" before taking it.

    It closes the window between git creating ``<ref>.lock`` and the owner
    record being written: a process killed in between leaves a lock that is
    still provably its own (created right after its intent) and so recoverable.
    """
    rec = {
        "pid": os.getpid(),
        "start": process_start_time(os.getpid()),
        "host": hostname(),
        "time_ns": time.time_ns(),
    }
    path = intent_path_for(owner_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(rec))


def _intent_owner(owner_path: Path, lock_mtime_ns: int) -> tuple[OwnerRecord, Path] | None:
    """The process whose intent was written just before the lock was created, if exactly one."""
    found: list[tuple[OwnerRecord, Path]] = []
    for path in owner_path.parent.glob(owner_path.name + ".intent.*"):
        if path.name.endswith(".tmp"):
            continue
        try:
            data = json.loads(path.read_text())
            written = int(data["time_ns"])
            rec = OwnerRecord(int(data["pid"]), data.get("start"), str(data["host"]), 0, 0)
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if written - INTENT_WINDOW_NS // 2 <= lock_mtime_ns <= written + INTENT_WINDOW_NS:
            found.append((rec, path))
    return found[0] if len(found) == 1 else None  # ambiguous: not provably anyone's


def remove_if_stale(lock_path: Path, owner_path: Path) -> bool:
    """Remove ``lock_path`` when its recorded owner is confirmed dead. True if removed.

    The owner is known from its owner record (matching the lock's inode and
    mtime), or, for a process killed between taking the lock and writing that
    record, from its intent record (the lock was created right after it).
    The caller must hold the matching :func:`flocked` guard so that no other
    gatekit process takes the lock between the check and the removal.
    """
    try:
        st = lock_path.stat()
    except FileNotFoundError:
        return True  # already gone: just retry
    rec = read_owner(owner_path)
    intent: Path | None = None
    if rec is None or rec.lock_ino != st.st_ino or rec.lock_mtime_ns != st.st_mtime_ns:
        by_intent = _intent_owner(owner_path, st.st_mtime_ns)
        rec, intent = by_intent if by_intent else (None, None)
    if rec is None:
        return False  # not ours (or not provably ours): never break it
    if not rec.is_dead():
        return False
    remove_quietly(lock_path)
    remove_quietly(owner_path)
    remove_quietly(intent or intent_path_for(owner_path, rec.pid))
    return True


def describe_holder(owner_path: Path) -> str:
    rec = read_owner(owner_path)
    if rec is None:
        return "another process (not gatekit, or no owner record)"
    return f"process {rec.pid} on {rec.host}"


@contextlib.contextmanager
def flocked(path: Path, timeout: float = LOCK_TIMEOUT, what: str = "lock") -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path``; released by the kernel if we die."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquired() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            return False
        return True

    def busy() -> GatekitError:
        return LockBusyError(
            f"{what} is still busy after {timeout:.0f}s",
            tip="another gatekit process is writing; try again when it finishes",
        )

    try:
        wait_until(acquired, timeout, busy, base=0.001, cap=0.05)
        yield
    finally:
        os.close(fd)  # closing releases the flock
