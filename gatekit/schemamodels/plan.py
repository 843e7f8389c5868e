"""The pydantic twin of gatekit.plan.model: generates schemas/plan.schema.json and
validates plans in the tests (a check reads plans without it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gatekit.config.enums import Event, GateType
from gatekit.config.models import KpiSpec, OptionValue, SessionSpec
from gatekit.plan.model import PLAN_SCHEMA_VERSION, Decision, Runner


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RetryPolicy(Frozen):
    transient: int
    flaky: int
    exit_codes: tuple[int, ...]
    patterns: tuple[str, ...]
    backoff: float
    factor: float = 2.0
    cap: float = 120.0
    jitter: float = 0.25


class GateLimits(Frozen):
    """A gate's resource limits in bytes and seconds (null: no limit)."""

    memory: int | None = None
    cpu: float | None = None
    cores: float | None = Field(default=None, description="share of cores (cpu: '0.5 cores')")
    disk: int | None = None
    processes: int | None = None
    open_files: int | None = None


class PlannedGate(Frozen):
    id: str
    type: GateType
    decision: Decision
    reason: str
    required: bool
    needs: tuple[str, ...]
    paths: tuple[str, ...] | None
    runner: Runner
    session: SessionSpec | None = None
    nox: str | None = None
    builtin: str | None = None
    pre_commit: str | None = Field(
        default=None, description="hook id in .pre-commit-config.yaml ('ID#N': its N-th hook ID)"
    )
    options: dict[str, OptionValue] = Field(default_factory=dict)
    junit: tuple[str, ...] = ()
    kpi: KpiSpec | None = None
    instructions: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: tuple[str, ...] = ()
    pool: str | None = None
    timeout: float
    stall_timeout: float | None = Field(
        default=None, description="seconds without output before the watchdog stops the gate"
    )
    retries: RetryPolicy
    network: bool
    fix: bool
    cache: bool
    description: str | None = None
    limits: GateLimits = Field(default_factory=GateLimits)


class PolicyRef(Frozen):
    name: str = Field(
        description="'gatekit:NAME' for a shipped policy, else the file's repository-relative path"
    )
    policy_version: str | None
    effective: str | None


class PlanContext(Frozen):
    event: Event
    branch: str | None = None
    changed: tuple[str, ...] | None = Field(
        default=None, description="sorted changed paths; null when unknown"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="values of the env flags the config names, nothing else"
    )
    all_paths: bool = Field(
        default=False,
        description="--all: every gate is planned as if every path changed",
    )


class QuarantinePolicy(Frozen):
    blocking: bool = True
    flaky_threshold: int = 3


class GatePlan(Frozen):
    schema_version: int = PLAN_SCHEMA_VERSION
    plan_id: str = Field(description="sha256 of the canonical JSON of the plan without plan_id")
    policies: tuple[PolicyRef, ...]
    context: PlanContext
    order: tuple[str, ...] = Field(description="stable topological order of needs")
    gates: tuple[PlannedGate, ...]
    jobs: int | None = Field(default=None, description="defaults.jobs; null means one per CPU")
    watchdog: float | None = Field(
        default=None, description="defaults.watchdog in seconds; null means 15 minutes"
    )
    quarantine: QuarantinePolicy = Field(default_factory=QuarantinePolicy)
