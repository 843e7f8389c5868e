"""Retries by failure class.

- transient: an exit code or an output pattern the gate declares, or a failed
  environment creation (class "environment"): retried up to
  ``retries.transient`` times with exponential backoff and jitter.
- deterministic: any other failure; never retried, unless ``retries.flaky``
  allows extra attempts, and then a pass after a failure is recorded as flaky.
- timeout and interrupted: never retried.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import field

from gatekit.lazyclass import dataclass
from gatekit.plan.model import RetryPolicy
from gatekit.results import Attempt, Cost, FailureClass, Outcome
from gatekit.run.proc import ProcResult


@dataclass(frozen=True)
class AttemptReport:
    """What one attempt of a gate did."""

    outcome: Outcome  # passed, failed, error, timed_out or stopped
    duration: float
    exit_code: int | None = None
    failure_class: FailureClass | None = None
    reason: str = ""
    command: str | None = None  # the command that decided the outcome
    notes: tuple[str, ...] = ()
    phase: str | None = None  # where it failed when not "running" (e.g. "install")
    code: str | None = None  # machine-readable reason, e.g. LIMIT_MEMORY
    cost: Cost | None = None

    def attempt(self, number: int) -> Attempt:
        return Attempt(
            number=number,
            outcome=self.outcome,
            exit_code=self.exit_code,
            failure_class=self.failure_class,
            duration=round(self.duration, 3),
            cost=self.cost,
        )


@dataclass(frozen=True)
class RetrySummary:
    last: AttemptReport
    attempts: tuple[Attempt, ...]
    flaky: bool
    stopped: bool = False


@dataclass
class TransientMatcher:
    """Watches output lines for the gate's transient patterns."""

    patterns: Sequence[str]
    matched: str | None = None
    _compiled: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for p in self.patterns:
            try:
                self._compiled.append(re.compile(p))
            except re.error:
                continue

    def feed(self, line: str) -> None:
        if self.matched is None:
            for rx in self._compiled:
                if rx.search(line):
                    self.matched = rx.pattern
                    return

    def reset(self) -> None:
        self.matched = None


def classify(
    exit_code: int | None, *, timed_out: bool, stopped: bool, pattern_hit: bool, policy: RetryPolicy
) -> FailureClass | None:
    """The failure class of a finished command (None: it passed)."""
    if stopped:
        return "interrupted"
    if timed_out:
        return "timeout"
    if exit_code == 0:
        return None
    if exit_code in policy.exit_codes or pattern_hit:
        return "transient"
    return "deterministic"


def backoff_delay(policy: RetryPolicy, retry: int, rng: random.Random | None = None) -> float:
    """Delay before transient retry number ``retry`` (1-based): base * factor**(n-1),
    +/- jitter, never above the cap."""
    rng = rng or random.Random()
    delay = policy.backoff * policy.factor ** max(retry - 1, 0)
    delay *= 1 + rng.uniform(-policy.jitter, policy.jitter)
    return max(0.0, min(delay, policy.cap))


def run_attempts(
    policy: RetryPolicy,
    attempt: Callable[[int], AttemptReport],
    wait: Callable[[float], bool],
    on_retry: Callable[[int, AttemptReport, float], None] | None = None,
    rng: random.Random | None = None,
) -> RetrySummary:
    """Run ``attempt(n)`` until it passes or the policy allows no more tries.

    ``wait(seconds)`` sleeps and returns True when the run was stopped meanwhile.
    """
    transient_left = policy.transient
    flaky_left = policy.flaky
    used_flaky = False
    transient_retries = 0
    attempts: list[Attempt] = []
    number = 0
    while True:
        number += 1
        report = attempt(number)
        attempts.append(report.attempt(number))
        if report.outcome is Outcome.PASSED:
            return RetrySummary(report, tuple(attempts), flaky=used_flaky)
        cls = report.failure_class
        if report.outcome is Outcome.STOPPED or cls in ("interrupted", "timeout", None):
            return RetrySummary(report, tuple(attempts), False, report.outcome is Outcome.STOPPED)
        delay = 0.0
        if cls in ("transient", "environment") and transient_left > 0:
            transient_left -= 1
            transient_retries += 1
            delay = backoff_delay(policy, transient_retries, rng)
        elif flaky_left > 0:
            flaky_left -= 1
            used_flaky = True
        else:
            return RetrySummary(report, tuple(attempts), False)
        if on_retry is not None:
            on_retry(number, report, delay)
        if wait(delay):
            return RetrySummary(report, tuple(attempts), False, stopped=True)


def judge(
    policy: RetryPolicy,
    timeout: float,
    res: ProcResult,
    command: str,
    matcher: TransientMatcher,
    took: float,
) -> AttemptReport | None:
    """The report of a command that did not pass (None when it passed)."""
    if res.ok:
        return None
    if res.error is not None:
        return AttemptReport(
            Outcome.ERROR,
            took,
            failure_class="deterministic",
            reason=f"cannot start `{command}`: {res.error}",
            command=command,
        )
    cls = classify(
        res.exit_code,
        timed_out=res.timed_out,
        stopped=res.stopped,
        pattern_hit=matcher.matched is not None,
        policy=policy,
    )
    if res.stopped:
        return AttemptReport(
            Outcome.STOPPED, took, res.exit_code, cls, "stopped: interrupted", command
        )
    if res.timed_out:
        return AttemptReport(
            Outcome.TIMED_OUT,
            took,
            res.exit_code,
            cls,
            f"timed out after {timeout:g}s: `{command}`",
            command,
        )
    reason = f"`{command}` exited with {res.exit_code}"
    if cls == "transient":
        reason += f" (transient: {'matched ' + repr(matcher.matched) if matcher.matched else 'declared exit code'})"
    return AttemptReport(Outcome.FAILED, took, res.exit_code, cls, reason, command)
