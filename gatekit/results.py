"""Result records: what a check did, per gate. The JSON is the git-note payload.

Plain frozen records (:mod:`gatekit.frozen`, no pydantic on a check's path); the
pydantic twin in :mod:`gatekit.schemamodels.results` generates the schema and a
test keeps their JSON identical.

Records carry no secret values and no absolute paths of the user's machine:
log paths are relative to the run directory.
"""

from __future__ import annotations

import enum
from typing import Literal

from gatekit.frozen import Record
from gatekit.plan.model import PlanContext, PolicyRef

RESULT_SCHEMA_VERSION = 1


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"
    CACHED = "cached"
    MANUAL_PENDING = "manual_pending"
    APPROVED = "approved"
    STOPPED = "stopped"
    CRASHED = "crashed"


GOOD_OUTCOMES = frozenset({Outcome.PASSED, Outcome.CACHED, Outcome.APPROVED})

FailureClass = Literal["transient", "deterministic", "timeout", "environment", "interrupted"]


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    MANUAL_REQUIRED = "manual_required"
    INTERRUPTED = "interrupted"


class Cost(Record):
    """What a gate (or a run) spent. Unknown figures are null (a built-in gate runs
    inside gatekit: its CPU is its thread's, its memory is gatekit's)."""

    wall: float
    cpu_user: float | None = None
    cpu_system: float | None = None
    peak_memory: int | None = None
    bytes_written: int | None = None


def add_costs(costs: list[Cost]) -> Cost | None:
    """The sum of ``costs`` (peak memory: the largest); None when there are none."""
    if not costs:
        return None

    def total(name: str) -> float | None:
        values = [getattr(c, name) for c in costs if getattr(c, name) is not None]
        return round(sum(values), 3) if values else None

    peaks = [c.peak_memory for c in costs if c.peak_memory is not None]
    written = [c.bytes_written for c in costs if c.bytes_written is not None]
    return Cost(
        wall=round(sum(c.wall for c in costs), 3),
        cpu_user=total("cpu_user"),
        cpu_system=total("cpu_system"),
        peak_memory=max(peaks) if peaks else None,
        bytes_written=sum(written) if written else None,
    )


class Attempt(Record):
    number: int
    outcome: Outcome
    exit_code: int | None = None
    failure_class: FailureClass | None = None
    duration: float
    cost: Cost | None = None


class Finding(Record):
    rule: str
    path: str
    line: int | None = None
    column: int | None = None
    message: str
    severity: Literal["error", "warning", "note"] = "error"


class JUnitCase(Record):
    suite: str
    classname: str
    name: str
    result: Literal["failure", "error"]
    message: str


class JUnitSummary(Record):
    tests: int
    failures: int
    errors: int
    skipped: int
    failing: tuple[JUnitCase, ...] = ()


class KpiResult(Record):
    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    reason: str


class GateResult(Record):
    id: str
    outcome: Outcome
    reason: str = ""
    required: bool = True
    attempts: tuple[Attempt, ...] = ()
    duration: float = 0.0
    log: str | None = None
    flaky: bool = False
    cache_key: str | None = None
    cached_from: str | None = None
    junit: JUnitSummary | None = None
    kpi: tuple[KpiResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    network_isolated: bool | None = None
    fix_tree: str | None = None
    notes: tuple[str, ...] = ()
    code: str | None = None
    cost: Cost | None = None
    limits_enforced: str | None = None
    signature: str | None = None
    quarantined: bool = False


class CandidateInfo(Record):
    source: str
    tree: str
    base: str | None
    commit: str | None = None


class Environment(Record):
    python: str
    platform: str
    gatekit: str
    fingerprint: str


class RunResult(Record):
    schema_version: int = RESULT_SCHEMA_VERSION
    run_id: str
    plan_id: str
    policies: tuple[PolicyRef, ...]
    context: PlanContext
    candidate: CandidateInfo | None = None
    verdict: Verdict
    exit_code: int
    gates: tuple[GateResult, ...]
    environment: Environment
    started_at: str
    duration: float
    chain: str | None = None
    checkpoint: str | None = None
    shard: str | None = None
    cost: Cost | None = None


def run_cost(gates: tuple[GateResult, ...] | list[GateResult]) -> Cost | None:
    """What the run's gates spent in this run (a cached result's cost was spent before)."""
    return add_costs(
        [g.cost for g in gates if g.cost is not None and g.outcome is not Outcome.CACHED]
    )


def verdict_for(
    gates: tuple[GateResult, ...] | list[GateResult], interrupted: bool = False
) -> Verdict:
    """Passes only when every required gate passed, was cached or was approved."""
    if interrupted:
        return Verdict.INTERRUPTED
    required = [g for g in gates if g.required and g.outcome is not Outcome.SKIPPED]
    if any(
        g.outcome not in GOOD_OUTCOMES and g.outcome is not Outcome.MANUAL_PENDING for g in required
    ):
        return Verdict.FAILED
    if any(g.outcome is Outcome.MANUAL_PENDING for g in required):
        return Verdict.MANUAL_REQUIRED
    return Verdict.PASSED


def exit_code_for(verdict: Verdict) -> int:
    from gatekit.errors import ExitCode

    return {
        Verdict.PASSED: ExitCode.PASS,
        Verdict.FAILED: ExitCode.GATE_FAILED,
        Verdict.MANUAL_REQUIRED: ExitCode.MANUAL_REQUIRED,
        Verdict.INTERRUPTED: ExitCode.INTERRUPTED,
    }[verdict].value


def cost_text(cost: Cost) -> str:
    """One line for people (the final table, ``gatekit show``):
    ``wall 1.2s, cpu 0.8s user + 0.1s sys, peak 45.3 MiB, wrote 1.0 MiB``."""
    from gatekit.config.sizes import format_size

    parts = [f"wall {cost.wall:.2f}s"]
    if cost.cpu_user is not None and cost.cpu_system is not None:
        parts.append(f"cpu {cost.cpu_user:.2f}s user + {cost.cpu_system:.2f}s sys")
    if cost.peak_memory is not None:
        parts.append(f"peak memory {format_size(cost.peak_memory)}")
    if cost.bytes_written is not None:
        parts.append(f"wrote {format_size(cost.bytes_written)}")
    return ", ".join(parts)
