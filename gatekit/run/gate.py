"""Run one gate: cache lookup, sandbox, environment, attempts with retries,
JUnit/KPI collection, fix detection, runbook. Called from worker threads."""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from gatekit.operator import control, runfile
from gatekit.plan.model import PlannedGate
from gatekit.results import Cost, Finding, GateResult, Outcome, add_costs
from gatekit.run import escapes, limits, sandbox, usage
from gatekit.run.options import GateHooks, RunOptions, ShadowLike
from gatekit.run.output import Reporter
from gatekit.run.owned import RunWrites
from gatekit.run.proc import ProcessRegistry, ProcResult, Spawn, Started, run_process
from gatekit.run.retry import AttemptReport, RetrySummary, TransientMatcher, judge, run_attempts
from gatekit.run.slots import CommandSlots
from gatekit.run.status import RunStatus
from gatekit.run.watchdog import Watchdog

# Starts a command from its spec (argv aside): cgroups, cwd, network, rlimits, view, env.
Starter = Callable[[dict[str, Any]], Started]

FAILURES = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.TIMED_OUT, Outcome.CRASHED})
# runners whose processes limits apply to (built-in gates run inside gatekit)
_LIMITED = ("session", "nox", "pre-commit")


class GateRunner:
    """Shared by all gates of one run."""

    def __init__(
        self,
        shadow: ShadowLike,
        run_dir: Path,
        options: RunOptions,
        reporter: Reporter,
        hooks: GateHooks,
        status: RunStatus,
        registry: ProcessRegistry,
        environ: dict[str, str],
        writes: RunWrites,
        slots: CommandSlots,
    ) -> None:
        self.shadow = shadow
        self.slots = slots
        self.writes = writes
        self.run_dir = run_dir
        self.options = options
        self.reporter = reporter
        self.hooks = hooks
        self.status = status
        self.registry = registry
        self.environ = environ
        self._last: dict[str, AttemptReport] = {}  # per gate id: its last attempt
        self._findings: dict[str, tuple[Finding, ...]] = {}
        self.watchdog = Watchdog(run_dir, options.grace, hooks.mask)
        self._envs: dict[str, dict[str, str]] = {}  # per gate id: its last command's environment
        self._snapped: set[str] = set()  # gates with a forensics snapshot taken before a kill
        # per gate id: what enforced its limits when its cgroup could not be made
        self._fell_back: dict[str, str | None] = {}
        # per gate id: seconds it waited for a job slot (not part of its duration)
        self._queued: dict[str, float] = {}
        # told when a gate's commands are over (the scheduler may start another gate)
        self.slot_free: Callable[[str], None] = lambda gate_id: None

    def close(self) -> None:
        self.watchdog.close()

    def _took(self, gate_id: str, start: float) -> float:
        """Seconds since ``start``, less the time the gate waited for a job slot."""
        return round(time.monotonic() - start - self._queued.get(gate_id, 0.0), 3)

    def stop_request(self, gate_id: str) -> dict[str, object] | None:
        """A stop of this gate asked for by an operator or the watchdog (see operator.control)."""
        return control.stop_requested(self.run_dir, gate_id)

    # events ------------------------------------------------------------
    def phase(self, gate_id: str, phase: str, **fields: object) -> None:
        self.status.transition(gate_id, phase, **fields)
        self.reporter.event(gate_id, phase)

    def decided(self, result: GateResult) -> None:
        """A result that needed no run (skipped, manual, not started)."""
        self.status.transition(result.id, result.outcome.value, reason=result.reason)
        self.reporter.event(result.id, result.outcome.value)

    # one gate ----------------------------------------------------------
    def cached(self, gate: PlannedGate) -> GateResult | None:
        """The gate's ``cached`` result when its inputs already passed (else None: run it)."""
        if not gate.cache or self.hooks.lookup_cache is None:
            return None
        try:
            result = self.hooks.lookup_cache(gate)
        except Exception:  # a broken cache only costs time: run() looks again and reports
            return None
        if result is not None:
            self.status.transition(gate.id, result.outcome.value, reason=result.reason, pid=None)
            self.reporter.event(gate.id, result.outcome.value)
        return result

    def run(self, gate: PlannedGate) -> GateResult:
        try:
            return self._run_gate(gate)
        finally:  # however it ended, the gates behind it in the slots' line go on
            self.slots.leave(gate.id)

    def _run_gate(self, gate: PlannedGate) -> GateResult:
        start = time.monotonic()
        request = self.stop_request(gate.id)
        if request is not None:  # stopped before it started
            result = _stopped(gate, request, 0.0)
            self.status.transition(
                gate.id, result.outcome.value, reason=result.reason, code=result.code, pid=None
            )
            self.reporter.event(gate.id, result.outcome.value)
            return result
        log = self.status.open_log(gate.id)
        try:
            result = self._run(gate, log, start)
        except Exception as exc:  # a gatekit bug: keep the evidence, never crash the run
            import traceback

            log.write("gatekit crashed while running this gate:\n" + traceback.format_exc())
            result = GateResult(
                id=gate.id,
                outcome=Outcome.CRASHED,
                reason=f"gatekit crashed: {exc!r}",
                required=gate.required,
                duration=self._took(gate.id, start),
                log=self.status.log_rel(gate.id),
            )
        finally:
            log.close()
        if result.outcome in FAILURES or result.code is not None:
            result = self._runbook(gate, result)
        fields: dict[str, object] = {"reason": result.reason, "pid": None}
        if result.code is not None:
            fields["code"] = result.code
        self.status.transition(gate.id, result.outcome.value, **fields)
        self.reporter.event(gate.id, result.outcome.value)
        return result

    def _run(self, gate: PlannedGate, log: IO[str], start: float) -> GateResult:
        if gate.cache and self.hooks.lookup_cache is not None:
            self.phase(gate.id, "cache")
            cached = self.hooks.lookup_cache(gate)
            if cached is not None:
                return cached
        box = sandbox.prepare(gate, self.shadow.path, self.run_dir, self.environ)
        view = self.writes.view_for(gate)
        try:
            return self._run_in(gate, dataclasses.replace(box, view=view), log, start)
        finally:
            if view is not None:
                view.close()

    def _run_in(
        self, gate: PlannedGate, box: sandbox.Sandbox, log: IO[str], start: float
    ) -> GateResult:
        matcher = TransientMatcher(gate.retries.patterns)
        view = box.view

        def attempt(number: int) -> AttemptReport:
            log.write(f"=== gatekit: attempt {number} of gate {gate.id} ===\n")
            log.flush()
            matcher.reset()
            if view is not None and number > 1:
                view.reset()  # every attempt starts from the candidate
            asked = time.monotonic()
            held = self.slots.take(gate.id)
            self._queued[gate.id] = self._queued.get(gate.id, 0.0) + time.monotonic() - asked
            try:
                report = self._attempt(gate, box, log, matcher, number)
            finally:
                if held:
                    self.slots.give()
            if report.outcome is not Outcome.PASSED and self.stop_request(gate.id) is not None:
                report = dataclasses.replace(
                    report, outcome=Outcome.STOPPED, failure_class="interrupted"
                )
            self._last[gate.id] = report
            return report

        def on_retry(number: int, report: AttemptReport, delay: float) -> None:
            msg = f"attempt {number} {report.outcome.value} ({report.failure_class}); retrying in {delay:.1f}s"
            log.write(f"=== gatekit: {msg} ===\n")
            log.flush()
            self.phase(gate.id, "retry-wait", attempt=number, delay=round(delay, 2))
            self.reporter.event(gate.id, "retry-wait", msg)

        def wait(delay: float) -> bool:
            """Sleep before a retry; True when the run, or this gate alone, was stopped."""
            end = time.monotonic() + delay
            while True:
                left = end - time.monotonic()
                if self.registry.stopping.wait(max(0.0, min(0.2, left))):
                    return True
                if self.stop_request(gate.id) is not None:
                    return True
                if left <= 0.2:
                    return False

        summary = run_attempts(gate.retries, attempt, wait, on_retry)
        self.slot_free(gate.id)
        result = self._result(gate, summary, box, start)
        request = self.stop_request(gate.id) if summary.stopped else None
        if request is not None:
            stopped = _stopped(gate, request, 0.0)
            result = result.model_copy(update={"reason": stopped.reason, "code": stopped.code})
        if result.outcome is not Outcome.STOPPED:
            # what the gate produced is in its own view (reports, metrics)
            result = self._collect(gate, result, self.shadow.path if view is None else view.upper)
        result = self.writes.judge(gate, result, view)
        return result.model_copy(update={"duration": self._took(gate.id, start)})

    def _result(
        self, gate: PlannedGate, summary: RetrySummary, box: sandbox.Sandbox, start: float
    ) -> GateResult:
        last = summary.last
        outcome = Outcome.STOPPED if summary.stopped else last.outcome
        reason = "stopped: interrupted" if summary.stopped else last.reason
        if outcome is Outcome.PASSED and summary.flaky:
            reason = f"passed after {len(summary.attempts) - 1} failed attempt(s): flaky"
        return GateResult(
            id=gate.id,
            outcome=outcome,
            reason=reason,
            required=gate.required,
            attempts=summary.attempts,
            duration=self._took(gate.id, start),
            log=self.status.log_rel(gate.id),
            flaky=summary.flaky,
            network_isolated=None if gate.network else box.network_isolated,
            notes=tuple(dict.fromkeys((*box.notes, *last.notes))),
            code=None if summary.stopped else last.code,
            cost=add_costs([a.cost for a in summary.attempts if a.cost is not None]),
            limits_enforced=self._fell_back.get(gate.id, limits.enforcement(gate.limits))
            if gate.runner in _LIMITED
            else None,
        )

    # attempts ----------------------------------------------------------
    def _attempt(
        self,
        gate: PlannedGate,
        box: sandbox.Sandbox,
        log: IO[str],
        matcher: TransientMatcher,
        number: int,
    ) -> AttemptReport:
        if gate.runner == "builtin":
            self.phase(gate.id, "running", attempt=number)
            return self._builtin(gate, log)
        # the gate's view of the shadow: its overlay's upper directory (only its writes)
        shadow = box.cwd if box.view is None else box.view.upper
        watch = limits.LimitWatch(gate.limits, [shadow, box.tmp, box.home])
        if gate.runner == "nox":
            report = self._nox(gate, box, log, matcher, number, watch)
        elif gate.runner == "pre-commit":
            report = self._pre_commit(gate, box, log, matcher, number, watch)
        elif gate.runner == "session" and gate.session is not None:
            report = self._session(gate, box, log, matcher, number, watch)
        else:
            report = None
        if report is not None:
            if report.code == "LIMIT_DISK":
                self._clean_view(box)
            return dataclasses.replace(report, cost=watch.cost(report.duration))
        return AttemptReport(
            Outcome.ERROR,
            0.0,
            failure_class="deterministic",
            reason=f"gate runner {gate.runner!r} cannot run",
        )

    def _clean_view(self, box: sandbox.Sandbox) -> None:
        """Remove what a gate over its disk limit wrote: its view's files, TMPDIR, HOME."""
        import shutil

        if box.view is not None:
            box.view.reset()
        else:
            self.shadow.reset()
        for top in (box.tmp, box.home):
            shutil.rmtree(top, ignore_errors=True)
            top.mkdir(parents=True, exist_ok=True)

    def _builtin(self, gate: PlannedGate, log: IO[str]) -> AttemptReport:
        """A built-in gate runs in this thread: its cost is the thread's CPU time."""
        cpu0 = usage.thread_cpu()
        report = self._builtin_body(gate, log)
        cpu1 = usage.thread_cpu()
        cost = Cost(wall=round(report.duration, 3))
        if cpu0 is not None and cpu1 is not None:
            cost = cost.model_copy(
                update={
                    "cpu_user": round(cpu1[0] - cpu0[0], 3),
                    "cpu_system": round(cpu1[1] - cpu0[1], 3),
                }
            )
        return dataclasses.replace(report, cost=cost)

    def _builtin_body(self, gate: PlannedGate, log: IO[str]) -> AttemptReport:
        t0 = time.monotonic()
        if self.hooks.run_builtin is None:
            return AttemptReport(
                Outcome.ERROR,
                0.0,
                failure_class="deterministic",
                reason=f"no runner for builtin {gate.builtin!r}",
            )
        try:
            passed, findings, text = self.hooks.run_builtin(gate, self.shadow.path)
        except Exception as exc:
            import traceback

            log.write(traceback.format_exc())
            return AttemptReport(
                Outcome.ERROR,
                time.monotonic() - t0,
                failure_class="deterministic",
                reason=f"builtin {gate.builtin} failed: {exc}",
            )
        for line in text.splitlines():
            log.write(line + "\n")
            self._line(gate.id, "running", line, None)
        log.flush()
        self._findings[gate.id] = tuple(findings)
        took = time.monotonic() - t0
        if passed:
            return AttemptReport(Outcome.PASSED, took, exit_code=0)
        n = len(findings)
        return AttemptReport(
            Outcome.FAILED,
            took,
            exit_code=1,
            failure_class="deterministic",
            reason=f"builtin {gate.builtin}: {n} finding(s)",
        )

    def _session(
        self,
        gate: PlannedGate,
        box: sandbox.Sandbox,
        log: IO[str],
        matcher: TransientMatcher,
        number: int,
        watch: limits.LimitWatch,
    ) -> AttemptReport:
        assert gate.session is not None
        t0 = time.monotonic()
        if gate.session.deps:  # environment, local packages: gatekit.run.sessionenv
            from gatekit.run import sessionenv

            box, failed = sessionenv.prepare(self, gate, box, log, number)
            if failed is not None:
                return failed
        self.phase(gate.id, "running", attempt=number)
        deadline = time.monotonic() + gate.timeout
        code: int | None = 0
        for command in gate.session.run:
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                return AttemptReport(
                    Outcome.ERROR,
                    time.monotonic() - t0,
                    failure_class="deterministic",
                    reason=f"cannot split command {command!r}: {exc}",
                    command=command,
                )
            if not argv:
                continue
            log.write(f"$ {command}\n")
            log.flush()
            missing = box.missing_command(argv)
            if missing is not None:
                res = ProcResult(None, False, False, 0.0, None, error=missing)
            else:
                res = self._proc(gate, argv, box, log, matcher, deadline - time.monotonic(), watch)
                breach = watch.ended(res)
                if breach is not None:
                    _log_breach(log, breach)
                    return breach.report(command, res.exit_code, time.monotonic() - t0)
            report = judge(gate.retries, gate.timeout, res, command, matcher, time.monotonic() - t0)
            if report is not None:
                return report
            code = res.exit_code
        return AttemptReport(Outcome.PASSED, time.monotonic() - t0, exit_code=code)

    def _nox(
        self,
        gate: PlannedGate,
        box: sandbox.Sandbox,
        log: IO[str],
        matcher: TransientMatcher,
        number: int,
        watch: limits.LimitWatch,
    ) -> AttemptReport:
        from gatekit.run import noxenv

        t0 = time.monotonic()
        argv, lock = noxenv.repo_nox_command(gate, self.shadow.path, self.options.env_cache_dir)
        command = shlex.join(["nox", *argv[3:]])
        if not (self.shadow.path / "noxfile.py").is_file():
            return AttemptReport(
                Outcome.ERROR,
                0.0,
                failure_class="deterministic",
                reason="nox gate but the candidate has no noxfile.py",
                command=command,
            )
        env_box = dataclasses.replace(box, env=sandbox.installer_env(box.env, self.environ))
        try:
            with noxenv.file_lock(lock, self.registry.stopping):
                self.phase(gate.id, "running", attempt=number)
                log.write(f"$ {command}\n")
                log.flush()
                res = self._proc(gate, argv, env_box, log, matcher, gate.timeout, watch)
        except noxenv.LockStopped:
            return AttemptReport(
                Outcome.STOPPED,
                time.monotonic() - t0,
                failure_class="interrupted",
                reason="stopped: interrupted",
            )
        # Reasons go into records: name the session, not the machine's paths.
        shown = f"nox -s {gate.nox}"
        breach = watch.ended(res)
        if breach is not None:
            _log_breach(log, breach)
            return breach.report(command, res.exit_code, time.monotonic() - t0)
        report = judge(gate.retries, gate.timeout, res, shown, matcher, time.monotonic() - t0)
        if report is None:
            return AttemptReport(
                Outcome.PASSED, time.monotonic() - t0, exit_code=0, command=command
            )
        return dataclasses.replace(report, command=command)

    def _pre_commit(
        self,
        gate: PlannedGate,
        box: sandbox.Sandbox,
        log: IO[str],
        matcher: TransientMatcher,
        number: int,
        watch: limits.LimitWatch,
    ) -> AttemptReport:
        from gatekit.precommit import execute as hookexec

        return hookexec.attempt(self, gate, box, log, matcher, number, watch)

    def _proc(
        self,
        gate: PlannedGate,
        argv: list[str],
        box: sandbox.Sandbox,
        log: IO[str],
        matcher: TransientMatcher,
        timeout: float,
        watch: limits.LimitWatch,
        starter: Starter | None = None,
    ) -> ProcResult:
        """Run one command of the gate: in its sandbox, under its limits; by ``starter``
        (a fork server) where the command needs nothing but a view, cgroups and rlimits
        (as root: no user namespace, no CPU affinity wrapper)."""
        if self.stop_request(gate.id) is not None:
            return ProcResult(None, False, True, 0.0, None)
        enforced = limits.enforcement(gate.limits) is not None
        shown = shlex.join(argv)

        def on_line(line: str) -> None:
            self._line(gate.id, "running", line, matcher)
            watch.feed(line)

        def started(pid: int) -> None:
            self.status.set_pid(gate.id, pid)
            self.watchdog.started(gate.id, pid, gate.stall_timeout, shown)

        env = {**box.env, runfile.RUN_VAR: f"{self.run_dir.name}/{gate.id}"}
        self._envs[gate.id] = env
        group = limits.open_cgroup(gate.limits) if enforced else None
        if enforced and group is None and limits.uses_cgroup(gate.limits):
            self._fell_back[gate.id] = limits.without_cgroup()  # the result says so
        # the cgroup is entered first, before the mount (and any user namespace) is made
        affinity = [] if group is not None else limits.affinity_argv(gate.limits)
        enter = group.procs_files() if group is not None else []
        rlimits = limits.rlimits(gate.limits) if enforced else ()
        spawn: Spawn | None = None
        view = box.view
        if starter is not None and view is not None and view.enters_cgroups() and not affinity:
            spec = {
                "cgroups": list(enter),
                "cwd": str(box.cwd),
                "umask": usage.umask(),  # this process's, which a command it started would have
                "network": box.isolate_network,
                "rlimits": [list(r) for r in rlimits],
                "view": view.mount_spec(),
            }

            def spawn(env: Mapping[str, str]) -> Started:
                return starter({**spec, "env": dict(env)})

        watch.attach(group)
        try:
            res = run_process(
                [*affinity, *box.wrap(argv, enter, rlimits)],
                cwd=box.cwd,
                env=env,
                timeout=max(timeout, 0.0),
                grace=self.options.grace,
                log=log,
                on_line=on_line,
                registry=self.registry,
                on_start=started,
                token=escapes.new_token() if self.options.sweep_escapes else None,
                watch=watch,
                before_timeout_kill=lambda pgid: self._snapshot(gate.id, pgid, shown, env),
                spawn=spawn,
            )
        finally:
            self.watchdog.ended(gate.id)
            watch.detach()
        if not res.ok and self.stop_request(gate.id) is not None:
            res = dataclasses.replace(res, stopped=True)
        return res

    def _snapshot(self, gate_id: str, pgid: int, command: str, env: dict[str, str]) -> None:
        """Forensics of a gate that timed out, taken before its processes are killed."""
        from gatekit.operator import forensics

        forensics.snapshot(
            self.run_dir,
            gate_id,
            why="timed out: snapshot before the kill",
            pgid=pgid,
            command=command,
            env=env,
            mask=self.hooks.mask,
        )
        self._snapped.add(gate_id)

    def _line(self, gate_id: str, phase: str, line: str, matcher: TransientMatcher | None) -> None:
        if self.hooks.mask is not None:
            line = self.hooks.mask(line)
        self.status.line(gate_id, line)
        self.watchdog.output(gate_id)
        self.reporter.event(gate_id, phase, line)
        if matcher is not None:
            matcher.feed(line)

    # after the attempts --------------------------------------------------
    def _collect(self, gate: PlannedGate, result: GateResult, produced: Path) -> GateResult:
        findings = self._findings.get(gate.id, ())
        if findings:
            result = result.model_copy(update={"findings": findings})
        if self.hooks.collect is None or (not gate.junit and gate.kpi is None):
            return result
        self.phase(gate.id, "collecting")
        try:
            junit, kpi = self.hooks.collect(gate, produced)
        except Exception as exc:
            return result.model_copy(
                update={"outcome": Outcome.ERROR, "reason": f"collecting JUnit/KPI failed: {exc}"}
            )
        update: dict[str, object] = {"junit": junit, "kpi": tuple(kpi)}
        if result.outcome is Outcome.PASSED:
            bad_kpi = [k for k in kpi if not k.passed]
            if bad_kpi:
                update.update(
                    outcome=Outcome.FAILED, reason="KPI: " + "; ".join(k.reason for k in bad_kpi)
                )
            elif junit is not None and (junit.failures or junit.errors):
                update.update(
                    outcome=Outcome.FAILED,
                    reason=f"JUnit: {junit.failures} failure(s), {junit.errors} error(s)",
                )
        return result.model_copy(update=update)

    def _runbook(self, gate: PlannedGate, result: GateResult) -> GateResult:
        from gatekit.run.runbook import write_runbook

        return write_runbook(
            self.status,
            gate,
            result,
            self._last.get(gate.id),
            shadow=self.shadow.path,
            env_cache=self.options.env_cache_dir,
            env=self._envs.get(gate.id, {}),
            mask=self.hooks.mask,
            snapped=gate.id in self._snapped,
        )


def _log_breach(log: IO[str], breach: limits.Breach) -> None:
    """The breach and the tree as it was stopped, into the log (and so the runbook)."""
    log.write(f"=== gatekit: {breach.reason} ===\n")
    if breach.tree:
        log.write(f"=== gatekit: the gate's processes then: {breach.tree} ===\n")
    log.flush()


def _stopped(gate: PlannedGate, request: dict[str, object], duration: float) -> GateResult:
    code = str(request.get("code") or control.STOPPED_BY_OPERATOR)
    reason = str(request.get("reason") or "stopped by an operator")
    return GateResult(
        id=gate.id,
        outcome=Outcome.STOPPED,
        reason=reason,
        required=gate.required,
        duration=duration,
        code=code,
    )
