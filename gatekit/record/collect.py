"""Combine the records of a sharded run (``check --shard K/N`` on N runners) into one.

A shard's record holds every gate of the plan: its own with their outcomes, the
others skipped "in another shard". For each gate the newest record of the same
plan and candidate tree that did not leave it to another shard gives its result.
A runnable gate no shard recorded is an error (a shard job failed, or its notes
never arrived), never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gatekit.lazyclass import dataclass
from gatekit.results import GateResult, Outcome, RunResult

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import GatePlan

OTHER_SHARD = "in another shard"


def shard_records(
    repo: pygit2.Repository, plan_id: str, tree: str, refs: Sequence[str]
) -> list[RunResult]:
    """Records of sharded runs of this plan on this tree, in every notes ref given."""
    from gatekit.record.notes import iter_notes

    seen: set[str] = set()
    out: list[RunResult] = []
    for ref in refs:
        for _oid, _path, blob in iter_notes(repo, ref):
            data: bytes = repo[blob].data  # type: ignore[attr-defined]
            for line in data.decode("utf-8", "replace").splitlines():
                if plan_id not in line or line in seen:
                    continue
                seen.add(line)
                try:
                    rec = RunResult.model_validate_json(line)
                except ValueError:
                    continue
                mine = rec.candidate is not None and rec.candidate.tree == tree
                if rec.shard and rec.plan_id == plan_id and mine:
                    out.append(rec)
    return out


@dataclass(frozen=True)
class Combined:
    gates: tuple[GateResult, ...]
    shards: tuple[str, ...]  # K/N of the records used
    missing: tuple[str, ...]  # runnable gates no shard recorded


def combine(plan: GatePlan, records: Iterable[RunResult]) -> Combined:
    newest: dict[str, tuple[str, GateResult, str]] = {}
    for rec in records:
        for g in rec.gates:
            if g.outcome is Outcome.SKIPPED and g.reason.startswith(OTHER_SHARD):
                continue
            have = newest.get(g.id)
            if have is None or have[0] < rec.started_at:
                newest[g.id] = (rec.started_at, g, rec.shard or "")
    gates: list[GateResult] = []
    missing: list[str] = []
    for planned in plan.gates:
        found = newest.get(planned.id)
        if found is not None:
            gates.append(found[1])
            continue
        if planned.decision.value == "skip":
            outcome, reason = Outcome.SKIPPED, planned.reason
        elif planned.decision.value == "manual":
            outcome, reason = Outcome.MANUAL_PENDING, planned.instructions or planned.reason
        else:
            missing.append(planned.id)
            outcome = Outcome.ERROR
            reason = (
                "no shard recorded a result for this gate (a shard failed or its notes are missing)"
            )
        gates.append(
            GateResult(id=planned.id, outcome=outcome, reason=reason, required=planned.required)
        )
    shards = tuple(sorted({s for _, _, s in newest.values() if s}))
    return Combined(tuple(gates), shards, tuple(missing))


def notes_refs_of(repo: pygit2.Repository) -> list[str]:
    from gatekit.record.notes import NOTES_REF

    return [NOTES_REF, *sorted(r for r in repo.references if r.startswith("refs/notes/remotes/"))]
