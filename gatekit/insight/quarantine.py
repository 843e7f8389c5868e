"""Quarantine: gates a team decided to watch (or stop blocking on), recorded in git.

Each decision is one JSON line (``kind: gatekit-quarantine``: gate, action
``add``/``remove``, by, at, why) in the note of a fixed anchor blob in
``refs/notes/gatekit``, so ``gatekit push``/``fetch`` share decisions and
concurrent writers merge by line. The decision in force for a gate is its latest
line (by time). Whether a quarantined gate blocks the verdict is the policy's
``quarantine.blocking``; either way every report says the gate is quarantined.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gatekit import canonical
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

    from gatekit.insight.history import Run
    from gatekit.plan.model import QuarantinePolicy
    from gatekit.results import GateResult

KIND = "gatekit-quarantine"
ANCHOR = b"gatekit quarantine decisions\n"


@dataclass(frozen=True)
class Decision:
    gate: str
    action: str  # "add" or "remove"
    by: str
    at: str  # UTC ISO-8601 with microseconds: orders decisions
    why: str


def _anchor(repo: pygit2.Repository, write: bool) -> str:
    import pygit2

    return str(repo.create_blob(ANCHOR)) if write else str(pygit2.hash(ANCHOR))


def record(repo: pygit2.Repository, gate: str, action: str, why: str) -> Decision:
    from datetime import UTC, datetime

    from gatekit.record.notes import append_notes
    from gatekit.record.objects import signature

    if action not in ("add", "remove"):
        raise ValueError(action)
    if not why.strip():
        raise UsageError("say why with --why TEXT: the decision is kept for the team to read")
    sig = signature(repo)
    decision = Decision(
        gate=gate,
        action=action,
        by=f"{sig.name} <{sig.email}>",
        at=datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        why=why.strip(),
    )
    append_notes(
        repo, [(_anchor(repo, True), canonical.dumps({"kind": KIND, **decision.__dict__}))]
    )
    return decision


def decisions(repo: pygit2.Repository) -> list[Decision]:
    """Every recorded decision, oldest first."""
    from gatekit.record.notes import read_note_lines

    out = []
    for line in read_note_lines(repo, _anchor(repo, False)):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("kind") != KIND:
            continue
        if data.get("action") not in ("add", "remove") or not isinstance(data.get("gate"), str):
            continue
        out.append(
            Decision(
                gate=data["gate"],
                action=data["action"],
                by=str(data.get("by", "")),
                at=str(data.get("at", "")),
                why=str(data.get("why", "")),
            )
        )
    out.sort(key=lambda d: (d.at, d.action, d.gate))
    return out


def quarantined(repo: pygit2.Repository) -> dict[str, Decision]:
    """gate -> the ``add`` decision in force."""
    state: dict[str, Decision] = {}
    for d in decisions(repo):
        if d.action == "add":
            state[d.gate] = d
        else:
            state.pop(d.gate, None)
    return state


def suggestions(runs: Sequence[Run], threshold: int) -> dict[str, int]:
    """gate -> flaky events in ``runs``, for gates with at least ``threshold`` of them."""
    from gatekit.insight.stats import flaky_events

    return {g: len(ix) for g, ix in sorted(flaky_events(runs).items()) if len(ix) >= threshold}


def apply_quarantine(
    repo: pygit2.Repository, policy: QuarantinePolicy, results: list[GateResult]
) -> list[GateResult]:
    """Mark quarantined gates; with ``blocking: false`` their failures stop counting."""
    from gatekit.results import GOOD_OUTCOMES, Outcome

    held = quarantined(repo)
    if not held:
        return results
    out = []
    for r in results:
        d = held.get(r.id)
        if d is not None:
            note = f"quarantined by {d.by} at {d.at}: {d.why}"
            failing = r.outcome not in GOOD_OUTCOMES and r.outcome is not Outcome.SKIPPED
            update: dict[str, object] = {"quarantined": True, "notes": (*r.notes, note)}
            if failing and r.required and not policy.blocking:
                update["required"] = False
                update["notes"] = (*r.notes, note, "does not block: quarantine.blocking is false")
            r = r.model_copy(update=update)
        out.append(r)
    return out
