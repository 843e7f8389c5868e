"""Reading a run directory (``<gatekit dir>/runs/<run_id>/``), tolerant of what it lacks.

Everything here is read-only and forgiving: a file that is missing, half
written or has fields this version does not know is read as far as it goes.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any

from gatekit.lazyclass import dataclass
from gatekit.phases import ACTIVE_PHASES

_RUN_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")


def iso_seconds(text: object) -> float | None:
    """An ISO-8601 time (``...Z`` allowed) as epoch seconds; None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class RunDir:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    def result(self) -> dict[str, Any] | None:
        doc = _json(self.path / "result.json")
        return doc if isinstance(doc, dict) else None

    def plan_json(self) -> str | None:
        with contextlib.suppress(OSError):
            return (self.path / "plan.json").read_text(encoding="utf-8")
        return None

    def statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        folder = self.path / "status"
        with contextlib.suppress(OSError):
            for p in sorted(folder.glob("*.json")):
                doc = _json(p)
                if isinstance(doc, dict):
                    out[str(doc.get("gate") or p.stem)] = doc
        return out

    def events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with contextlib.suppress(OSError):
            for raw in (self.path / "events.jsonl").read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    doc = json.loads(raw)
                    if isinstance(doc, dict):
                        out.append(doc)
        return out

    def inside(self, rel: str) -> Path | None:
        """``rel`` under the run directory, or None when it would leave it."""
        try:
            path = (self.path / rel).resolve()
            path.relative_to(self.path.resolve())
        except (OSError, ValueError):
            return None
        return path

    def tail(self, rel: str | None, count: int) -> list[str]:
        path = self.inside(rel) if rel else None
        if path is None:
            return []
        try:
            with path.open("r", encoding="utf-8", errors="replace") as fh:
                return list(deque((ln.rstrip("\n") for ln in fh), maxlen=count))
        except OSError:
            return []

    def next_action(self, gate: str) -> str | None:
        """The "Next action" section of the gate's runbook, when there is one."""
        path = self.inside(f"reports/{gate}.md")
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        m = re.search(r"^## Next action\n\n(.*?)(?=\n## |\Z)", text, re.MULTILINE | re.DOTALL)
        return m.group(1).strip() if m else None


@dataclass
class Span:
    start: float  # seconds since the run started
    end: float | None  # None: still running
    phases: list[str] = field(default_factory=list)


QUIET = frozenset({"queued"})


def spans(events: list[dict[str, Any]]) -> tuple[float | None, dict[str, Span]]:
    """(run start as epoch seconds, gate -> when it was busy) from the events."""
    times = [t for e in events if (t := iso_seconds(e.get("time"))) is not None]
    if not times:
        return None, {}
    origin = min(times)
    out: dict[str, Span] = {}
    for e in events:
        gate, phase, t = e.get("gate"), e.get("phase"), iso_seconds(e.get("time"))
        if not isinstance(gate, str) or not isinstance(phase, str) or t is None:
            continue
        if phase in QUIET:
            continue
        span = out.setdefault(gate, Span(round(t - origin, 3), None))
        span.phases.append(phase)
        if phase not in ACTIVE_PHASES:
            span.end = round(t - origin, 3)
    return origin, out


def run_dirs(runs_root: Path) -> Iterator[RunDir]:
    """The run directories, newest first (run ids sort by their start time)."""
    try:
        names = sorted((p.name for p in runs_root.iterdir() if p.is_dir()), reverse=True)
    except OSError:
        return
    for name in names:
        if _RUN_ID.match(name):
            yield RunDir(runs_root / name)


def find(runs_root: Path, run_id: str) -> RunDir | None:
    if not _RUN_ID.match(run_id):
        return None
    path = runs_root / run_id
    return RunDir(path) if path.is_dir() else None
