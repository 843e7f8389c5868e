"""Build checkpoint chains with known gate durations, outcomes and times (no gates run)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pygit2

from gatekit.config.models import Event
from gatekit.plan.model import PlanContext, PolicyRef
from gatekit.record.checkpoints import record_checkpoint
from gatekit.results import (
    Attempt,
    CandidateInfo,
    Environment,
    GateResult,
    Outcome,
    RunResult,
    exit_code_for,
    verdict_for,
)


@dataclass(frozen=True)
class G:
    """One gate of a run: outcome, duration, attempts (2+ with flaky=True: a pass on retry)."""

    outcome: Outcome
    duration: float = 1.0
    attempts: int = 1
    flaky: bool = False
    cached_from: str | None = None


def run_result(start: float, gates: dict[str, G], duration: float | None = None) -> RunResult:
    results = []
    for gid, g in gates.items():
        attempts = tuple(
            Attempt(
                number=n + 1,
                outcome=g.outcome if n == g.attempts - 1 else Outcome.FAILED,
                exit_code=0 if g.outcome is Outcome.PASSED and n == g.attempts - 1 else 1,
                duration=round(g.duration / g.attempts, 3),
            )
            for n in range(g.attempts if g.outcome not in (Outcome.SKIPPED, Outcome.CACHED) else 0)
        )
        results.append(
            GateResult(
                id=gid,
                outcome=g.outcome,
                reason="" if g.outcome is Outcome.PASSED else f"{gid}: {g.outcome}",
                duration=g.duration,
                attempts=attempts,
                flaky=g.flaky,
                cached_from=g.cached_from,
                log=f"logs/{gid}.log",
            )
        )
    verdict = verdict_for(results)
    return RunResult(
        run_id=uuid.uuid4().hex,
        plan_id="a" * 64,
        policies=(PolicyRef(name="gatekit:default", policy_version="1.0.0", effective=None),),
        context=PlanContext(event=Event.CI, branch="main"),
        candidate=CandidateInfo(source="rev", tree="0" * 40, base=None),
        verdict=verdict,
        exit_code=exit_code_for(verdict),
        gates=tuple(results),
        environment=Environment(python="3.11", platform="linux", gatekit="0", fingerprint="f"),
        started_at=datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=duration if duration is not None else sum(g.duration for g in gates.values()),
    )


def trees(repo: pygit2.Repository, count: int) -> list[str]:
    """``count`` distinct tree objects (a one-file tree each)."""
    out = []
    for i in range(count):
        tb = repo.TreeBuilder()
        tb.insert("f.txt", repo.create_blob(f"{i}\n".encode()), pygit2.GIT_FILEMODE_BLOB)
        out.append(str(tb.write()))
    return out


def record_chain(
    repo: pygit2.Repository,
    chain: str,
    runs: list[tuple[float, str, dict[str, G]]],
) -> list[str]:
    """Record (start time, tree, gates) runs oldest first; returns the checkpoint ids."""
    head = str(repo.head.target)
    ids = []
    for start, tree, gates in runs:
        result = run_result(start, gates).model_copy(
            update={"candidate": CandidateInfo(source="rev", tree=tree, base=head)}
        )
        ids.append(record_checkpoint(repo, chain, tree, head, result))
    return ids
