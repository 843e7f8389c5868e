"""Gates left out of one run, with the reason recorded: ``GATEKIT_SKIP`` and ``--shard``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.results import GateResult, Outcome

if TYPE_CHECKING:
    import pygit2

    from gatekit.check.request import CheckRequest
    from gatekit.plan.model import GatePlan
    from gatekit.run.output import Reporter

REQUESTED = "skipped by request (GATEKIT_SKIP)"


def parse_skip_env(value: str | None) -> tuple[str, ...]:
    """``GATEKIT_SKIP=gate1,gate2`` (commas or spaces) as gate ids."""
    if not value:
        return ()
    return tuple(dict.fromkeys(p for p in value.replace(",", " ").split() if p))


def _check(plan: GatePlan, ids: Sequence[str], what: str) -> None:
    known = [g.id for g in plan.gates]
    for gid in ids:
        if gid not in known:
            from gatekit.config.suggest import gate_tip

            raise UsageError(
                f"{what} names {gid!r}: no such gate in the plan", tip=gate_tip(gid, known)
            )


def extra_skips(repo: pygit2.Repository, request: CheckRequest, plan: GatePlan) -> dict[str, str]:
    """gate id -> reason, for the gates this run leaves out on purpose."""
    out: dict[str, str] = {}
    _check(plan, request.requested_skip, "GATEKIT_SKIP")
    for gid in request.requested_skip:
        out[gid] = REQUESTED
    if request.shard is not None:
        k, n = request.shard
        mine = set(_shard_gates(repo, request, plan))
        for g in plan.gates:
            if g.id not in mine and g.id not in out:
                out[g.id] = f"in another shard (this run checks shard {k}/{n})"
    return out


def _shard_gates(repo: pygit2.Repository, request: CheckRequest, plan: GatePlan) -> tuple[str, ...]:
    assert request.shard is not None
    if request.shard_gates is not None:
        _check(plan, request.shard_gates, "--shard-gates")
        return request.shard_gates
    from gatekit.plan.shards import assign
    from gatekit.record.durations import recorded_durations

    k, n = request.shard
    return assign(plan, recorded_durations(repo), n)[k - 1]


def relabel(results: list[GateResult], skips: Mapping[str, str]) -> list[GateResult]:
    """The scheduler says "skipped by --skip": say why instead."""
    if not skips:
        return results
    out = []
    for r in results:
        if r.id in skips and r.outcome is Outcome.SKIPPED and r.reason == "skipped by --skip":
            r = r.model_copy(update={"reason": skips[r.id]})
        out.append(r)
    return out


class RelabelReporter:
    """A reporter whose end-of-run table shows the reasons of :func:`relabel`."""

    def __init__(self, inner: Reporter, skips: Mapping[str, str]) -> None:
        self.inner = inner
        self.skips = skips

    def event(self, gate_id: str, phase: str, line: str | None = None) -> None:
        self.inner.event(gate_id, phase, line)

    def final(self, results: Sequence[GateResult]) -> None:
        self.inner.final(relabel(list(results), self.skips))
