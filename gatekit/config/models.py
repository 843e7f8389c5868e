"""Pydantic models of validation.yaml (strict: ``"30"`` is not an int)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatekit.config.enums import Event as Event
from gatekit.config.enums import GateType as GateType

GATE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Scalar = str | int | float | bool
OptionValue = Scalar | list[str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


KpiOp = Literal[">=", "<=", "==", "<", ">"]

# A duration: whole seconds, or a string such as "90s", "10m", "1h30m", "500ms".
Duration = Annotated[
    int | float | str, Field(description="seconds, or a duration like '90s', '10m', '1h'")
]


# A size: whole bytes, or a string such as "512K", "100M", "2G" (powers of 1024).
Size = Annotated[int | str, Field(description="bytes, or a size like '512M', '2G'")]


class Limits(Strict):
    """What a gate's processes, all of them together, may use ("unlimited": no limit,
    overriding the defaults)."""

    memory: Size | None = Field(default=None, description="resident memory of the gate's tree")
    cpu: Duration | None = Field(
        default=None,
        description="CPU seconds (user + system) of the gate's tree, or a share of cores "
        "('0.5 cores', '2 cores')",
    )
    disk: Size | None = Field(
        default=None, description="bytes the gate may write in the shadow, its TMPDIR and HOME"
    )
    processes: int | Literal["unlimited"] | None = Field(
        default=None, description="live processes of the gate (at least 1)"
    )
    open_files: int | Literal["unlimited"] | None = Field(
        default=None, description="open files per process (at least 1)"
    )


class SessionSpec(Strict):
    """A Nox session gatekit generates: python, deps and commands."""

    python: str | None = Field(
        default=None,
        description="Python version, e.g. '3.11'; omitted: the interpreter running gatekit",
    )
    deps: list[str] = Field(
        default_factory=list, description="requirements installed into the session's environment"
    )
    run: list[str] = Field(
        min_length=1,
        description="commands, each split like a POSIX shell would (no shell features)",
    )


class KpiCheck(Strict):
    metric: str = Field(
        description="dotted path of a number in the metrics file, e.g. 'coverage.total'"
    )
    op: KpiOp
    value: int | float


class KpiSpec(Strict):
    file: str = Field(description="metrics JSON file the gate writes, relative to the shadow root")
    checks: list[KpiCheck] = Field(min_length=1)


class When(Strict):
    """Conditions of a conditional (or manual) gate.

    ``event`` and ``branch`` are filters: when given, they must match. ``changed``
    and ``env`` are triggers: when either is given, at least one must fire.
    """

    changed: list[str] | None = Field(
        default=None, description="globs; fires when a changed path matches"
    )
    env: str | list[str] | None = Field(
        default=None, description="flag name(s); fires when one is set to 1/true/yes/on"
    )
    event: list[Event] | None = None
    branch: list[str] | None = Field(
        default=None, description="globs matched against the branch name"
    )


class Retries(Strict):
    """Retries by failure class. Deterministic failures are never retried blindly."""

    transient: int = Field(
        default=0, ge=0, le=10, description="extra attempts after a transient failure"
    )
    flaky: int = Field(
        default=0,
        ge=0,
        le=10,
        description="extra attempts after any failure; a pass after one is recorded as flaky",
    )
    exit_codes: list[int] = Field(
        default_factory=list, description="exit codes that mean a transient failure"
    )
    patterns: list[str] = Field(
        default_factory=list,
        description="regular expressions on the output that mean a transient failure",
    )
    backoff: int | float = Field(
        default=5, ge=0, description="first backoff in seconds (factor 2, cap 120 s, +/-25% jitter)"
    )


class Defaults(Strict):
    timeout: Duration | None = None
    stall_timeout: Duration | None = Field(
        default=None, description="stop a gate that prints nothing for this long (off unless set)"
    )
    watchdog: Duration | None = Field(
        default=None, description="stop a gate whose heartbeat is older than this (default 15m)"
    )
    retries: Retries | None = None
    python: str | None = None
    network: bool | None = None
    cache: bool | None = None
    jobs: int | Literal["auto"] | None = None
    limits: Limits | None = None


class Gate(Strict):
    id: str = Field(pattern=GATE_ID_PATTERN)
    type: GateType = GateType.AUTO
    description: str | None = None
    enabled: bool = True
    needs: list[str] = Field(default_factory=list)
    paths: list[str] | None = Field(
        default=None, description="globs of the gate's inputs (cache key and change filter)"
    )
    when: When | None = None
    required: bool | None = None
    timeout: Duration | None = None
    stall_timeout: Duration | None = Field(
        default=None, description="stop the gate when it prints nothing for this long"
    )
    retries: Retries | None = None
    session: SessionSpec | None = None
    nox: str | None = Field(
        default=None, description="a session of the repository's own noxfile.py"
    )
    builtin: str | None = Field(default=None, description="a built-in gate, e.g. 'secrets'")
    pre_commit: str | None = Field(
        default=None,
        alias="pre-commit",
        description="a hook id of the candidate's .pre-commit-config.yaml ('ID#2': its second hook 'ID')",
    )
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="settings of a built-in gate"
    )
    junit: str | list[str] | None = None
    kpi: KpiSpec | None = None
    instructions: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="variables set for the gate")
    pass_env: list[str] = Field(
        default_factory=list, description="caller variables passed through by name"
    )
    pool: str | None = None
    network: bool | None = None
    fix: bool = Field(
        default=False,
        description="the gate rewrites files (a formatter); its changes become a fix patch",
    )
    cache: bool | None = None
    limits: Limits | None = None


class Quarantine(Strict):
    """Gates quarantined with ``gatekit quarantine add`` (flaky ones, typically)."""

    blocking: bool = Field(
        default=True,
        description="a quarantined gate's failure still fails the verdict; false: it is reported only",
    )
    flaky_threshold: int = Field(
        default=3,
        ge=1,
        description="flaky events within a chain before 'gatekit quarantine list' suggests the gate",
    )


class ValidationConfig(Strict):
    version: Literal[1] = 1
    extends: str | list[str] | None = None
    policy_version: str | None = None
    effective: str | None = Field(
        default=None, description="date the policy takes effect, YYYY-MM-DD"
    )
    defaults: Defaults = Field(default_factory=Defaults)
    gates: list[Gate] = Field(default_factory=list)
    quarantine: Quarantine = Field(default_factory=Quarantine)
