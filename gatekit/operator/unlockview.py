"""How ``gatekit unlock`` shows a lock, with the ``gatekit stop`` command that would end
a live owner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.operator import rundir, runfile
from gatekit.operator.locks import LockInfo


def owning_run(gatekit_dir: Path, pid: int | None) -> str | None:
    """The active run whose owner or worker is ``pid``."""
    if pid is None:
        return None
    for run_id in rundir.active_ids(gatekit_dir):
        doc = runfile.read(gatekit_dir / "runs" / run_id) or {}
        pids = {(doc.get("owner") or {}).get("pid"), (doc.get("worker") or {}).get("pid")}
        if pid in pids:
            return run_id
    return None


def stop_command(lock: LockInfo, gatekit_dir: Path) -> str:
    if lock.kind == "run":
        return f"gatekit stop --run {lock.name.removeprefix('run ')}"
    run_id = owning_run(gatekit_dir, lock.pid)
    if run_id is not None:
        return f"gatekit stop --run {run_id}"
    return f"kill {lock.pid}  (pid {lock.pid} runs no gatekit check here)"


def describe(lock: LockInfo, gatekit_dir: Path) -> dict[str, Any]:
    return {
        "kind": lock.kind,
        "name": lock.name,
        "path": str(lock.path),
        "pid": lock.pid,
        "state": lock.state,
        "removable": lock.removable,
        "detail": lock.detail,
        "stop": stop_command(lock, gatekit_dir) if lock.state == "alive" and lock.pid else None,
    }
