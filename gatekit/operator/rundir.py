"""Read a run directory back: the run, its gates' status files, the runbooks, the result.

This is the one reader of what :mod:`gatekit.run.status` and
:mod:`gatekit.operator.runfile` write (documented in the README, "Operating
runs"; schemas in ``schemas/status.schema.json``, ``event.schema.json`` and
``run.schema.json``). Plain dicts of JSON, standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatekit.lazyclass import dataclass
from gatekit.operator import runfile
from gatekit.phases import ACTIVE_PHASES


@dataclass
class RunView:
    run_dir: Path
    run: dict[str, Any] | None
    state: str
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)  # gate id -> status doc

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def result(self) -> dict[str, Any] | None:
        return read_json(self.run_dir / "result.json")

    def report(self, gate_id: str) -> dict[str, Any] | None:
        """The machine-readable runbook of a gate (``reports/<gate>.json``), if any."""
        return read_json(self.run_dir / "reports" / f"{gate_id}.json")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def runs_dir(gatekit_dir: Path) -> Path:
    return gatekit_dir / "runs"


def run_ids(gatekit_dir: Path) -> list[str]:
    """Every run id, oldest first (ids sort by time)."""
    try:
        names = os.listdir(runs_dir(gatekit_dir))
    except OSError:
        return []
    return sorted(n for n in names if not n.startswith("."))


def active_ids(gatekit_dir: Path) -> list[str]:
    try:
        return sorted(os.listdir(runfile.active_dir(gatekit_dir)))
    except OSError:
        return []


def gate_statuses(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Each gate's status: its status file, brought up to date by ``events.jsonl``.

    A passing phase reaches the status file up to ``SETTLE`` after it happened, but its
    event is written at once: a check killed or stopped in between has gates that only
    the events know of (a gate started, its pid), and recovery must still find them.
    """
    out: dict[str, dict[str, Any]] = {}
    try:
        names = sorted(os.listdir(run_dir / "status"))
    except OSError:
        names = []
    for name in names:
        if name.endswith(".json"):
            doc = read_json(run_dir / "status" / name)
            if doc is not None:
                out[name.removesuffix(".json")] = doc
    for event in _events(run_dir):
        _fold(out, event)
    return out


def _events(run_dir: Path) -> list[dict[str, Any]]:
    try:
        text = (run_dir / "events.jsonl").read_text(encoding="utf-8")
    except OSError:
        return []
    events = []
    for raw in text.splitlines():
        try:
            event = json.loads(raw)
        except ValueError:
            continue  # a line cut short by a kill
        if isinstance(event, dict) and isinstance(event.get("gate"), str):
            events.append(event)
    return events


def _fold(out: dict[str, dict[str, Any]], event: dict[str, Any]) -> None:
    """Apply one event to its gate's status when the event is newer than the file."""
    gate_id, when = event["gate"], str(event.get("time") or "")
    doc = out.get(gate_id)
    if doc is None:
        doc = out[gate_id] = {
            "gate": gate_id,
            "phase": "queued",
            "attempt": 0,
            "pid": None,
            "started": None,
            "updated": when,
            "heartbeat": when,
            "log": f"logs/{gate_id}.log",
            "last_lines": [],
        }
    elif when <= str(doc.get("updated") or ""):
        return  # the status file already says as much (times are ISO, one format)
    phase = event.get("phase")
    if isinstance(phase, str):
        doc["phase"] = phase
        if phase in ACTIVE_PHASES and doc.get("started") is None:
            doc["started"] = when
    for key in ("attempt", "pid", "reason", "code"):
        if key in event:
            doc[key] = event[key]
    doc["updated"] = when
    if when > str(doc.get("heartbeat") or ""):
        doc["heartbeat"] = when  # the run wrote this event: it was alive then


def load(run_dir: Path, with_gates: bool = True) -> RunView:
    doc = runfile.read(run_dir)
    view = RunView(run_dir, doc, runfile.state_of(doc, run_dir))
    if with_gates:
        gates = gate_statuses(run_dir)
        order = list(doc.get("gates") or []) if doc else []
        order += sorted(g for g in gates if g not in order)
        view.gates = {g: gates[g] for g in order if g in gates}
    return view


def resolve(gatekit_dir: Path, run: str | None) -> Path | None:
    """The run directory named by ``run`` (an id or a unique prefix), else the newest run."""
    ids = run_ids(gatekit_dir)
    if run is None:
        return runs_dir(gatekit_dir) / ids[-1] if ids else None
    if run in ids:
        return runs_dir(gatekit_dir) / run
    matches = [i for i in ids if i.startswith(run)]
    return runs_dir(gatekit_dir) / matches[0] if len(matches) == 1 else None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(text: str | None, now: datetime | None = None) -> float | None:
    """Seconds since an ISO time in a status file."""
    when = parse_time(text)
    if when is None:
        return None
    return round(((now or datetime.now(UTC)) - when).total_seconds(), 1)
