"""Approvals of manual gates, bound to a candidate tree (a new tree needs a new approval).

An approval is one JSON line in the note of the candidate *tree* object in
``refs/notes/gatekit`` (the same notes ref as results, so ``gatekit push`` and
``gatekit fetch`` share approvals too and concurrent writers merge by line).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gatekit import canonical
from gatekit.lazyclass import dataclass
from gatekit.record.notes import NOTES_REF, append_notes, read_note_lines

if TYPE_CHECKING:
    import pygit2

KIND = "gatekit-approval"


@dataclass(frozen=True)
class Approval:
    gate: str
    tree: str
    by: str
    at: str
    comment: str


def approve(repo: pygit2.Repository, tree: str, gate: str, by: str, comment: str = "") -> Approval:
    approval = Approval(
        gate=gate,
        tree=tree,
        by=by,
        at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        comment=comment,
    )
    line = canonical.dumps({"kind": KIND, **approval.__dict__})
    append_notes(repo, [(tree, line)], NOTES_REF)
    return approval


def approvals_for(repo: pygit2.Repository, tree: str) -> dict[str, Approval]:
    """gate id -> the first approval recorded for this tree."""
    found: dict[str, Approval] = {}
    for line in read_note_lines(repo, tree, NOTES_REF):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("kind") != KIND or data.get("tree") != tree:
            continue
        gate = data.get("gate")
        if isinstance(gate, str) and gate not in found:
            found[gate] = Approval(
                gate=gate,
                tree=tree,
                by=str(data.get("by", "")),
                at=str(data.get("at", "")),
                comment=str(data.get("comment", "")),
            )
    return found
