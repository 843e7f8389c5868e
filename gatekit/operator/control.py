"""Stop requests: ``control/stop-<gate>.json`` (or ``stop-all.json``) in the run directory.

Whoever stops a gate (``gatekit stop``, the watchdog, crash recovery) first writes
the request, then ends the gate's process group: SIGTERM, a grace period,
SIGKILL, and waits until no process of it is left. The run's own process sees
the request when the command ends (or before it starts the next one) and
records the gate as ``stopped`` with the request's code, instead of a failure,
and does not retry it. The other gates of the run carry on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gatekit.atomicfile import write_atomic
from gatekit.operator import forensics, procs, runfile

STOPPED_BY_OPERATOR = "STOPPED_BY_OPERATOR"
WATCHDOG_STUCK = "WATCHDOG_STUCK"
OWNER_DIED = "OWNER_DIED"
ALL = "all"


def request_path(run_dir: Path, gate_id: str | None) -> Path:
    return run_dir / "control" / f"stop-{gate_id or ALL}.json"


def request_stop(
    run_dir: Path, gate_id: str | None, *, code: str, reason: str, setting: str | None = None
) -> None:
    path = request_path(run_dir, gate_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "gate": gate_id,
        "code": code,
        "reason": reason,
        "setting": setting,
        "by": os.getpid(),
        "time": runfile.now_iso(),
    }
    write_atomic(path, json.dumps(doc, sort_keys=True) + "\n")


def stop_requested(run_dir: Path, gate_id: str) -> dict[str, Any] | None:
    """The request that stops ``gate_id`` (its own, else a stop of the whole run)."""
    for path in (request_path(run_dir, gate_id), request_path(run_dir, None)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return None


def gate_processes(run_id: str, gate_id: str, pgid: int | None) -> list[int]:
    """The gate's process group and every process carrying its run token.

    The group recorded in a status file is signalled only when one of its members
    carries the gate's token: after a crash the number may belong to another group."""
    found = set(procs.carrying(runfile.RUN_VAR, f"{run_id}/{gate_id}"))
    if pgid and any(m in found for m in procs.group_members(pgid)):
        found.add(pgid)
    return sorted(found)


def end_gate(
    run_dir: Path,
    gate_id: str,
    pgid: int | None,
    *,
    why: str,
    grace: float,
    mask: Any = None,
    command: str | None = None,
) -> tuple[list[int], str | None]:
    """Snapshot, then stop the gate's processes for sure. (pids still alive, snapshot)."""
    targets = gate_processes(run_dir.name, gate_id, pgid)
    snap = None
    if targets or pgid:
        group = pgid if pgid in targets else None  # a recorded group that is not the gate's
        where = forensics.snapshot(
            run_dir, gate_id, why=why, pgid=group, pids=targets, command=command, mask=mask
        )
        snap = str(where.relative_to(run_dir))
    left = procs.stop_all(targets, grace) if targets else []
    return left, snap
