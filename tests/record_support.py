"""Helpers for the record tests: build RunResult objects without running gates."""

from __future__ import annotations

import uuid

from gatekit.config.models import Event
from gatekit.plan.model import PlanContext
from gatekit.results import (
    CandidateInfo,
    Environment,
    GateResult,
    Outcome,
    RunResult,
    Verdict,
    verdict_for,
)


def make_result(
    tree: str = "0" * 40,
    base: str | None = None,
    outcomes: dict[str, Outcome] | None = None,
    fix_tree: str | None = None,
    run_id: str | None = None,
    log_prefix: str = "",
) -> RunResult:
    outcomes = (
        outcomes if outcomes is not None else {"lint": Outcome.PASSED, "unit": Outcome.PASSED}
    )
    gates = tuple(
        GateResult(
            id=gid,
            outcome=o,
            reason="" if o is Outcome.PASSED else f"{gid} said no",
            duration=0.5,
            log=f"{log_prefix}logs/{gid}.log",
            fix_tree=fix_tree if gid == "fmt" else None,
        )
        for gid, o in outcomes.items()
    )
    verdict: Verdict = verdict_for(gates)
    return RunResult(
        run_id=run_id or uuid.uuid4().hex,
        plan_id="p" * 64,
        policies=(),
        context=PlanContext(event=Event.MANUAL, branch="main"),
        candidate=CandidateInfo(source="staged", tree=tree, base=base),
        verdict=verdict,
        exit_code=0 if verdict is Verdict.PASSED else 1,
        gates=gates,
        environment=Environment(
            python="3.11", platform="linux", gatekit="0.1.0", fingerprint="f" * 16
        ),
        started_at="2025-01-01T00:00:00Z",
        duration=1.0,
    )
