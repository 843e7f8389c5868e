"""Adapters from the runner's hooks (:class:`gatekit.run.options.GateHooks`) to area D.

``builtin_hook`` runs a built-in gate on the changed paths that match the
gate's ``paths``; ``collect_hook`` reads JUnit (kept in the run directory for
the merged JUnit file) and KPI files. Both are small closures so that the
check command only has to pass what it knows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.globs import match_any

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate
    from gatekit.results import Finding, JUnitSummary, KpiResult


def gate_paths(gate: PlannedGate, changed: Sequence[str]) -> tuple[str, ...]:
    """The changed paths a gate examines: all of them, or those matching its ``paths``."""
    if not gate.paths:
        return tuple(changed)
    return tuple(p for p in changed if match_any(p, gate.paths))


def builtin_hook(
    repo: pygit2.Repository,
    *,
    base: str | None,
    tree: str,
    changed: Sequence[str],
    secret_sink: set[str] | None = None,
) -> Callable[[PlannedGate, Path], tuple[bool, tuple[Finding, ...], str]]:
    """A ``GateHooks.run_builtin``; secret values seen go into ``secret_sink`` (for masking)."""

    def run(gate: PlannedGate, shadow_path: Path) -> tuple[bool, tuple[Finding, ...], str]:
        if gate.builtin is None:
            raise ValueError(f"gate {gate.id} is not a built-in gate")
        # the registry, on the first built-in gate (a check of session gates never loads it)
        from gatekit.builtins import BuiltinContext, run_builtin

        ctx = BuiltinContext(
            root=shadow_path,
            paths=gate_paths(gate, changed),
            options=gate.options,
            repo=repo,
            base=base,
            tree=tree,
        )
        outcome = run_builtin(gate.builtin, ctx)
        if secret_sink is not None:
            secret_sink.update(outcome.secret_values)
        return outcome.passed, outcome.findings, outcome.log

    return run


def collect_hook(
    run_dir: Path, secrets: Iterable[str] = ()
) -> Callable[[PlannedGate, Path], tuple[JUnitSummary | None, tuple[KpiResult, ...]]]:
    """A ``GateHooks.collect``. Raises :class:`gatekit.reports.junit.JUnitError` when declared
    JUnit files are missing or unreadable (the gate must fail with its message)."""

    def collect(
        gate: PlannedGate, shadow_path: Path
    ) -> tuple[JUnitSummary | None, tuple[KpiResult, ...]]:
        from gatekit.reports.junit import collect_junit, junit_dir
        from gatekit.reports.kpi import evaluate_kpi

        kpi = evaluate_kpi(shadow_path, gate.kpi) if gate.kpi is not None else ()
        junit = collect_junit(
            shadow_path, gate.junit, keep_dir=junit_dir(run_dir, gate.id), secrets=secrets
        )
        return junit, kpi

    return collect
