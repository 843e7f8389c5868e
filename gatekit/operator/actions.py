"""The next action for a gate that did not pass: one word an orchestrator can act on
(``action``), the exact command, and the setting to change.

Actions (stable, documented in the README, "Operating runs"):

    fix the code          a deterministic failure of the gate's command
    rerun: transient      a transient failure that persisted after its retries
    rerun: stopped        stopped by an operator (``gatekit stop``)
    rerun: crashed        gatekit (or the client of the daemon) died during the run
    approve: manual       a manual gate waits for ``gatekit approve GATE``
    raise the timeout     timed out, or stopped by the watchdog (``setting`` names which)
    raise the limit       a LIMIT_* breach: raise ``setting`` (limits.memory, ...) or fix the
                          leak, busy loop, disk filler or fork loop
    declare fix: true     a gate that is not a fix gate changed files
    apply fixes           a fix gate made fixes: ``gatekit check --apply-fixes``
    edit validation.yaml  the gate cannot run as configured (environment, runner)
"""

from __future__ import annotations

from gatekit.lazyclass import dataclass


@dataclass(frozen=True)
class Action:
    action: str
    command: str | None
    setting: str | None = None


def next_action(
    gate_id: str,
    outcome: str,
    *,
    code: str | None = None,
    failure_class: str | None = None,
    reason: str = "",
    fix_tree: bool = False,
    setting: str | None = None,
) -> Action:
    rerun = f"gatekit check --gate {gate_id}"
    if outcome == "manual_pending":
        return Action("approve: manual", f"gatekit approve {gate_id}")
    if code == "WATCHDOG_STUCK":
        return Action("raise the timeout", rerun, setting or "stall_timeout")
    if code == "STOPPED_BY_OPERATOR" or (outcome == "stopped" and code is None):
        return Action("rerun: stopped", rerun)
    if outcome == "crashed" or code in ("OWNER_DIED", "CLIENT_GONE"):
        return Action("rerun: crashed", rerun)
    if code is not None and code in _LIMITS:
        return Action("raise the limit", rerun, _LIMITS[code])
    if outcome == "timed_out" or failure_class == "timeout":
        return Action("raise the timeout", rerun, "timeout")
    if fix_tree:
        return Action("apply fixes", "gatekit check --apply-fixes")
    if "changed tracked files" in reason:  # gatekit.run.owned: a non-fix gate wrote files
        return Action("declare fix: true", None, "fix")
    if failure_class == "transient":
        return Action("rerun: transient", rerun, "retries.transient")
    if failure_class == "environment" or (
        outcome == "error" and failure_class in (None, "deterministic") and _config(reason)
    ):
        return Action("edit validation.yaml", rerun)
    return Action("fix the code", rerun)


_LIMITS = {
    "LIMIT_MEMORY": "limits.memory",
    "LIMIT_CPU": "limits.cpu",
    "LIMIT_DISK": "limits.disk",
    "LIMIT_PROCESSES": "limits.processes",
}


def _config(reason: str) -> bool:
    return any(
        s in reason
        for s in ("cannot run", "has no noxfile", "cannot split command", "no runner for builtin")
    )
