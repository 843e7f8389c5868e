"""The runbook of a gate that did not pass: ``reports/<gate>.md`` for people and
``reports/<gate>.json`` for tools (``gatekit explain`` reads it), a forensics
snapshot, and the failure's signature (which goes into the result record)."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from gatekit.operator import actions, forensics
from gatekit.operator.signature import signature
from gatekit.plan.model import PlannedGate
from gatekit.results import GateResult, Outcome
from gatekit.run.finish import next_action
from gatekit.run.retry import AttemptReport
from gatekit.run.status import RunStatus, _tail

SIGNED = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.TIMED_OUT})


def write_runbook(
    status: RunStatus,
    gate: PlannedGate,
    result: GateResult,
    report: AttemptReport | None,
    *,
    shadow: Path,
    env_cache: Path,
    env: Mapping[str, str],
    mask: Callable[[str], str] | None,
    snapped: bool = False,
) -> GateResult:
    run_dir = status.run_dir
    cls = report.failure_class if report else None
    command = report.command if report else None
    exit_code = report.exit_code if report else None
    last_phase = status.phase_of(gate.id) or "running"
    if report is not None and report.phase:
        phase = report.phase  # e.g. install: a local package did not build
    elif cls == "environment":
        phase = "environment"
    elif report is not None and report.outcome is not Outcome.PASSED:
        phase = "running"  # the command failed (JUnit/KPI collection may have run after it)
    else:
        phase = last_phase  # e.g. collecting: a KPI or JUnit verdict
    # a stop (gatekit stop, the watchdog) or a timeout took one before the kill
    snap = forensics.latest(run_dir, gate.id) if snapped or result.code else None
    if snap is None:
        where = forensics.snapshot(
            run_dir,
            gate.id,
            why=f"{result.outcome.value}: {result.reason}",
            command=command,
            exit_code=exit_code,
            reason=result.reason,
            env=env,
            mask=mask,
        )
        snap = str(where.relative_to(run_dir))
    tail = _tail(status.log_path(gate.id), 200)
    if result.outcome in SIGNED:
        tests = [f"{c.classname}::{c.name}" for c in (result.junit.failing if result.junit else ())]
        result = result.model_copy(update={"signature": signature(gate.id, command, tail, tests)})
    setting = None
    if result.code is not None:
        request_setting = _setting(run_dir, gate.id)
        setting = request_setting
    act = actions.next_action(
        gate.id,
        result.outcome.value,
        code=result.code,
        failure_class=cls,
        reason=result.reason,
        fix_tree=result.fix_tree is not None,
        setting=setting,
    )
    prose = _prose(
        gate, result, act, cls, _reproducible(gate, command, env), shadow, env_cache, phase
    )
    status.write_runbook(
        gate.id,
        phase=phase,
        outcome=result.outcome.value,
        reason=result.reason,
        exit_code=exit_code,
        failure_class=cls,
        command=command,
        attempts=len(result.attempts),
        next_action=prose,
        extra=[
            f"- code: {result.code or '-'}",
            f"- signature: {result.signature or '-'}",
            f"- forensics: {snap}/",
        ],
    )
    doc = {
        "gate": gate.id,
        "outcome": result.outcome.value,
        "code": result.code,
        "reason": result.reason,
        "phase": phase,
        "exit_code": exit_code,
        "failure_class": cls,
        "command": command,
        "attempts": len(result.attempts),
        "action": act.action,
        "next_command": act.command,
        "setting": act.setting,
        "next_action": prose,
        "signature": result.signature,
        "forensics": snap,
        "log": status.log_rel(gate.id),
        "runbook": f"reports/{gate.id}.md",
        "last_lines": tail[-20:],
    }
    (run_dir / "reports" / f"{gate.id}.json").write_text(
        json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return result


def _reproducible(gate: PlannedGate, command: str | None, env: Mapping[str, str]) -> str | None:
    """``command`` as a user can run it in the shadow: a hook's entry lives in the
    environment pre-commit built, which the gate had first on its PATH."""
    if command is None or gate.runner != "pre-commit":
        return command
    first = env.get("PATH", "").split(os.pathsep)[0]
    if not first or first in os.environ.get("PATH", "").split(os.pathsep):
        return command  # a system hook: the user's own PATH has it
    return f"PATH={shlex.quote(first)}:$PATH {command}"


def _setting(run_dir: Path, gate_id: str) -> str | None:
    from gatekit.operator.control import stop_requested

    request = stop_requested(run_dir, gate_id)
    value = request.get("setting") if request else None
    return str(value) if value else None


def _prose(
    gate: PlannedGate,
    result: GateResult,
    act: actions.Action,
    cls: str | None,
    command: str | None,
    shadow: Path,
    env_cache: Path,
    phase: str | None = None,
) -> str:
    rerun = f"gatekit check --gate {gate.id}"
    if result.code == "WATCHDOG_STUCK":
        setting = act.setting or "stall_timeout"
        return (
            f"The gate looked stuck ({result.reason}). Look at the forensics snapshot and the "
            f"output below for a hang; if the gate is just quiet, raise `{setting}:` of gate "
            f"`{gate.id}` (or in `defaults:`) in validation.yaml, then re-run `{rerun}`."
        )
    if result.outcome is Outcome.STOPPED:
        return f"The gate was stopped ({result.reason}). Re-run it with `{rerun}`."
    return next_action(gate, result, cls, command, shadow, env_cache, phase)
