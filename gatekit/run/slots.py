"""Job slots: how many gates' attempts run at once (``--jobs``).

The scheduler starts a gate before a slot is free for it (up to ``--jobs`` gates
ahead): the gate makes its sandbox and its view meanwhile, and takes a slot for
each attempt only, so that the next gate's command starts the moment one ends.
First attempts get slots in the order the scheduler started the gates (with one
job, gates run in plan order); a retry gets the next free one, and its back-off
waits without one.
"""

from __future__ import annotations

import threading

_POLL = 0.1  # seconds between looks at a stopping run while waiting for a slot


class CommandSlots:
    def __init__(self, jobs: int, stopping: threading.Event) -> None:
        self._cond = threading.Condition()
        self._free = max(1, jobs)
        self._stopping = stopping
        self._line: list[str] = []  # started gates that have not had a slot yet, in order

    def started(self, gate_id: str) -> None:
        """The scheduler started this gate: it joins the line."""
        with self._cond:
            self._line.append(gate_id)

    def take(self, gate_id: str) -> bool:
        """Wait for a slot (and for the gates ahead in the line); False, none taken, once
        the run is stopping: what the attempt starts then stops at once."""
        with self._cond:
            while self._free == 0 or (gate_id in self._line and self._line[0] != gate_id):
                if self._stopping.is_set():
                    return False
                self._cond.wait(_POLL)
            self._free -= 1
            self.leave(gate_id)
            return True

    def give(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def leave(self, gate_id: str) -> None:
        """The gate needs no (more) slot from the line: it had one, or it ended without
        (a cache hit, a stop before it started, a crash)."""
        with self._cond:
            if gate_id in self._line:
                self._line.remove(gate_id)
                self._cond.notify_all()
