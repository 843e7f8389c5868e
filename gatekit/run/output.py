"""Reporters: how a run looks while it happens and at the end.

``Reporter.event(gate_id, phase, line)`` is called from worker threads: with
``line=None`` the gate entered ``phase`` (queued, cache, environment, install, running,
retry-wait, collecting, or a final outcome such as passed/failed); with a line,
the gate printed it while in ``phase``. ``final(results)`` is called once.

- ``LiveReporter``: for a terminal; every gate with phase, elapsed time and
  last line, redrawn in place with ANSI codes at most ~10 times a second.
- ``PlainReporter``: for CI and pipes; one line per event, prefixed
  ``[gate] ``, flushed line by line.
Both end with the same table.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from typing import Protocol, TextIO

from gatekit.lazyclass import dataclass
from gatekit.phases import ACTIVE_PHASES as ACTIVE
from gatekit.results import GateResult, Outcome

FINAL = frozenset(o.value for o in Outcome)
_MARK = {
    "queued": "  ",
    "passed": "ok",
    "cached": "ok",
    "approved": "ok",
    "skipped": "--",
    "manual_pending": "??",
    "stopped": "!!",
}


class Reporter(Protocol):
    def event(self, gate_id: str, phase: str, line: str | None = None) -> None: ...

    def final(self, results: Sequence[GateResult]) -> None: ...


def make_reporter(stream: TextIO | None = None, live: bool | None = None) -> Reporter:
    """A live view on a terminal, plain lines otherwise (CI, pipes, TERM=dumb)."""
    stream = sys.stderr if stream is None else stream
    if live is None:
        live = (
            _isatty(stream)
            and os.environ.get("TERM", "") not in ("", "dumb")
            and "CI" not in os.environ
        )
    return LiveReporter(stream) if live else PlainReporter(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def final_table(results: Sequence[GateResult]) -> str:
    """The end-of-run table, one gate per row."""
    if not results:
        return "no gates\n"
    width = max(4, *(len(r.id) for r in results))
    rows = [f"{'gate':<{width}}  {'outcome':<14}  {'time':>7}  reason"]
    for r in results:
        extra = " (flaky)" if r.flaky else ""
        tries = f" [{len(r.attempts)} attempts]" if len(r.attempts) > 1 else ""
        reason = (r.reason + extra + tries).strip()
        rows.append(f"{r.id:<{width}}  {r.outcome.value:<14}  {r.duration:>6.2f}s  {reason}")
    from gatekit.results import cost_text, run_cost

    total = run_cost(list(results))
    if total is not None:
        rows.append(f"spent: {cost_text(total)}")  # the wall time is summed over gates
    for r in results:
        if r.findings and r.outcome.value not in ("passed", "cached", "approved"):
            rows.append(f"{r.id}:")
            rows.extend(
                f"  {_where(f.path, f.line)}: {f.message}" for f in r.findings[:MAX_FINDINGS]
            )
            if len(r.findings) > MAX_FINDINGS:
                rows.append(f"  ... and {len(r.findings) - MAX_FINDINGS} more (see the log)")
    return "\n".join(rows) + "\n"


MAX_FINDINGS = 20


def _where(path: str, line: int | None) -> str:
    return path if line is None else f"{path}:{line}"


class PlainReporter:
    """``[gate] `` prefixed lines, flushed one by one; thread-safe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self._lock = threading.Lock()

    def event(self, gate_id: str, phase: str, line: str | None = None) -> None:
        if line is None:
            if phase in ("queued", "cache", "collecting"):
                return  # bookkeeping phases: noise in a CI log
            text = f"[{gate_id}] == {phase}"
        else:
            text = f"[{gate_id}] {line}"
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def final(self, results: Sequence[GateResult]) -> None:
        with self._lock:
            self.stream.write(final_table(results))
            self.stream.flush()


@dataclass
class _Row:
    phase: str = "queued"
    started: float | None = None
    ended: float | None = None
    last: str = ""


class LiveReporter:
    """Every gate on its own line, redrawn in place (~10 Hz at most)."""

    interval = 0.1

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._drawn = 0
        self._spin = 0
        self._thread = threading.Thread(target=self._loop, name="gatekit-live", daemon=True)
        self._thread.start()

    def event(self, gate_id: str, phase: str, line: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            row = self._rows.setdefault(gate_id, _Row())
            if line is not None:
                row.last = line
            else:
                row.phase = phase
                if phase in ACTIVE and row.started is None:
                    row.started = now
                if phase in FINAL:
                    row.ended = now
        self._dirty.set()

    def final(self, results: Sequence[GateResult]) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        with self._lock:
            for r in results:
                row = self._rows.setdefault(r.id, _Row())
                row.phase = r.outcome.value
            self._draw()
            self.stream.write("\n" + final_table(results))
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.interval)
            with self._lock:
                running = any(r.phase in ACTIVE for r in self._rows.values())
                if self._dirty.is_set() or running:
                    self._dirty.clear()
                    self._spin += 1
                    self._draw()

    def _draw(self) -> None:
        cols, lines = shutil.get_terminal_size((100, 24))
        out = []
        if self._drawn:
            out.append(f"\x1b[{self._drawn}F")
        rows = list(self._rows.items())
        if len(rows) > max(lines - 2, 3):
            active = [(k, v) for k, v in rows if v.phase in ACTIVE]
            done = sum(1 for _, v in rows if v.phase in FINAL)
            queued = len(rows) - len(active) - done
            rows = active[: max(lines - 3, 1)]
            summary = f"   {len(active)} running, {queued} queued, {done} done"
        else:
            summary = None
        now = time.monotonic()
        width = max((len(k) for k, _ in rows), default=4)
        text_lines = [self._render(k, v, width, now) for k, v in rows]
        if summary is not None:
            text_lines.append(summary)
        for t in text_lines:
            out.append("\x1b[2K" + t[: cols - 1] + "\n")
        # Clear what the previous frame drew below this one.
        extra = self._drawn - len(text_lines)
        for _ in range(max(extra, 0)):
            out.append("\x1b[2K\n")
        if extra > 0:
            out.append(f"\x1b[{extra}F")
        self._drawn = len(text_lines)
        self.stream.write("".join(out))
        self.stream.flush()

    def _render(self, gate_id: str, row: _Row, width: int, now: float) -> str:
        spinner = "|/-\\"[self._spin % 4] + " "
        mark = spinner if row.phase in ACTIVE else _MARK.get(row.phase, "XX")
        elapsed = ""
        if row.started is not None:
            elapsed = f"{(row.ended or now) - row.started:6.1f}s"
        quiet = row.phase in ("passed", "cached", "approved", "skipped", "queued")
        last = "" if quiet else row.last.replace("\t", " ")
        return f"{mark} {gate_id:<{width}}  {row.phase:<14} {elapsed:>7}  {last}"
