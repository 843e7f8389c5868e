"""The pydantic twin of gatekit.results: generates schemas/result.schema.json and
validates results in the tests. The JSON is the git-note payload.

Records carry no secret values and no absolute paths of the user's machine:
log paths are relative to the run directory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekit.results import RESULT_SCHEMA_VERSION, FailureClass, Outcome, Verdict
from gatekit.schemamodels.plan import PlanContext, PolicyRef


class Rec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cost(Rec):
    """What a gate (or a run) spent. Unknown figures are null (a built-in gate runs
    inside gatekit: its CPU is its thread's, its memory is gatekit's)."""

    wall: float = Field(description="seconds, summed over attempts")
    cpu_user: float | None = Field(default=None, description="CPU seconds in user mode")
    cpu_system: float | None = Field(default=None, description="CPU seconds in the kernel")
    peak_memory: int | None = Field(
        default=None, description="bytes: the largest resident memory of the process tree"
    )
    bytes_written: int | None = Field(
        default=None, description="bytes the tree wrote to storage (the kernel's block output)"
    )


class Attempt(Rec):
    number: int
    outcome: Outcome
    exit_code: int | None = None
    failure_class: FailureClass | None = None
    duration: float
    cost: Cost | None = None


class Finding(Rec):
    rule: str
    path: str
    line: int | None = None
    column: int | None = None
    message: str
    severity: Literal["error", "warning", "note"] = "error"


class JUnitCase(Rec):
    suite: str
    classname: str
    name: str
    result: Literal["failure", "error"]
    message: str


class JUnitSummary(Rec):
    tests: int
    failures: int
    errors: int
    skipped: int
    failing: tuple[JUnitCase, ...] = ()


class KpiResult(Rec):
    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool
    reason: str


class GateResult(Rec):
    id: str
    outcome: Outcome
    reason: str = ""
    required: bool = True
    attempts: tuple[Attempt, ...] = ()
    duration: float = 0.0
    log: str | None = Field(default=None, description="log path relative to the run directory")
    flaky: bool = False
    cache_key: str | None = None
    cached_from: str | None = Field(
        default=None, description="checkpoint the cached pass came from"
    )
    junit: JUnitSummary | None = None
    kpi: tuple[KpiResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    network_isolated: bool | None = None
    fix_tree: str | None = Field(
        default=None, description="tree OID of the shadow after a fix gate, when it changed files"
    )
    notes: tuple[str, ...] = ()
    code: str | None = Field(
        default=None,
        description="machine-readable reason: LIMIT_MEMORY, LIMIT_CPU, LIMIT_DISK, "
        "LIMIT_PROCESSES, STOPPED_BY_OPERATOR, WATCHDOG_STUCK, OWNER_DIED",
    )
    cost: Cost | None = Field(default=None, description="the attempts' sum")
    limits_enforced: str | None = Field(
        default=None,
        description="how the gate's limits were enforced: cgroup-v2, or rlimit (with a watcher)",
    )
    signature: str | None = Field(
        default=None,
        description="failure signature: gate, failing command, normalised last error lines, "
        "failing test ids (same failure, same signature)",
    )
    quarantined: bool = Field(default=False, description="the gate is quarantined (see notes)")


class CandidateInfo(Rec):
    source: str = Field(description="staged | worktree | rev | merge")
    tree: str
    base: str | None
    commit: str | None = Field(default=None, description="the shadow commit of the candidate tree")


class Environment(Rec):
    python: str
    platform: str
    gatekit: str
    fingerprint: str


class RunResult(Rec):
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
    started_at: str = Field(description="UTC ISO-8601 time the run started")
    duration: float
    chain: str | None = None
    checkpoint: str | None = None
    shard: str | None = Field(
        default=None, description="'K/N' when this run checked one shard of the plan"
    )
    cost: Cost | None = Field(default=None, description="the gates' totals")
