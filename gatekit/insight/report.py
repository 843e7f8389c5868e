"""What an HTML report shows, gathered from git (checkpoint, note, chain) and, when this
machine ran the check, its run directory (timeline, runbooks, logs, plan)."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.insight.history import Run
from gatekit.insight.rundir import RunDir, spans
from gatekit.lazyclass import dataclass
from gatekit.results import GateResult, RunResult

if TYPE_CHECKING:
    import pygit2

    from gatekit.insight.quarantine import Decision
    from gatekit.plan.model import GatePlan

LOG_EXCERPT = 40


@dataclass
class GateRow:
    result: GateResult
    start: float
    end: float
    needs: tuple[str, ...] = ()
    next_action: str | None = None
    excerpt: list[str] = field(default_factory=list)


@dataclass
class Report:
    result: RunResult
    rows: list[GateRow]
    timeline_measured: bool  # from the run's events, else laid out from needs and durations
    plan: GatePlan | None
    run_dir: Path | None
    history: list[Run] = field(default_factory=list)
    quarantine: dict[str, Decision] = field(default_factory=dict)
    live: bool = False  # the run has not finished (the live page)


def plan_for(result: RunResult, run_dir: RunDir | None, plans_dir: Path | None) -> GatePlan | None:
    """The run's plan: the run directory's copy, else a cached plan with the same id."""
    from gatekit.plan.model import GatePlan

    texts: list[str] = []
    if run_dir is not None and (text := run_dir.plan_json()) is not None:
        texts.append(text)
    if plans_dir is not None and plans_dir.is_dir():
        for p in sorted(plans_dir.glob("plan-*.json")):
            try:
                raw = p.read_text(encoding="utf-8")
            except OSError:
                continue
            if result.plan_id in raw:
                texts.append(raw)
    for text in texts:
        try:
            plan = GatePlan.from_json(text)
        except ValueError:
            continue
        if plan.plan_id == result.plan_id:
            return plan
    return None


def _estimated(
    gates: tuple[GateResult, ...], needs: dict[str, tuple[str, ...]]
) -> dict[str, tuple[float, float]]:
    """Start after every need ended: the shape of the run when its events are not here."""
    out: dict[str, tuple[float, float]] = {}
    for g in gates:
        start = max((out[n][1] for n in needs.get(g.id, ()) if n in out), default=0.0)
        out[g.id] = (start, start + g.duration)
    return out


def build_report(
    result: RunResult,
    run_dir: RunDir | None,
    plans_dir: Path | None = None,
    history: list[Run] | None = None,
    quarantine: dict[str, Decision] | None = None,
) -> Report:
    plan = plan_for(result, run_dir, plans_dir)
    needs = {g.id: g.needs for g in plan.gates} if plan is not None else {}
    _, measured = spans(run_dir.events()) if run_dir is not None else (None, {})
    estimate = _estimated(result.gates, needs)
    use_measured = bool(measured) and all(g.id in measured for g in result.gates if g.attempts)
    rows = []
    for g in result.gates:
        span = measured.get(g.id) if use_measured else None
        if span is not None:
            start, end = span.start, span.end if span.end is not None else span.start + g.duration
        else:
            start, end = estimate[g.id]
        row = GateRow(g, start, max(end, start), needs.get(g.id, ()))
        if run_dir is not None and g.outcome.value not in (
            "passed",
            "cached",
            "skipped",
            "approved",
        ):
            row.next_action = run_dir.next_action(g.id)
            row.excerpt = run_dir.tail(g.log, LOG_EXCERPT)
        rows.append(row)
    return Report(
        result=result,
        rows=rows,
        timeline_measured=use_measured,
        plan=plan,
        run_dir=run_dir.path if run_dir is not None else None,
        history=history or [],
        quarantine=quarantine or {},
    )


def report_for_checkpoint(repo: pygit2.Repository, spec: str | None, chain: str | None) -> Report:
    """The report of a checkpoint (``spec``), or of the newest one of ``chain``."""
    from gatekit.errors import UsageError
    from gatekit.git.repo import gatekit_dir
    from gatekit.insight.history import resolve_chain, runs_of
    from gatekit.insight.quarantine import quarantined
    from gatekit.insight.rundir import find
    from gatekit.record.checkpoints import iter_checkpoints, resolve_checkpoint

    if spec is not None:
        cp = resolve_checkpoint(repo, spec)
        name = cp.ref or cp.chain
    else:
        name = resolve_chain(repo, chain)
        cp = next(iter_checkpoints(repo, name), None)  # type: ignore[assignment]
        if cp is None:
            raise UsageError(f"no checkpoints on chain {name!r}", tip="run gatekit check first")
    records = cp.records(repo)
    if not records:
        raise UsageError(
            f"checkpoint {cp.id[:12]} has no result note", tip="fetch notes with 'gatekit fetch'"
        )
    result = records[-1]
    history: list[Run] = []
    seen = False
    for run in runs_of(iter_checkpoints(repo, name), repo):
        seen = seen or run.checkpoint == cp.id
        if seen:
            history.append(run)
    history.reverse()
    runs_root = gatekit_dir(repo) / "runs"
    return build_report(
        result,
        find(runs_root, result.run_id),
        gatekit_dir(repo) / "plans",
        history,
        quarantined(repo),
    )
