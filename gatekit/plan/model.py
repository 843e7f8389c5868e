"""The frozen GatePlan and its canonical JSON form.

Plain frozen records (:mod:`gatekit.frozen`): a check with a cached plan reads it
without pydantic. :mod:`gatekit.schemamodels.plan` holds the pydantic twin that
generates ``schemas/plan.schema.json``; a test keeps their JSON identical.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from gatekit import canonical
from gatekit.config.enums import Event, GateType
from gatekit.frozen import Record, field

PLAN_SCHEMA_VERSION = 1

Scalar = str | int | float | bool
OptionValue = Scalar | list[str]
KpiOp = Literal[">=", "<=", "==", "<", ">"]


class Decision(enum.StrEnum):
    RUN = "run"
    SKIP = "skip"
    MANUAL = "manual"


Runner = Literal["session", "nox", "builtin", "manual", "pre-commit"]


class SessionSpec(Record):
    """A Nox session gatekit generates: python, deps and commands."""

    python: str | None = None
    deps: list[str] = field(default_factory=list)
    run: list[str]


class KpiCheck(Record):
    metric: str
    op: KpiOp
    value: int | float


class KpiSpec(Record):
    file: str
    checks: list[KpiCheck]


class RetryPolicy(Record):
    transient: int
    flaky: int
    exit_codes: tuple[int, ...]
    patterns: tuple[str, ...]
    backoff: float
    factor: float = 2.0
    cap: float = 120.0
    jitter: float = 0.25


class GateLimits(Record):
    """A gate's resource limits in bytes and seconds (null: no limit)."""

    memory: int | None = None
    cpu: float | None = None
    cores: float | None = None
    disk: int | None = None
    processes: int | None = None
    open_files: int | None = None


class PlannedGate(Record):
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
    pre_commit: str | None = None  # hook id in .pre-commit-config.yaml ('ID#N': its N-th)
    options: dict[str, OptionValue] = field(default_factory=dict)
    junit: tuple[str, ...] = ()
    kpi: KpiSpec | None = None
    instructions: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    pass_env: tuple[str, ...] = ()
    pool: str | None = None
    timeout: float
    stall_timeout: float | None = None
    retries: RetryPolicy
    network: bool
    fix: bool
    cache: bool
    description: str | None = None
    limits: GateLimits = field(default_factory=GateLimits)


class PolicyRef(Record):
    name: str
    policy_version: str | None
    effective: str | None


class PlanContext(Record):
    event: Event
    branch: str | None = None
    changed: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    all_paths: bool = False


class QuarantinePolicy(Record):
    blocking: bool = True
    flaky_threshold: int = 3


class GatePlan(Record):
    schema_version: int = PLAN_SCHEMA_VERSION
    plan_id: str
    policies: tuple[PolicyRef, ...]
    context: PlanContext
    order: tuple[str, ...]
    gates: tuple[PlannedGate, ...]
    jobs: int | None = None
    watchdog: float | None = None
    quarantine: QuarantinePolicy = field(default_factory=QuarantinePolicy)

    def gate(self, gate_id: str) -> PlannedGate:
        for g in self.gates:
            if g.id == gate_id:
                return g
        raise KeyError(gate_id)

    def body(self) -> dict[str, Any]:
        """The hashed content: everything but plan_id, in JSON mode."""
        return self.model_dump(mode="json", exclude={"plan_id"})

    def canonical_json(self) -> str:
        return canonical.dumps(self.model_dump(mode="json"))

    @classmethod
    def seal(cls, **fields: Any) -> GatePlan:
        """Build a plan and stamp its plan_id from the canonical body."""
        draft = cls(plan_id="", **fields)
        return draft.model_copy(update={"plan_id": canonical.digest(draft.body())})

    @classmethod
    def from_json(cls, text: str) -> GatePlan:
        return cls.model_validate_json(text)
