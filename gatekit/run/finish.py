"""After a gate ran: the tree a fix gate left in the shadow, and the runbook's next action."""

from __future__ import annotations

from pathlib import Path

from gatekit.plan.model import PlannedGate
from gatekit.results import GateResult

FIX_REASON = "made fixes: apply with gatekit check --apply-fixes"


def next_action(
    gate: PlannedGate,
    result: GateResult,
    cls: str | None,
    command: str | None,
    shadow: Path,
    cache: Path,
    phase: str | None = None,
) -> str:
    rerun = f"gatekit check --gate {gate.id}"
    if phase == "install" and result.reason.startswith("deps of the session"):
        return (
            f"{result.reason}. Add the file or package to your change, or correct `deps` of "
            f"gate `{gate.id}` in validation.yaml, then re-run `{rerun}`."
        )
    if phase == "install":
        return (
            f"{result.reason}. The output below is the package's build (or the installer's); fix "
            f"the package in your change (its pyproject.toml, setup.cfg or setup.py, or the deps "
            f"of gate `{gate.id}`), reproduce in the shadow worktree with `cd {shadow} && "
            f"{command or 'uv build --wheel .'}`, then re-run `{rerun}`."
        )
    if result.code is not None and result.code.startswith("LIMIT_"):
        from gatekit.run.limits import NEXT_ACTION

        action = NEXT_ACTION.get(result.code, "raise the limit")
        return (
            f"The gate went over a resource limit: {action} (`limits:` of gate `{gate.id}` in "
            f"validation.yaml, or `defaults.limits`), then re-run `{rerun}`."
        )
    if result.fix_tree:
        return f"The gate rewrote files. Apply its fixes with `gatekit check --apply-fixes`, then re-run `{rerun}`."
    if cls == "environment":
        from gatekit.run import noxenv

        key = noxenv.spec_for(gate)
        where = f" ({cache / key.key})" if key else ""
        return (
            f"Creating the gate's environment failed{where}: check `deps` and `python` of gate "
            f"`{gate.id}` and access to the package index, then re-run `{rerun}`."
        )
    if cls == "timeout":
        return (
            f"The gate ran longer than its timeout ({gate.timeout:g}s). Look for a hang in the output "
            f"below, or raise `timeout:` of gate `{gate.id}` in validation.yaml."
        )
    if cls == "transient":
        return (
            f"A transient failure persisted after {len(result.attempts)} attempt(s). Check the service "
            f"or network it depends on and re-run `{rerun}`; raise `retries.transient` if this is expected."
        )
    if command:
        return (
            f"Reproduce it in the shadow worktree: `cd {shadow} && {command}`. Fix the cause in your "
            f"change, then re-run `{rerun}`."
        )
    return f"Read the log below, fix the cause, then re-run `{rerun}`."
