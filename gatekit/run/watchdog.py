"""The in-run watchdog: a gate whose command prints nothing for ``stall_timeout`` seconds
is snapshotted (forensics), stopped (TERM, grace, KILL of its process group) and
recorded as ``stopped`` with code ``WATCHDOG_STUCK``.

One thread per run, started only when a gate of the run sets ``stall_timeout``.
It stops a gate through the same stop request as ``gatekit stop``, so the gate's
runner records the outcome and never retries it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from gatekit.lazyclass import dataclass
from gatekit.operator import control

_TICK = 0.1


@dataclass
class _Watched:
    pid: int
    stall: float
    command: str | None
    last: float


class Watchdog:
    def __init__(self, run_dir: Path, grace: float, mask: Callable[[str], str] | None) -> None:
        self.run_dir = run_dir
        self.grace = grace
        self.mask = mask
        self._lock = threading.Lock()
        self._watched: dict[str, _Watched] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def started(self, gate_id: str, pid: int, stall: float | None, command: str | None) -> None:
        """A command of the gate started (its process group is ``pid``)."""
        if stall is None or stall <= 0:
            return
        with self._lock:
            self._watched[gate_id] = _Watched(pid, stall, command, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="gatekit-watchdog", daemon=True
                )
                self._thread.start()

    def output(self, gate_id: str) -> None:
        with self._lock:
            w = self._watched.get(gate_id)
            if w is not None:
                w.last = time.monotonic()

    def ended(self, gate_id: str) -> None:
        with self._lock:
            self._watched.pop(gate_id, None)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.grace + 5)

    def _loop(self) -> None:
        while not self._stop.wait(_TICK):
            now = time.monotonic()
            with self._lock:
                stuck = [(g, w) for g, w in self._watched.items() if now - w.last >= w.stall]
                for g, _ in stuck:
                    del self._watched[g]
            for gate_id, w in stuck:
                self._fire(gate_id, w)

    def _fire(self, gate_id: str, w: _Watched) -> None:
        reason = f"no output for {w.stall:g}s: stopped by the watchdog (stall_timeout)"
        control.request_stop(
            self.run_dir,
            gate_id,
            code=control.WATCHDOG_STUCK,
            reason=reason,
            setting="stall_timeout",
        )
        control.end_gate(
            self.run_dir,
            gate_id,
            w.pid,
            why="watchdog: " + reason,
            grace=self.grace,
            mask=self.mask,
            command=w.command,
        )
