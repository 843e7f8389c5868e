"""Trends of a chain, per gate: duration percentiles, failure, flaky and cache-hit rates,
and the time from a failure to the next pass.

Definitions (the README repeats them):

- a gate *ran* in a run when its outcome is one that executed it (passed, failed,
  error, timed_out, crashed, stopped); durations and the failure and flaky rates
  are over those runs;
- p50 and p95 are nearest-rank percentiles of the durations of the runs that ran;
- failure rate = runs ending failed/error/timed_out/crashed / runs that ran;
- flaky rate = flaky events / runs that ran, where a flaky event is a pass after a
  failed attempt in the same run, or a failure followed, on the next checkpoint of
  the same tree, by a pass;
- cache hit rate = cached / (ran + cached);
- recovery = from the start of the first run of a failing streak to the start of
  the next run where the gate passed (or was cached), in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, field
from typing import Any

from gatekit.insight.history import Run
from gatekit.lazyclass import dataclass
from gatekit.results import GateResult, Outcome

RAN = frozenset(
    {
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.ERROR,
        Outcome.TIMED_OUT,
        Outcome.CRASHED,
        Outcome.STOPPED,
    }
)
FAILED = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.TIMED_OUT, Outcome.CRASHED})
GOOD = frozenset({Outcome.PASSED, Outcome.CACHED})


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least ``p`` percent of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class GateStats:
    gate: str
    runs: int = 0  # runs of the chain that list the gate
    ran: int = 0
    passed: int = 0
    failed: int = 0
    cached: int = 0
    skipped: int = 0
    flaky: int = 0
    retries: int = 0
    p50: float | None = None
    p95: float | None = None
    last_duration: float | None = None
    last_outcome: str | None = None
    failure_rate: float | None = None
    flaky_rate: float | None = None
    cache_hit_rate: float | None = None
    recoveries: list[float] = field(default_factory=list)
    recovery_median: float | None = None
    recovery_max: float | None = None
    failing_now_since: float | None = None  # start of the current failing streak, if any

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def flaky_events(runs: Sequence[Run]) -> dict[str, list[int]]:
    """gate -> indexes (into ``runs``) of the runs that showed the gate flaky."""
    out: dict[str, list[int]] = {}
    prev: dict[str, tuple[str, Outcome]] = {}  # gate -> (tree, outcome) of its last run
    for i, run in enumerate(runs):
        for g in run.result.gates:
            before = prev.get(g.id)
            if g.flaky or (
                before is not None
                and before[0] == run.tree
                and before[1] in FAILED
                and g.outcome is Outcome.PASSED
            ):
                out.setdefault(g.id, []).append(i)
            if g.outcome in RAN or g.outcome is Outcome.CACHED:
                prev[g.id] = (run.tree, g.outcome)
    return out


def gate_stats(runs: Sequence[Run]) -> dict[str, GateStats]:
    """Per gate id, in the order gates first appear (oldest run first)."""
    stats: dict[str, GateStats] = {}
    durations: dict[str, list[float]] = {}
    streak: dict[str, float] = {}  # gate -> start of its current failing streak
    for run in runs:
        for g in run.result.gates:
            s = stats.setdefault(g.id, GateStats(g.id))
            _count(s, g)
            if g.outcome in RAN:
                durations.setdefault(g.id, []).append(g.duration)
            if g.outcome in FAILED:
                streak.setdefault(g.id, run.time)
            elif g.outcome in GOOD and g.id in streak:
                s.recoveries.append(round(run.time - streak.pop(g.id), 3))
    for gid, events in flaky_events(runs).items():
        stats[gid].flaky = len(events)
    for gid, s in stats.items():
        values = durations.get(gid, [])
        s.p50, s.p95 = percentile(values, 50), percentile(values, 95)
        s.failure_rate = _ratio(s.failed, s.ran)
        s.flaky_rate = _ratio(s.flaky, s.ran)
        s.cache_hit_rate = _ratio(s.cached, s.ran + s.cached)
        s.recovery_median = percentile(s.recoveries, 50)
        s.recovery_max = max(s.recoveries) if s.recoveries else None
        s.failing_now_since = streak.get(gid)
    return stats


def _count(s: GateStats, g: GateResult) -> None:
    s.runs += 1
    s.last_outcome = str(g.outcome)
    s.retries += max(0, len(g.attempts) - 1)
    if g.outcome in RAN:
        s.ran += 1
        s.last_duration = g.duration
    if g.outcome is Outcome.PASSED:
        s.passed += 1
    elif g.outcome in FAILED:
        s.failed += 1
    elif g.outcome is Outcome.CACHED:
        s.cached += 1
    elif g.outcome is Outcome.SKIPPED:
        s.skipped += 1
