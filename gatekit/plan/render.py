"""The plan for people: one line per gate, reasons with --explain."""

from __future__ import annotations

from gatekit.plan.model import GatePlan, PlannedGate


def _how(gate: PlannedGate) -> str:
    if gate.runner == "session" and gate.session is not None:
        return "session: " + "; ".join(gate.session.run)
    if gate.runner == "nox":
        return f"nox -s {gate.nox}"
    if gate.runner == "builtin":
        return f"builtin {gate.builtin}"
    return "manual"


def render_plan(plan: GatePlan, explain: bool = False) -> str:
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
    counts = {
        d: sum(1 for g in plan.gates if g.decision.value == d) for d in ("run", "skip", "manual")
    }
    lines.append(f"{counts['run']} to run, {counts['skip']} skipped, {counts['manual']} manual")
    return "\n".join(lines)
