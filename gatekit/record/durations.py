"""How long each gate took when it last ran, from the records in ``refs/notes/gatekit``
(local and fetched): the weights of :mod:`gatekit.plan.shards`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gatekit.record.notes import NOTES_REF, iter_notes

if TYPE_CHECKING:
    import pygit2

_RAN = frozenset({"passed", "failed", "timed_out", "error"})


def recorded_durations(repo: pygit2.Repository, ref: str = NOTES_REF) -> dict[str, float]:
    """gate id -> duration (seconds) of its newest recorded run (cached results excluded)."""
    newest: dict[str, tuple[str, float]] = {}
    for _oid, _path, blob in iter_notes(repo, ref):
        data: bytes = repo[blob].data  # type: ignore[attr-defined]
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                rec = json.loads(line)
                started = str(rec["started_at"])
                gates = rec["gates"]
            except (ValueError, KeyError, TypeError):
                continue
            for g in gates if isinstance(gates, list) else ():
                if not isinstance(g, dict) or g.get("outcome") not in _RAN:
                    continue
                gid, duration = g.get("id"), g.get("duration")
                if not isinstance(gid, str) or not isinstance(duration, int | float):
                    continue
                if gid not in newest or newest[gid][0] < started:
                    newest[gid] = (started, float(duration))
    return {gid: d for gid, (_, d) in newest.items()}
