"""The run's own status, ``run.json``: who owns the run, what it checks, how it ended.

    {"run_id", "state": "running" | "finished" | "crashed" | "error",
     "owner": {"pid", "start", "host", "cmdline"},   the process the user started
     "worker": {"pid", "start"},                     the process running the gates
     "candidate": {...}, "gates": [...], "started_at", "watchdog",
     "verdict", "exit_code", "ended_at", "crash": {...} | null}

In-process, owner and worker are the same process. Through the warm-start
daemon the owner is the client (``gatekit check`` in the user's terminal) and
the worker is the daemon's forked process: when the client dies the run has no
one to report to, and is crashed. ``<gatekit dir>/active/<run id>`` exists while a
run is not finished, so readers and crash recovery look at few files.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekit.atomicfile import save_quietly
from gatekit.operator import procs

RUN_FILE = "run.json"
ACTIVE = "active"
RUN_VAR = "GATEKIT_RUN"  # "<run id>/<gate id>" in every gate command's environment
RUN_SCHEMA_VERSION = 1
FINAL_STATES = frozenset({"finished", "crashed", "error"})

_client: tuple[int, str | None, list[str]] | None = None  # set by a daemon worker
recovered: list[str] = []  # run ids this process marked crashed (gatekit status lists them)


def set_client(pid: int) -> None:
    """In a daemon worker: the client process owns the runs this process starts."""
    global _client
    _client = (pid, procs.start_time(pid), procs.cmdline(pid))


def client_pid() -> int | None:
    return _client[0] if _client else None


def now_iso() -> str:
    """UTC to the millisecond, ``2026-01-31T12:00:00.123Z`` (no datetime import: every
    run writes its run file)."""
    ns = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
    return f"{stamp}.{ns // 1_000_000 % 1000:03d}Z"


def owner_record() -> dict[str, Any]:
    me = os.getpid()
    if _client is not None:
        pid, start, cmd = _client
    else:
        pid, start, cmd = me, procs.start_time(me), procs.cmdline(me)
    return {"pid": pid, "start": start, "host": procs.hostname(), "cmdline": cmd}


def active_dir(gatekit_dir: Path) -> Path:
    return gatekit_dir / ACTIVE


def read(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write(run_dir: Path, doc: dict[str, Any]) -> None:
    save_quietly(run_dir / RUN_FILE, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def start(
    run_dir: Path,
    *,
    candidate: dict[str, Any],
    gates: list[str],
    watchdog: float | None,
) -> dict[str, Any]:
    me = os.getpid()
    doc: dict[str, Any] = {
        "schema_version": RUN_SCHEMA_VERSION,
        "run_id": run_dir.name,
        "state": "running",
        "owner": owner_record(),
        "worker": {"pid": me, "start": procs.start_time(me)},
        "candidate": candidate,
        "gates": gates,
        "started_at": now_iso(),
        "watchdog": watchdog,
        "verdict": None,
        "exit_code": None,
        "ended_at": None,
        "crash": None,
    }
    write(run_dir, doc)
    active = active_dir(run_dir.parent.parent)
    active.mkdir(parents=True, exist_ok=True)
    (active / run_dir.name).write_text(str(run_dir) + "\n", encoding="utf-8")
    return doc


def finish(run_dir: Path, *, state: str, verdict: str | None, exit_code: int | None) -> None:
    doc = read(run_dir) or {"run_id": run_dir.name}
    if doc.get("state") in FINAL_STATES:
        return
    doc.update(state=state, verdict=verdict, exit_code=exit_code, ended_at=now_iso())
    write(run_dir, doc)
    clear_active(run_dir)


def awaiting_recovery(env: Mapping[str, str]) -> bool:
    """Whether a process with this environment (:func:`gatekit.operator.forensics.env_of`)
    is a gate command of a run that its repository has not recovered yet: the run's
    directory (its TMPDIR is ``runs/<run id>/sandbox/<gate id>/tmp``) still says it
    runs. Such a process is left to that recovery, which snapshots it before it stops it."""
    run_id, _, gate_id = env.get(RUN_VAR, "").partition("/")
    tmp = Path(env.get("TMPDIR", ""))
    if not run_id or not gate_id or tmp.parts[-4:] != (run_id, "sandbox", gate_id, "tmp"):
        return False
    doc = read(tmp.parents[2])
    return doc is not None and doc.get("state") not in FINAL_STATES


def clear_active(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (active_dir(run_dir.parent.parent) / run_dir.name).unlink()


def owner_alive(doc: dict[str, Any]) -> bool:
    owner = doc.get("owner") or {}
    if owner.get("host") not in (None, procs.hostname()):
        return True  # another machine: cannot tell, never call it dead
    return procs.is_alive(owner.get("pid"), owner.get("start"))


def worker_alive(doc: dict[str, Any]) -> bool:
    worker = doc.get("worker") or {}
    return procs.is_alive(worker.get("pid"), worker.get("start"))


def state_of(doc: dict[str, Any] | None, run_dir: Path) -> str:
    """running, finished, crashed, error, or 'crashed' for a running run whose owner died;
    a run from before run.json existed: finished when it has a result, else unknown."""
    if doc is None:
        return "finished" if (run_dir / "result.json").is_file() else "unknown"
    state = str(doc.get("state", "unknown"))
    if state == "running" and not owner_alive(doc):
        return "crashed"
    return state
