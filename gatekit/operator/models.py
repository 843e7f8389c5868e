"""The documents of a run directory and of ``gatekit status``/``explain --json``, as
models: only for ``schemas/*.json`` (``python -m gatekit.schemagen``) and tests. The
readers and writers use plain JSON (no pydantic on their paths).

Documents may gain fields: readers must ignore the ones they do not know.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = str  # queued, cache, environment, install, running, retry-wait, collecting, or an outcome


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class GateStatus(Open):
    """``status/<gate>.json``: rewritten atomically; heartbeat at least every 5 s while active."""

    gate: str
    phase: Phase = Field(
        description="queued, cache, environment, install, running, retry-wait, "
        "collecting, or the outcome (passed, failed, ..., stopped, crashed)"
    )
    attempt: int
    pid: int | None = Field(description="process group of the running command")
    started: str | None = Field(description="UTC time the gate became active")
    updated: str = Field(description="UTC time of the last transition")
    heartbeat: str = Field(description="UTC time this file was last written")
    log: str = Field(description="log path relative to the run directory")
    last_lines: list[str]
    reason: str | None = None
    code: str | None = Field(default=None, description="STOPPED_BY_OPERATOR, WATCHDOG_STUCK, ...")
    last_phase: str | None = Field(default=None, description="for crashed: the phase it was in")


class Event(Open):
    """One line of ``events.jsonl``: a transition of one gate."""

    time: str
    gate: str
    phase: Phase
    attempt: int | None = None
    pid: int | None = None
    reason: str | None = None
    code: str | None = None
    delay: float | None = None
    env: str | None = None


class Process(Open):
    pid: int | None
    start: str | None = Field(description="start time, clock ticks since boot (/proc/PID/stat)")


class Owner(Process):
    host: str
    cmdline: list[str]


class RunFile(Open):
    """``run.json``: the run's own status. Alive or dead: owner pid *and* start time."""

    schema_version: Literal[1]
    run_id: str
    state: Literal["running", "finished", "crashed", "error"]
    owner: Owner = Field(description="the process the user started (the daemon's client)")
    worker: Process = Field(description="the process running the gates")
    candidate: dict[str, str | None]
    gates: list[str]
    started_at: str
    watchdog: float | None
    verdict: str | None
    exit_code: int | None
    ended_at: str | None
    crash: dict[str, object] | None


class SeenBefore(BaseModel):
    count: int
    since: str | None
    last_passed_checkpoint: str | None
    last_passed_at: str | None


Action = Literal[
    "fix the code",
    "rerun: transient",
    "rerun: stopped",
    "rerun: crashed",
    "approve: manual",
    "raise the timeout",
    "declare fix: true",
    "apply fixes",
    "edit validation.yaml",
]


class ExplainedGate(Open):
    gate: str
    outcome: str
    code: str | None
    reason: str
    phase: str | None
    exit_code: int | None
    failure_class: str | None
    command: str | None = Field(description="the exact command that failed")
    last_lines: list[str]
    action: Action
    next_command: str | None = Field(description="the command to run next")
    setting: str | None = Field(description="the validation.yaml key to change, if any")
    next_action: str = Field(description="the same, for people")
    runbook: str | None
    forensics: str | None
    log: str | None
    signature: str | None
    seen_before: SeenBefore | None
    seen_before_text: str | None


class PendingManual(BaseModel):
    gate: str
    approve: str


class Explain(Open):
    """``gatekit explain --json``: stable; fields are only ever added."""

    schema_version: Literal[1]
    run_id: str
    run_dir: str
    state: str
    verdict: str | None
    exit_code: int | None
    crash: dict[str, object] | None
    gates: list[ExplainedGate]
    pending_manual: list[PendingManual]
