"""A run's findings and failing gates as annotations (errors; warnings for advisory gates)."""

from __future__ import annotations

from gatekit.github.workflow import Annotation, Level
from gatekit.results import GOOD_OUTCOMES, Outcome, RunResult

_SEVERITY: dict[str, Level] = {"error": "error", "warning": "warning", "note": "notice"}


def annotations_for(result: RunResult) -> list[Annotation]:
    out: list[Annotation] = []
    for g in result.gates:
        if g.outcome in GOOD_OUTCOMES or g.outcome is Outcome.SKIPPED:
            continue
        if g.outcome is Outcome.MANUAL_PENDING:
            out.append(
                Annotation("notice", g.reason or "manual action required", f"gatekit: {g.id}")
            )
            continue
        for f in g.findings:
            level = _SEVERITY.get(f.severity, "error")
            if not g.required and level == "error":
                level = "warning"
            out.append(
                Annotation(
                    level,
                    f.message,
                    title=f"gatekit: {g.id} ({f.rule})",
                    file=f.path,
                    line=f.line,
                    col=f.column,
                )
            )
        if not g.findings:
            level = "error" if g.required else "warning"
            out.append(
                Annotation(level, f"{g.outcome.value}: {g.reason or '-'}", title=f"gatekit: {g.id}")
            )
    return out
