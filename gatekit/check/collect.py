"""gatekit collect: fetch the shards' notes, combine their records into one verdict."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gatekit.check.request import CheckReport
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    from gatekit.git.candidate import CandidateSpec


@dataclass(frozen=True)
class CollectRequest:
    config_path: str | None = None
    event: str = "ci"
    branch: str | None = None
    spec: CandidateSpec | None = None
    all_paths: bool = False
    chain: str | None = None
    record: bool = True
    remotes: tuple[str, ...] = ("origin",)


def run_collect(request: CollectRequest, environ: Mapping[str, str]) -> CheckReport:
    from gatekit.check.finish import apply_approvals
    from gatekit.check.pipeline import environment, new_run_id
    from gatekit.config.loader import load_config
    from gatekit.git.candidate import default_spec_for_event, resolve_candidate
    from gatekit.git.repo import current_branch, gatekit_dir, open_repo, workdir
    from gatekit.plan.compile import compile_plan, make_context
    from gatekit.record.collect import combine, notes_refs_of, shard_records
    from gatekit.record.sharing import fetch
    from gatekit.results import CandidateInfo, RunResult, exit_code_for, verdict_for

    started = time.monotonic()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    repo = open_repo(".")
    messages = []
    for remote in request.remotes:
        report = fetch(repo, remote)
        messages.append(
            f"fetched notes from {remote}" + (" (merged)" if report.notes_merged else "")
        )
    candidate = resolve_candidate(repo, request.spec or default_spec_for_event(request.event))
    loaded = load_config(workdir(repo), request.config_path)
    branch = request.branch if request.branch is not None else current_branch(repo)
    changed = None if request.all_paths else candidate.changed
    plan = compile_plan(
        loaded, make_context(loaded.config, request.event, branch, changed, environ)
    )
    records = shard_records(repo, plan.plan_id, candidate.tree, notes_refs_of(repo))
    combined = combine(plan, records)
    gates = apply_approvals(repo, candidate.tree, list(combined.gates))
    verdict = verdict_for(gates)
    messages.append(
        f"combined {len(records)} shard record(s) ({', '.join(combined.shards) or 'none'})"
    )
    if combined.missing:
        messages.append("no shard recorded: " + ", ".join(combined.missing))
    result = RunResult(
        run_id=new_run_id(),
        plan_id=plan.plan_id,
        policies=plan.policies,
        context=plan.context,
        candidate=CandidateInfo(source=candidate.source, tree=candidate.tree, base=candidate.base),
        verdict=verdict,
        exit_code=exit_code_for(verdict),
        gates=tuple(gates),
        environment=environment(),
        started_at=started_at,
        duration=round(time.monotonic() - started, 3),
    )
    run_dir = gatekit_dir(repo) / "runs" / result.run_id
    out = CheckReport(result, plan, run_dir, result.exit_code, messages)
    if request.record:
        from gatekit.record.checkpoints import chain_name_for, record_checkpoint

        chain = chain_name_for(repo, request.chain)
        checkpoint = record_checkpoint(repo, chain, candidate.tree, candidate.base, result)
        out.result = result.model_copy(update={"chain": chain, "checkpoint": checkpoint})
        messages.append(f"checkpoint {checkpoint[:12]} on chain {chain}")
    return out
