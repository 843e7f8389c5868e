"""gatekit check: config -> plan -> shadow -> run -> record -> (promote | apply fixes) -> report.

Each stage is a function of the previous one's output; this module only wires
them. Side effects sit in the stages' own modules.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit import __version__
from gatekit.check.execute import execute, result_cache, with_cache_key
from gatekit.check.finish import apply_approvals, apply_fixes, guard_results, promote, write_reports
from gatekit.check.request import CheckReport, CheckRequest
from gatekit.errors import UsageError
from gatekit.results import Environment, RunResult, Verdict

if TYPE_CHECKING:
    import pygit2

    from gatekit.config.loader import LoadedConfig
    from gatekit.git.candidate import Candidate
    from gatekit.plan.cache import PlanCache
    from gatekit.plan.model import GatePlan
    from gatekit.run.output import Reporter


def new_run_id() -> str:
    """Unique and sortable; never part of hashed content."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{os.getpid()}-{os.urandom(3).hex()}"


def run_check(
    request: CheckRequest,
    reporter: Reporter,
    environ: Mapping[str, str] | None = None,
) -> CheckReport:
    from gatekit.git.candidate import default_spec_for_event, resolve_candidate
    from gatekit.git.repo import current_branch, gatekit_dir, open_repo, workdir
    from gatekit.plan.cache import PlanCache

    env = os.environ if environ is None else environ
    started = time.monotonic()
    repo = open_repo(".")
    root = workdir(repo)
    _recover(repo)
    plans = PlanCache(gatekit_dir(repo) / "plans", root, request.config_path)
    # The configuration is read (and its errors raised) here unless the plan cache knows
    # its files unchanged since they last loaded without error.
    loaded = None if plans.flags is not None else _load_config(root, request.config_path)
    spec = request.spec or default_spec_for_event(request.event)
    if request.promote and spec.source not in ("rev", "merge"):
        raise UsageError("--promote needs the candidate as --rev REV or --merge BASE HEAD")
    candidate = resolve_candidate(repo, spec)
    branch = request.branch if request.branch is not None else current_branch(repo)
    plan = _plan(plans, loaded, root, request, branch, candidate.changed, env)
    from gatekit.check.selection import RelabelReporter, extra_skips

    skips = extra_skips(repo, request, plan)
    if skips:
        request = dataclasses.replace(request, skip=(*request.skip, *skips))
        reporter = RelabelReporter(reporter, skips)
    if request.observer is not None:
        request.observer.planned(plan, candidate)
    run_id = new_run_id()
    run_dir = gatekit_dir(repo) / "runs" / run_id
    run_dir.mkdir(parents=True)
    from gatekit.operator import runfile

    (run_dir / "plan.json").write_text(plan.canonical_json() + "\n", encoding="utf-8")

    runfile.start(
        run_dir,
        candidate={"source": candidate.source, "tree": candidate.tree, "base": candidate.base},
        gates=[*plan.order, *(g.id for g in plan.gates if g.id not in plan.order)],
        watchdog=plan.watchdog,
    )
    try:
        report = _run(
            repo, request, plan, candidate, run_dir, reporter, env, run_id, started, skips
        )
    except BaseException:
        runfile.finish(run_dir, state="error", verdict=None, exit_code=None)
        raise
    from gatekit.operator import clientwatch

    if clientwatch.client_gone():  # a daemon worker whose client went away: crashed
        from gatekit.operator.recover import client_gone_run

        client_gone_run(run_dir)
    else:
        runfile.finish(
            run_dir,
            state="finished",
            verdict=report.result.verdict.value,
            exit_code=report.exit_code,
        )
    return report


def _run(
    repo: pygit2.Repository,
    request: CheckRequest,
    plan: GatePlan,
    candidate: Candidate,
    run_dir: Path,
    reporter: Reporter,
    env: Mapping[str, str],
    run_id: str,
    started: float,
    skips: Mapping[str, str],
) -> CheckReport:
    from gatekit.check.selection import relabel

    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cache = result_cache(repo, candidate, request.all_paths) if request.use_cache else None
    results, guard_changes, shadow_commit = execute(
        repo, request, plan, candidate, run_dir, reporter, cache, env
    )
    if cache is not None:
        results = [with_cache_key(r, plan, cache) for r in results]
    results = relabel(results, skips)
    results.extend(guard_results(guard_changes))
    results = apply_approvals(repo, candidate.tree, results)
    from gatekit.insight.quarantine import apply_quarantine

    results = apply_quarantine(repo, plan.quarantine, results)

    from gatekit.results import CandidateInfo, exit_code_for, run_cost, verdict_for
    from gatekit.run.execute import interrupted

    verdict = verdict_for(results, interrupted(results))
    result = RunResult(
        run_id=run_id,
        plan_id=plan.plan_id,
        policies=plan.policies,
        context=plan.context,
        candidate=CandidateInfo(
            source=candidate.source, tree=candidate.tree, base=candidate.base, commit=shadow_commit
        ),
        verdict=verdict,
        exit_code=exit_code_for(verdict),
        gates=tuple(results),
        environment=environment(),
        started_at=started_at,
        duration=round(time.monotonic() - started, 3),
        shard=f"{request.shard[0]}/{request.shard[1]}" if request.shard else None,
        cost=run_cost(results),
    )
    report = CheckReport(result, plan, run_dir, result.exit_code)
    if request.record:
        from gatekit.record.checkpoints import chain_name_for, record_checkpoint

        chain = chain_name_for(repo, request.chain)
        if request.shard and request.chain is None:  # shards push side by side
            chain = chain_name_for(repo, f"{chain}-shard-{request.shard[0]}of{request.shard[1]}")
        checkpoint = record_checkpoint(repo, chain, candidate.tree, candidate.base, result)
        report.result = result.model_copy(update={"chain": chain, "checkpoint": checkpoint})
        report.messages.append(f"checkpoint {checkpoint[:12]} on chain {chain}")
    _write_result(run_dir, report.result)
    write_reports(request, report, run_dir)
    if verdict is Verdict.INTERRUPTED:
        return report
    if request.promote:
        promote(repo, request, candidate, report)
    if request.apply_fixes:
        apply_fixes(repo, candidate, report)
    return report


def _load_config(root: Path, config_path: str | None) -> LoadedConfig:
    from gatekit.config.loader import load_config

    return load_config(root, config_path)


def _plan(
    plans: PlanCache,
    loaded: LoadedConfig | None,
    root: Path,
    request: CheckRequest,
    branch: str | None,
    changed: tuple[str, ...],
    env: Mapping[str, str],
) -> GatePlan:
    """The plan from the plan cache, else compiled (and cached) as always."""
    if loaded is None:
        context = plans.context(request.event, branch, changed, env, request.all_paths)
        cached = plans.get(context)
        if cached is not None:
            return cached
        loaded = _load_config(root, request.config_path)
    from gatekit.plan.compile import compile_plan, make_context

    context = make_context(
        loaded.config, request.event, branch, changed, env, all_paths=request.all_paths
    )
    plan = compile_plan(loaded, context)
    plans.put(loaded, context, plan)
    return plan


def _recover(repo: pygit2.Repository) -> None:
    """Finish or undo an apply of fixes that a crash interrupted, before anything else."""
    from gatekit.record.applystate import pending

    if pending(repo):
        from gatekit.record.apply import recover_pending_apply

        recover_pending_apply(repo)


def environment() -> Environment:
    from gatekit.cache import environment_fingerprint

    return Environment(
        python=sys.version.split()[0],  # platform.python_version(), without importing platform
        platform=f"{sys.platform}-{os.uname().machine}",
        gatekit=__version__,
        fingerprint=environment_fingerprint(),
    )


def _write_result(run_dir: Path, result: RunResult) -> None:
    from gatekit import canonical

    (run_dir / "result.json").write_text(
        canonical.dumps(result.model_dump(mode="json")) + "\n", encoding="utf-8"
    )
