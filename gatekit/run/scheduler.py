"""Run the ``needs`` DAG in parallel: jobs, pools, fail-fast, gates that run alone, Ctrl-C.

The scheduler runs in the calling (main) thread and hands gates to worker
threads; it decides, for every gate of the plan, exactly one GateResult.
Gates it does not start get a reason: the plan's own, an unmet need,
``--gate``/``--skip``, ``--fail-fast`` or an interruption.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable

from gatekit.lazyclass import dataclass
from gatekit.plan.model import Decision, GatePlan, PlannedGate
from gatekit.results import GOOD_OUTCOMES, GateResult, Outcome
from gatekit.run.gatepool import GatePool, Job
from gatekit.run.proc import ProcessRegistry

BAD_OUTCOMES = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.TIMED_OUT, Outcome.CRASHED})
POOL_LIMIT = 1

_WHICH = {
    Outcome.FAILED: "failed",
    Outcome.ERROR: "ended in an error",
    Outcome.TIMED_OUT: "timed out",
    Outcome.CRASHED: "crashed",
    Outcome.SKIPPED: "was skipped",
    Outcome.MANUAL_PENDING: "awaits a manual action",
    Outcome.STOPPED: "was stopped",
}


@dataclass(frozen=True)
class Selection:
    jobs: int
    fail_fast: bool
    only: tuple[str, ...]
    skip: tuple[str, ...]


def needs_closure(plan: GatePlan, ids: tuple[str, ...]) -> set[str]:
    """The gates named plus everything they need, transitively."""
    known = {g.id: g for g in plan.gates}
    seen: set[str] = set()
    stack = [i for i in ids if i in known]
    while stack:
        gid = stack.pop()
        if gid in seen:
            continue
        seen.add(gid)
        stack.extend(n for n in known[gid].needs if n in known)
    return seen


def _result(gate: PlannedGate, outcome: Outcome, reason: str) -> GateResult:
    return GateResult(id=gate.id, outcome=outcome, reason=reason, required=gate.required)


class Scheduler:
    def __init__(
        self,
        plan: GatePlan,
        selection: Selection,
        run_gate: Callable[[PlannedGate], GateResult],
        registry: ProcessRegistry,
        on_decided: Callable[[GateResult], None],
        settle: Callable[[PlannedGate], GateResult | None] | None = None,
        runs_alone: Callable[[PlannedGate], bool] | None = None,
        started: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.sel = selection
        self.run_gate = run_gate
        # A result without running (a cache hit): settled here, no worker thread, no job slot
        self.settle = settle
        # gates that must run with no other gate beside them (no isolation between gates)
        self.runs_alone = runs_alone or (lambda gate: False)
        # told of each gate just before its thread starts (its place in the slots' line)
        self.started = started or (lambda gate_id: None)
        self.registry = registry
        self.on_decided = on_decided
        self.results: dict[str, GateResult] = {}
        self.interrupted = False
        self._ids = [*plan.order, *(g.id for g in plan.gates if g.id not in plan.order)]
        self._gates = {g.id: g for g in plan.gates}
        self._freed: set[str] = set()  # running gates that gave their job slot back
        self._freed_lock = threading.Lock()
        self._pool: GatePool[GateResult] | None = None

    def slot_free(self, gate_id: str) -> None:
        """From a gate's thread: its commands are over (what is left is bookkeeping:
        results, reports, its view thrown away), so another gate may start. Gates that
        run alone, gates of a ``pool`` and every gate under ``--fail-fast`` keep their
        slot to the end (a result not known yet must still be able to stop the run)."""
        gate = self._gates.get(gate_id)
        if gate is None or self.sel.fail_fast or gate.pool is not None or self.runs_alone(gate):
            return
        with self._freed_lock:
            self._freed.add(gate_id)
        if self._pool is not None:
            self._pool.nudge()

    def _busy(self, running: dict[Job[GateResult], str]) -> int:
        with self._freed_lock:
            return sum(1 for gid in running.values() if gid not in self._freed)

    def _decide(self, gate: PlannedGate, outcome: Outcome, reason: str) -> None:
        res = _result(gate, outcome, reason)
        self.results[gate.id] = res
        self.on_decided(res)

    def _predecide(self) -> list[str]:
        """Settle the gates that will not run; return the ones to schedule, in order."""
        selected = needs_closure(self.plan, self.sel.only) if self.sel.only else None
        pending = []
        for gid in self._ids:
            gate = self._gates[gid]
            if selected is not None and gid not in selected:
                self._decide(gate, Outcome.SKIPPED, "not selected (--gate)")
            elif gid in self.sel.skip:
                self._decide(gate, Outcome.SKIPPED, "skipped by --skip")
            elif gate.decision is Decision.SKIP:
                self._decide(gate, Outcome.SKIPPED, gate.reason)
            elif gate.decision is Decision.MANUAL:
                self._decide(gate, Outcome.MANUAL_PENDING, gate.instructions or gate.reason)
            else:
                pending.append(gid)
        return pending

    def _unmet(self, gate: PlannedGate) -> tuple[bool, str | None]:
        """(waiting, reason to skip): a need not finished yet, or one that ended badly."""
        waiting = False
        for need in gate.needs:
            if need not in self._gates:
                continue
            res = self.results.get(need)
            if res is None:
                waiting = True
            elif res.outcome not in GOOD_OUTCOMES:
                return False, f"needs {need} which {_WHICH.get(res.outcome, res.outcome.value)}"
        return waiting, None

    def run(self) -> dict[str, GateResult]:
        pending = self._predecide()
        running: dict[Job[GateResult], str] = {}
        pools: Counter[str] = Counter()
        exclusive = False
        stop_new = False
        jobs = max(1, self.sel.jobs)
        # gates started before a slot is free for them get ready meanwhile (slots.py);
        # not under --fail-fast, where a result not known yet must still stop the run
        ahead = 0 if self.sel.fail_fast else jobs
        pool: GatePool[GateResult] = GatePool("gatekit-gate")
        self._pool = pool
        try:
            while pending or running:
                if not stop_new:
                    progress = True
                    while progress:
                        progress = False
                        for gid in list(pending):
                            gate = self._gates[gid]
                            waiting, skip_reason = self._unmet(gate)
                            if skip_reason is not None:
                                pending.remove(gid)
                                self._decide(gate, Outcome.SKIPPED, skip_reason)
                                progress = True
                                continue
                            if waiting:
                                continue
                            settled = self.settle(gate) if self.settle is not None else None
                            if settled is not None:
                                pending.remove(gid)
                                self.results[gid] = settled
                                progress = True
                                continue
                            if exclusive or self._busy(running) >= jobs + ahead:
                                break
                            alone = self.runs_alone(gate)
                            if alone and running:
                                break  # it runs alone: let the others drain first
                            if gate.pool is not None and pools[gate.pool] >= POOL_LIMIT:
                                continue
                            pending.remove(gid)
                            if gate.pool is not None:
                                pools[gate.pool] += 1
                            exclusive = alone
                            self.started(gid)
                            running[pool.submit(self.run_gate, gate)] = gid
                            progress = True
                            if exclusive:
                                break
                if not running:
                    if pending and not stop_new:
                        # Nothing can start: needs outside the runnable set (a cycle).
                        for gid in pending:
                            self._decide(
                                self._gates[gid], Outcome.SKIPPED, "needs a gate that cannot run"
                            )
                        pending = []
                    if stop_new:
                        break
                    continue
                pool.wait(timeout=0.25)
                for fut in [job for job in running if job.done]:
                    gid = running.pop(fut)
                    gate = self._gates[gid]
                    if gate.pool is not None:
                        pools[gate.pool] -= 1
                    if exclusive and self.runs_alone(gate):
                        exclusive = False
                    res = self._collect(gate, fut)
                    self.results[gid] = res
                    if self.sel.fail_fast and gate.required and res.outcome in BAD_OUTCOMES:
                        stop_new = True
            for gid in pending:
                self._decide(self._gates[gid], Outcome.SKIPPED, "not started: --fail-fast")
        except KeyboardInterrupt:
            self.interrupted = True
            self.registry.stop()
            self._drain(running, pool)
            for gid in pending:
                if gid not in self.results:
                    self._decide(self._gates[gid], Outcome.STOPPED, "not started: interrupted")
        finally:
            pool.shutdown()
        return self.results

    def _drain(self, running: dict[Job[GateResult], str], pool: GatePool[GateResult]) -> None:
        """After Ctrl-C: wait for the running gates to stop; a second Ctrl-C kills at once."""
        while running:
            try:
                pool.wait(timeout=0.25)
            except KeyboardInterrupt:
                self.registry.kill_now()
                continue
            for fut in [job for job in running if job.done]:
                gid = running.pop(fut)
                res = self._collect(self._gates[gid], fut)
                if (
                    res.outcome is not Outcome.STOPPED
                    and res.outcome not in GOOD_OUTCOMES | BAD_OUTCOMES
                ):
                    res = res.model_copy(update={"outcome": Outcome.STOPPED})
                self.results[gid] = res

    def _collect(self, gate: PlannedGate, fut: Job[GateResult]) -> GateResult:
        try:
            return fut.result()
        except Exception as exc:  # a bug in gatekit, never the gate's fault
            res = _result(gate, Outcome.CRASHED, f"gatekit crashed while running the gate: {exc!r}")
            self.on_decided(res)
            return res


def default_jobs(jobs: int | None) -> int:
    return jobs if jobs and jobs > 0 else (os.cpu_count() or 1)
