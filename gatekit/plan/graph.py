"""The gate graph (``needs``) as Graphviz DOT or Mermaid, each gate with its decision and reason."""

from __future__ import annotations

from gatekit.plan.model import GatePlan, PlannedGate

# Decision -> (DOT style, Mermaid class); the decision is also written in each label.
_STYLE = {
    "run": ('shape=box, style="rounded"', "run"),
    "skip": ('shape=box, style="rounded,dashed"', "skip"),
    "manual": ('shape=hexagon, style="bold"', "manual"),
}


def _label(gate: PlannedGate) -> tuple[str, str]:
    optional = ", optional" if not gate.required else ""
    return f"{gate.id} [{gate.decision.value}{optional}]", gate.reason


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render_dot(plan: GatePlan) -> str:
    lines = [
        f"// gatekit plan {plan.plan_id}",
        "digraph gates {",
        "  rankdir=LR;",
        '  node [fontname="sans-serif"];',
    ]
    for gate in plan.gates:
        head, reason = _label(gate)
        style = _STYLE[gate.decision.value][0]
        label = _dot_string(head)[:-1] + "\\n" + _dot_string(reason)[1:]
        lines.append(
            f"  {_dot_string(gate.id)} [label={label}, {style}, tooltip={_dot_string(reason)}];"
        )
    for gate in plan.gates:
        for need in gate.needs:
            lines.append(f"  {_dot_string(need)} -> {_dot_string(gate.id)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid quoted labels: "#quot;" is its escape for a double quote; no line breaks.
    return text.replace('"', "#quot;").replace("\n", " ")


def render_mermaid(plan: GatePlan) -> str:
    ids = {g.id: f"g{i}" for i, g in enumerate(plan.gates)}
    lines = [f"%% gatekit plan {plan.plan_id}", "flowchart LR"]
    for gate in plan.gates:
        head, reason = _label(gate)
        text = _mermaid_text(f"{head}<br/>{reason}")
        shape = ('{{"', '"}}') if gate.decision.value == "manual" else ('("', '")')
        lines.append(f"  {ids[gate.id]}{shape[0]}{text}{shape[1]}")
    for gate in plan.gates:
        for need in gate.needs:
            lines.append(f"  {ids[need]} --> {ids[gate.id]}")
    for decision, (_, cls) in _STYLE.items():
        members = [ids[g.id] for g in plan.gates if g.decision.value == decision]
        if members:
            lines.append(f"  class {','.join(members)} {cls}")
    lines += [
        "  classDef run stroke-width:2px",
        "  classDef skip stroke-dasharray:5 5",
        "  classDef manual stroke-width:3px",
    ]
    return "\n".join(lines) + "\n"
