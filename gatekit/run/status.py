"""The run directory: what an operator reads while and after gates run.

    status/<gate>.json   phase, attempt, pid, started, updated, heartbeat, log, last lines
    events.jsonl         one JSON line per transition
    logs/<gate>.log      the gate's full output (every attempt)
    logs/all.log         every gate's output, lines prefixed ``[gate] ``
    reports/<gate>.md    a runbook on every failure

Status files are rewritten atomically. A gate's final state and each process it
once; its passing phases (queued, running, ...) by a writer thread within
``SETTLE`` seconds, so a gate that finishes sooner costs one write, not four
(replacing a file is the costly part on many filesystems). The same thread
refreshes the status of running gates every ``HEARTBEAT`` seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from pathlib import Path
from typing import IO, Any, cast

from gatekit.atomicfile import save_quietly
from gatekit.lazyclass import dataclass
from gatekit.operator.runfile import now_iso
from gatekit.phases import ACTIVE_PHASES

HEARTBEAT = 2.0
SETTLE = 0.05  # seconds a passing phase may wait before its status file is written
LAST_LINES = 20
RUNBOOK_LINES = 200


@dataclass
class _GateState:
    phase: str = "queued"
    attempt: int = 0
    pid: int | None = None
    started: str | None = None
    updated: str = field(default_factory=now_iso)
    last: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))
    extra: dict[str, Any] = field(default_factory=dict)


class MaskedLog(io.TextIOBase):
    """A text log whose every write passes through ``mask`` (known secrets hidden)."""

    def __init__(self, inner: IO[str], mask: Callable[[str], str]) -> None:
        self._inner = inner
        self._mask = mask

    def write(self, text: str) -> int:
        self._inner.write(self._mask(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def close(self) -> None:
        # IOBase.close() flushes first: it must run while the inner log is still open.
        if self.closed:
            return
        try:
            super().close()
        finally:
            self._inner.close()


class RunStatus:
    """Writes the run directory; safe to call from worker threads."""

    def __init__(self, run_dir: Path, mask: Callable[[str], str] | None = None) -> None:
        self.run_dir = run_dir
        self.mask = mask
        for sub in ("status", "logs", "reports"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._gates: dict[str, _GateState] = {}
        self._events = (run_dir / "events.jsonl").open("a", encoding="utf-8")
        self._all = (run_dir / "logs" / "all.log").open("a", encoding="utf-8")
        self._stop = threading.Event()
        self._dirty: set[str] = set()  # gates whose status file is behind
        self._wake = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="gatekit-heartbeat", daemon=True)
        self._beat.start()

    # paths -------------------------------------------------------------
    @staticmethod
    def log_rel(gate_id: str) -> str:
        return f"logs/{gate_id}.log"

    def log_path(self, gate_id: str) -> Path:
        return self.run_dir / self.log_rel(gate_id)

    def open_log(self, gate_id: str) -> IO[str]:
        log = self.log_path(gate_id).open("a", encoding="utf-8")
        if self.mask is None:
            return log
        return cast("IO[str]", MaskedLog(log, self.mask))

    # transitions -------------------------------------------------------
    def transition(self, gate_id: str, phase: str, **fields: Any) -> None:
        with self._lock:
            st = self._gates.setdefault(gate_id, _GateState())
            st.phase = phase
            st.updated = now_iso()
            if phase in ACTIVE_PHASES and st.started is None:
                st.started = st.updated
            if "attempt" in fields:
                st.attempt = int(fields["attempt"])
            if "pid" in fields:
                st.pid = fields["pid"]
            st.extra.update({k: v for k, v in fields.items() if k not in ("attempt", "pid")})
            record = {"time": st.updated, "gate": gate_id, "phase": phase, **fields}
            self._events.write(json.dumps(record, sort_keys=True) + "\n")
            self._events.flush()
            if phase in ACTIVE_PHASES or phase == "queued":
                self._later(gate_id)
            else:  # an outcome: written now
                self._dirty.discard(gate_id)
                self._write_status(gate_id, st)

    def set_pid(self, gate_id: str, pid: int | None) -> None:
        with self._lock:
            st = self._gates.setdefault(gate_id, _GateState())
            st.pid = pid
            st.updated = now_iso()
            # written at once (a process start costs far more than the write): a reader
            # must find the process even when the run is killed or stopped right after
            self._dirty.discard(gate_id)
            self._write_status(gate_id, st)

    def line(self, gate_id: str, text: str) -> None:
        with self._lock:
            st = self._gates.setdefault(gate_id, _GateState())
            st.last.append(text)
            self._all.write(f"[{gate_id}] {text}\n")
            self._all.flush()

    def phase_of(self, gate_id: str) -> str | None:
        with self._lock:
            st = self._gates.get(gate_id)
            return st.phase if st else None

    def last_line(self, gate_id: str) -> str | None:
        with self._lock:
            st = self._gates.get(gate_id)
            return st.last[-1] if st and st.last else None

    # runbook -----------------------------------------------------------
    def write_runbook(
        self,
        gate_id: str,
        *,
        phase: str,
        outcome: str,
        reason: str,
        exit_code: int | None,
        failure_class: str | None,
        command: str | None,
        attempts: int,
        next_action: str,
        extra: Sequence[str] = (),
    ) -> Path:
        tail = _tail(self.log_path(gate_id), RUNBOOK_LINES)
        lines = [
            f"# Gate `{gate_id}`: {outcome}",
            "",
            f"- phase: {phase}",
            f"- reason: {reason or '-'}",
            f"- exit code: {exit_code if exit_code is not None else '-'}",
            f"- failure class: {failure_class or '-'}",
            f"- attempts: {attempts}",
            f"- command: `{command}`" if command else "- command: -",
            f"- full log: {self.log_rel(gate_id)}",
            *extra,
            "",
            "## Next action",
            "",
            next_action,
            "",
            f"## Last {RUNBOOK_LINES} lines of output",
            "",
            "```",
            *tail,
            "```",
            "",
        ]
        path = self.run_dir / "reports" / f"{gate_id}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    # lifecycle ---------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._beat.join(timeout=5)
        with self._lock:
            self._flush_dirty()
            self._events.close()
            self._all.close()

    def _later(self, gate_id: str) -> None:
        """Under the lock: the writer thread writes this gate's status within SETTLE."""
        self._dirty.add(gate_id)
        self._wake.set()

    def _flush_dirty(self) -> None:
        for gate_id in sorted(self._dirty):
            self._write_status(gate_id, self._gates[gate_id])
        self._dirty.clear()

    def _heartbeat(self) -> None:
        beat = time.monotonic() + HEARTBEAT
        while not self._stop.is_set():
            woken = self._wake.wait(max(0.0, beat - time.monotonic()))
            if self._stop.is_set():
                return
            if woken:
                self._stop.wait(SETTLE)  # let a quick gate reach its outcome first
                with self._lock:
                    self._wake.clear()
                    self._flush_dirty()
            if time.monotonic() >= beat:
                beat = time.monotonic() + HEARTBEAT
                with self._lock:
                    for gate_id, st in self._gates.items():
                        if st.phase in ACTIVE_PHASES:
                            self._write_status(gate_id, st)

    def _write_status(self, gate_id: str, st: _GateState) -> None:
        doc = {
            "gate": gate_id,
            "phase": st.phase,
            "attempt": st.attempt,
            "pid": st.pid,
            "started": st.started,
            "updated": st.updated,
            "heartbeat": now_iso(),
            "log": self.log_rel(gate_id),
            "last_lines": list(st.last),
            **st.extra,
        }
        save_quietly(
            self.run_dir / "status" / f"{gate_id}.json",
            json.dumps(doc, indent=2, sort_keys=True) + "\n",
        )


def _tail(path: Path, count: int) -> list[str]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return list(deque((ln.rstrip("\n") for ln in fh), maxlen=count))
    except OSError:
        return []


def read_events(run_dir: Path) -> Iterable[dict[str, Any]]:
    """The transitions recorded so far (for tools and tests)."""
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(raw))
    return out


def elapsed_since(start: float) -> float:
    return round(time.monotonic() - start, 3)
