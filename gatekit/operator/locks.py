"""The locks of a repository as ``gatekit unlock`` shows them, and their safe removal.

- ``ref``: git's ``<ref>.lock`` of a ref gatekit writes, with gatekit's owner record
  (pid, start time, host). Removable only when that owner is dead, or its pid now
  belongs to another program (another start time; or, without a start time, a
  command line that is not gatekit's). Never by age; a ``.lock`` without an owner
  record (git's own, another tool's) is never removed.
- ``shadow``: a shadow slot's ``flock``. The kernel releases it when its holder dies,
  so it is either held by a live process or free: nothing to remove.
- ``run``: a run still marked active; its owner dead means crash recovery (which
  also stops what it left running) takes it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from gatekit.lazyclass import dataclass
from gatekit.operator import procs, runfile
from gatekit.operator.rundir import active_ids


@dataclass(frozen=True)
class LockInfo:
    kind: str  # ref | shadow | run
    name: str
    path: Path
    pid: int | None
    state: str  # alive | dead | reused | free | unknown
    detail: str = ""
    owner_path: Path | None = None
    guard_path: Path | None = None

    @property
    def removable(self) -> bool:
        return self.kind in ("ref", "run") and self.state in ("dead", "reused")


def _owner_state(pid: int | None, start: str | None, host: str | None) -> str:
    if host not in (None, procs.hostname()):
        return "unknown"  # another machine: cannot tell
    state = procs.describe(pid, start)
    if state == "alive" and start is None and pid is not None:
        cmd = " ".join(procs.cmdline(pid))
        if "gatekit" not in cmd:
            return "reused"
    return state


def ref_locks(gatekit_dir: Path) -> list[LockInfo]:
    common = gatekit_dir.parent
    out = []
    for top in ("refs/gatekit", "refs/notes"):
        base = common / top
        if not base.is_dir():
            continue
        for lock in sorted(base.rglob("*.lock")):
            name = str(lock.relative_to(common))[: -len(".lock")]
            key = hashlib.sha1(name.encode()).hexdigest()[:20]
            owner = gatekit_dir / "locks" / f"{key}.owner"
            guard = gatekit_dir / "locks" / f"{key}.flock"
            pid, start, host = _read_owner(owner, lock)
            state = "unknown" if pid is None else _owner_state(pid, start, host)
            detail = "" if pid is not None else "no gatekit owner record: never removed"
            out.append(LockInfo("ref", name, lock, pid, state, detail, owner, guard))
    return out


def _read_owner(owner: Path, lock: Path) -> tuple[int | None, str | None, str | None]:
    from gatekit.record.locks import _intent_owner, read_owner

    try:
        st = lock.stat()
    except OSError:
        return None, None, None
    rec = read_owner(owner)
    if rec is None or rec.lock_ino != st.st_ino or rec.lock_mtime_ns != st.st_mtime_ns:
        by_intent = _intent_owner(owner, st.st_mtime_ns)
        rec = by_intent[0] if by_intent else None
    if rec is None:
        return None, None, None
    return rec.pid, rec.start, rec.host


def shadow_locks(gatekit_dir: Path) -> list[LockInfo]:
    root = gatekit_dir / "shadows"
    out: list[LockInfo] = []
    if not root.is_dir():
        return out
    for lock in sorted(root.glob("s*.lock")):
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                held = True
            text = os.pread(fd, 64, 0).decode("utf-8", "replace").split()
        finally:
            os.close(fd)
        pid = int(text[0]) if text and text[0].isdigit() else None
        name = "shadow " + lock.name.removesuffix(".lock")
        if not held:
            out.append(LockInfo("shadow", name, lock, pid, "free", "released"))
        else:
            state = procs.describe(pid, None) if pid else "unknown"
            why = "" if state == "alive" else "held by a process its holder started"
            out.append(
                LockInfo("shadow", name, lock, pid, "alive" if state == "alive" else state, why)
            )
    return out


def run_locks(gatekit_dir: Path) -> list[LockInfo]:
    out = []
    for run_id in active_ids(gatekit_dir):
        run_dir = gatekit_dir / "runs" / run_id
        doc = runfile.read(run_dir)
        if doc is None:
            continue
        owner = doc.get("owner") or {}
        pid = owner.get("pid") if isinstance(owner.get("pid"), int) else None
        state = _owner_state(pid, owner.get("start"), owner.get("host"))
        out.append(LockInfo("run", f"run {run_id}", run_dir, pid, state))
    return out


def list_locks(gatekit_dir: Path) -> list[LockInfo]:
    return [*ref_locks(gatekit_dir), *shadow_locks(gatekit_dir), *run_locks(gatekit_dir)]


def release(lock: LockInfo) -> bool:
    """Remove a lock whose owner is confirmed dead; False when it is not (or not ours)."""
    if not lock.removable:
        return False
    if lock.kind == "run":
        from gatekit.operator.recover import mark_crashed

        doc = runfile.read(lock.path) or {}
        why = f"its owner (pid {lock.pid}) is gone"
        mark_crashed(lock.path, doc, why=why, code="OWNER_DIED")
        return True
    from gatekit.record.locks import flocked, remove_if_stale

    assert lock.owner_path is not None and lock.guard_path is not None
    with flocked(lock.guard_path, what=f"the gatekit lock of {lock.name}"):
        if lock.state == "reused":
            return _remove_reused(lock)
        return remove_if_stale(lock.path, lock.owner_path)


def _remove_reused(lock: LockInfo) -> bool:
    """The owner's pid now runs another program: the lock is provably orphaned."""
    from gatekit.record.locks import remove_quietly

    pid, start, host = _read_owner(lock.owner_path or lock.path, lock.path)
    if pid != lock.pid or _owner_state(pid, start, host) != "reused":
        return False
    remove_quietly(lock.path)
    if lock.owner_path is not None:
        remove_quietly(lock.owner_path)
    return True
