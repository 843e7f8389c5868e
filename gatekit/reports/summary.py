"""The run's summary in Markdown: verdict, per-gate table, failures with their runbook's
next action, JUnit failures, KPIs, and annotations GitHub did not show.

Used for GitHub's job summary (``GITHUB_STEP_SUMMARY``, 1 MiB per step); the text
is kept under ``budget`` bytes, dropping the longest lists first and saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.results import GOOD_OUTCOMES, Outcome

if TYPE_CHECKING:
    from gatekit.github.workflow import Annotation
    from gatekit.results import GateResult, RunResult

BUDGET = 1_000_000  # bytes; GitHub refuses step summaries over 1 MiB
_ICON = {
    "passed": ":white_check_mark:",
    "failed": ":x:",
    "manual_required": ":raised_hand:",
    "interrupted": ":stop_sign:",
}
_OUTCOME_ICON = {
    Outcome.PASSED: ":white_check_mark:",
    Outcome.CACHED: ":white_check_mark:",
    Outcome.APPROVED: ":white_check_mark:",
    Outcome.SKIPPED: ":heavy_minus_sign:",
    Outcome.MANUAL_PENDING: ":raised_hand:",
}


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell (no HTML, no pipes, one line)."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return s.replace("`", "\\`")


def inline(text: str) -> str:
    """Markdown kept (code spans), HTML and line breaks not: for list items."""
    s = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


def next_action(run_dir: Path | None, gate_id: str) -> str | None:
    """The "Next action" section of a gate's runbook (``reports/<gate>.md``), if there is one."""
    if run_dir is None:
        return None
    path = run_dir / "reports" / f"{gate_id}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    _, found, rest = text.partition("## Next action")
    if not found:
        return None
    body = rest.split("\n## ", 1)[0].strip()
    return body or None


def _failing(gates: Sequence[GateResult]) -> list[GateResult]:
    return [
        g
        for g in gates
        if g.outcome not in GOOD_OUTCOMES
        and g.outcome not in (Outcome.SKIPPED, Outcome.MANUAL_PENDING)
    ]


def build_summary(
    result: RunResult,
    run_dir: Path | None = None,
    left_out: Sequence[Annotation] = (),
    title: str = "gatekit",
    budget: int = BUDGET,
) -> str:
    verdict = str(result.verdict)
    head = [
        f"## {_ICON.get(verdict, '')} {title}: {verdict.replace('_', ' ')}".replace("  ", " "),
        "",
        f"Event `{result.context.event}`"
        + (f" on `{cell(result.context.branch)}`" if result.context.branch else "")
        + f", plan `{result.plan_id[:12]}`"
        + (f", checkpoint `{result.checkpoint[:12]}`" if result.checkpoint else "")
        + (f", tree `{result.candidate.tree[:12]}`" if result.candidate else "")
        + f", {result.duration:.1f}s.",
        "",
        "| gate | outcome | time | reason |",
        "| --- | --- | ---: | --- |",
    ]
    for g in result.gates:
        icon = _OUTCOME_ICON.get(g.outcome, ":x:" if g.required else ":warning:")
        req = ("" if g.required else " (advisory)") + (" (quarantined)" if g.quarantined else "")
        head.append(
            f"| `{cell(g.id)}` | {icon} {g.outcome.value}{req} | {g.duration:.1f}s | {cell(g.reason)} |"
        )
    sections: list[list[str]] = []
    failing = _failing(result.gates)
    if failing:
        lines = ["", "### Failures", ""]
        for g in failing:
            lines.append(f"- **`{cell(g.id)}`** {g.outcome.value}: {cell(g.reason) or '-'}")
            action = next_action(run_dir, g.id)
            if action:
                lines.append(f"  - Next action: {inline(action)}")
            lines.extend(
                f"  - `{cell(f.path)}{':' + str(f.line) if f.line else ''}`: {cell(f.message)}"
                for f in g.findings
            )
        sections.append(lines)
    cases = [(g.id, c) for g in result.gates if g.junit for c in g.junit.failing]
    if cases:
        lines = ["", "### JUnit failures", "", "| gate | test | result | message |"]
        lines.append("| --- | --- | --- | --- |")
        lines.extend(
            f"| `{cell(gid)}` | `{cell(c.classname)}.{cell(c.name)}` | {c.result} | {cell(c.message)} |"
            for gid, c in cases
        )
        sections.append(lines)
    kpis = [(g.id, k) for g in result.gates for k in g.kpi]
    if kpis:
        lines = ["", "### KPIs", "", "| gate | metric | threshold | value | |"]
        lines.append("| --- | --- | --- | ---: | --- |")
        for gid, k in kpis:
            value = "-" if k.value is None else f"{k.value:g}"
            mark = ":white_check_mark:" if k.passed else f":x: {cell(k.reason)}"
            lines.append(
                f"| `{cell(gid)}` | `{cell(k.metric)}` | {cell(k.op)} {k.threshold:g} | {value} | {mark} |"
            )
        sections.append(lines)
    if left_out:
        lines = [
            "",
            f"### Annotations not shown ({len(left_out)})",
            "",
            "GitHub shows 10 annotations per level per step; these were left out:",
            "",
            "| level | where | message |",
            "| --- | --- | --- |",
        ]
        lines.extend(f"| {a.level} | `{cell(a.where())}` | {cell(a.message)} |" for a in left_out)
        sections.append(lines)
    return _fit(head, sections, budget)


def _fit(head: list[str], sections: list[list[str]], budget: int) -> str:
    """Join, cutting lines from the end of each section (last first) to stay under budget."""

    def size(parts: list[list[str]]) -> int:
        return sum(len(line.encode()) + 1 for part in parts for line in part)

    parts = [head, *sections]
    reserve = 200  # room for the "left out" lines
    dropped = 0
    while size(parts) > budget - reserve:
        longest = max(range(len(parts)), key=lambda i: size([parts[i]]))
        if len(parts[longest]) <= 1:
            break
        cut = max(1, len(parts[longest]) // 4)
        parts[longest] = parts[longest][:-cut]
        dropped += cut
    text = "\n".join(line for part in parts for line in part) + "\n"
    if dropped:
        text += f"\n_{dropped} line(s) left out to stay under GitHub's 1 MiB summary limit; the run's log has everything._\n"
    return text
