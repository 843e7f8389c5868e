"""execute_plan: run a sealed GatePlan in a shadow worktree and return one
GateResult per gate, in plan order.

Ctrl-C (SIGINT) and SIGTERM stop everything cleanly: running process groups get
SIGTERM, then SIGKILL after the grace period; gates still running end as
``stopped`` and gates not started as ``stopped`` ("not started: interrupted").
``execute_plan`` returns normally then; ``interrupted(results)`` tells the
caller to exit with 130.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from gatekit.errors import UsageError
from gatekit.plan.model import Decision, GatePlan
from gatekit.results import GateResult, Outcome
from gatekit.run import cgroup, escapes, limits
from gatekit.run.gate import GateRunner
from gatekit.run.options import GateHooks, RunOptions, ShadowLike
from gatekit.run.output import Reporter
from gatekit.run.owned import RunWrites, runs_commands
from gatekit.run.proc import ProcessRegistry
from gatekit.run.scheduler import Scheduler, Selection, default_jobs
from gatekit.run.slots import CommandSlots
from gatekit.run.status import RunStatus

__all__ = ["GateHooks", "RunOptions", "ShadowLike", "execute_plan", "interrupted"]


def execute_plan(
    plan: GatePlan,
    shadow: ShadowLike,
    run_dir: Path,
    options: RunOptions,
    reporter: Reporter,
    hooks: GateHooks | None = None,
) -> list[GateResult]:
    """Run every gate of ``plan`` in ``shadow``; the run directory gets status, logs, reports."""
    _check_ids(plan, options.only, "--gate")
    _check_ids(plan, options.skip, "--skip")
    run_dir.mkdir(parents=True, exist_ok=True)
    options.env_cache_dir.mkdir(parents=True, exist_ok=True)
    environ = dict(os.environ if options.environ is None else options.environ)
    if options.sweep_escapes:
        escapes.become_subreaper()
    status = RunStatus(run_dir, mask=(hooks or GateHooks()).mask)
    registry = ProcessRegistry()
    commands = any(runs_commands(g) and g.decision is Decision.RUN for g in plan.gates)
    writes = RunWrites.decide(
        shadow, run_dir / "sandbox", commands, environ.get("GATEKIT_ISOLATION")
    )
    selection = Selection(
        jobs=default_jobs(options.jobs if options.jobs is not None else plan.jobs),
        fail_fast=options.fail_fast,
        only=options.only,
        skip=options.skip,
    )
    slots = CommandSlots(selection.jobs, registry.stopping)
    runner = GateRunner(
        shadow,
        run_dir,
        options,
        reporter,
        hooks or GateHooks(),
        status,
        registry,
        environ,
        writes,
        slots,
    )
    order = [*plan.order, *(g.id for g in plan.gates if g.id not in plan.order)]
    try:
        for gid in order:
            runner.phase(gid, "queued")
        scheduler = Scheduler(
            plan,
            selection,
            runner.run,
            registry,
            runner.decided,
            settle=runner.cached,
            runs_alone=writes.runs_alone,
            started=slots.started,
        )
        runner.slot_free = scheduler.slot_free
        enters = commands and any(
            g.decision is Decision.RUN and runs_commands(g) and limits.uses_cgroup(g.limits)
            for g in plan.gates
        )
        with _sigterm_interrupts(), cgroup.entries_kept_fast(enters):
            results = scheduler.run()
    finally:
        runner.close()
        status.close()
    ordered = [results[gid] for gid in order]
    reporter.final(ordered)
    return ordered


def interrupted(results: Sequence[GateResult]) -> bool:
    """Whether the run was stopped (Ctrl-C / SIGTERM): the caller exits with 130.

    A gate stopped on its own (``gatekit stop GATE``, the watchdog) carries a code and
    does not interrupt the run: the run reaches its verdict without it."""
    return any(r.outcome is Outcome.STOPPED and r.code is None for r in results)


def _check_ids(plan: GatePlan, ids: tuple[str, ...], flag: str) -> None:
    known = [g.id for g in plan.gates]
    for gid in ids:
        if gid not in known:
            from gatekit.config.suggest import gate_tip

            raise UsageError(f"{flag} {gid}: no such gate in the plan", tip=gate_tip(gid, known))


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """In the main thread, SIGTERM stops the run like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
