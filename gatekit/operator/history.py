"""Earlier sightings of a failure signature on a checkpoint chain (``gatekit explain``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

MAX_CHECKPOINTS = 500


def seen_before(
    chain: str | None, gate_id: str, signature: str, exclude_run: str | None
) -> dict[str, Any] | None:
    """{count, since, last_passed_checkpoint, last_passed_at} over the chain, or None."""
    if not chain:
        return None
    from gatekit.git.repo import open_repo
    from gatekit.record.checkpoints import iter_checkpoints
    from gatekit.record.notes import read_note_lines

    repo = open_repo(".")
    count = 0
    since: str | None = None
    passed: tuple[str, str] | None = None
    for i, cp in enumerate(iter_checkpoints(repo, chain)):
        if i >= MAX_CHECKPOINTS:
            break
        when = datetime.fromtimestamp(cp.time, UTC).strftime("%Y-%m-%d")
        for line in read_note_lines(repo, cp.id):
            rec = _record(line)
            if rec is None or rec.get("run_id") == exclude_run:
                continue
            for g in rec.get("gates", []):
                if g.get("id") != gate_id:
                    continue
                if g.get("signature") == signature:
                    count += 1
                    since = when  # newest first: the last one seen is the earliest
                elif passed is None and g.get("outcome") in ("passed", "cached"):
                    passed = (cp.id, when)
    return {
        "count": count,
        "since": since,
        "last_passed_checkpoint": passed[0] if passed else None,
        "last_passed_at": passed[1] if passed else None,
    }


def _record(line: str) -> dict[str, Any] | None:
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and "gates" in rec else None


def sentence(seen: dict[str, Any] | None) -> str | None:
    if not seen:
        return None
    if seen["count"] == 0:
        text = "first time this failure is seen on the chain"
    else:
        text = f"seen {seen['count']} time(s) before since {seen['since']}"
    if seen["last_passed_checkpoint"]:
        text += (
            f", last passed at checkpoint {seen['last_passed_checkpoint'][:12]}"
            f" ({seen['last_passed_at']})"
        )
    return text
