"""The state of runs for the live page: from the run directory, as ``gatekit watch`` reads it.

A run is *finished* once ``result.json`` is there; *running* while its gates'
heartbeats are fresh; else *not answering* (the process died, or is stuck
outside a gate).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from gatekit.insight.rundir import RunDir, iso_seconds, run_dirs
from gatekit.phases import ACTIVE_PHASES as ACTIVE

STALE_AFTER = 15.0  # seconds without a heartbeat or event before a run is "not answering"
SHOWN_LINES = 8


def _newest_activity(run: RunDir, statuses: dict[str, dict[str, Any]]) -> float | None:
    times = [
        t
        for st in statuses.values()
        for key in ("heartbeat", "updated")
        if (t := iso_seconds(st.get(key))) is not None
    ]
    with contextlib.suppress(OSError):
        times.append((run.path / "events.jsonl").stat().st_mtime)
    return max(times) if times else None


def _order(run: RunDir, statuses: dict[str, dict[str, Any]]) -> list[str]:
    import json

    order: list[str] = []
    text = run.plan_json()
    if text:
        try:
            doc = json.loads(text)
            order = [g for g in doc.get("order", []) if isinstance(g, str)]
        except (ValueError, AttributeError):
            order = []
    return order + [g for g in statuses if g not in order]


def run_state(run: RunDir, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    result = run.result()
    statuses = run.statuses()
    activity = _newest_activity(run, statuses)
    if result is not None:
        state = "finished"
    elif activity is not None and now - activity <= STALE_AFTER:
        state = "running"
    else:
        state = "not answering"
    gates = []
    for gid in _order(run, statuses):
        st = statuses.get(gid, {})
        phase = str(st.get("phase", "queued"))
        beat = iso_seconds(st.get("heartbeat")) if phase in ACTIVE else None
        lines = st.get("last_lines")
        gates.append(
            {
                "gate": gid,
                "phase": phase,
                "attempt": st.get("attempt") if isinstance(st.get("attempt"), int) else 0,
                "started": st.get("started") if isinstance(st.get("started"), str) else None,
                "heartbeat_age": None if beat is None else round(max(0.0, now - beat), 1),
                "reason": str(st.get("reason", "")),
                "last_lines": [str(x) for x in lines[-SHOWN_LINES:]]
                if isinstance(lines, list)
                else [],
            }
        )
    return {
        "run_id": run.run_id,
        "state": state,
        "verdict": result.get("verdict") if result else None,
        "started": run.run_id[:16],
        "idle": None if activity is None else round(max(0.0, now - activity), 1),
        "gates": gates,
    }


def runs_index(runs_root: Path, limit: int = 50) -> list[dict[str, Any]]:
    out = []
    for i, run in enumerate(run_dirs(runs_root)):
        if i >= limit:
            break
        state = run_state(run)
        phases: dict[str, int] = {}
        for g in state["gates"]:
            phases[g["phase"]] = phases.get(g["phase"], 0) + 1
        out.append(
            {
                "run_id": run.run_id,
                "state": state["state"],
                "verdict": state["verdict"],
                "phases": phases,
            }
        )
    return out
