"""The plan for people: one line per gate, reasons with --explain."""

from __future__ import annotations

from collections.abc import Mapping

from gatekit.plan.model import GatePlan, PlannedGate


def _how(gate: PlannedGate) -> str:
    if gate.runner == "session" and gate.session is not None:
        return "session: " + "; ".join(gate.session.run)
    if gate.runner == "nox":
        return f"nox -s {gate.nox}"
    if gate.runner == "builtin":
        return f"builtin {gate.builtin}"
    if gate.runner == "pre-commit":
        return f"pre-commit hook {gate.pre_commit}"
    return "manual"


def _limits(gate: PlannedGate) -> str:
    """``memory 8.0 GiB, processes 1024 (enforced by rlimit)`` (how: on this machine)."""
    from gatekit.config.sizes import format_size
    from gatekit.run.limits import active, affinity_argv, enforcement

    lim = gate.limits
    if gate.runner not in ("session", "nox") or not active(lim):
        return ""
    parts = []
    if lim.memory is not None:
        parts.append(f"memory {format_size(lim.memory)}")
    if lim.cpu is not None:
        parts.append(f"cpu {lim.cpu:g}s")
    if lim.cores is not None:
        parts.append(f"cpu {lim.cores:g} cores")
    if lim.disk is not None:
        parts.append(f"disk {format_size(lim.disk)}")
    if lim.processes is not None:
        parts.append(f"processes {lim.processes}")
    if lim.open_files is not None:
        parts.append(f"open files {lim.open_files}")
    how = enforcement(lim)
    if how is not None and lim.cores is not None and not how.startswith("cgroup"):
        # no cgroup: CPU affinity where it narrows anything (whole cores), else nothing
        narrowed = bool(affinity_argv(lim))
        how += (
            "; cores as CPU affinity, whole cores only" if narrowed else "; cores not enforced here"
        )
    return ", ".join(parts) + (f" (enforced by {how})" if how else " (not enforced here)")


def render_plan(
    plan: GatePlan, explain: bool = False, hooks: Mapping[str, str] | None = None
) -> str:
    """The plan's lines; ``hooks`` (gate id -> a line on its pre-commit hook) with explain."""
    ctx = plan.context
    lines = [f"plan {plan.plan_id[:12]}"]
    for ref in plan.policies:
        version = f" {ref.policy_version}" if ref.policy_version else ""
        effective = f", effective {ref.effective}" if ref.effective else ""
        lines.append(f"  policy {ref.name}{version}{effective}")
    changed = "unknown" if ctx.changed is None else str(len(ctx.changed))
    scope = ", --all (every path counts as changed)" if ctx.all_paths else ""
    lines.append(
        f"  event {ctx.event}, branch {ctx.branch or '(detached)'}, changed paths: {changed}{scope}"
    )
    if ctx.env:
        lines.append("  env flags: " + ", ".join(f"{k}={v}" for k, v in sorted(ctx.env.items())))
    width = max((len(g.id) for g in plan.gates), default=4)
    for gate in plan.gates:
        needs = f"  (needs {', '.join(gate.needs)})" if gate.needs else ""
        optional = "" if gate.required else "  [optional]"
        lines.append(
            f"  {gate.decision.value:<6}  {gate.id:<{width}}  {_how(gate)}{needs}{optional}"
        )
        if explain or gate.decision.value != "run":
            lines.append(f"  {'':<6}  {'':<{width}}  why: {gate.reason}")
        if explain and hooks and gate.id in hooks:
            lines.append(f"  {'':<6}  {'':<{width}}  {hooks[gate.id]}")
        shown = _limits(gate) if gate.decision.value == "run" else ""
        if shown:
            lines.append(f"  {'':<6}  {'':<{width}}  limits: {shown}")
    counts = {
        d: sum(1 for g in plan.gates if g.decision.value == d) for d in ("run", "skip", "manual")
    }
    lines.append(f"{counts['run']} to run, {counts['skip']} skipped, {counts['manual']} manual")
    return "\n".join(lines)
