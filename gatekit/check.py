"""gatekit check: config -> plan -> shadow -> run -> record -> (promote | apply fixes) -> report.

Each stage is a function of the previous one's output; this module only wires
them. Side effects sit in the stages' own modules.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit import __version__
from gatekit.errors import UsageError
from gatekit.results import Environment, GateResult, Outcome, RunResult, Verdict

if TYPE_CHECKING:
    import pygit2

    from gatekit.cache import ResultCache
    from gatekit.config.loader import LoadedConfig
    from gatekit.git.candidate import Candidate, CandidateSpec
    from gatekit.git.guard import GuardChange
    from gatekit.git.shadow import Shadow
    from gatekit.plan.cache import PlanCache
    from gatekit.plan.model import GatePlan
    from gatekit.run.output import Reporter


@dataclass(frozen=True)
class CheckRequest:
    config_path: str | None = None
    event: str = "manual"
    branch: str | None = None
    spec: CandidateSpec | None = None  # None: the event's default candidate
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    jobs: int | None = None
    fail_fast: bool = False
    use_cache: bool = True
    chain: str | None = None
    record: bool = True
    promote: str | None = None
    apply_fixes: bool = False
    junit_xml: Path | None = None
    sarif: Path | None = None


@dataclass
class CheckReport:
    result: RunResult
    plan: GatePlan
    run_dir: Path
    exit_code: int
    messages: list[str] = field(default_factory=list)


def new_run_id() -> str:
    """Unique and sortable; never part of hashed content."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
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
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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
    run_id = new_run_id()
    run_dir = gatekit_dir(repo) / "runs" / run_id
    run_dir.mkdir(parents=True)

    cache = _cache(repo, candidate) if request.use_cache else None
    results, guard_changes, shadow_commit = _execute(repo, request, plan, candidate, run_dir, reporter, cache, env)
    if cache is not None:
        results = [_with_key(r, plan, cache) for r in results]
    results.extend(_guard_results(guard_changes))
    results = _apply_approvals(repo, candidate.tree, results)

    from gatekit.results import CandidateInfo, exit_code_for, verdict_for
    from gatekit.run.execute import interrupted

    verdict = verdict_for(results, interrupted(results))
    result = RunResult(
        run_id=run_id,
        plan_id=plan.plan_id,
        policies=plan.policies,
        context=plan.context,
        candidate=CandidateInfo(source=candidate.source, tree=candidate.tree, base=candidate.base, commit=shadow_commit),
        verdict=verdict,
        exit_code=exit_code_for(verdict),
        gates=tuple(results),
        environment=environment(),
        started_at=started_at,
        duration=round(time.monotonic() - started, 3),
    )
    report = CheckReport(result, plan, run_dir, result.exit_code)
    if request.record:
        from gatekit.record.checkpoints import chain_name_for, record_checkpoint

        chain = chain_name_for(repo, request.chain)
        checkpoint = record_checkpoint(repo, chain, candidate.tree, candidate.base, result)
        report.result = result.model_copy(update={"chain": chain, "checkpoint": checkpoint})
        report.messages.append(f"checkpoint {checkpoint[:12]} on chain {chain}")
    _write_result(run_dir, report.result)
    _write_reports(request, report, run_dir)
    if verdict is Verdict.INTERRUPTED:
        return report
    if request.promote:
        _promote(repo, request, candidate, report)
    if request.apply_fixes:
        _apply_fixes(repo, candidate, report)
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
        context = plans.context(request.event, branch, changed, env)
        cached = plans.get(context)
        if cached is not None:
            return cached
        loaded = _load_config(root, request.config_path)
    from gatekit.plan.compile import compile_plan, make_context

    context = make_context(loaded.config, request.event, branch, changed, env)
    plan = compile_plan(loaded, context)
    plans.put(loaded, context, plan)
    return plan


def _recover(repo: pygit2.Repository) -> None:
    """Finish or undo an apply of fixes that a crash interrupted, before anything else."""
    from gatekit.record.apply import recover_pending_apply

    recover_pending_apply(repo)


def _execute(
    repo: pygit2.Repository,
    request: CheckRequest,
    plan: GatePlan,
    candidate: Candidate,
    run_dir: Path,
    reporter: Reporter,
    cache: ResultCache | None,
    env: Mapping[str, str],
) -> tuple[list[GateResult], list[GuardChange], str]:
    from gatekit.builtins.hooks import builtin_hook, collect_hook
    from gatekit.git.guard import changes_since, snapshot_main
    from gatekit.git.shadow import ShadowPool
    from gatekit.run.execute import GateHooks, RunOptions, execute_plan

    pool = ShadowPool(repo)
    lookup = _cache_hook(cache)
    with contextlib.ExitStack() as stack:
        shadow: Shadow | _LazyShadow
        if _every_gate_cached(plan, request, lookup):
            # Nothing will run: the checkout of the candidate (it stats every file of the
            # tree) and the masking pre-scan wait until a gate asks for the shadow, which
            # only happens if a cache entry went away in between.
            from gatekit.git.safety import scan_tree
            from gatekit.git.shadow import candidate_commit
            scan_tree(repo, candidate.tree)  # refuses unsafe paths, as acquire() does
            found: list[str] = []

            def materialise() -> Shadow:
                real = stack.enter_context(pool.acquire(candidate))
                found.extend(_secret_values(repo, plan, candidate, real.path))
                return real

            shadow = _LazyShadow(materialise, candidate_commit(repo, candidate))
            secrets: Sequence[str] = found
            mask: Callable[[str], str] | None = _live_masker(found)
        else:
            shadow = stack.enter_context(pool.acquire(candidate))
            secrets = _secret_values(repo, plan, candidate, shadow.path)
            mask = _masker(secrets)
        hooks = GateHooks(
            run_builtin=builtin_hook(repo, base=candidate.base, tree=candidate.tree, changed=candidate.changed),
            lookup_cache=lookup,
            collect=collect_hook(run_dir, secrets),
            mask=mask,
        )
        options = RunOptions(
            jobs=request.jobs,
            fail_fast=request.fail_fast,
            only=request.only,
            skip=request.skip,
            environ=env,
        )
        snapshot = snapshot_main(repo)
        results = execute_plan(plan, shadow, run_dir, options, reporter, hooks)
        guard_changes = changes_since(repo, snapshot)
        if request.promote:
            # The promotion target may move while the gates run (another process, a merge
            # queue): that is the compare-and-swap's case (exit 4, nothing overwritten), not
            # a gate writing into the repository. changes_since lines start with the ref name.
            guard_changes = [c for c in guard_changes if not c.text.startswith(request.promote + " ")]
        return results, guard_changes, shadow.commit


def _every_gate_cached(
    plan: GatePlan, request: CheckRequest, lookup: Callable[..., GateResult | None] | None
) -> bool:
    """Whether every gate the run would start is a cache hit (so none needs the shadow)."""
    if lookup is None or request.only or request.skip:
        return False
    run = [g for g in plan.gates if g.decision.value == "run"]
    return bool(run) and all(g.cache and lookup(g) is not None for g in run)


def _live_masker(values: list[str]) -> Callable[[str], str]:
    """Masks the values the list holds when called (filled when the shadow is materialised)."""
    from gatekit.reports.masking import mask_secrets

    def mask(text: str) -> str:
        return mask_secrets(text, values)

    return mask


class _LazyShadow:
    """The shadow, materialised the first time a gate asks for it (thread-safe)."""

    def __init__(self, materialise: Callable[[], Shadow], commit: str) -> None:
        self._materialise = materialise
        self._real: Shadow | None = None
        self._lock = threading.Lock()
        self.commit = commit  # candidate_commit() is deterministic: the real shadow's too

    def _get(self) -> Shadow:
        with self._lock:
            if self._real is None:
                self._real = self._materialise()
            return self._real

    @property
    def path(self) -> Path:
        return self._get().path

    def reset(self) -> None:
        self._get().reset()


def _cache(repo: pygit2.Repository, candidate: Candidate) -> ResultCache:
    from gatekit.cache import ResultCache

    return ResultCache(repo, tree=candidate.tree, base=candidate.base)


def _cache_hook(cache: ResultCache | None) -> Callable[..., GateResult | None] | None:
    if cache is None:
        return None
    from gatekit.cache import cache_hook

    return cache_hook(cache)


def _with_key(result: GateResult, plan: GatePlan, cache: ResultCache) -> GateResult:
    if result.cache_key is not None or result.outcome is not Outcome.PASSED:
        return result
    try:
        gate = plan.gate(result.id)
    except KeyError:
        return result
    if not gate.cache or result.flaky:
        return result
    return result.model_copy(update={"cache_key": cache.key_for(gate)})


def _secret_values(repo: pygit2.Repository, plan: GatePlan, candidate: Candidate, root: Path) -> tuple[str, ...]:
    """Secret values in what the candidate changes, so that every log can mask them."""
    if not any(g.builtin == "secrets" and g.decision.value == "run" for g in plan.gates):
        return ()
    from gatekit.builtins.secrets import secret_values_in

    return tuple(secret_values_in(root, candidate.changed))


def _masker(secrets: tuple[str, ...]) -> Callable[[str], str] | None:
    if not secrets:
        return None
    from gatekit.reports.masking import mask_secrets

    return lambda text: mask_secrets(text, secrets)


def _apply_approvals(repo: pygit2.Repository, tree: str, results: list[GateResult]) -> list[GateResult]:
    """A manual gate approved for this very tree counts as approved."""
    if not any(r.outcome is Outcome.MANUAL_PENDING for r in results):
        return results
    from gatekit.record.approvals import approvals_for

    approved = approvals_for(repo, tree)
    out = []
    for r in results:
        a = approved.get(r.id)
        if r.outcome is Outcome.MANUAL_PENDING and a is not None:
            r = r.model_copy(update={"outcome": Outcome.APPROVED, "reason": f"approved by {a.by} at {a.at}"})
        out.append(r)
    return out


def _guard_results(changes: list[GuardChange]) -> list[GateResult]:
    """Changes to the main repository during the gates: a failure when a gate made them,
    an advisory (not required) result when the user may have (another terminal)."""
    by_gate = [c.text for c in changes if c.by_gate]
    unsure = [c.text for c in changes if not c.by_gate]
    out = []
    if by_gate:
        reason = "a gate wrote into the main repository: " + "; ".join(by_gate)
        out.append(GateResult(id="gatekit-guard", outcome=Outcome.ERROR, reason=reason, required=True))
    if unsure:
        reason = "the main repository changed during the check (by you or by a gate): " + "; ".join(unsure)
        out.append(GateResult(id="gatekit-guard-notice", outcome=Outcome.ERROR, reason=reason, required=False))
    return out


def environment() -> Environment:
    from gatekit.cache import environment_fingerprint

    return Environment(
        python=platform.python_version(),
        platform=f"{sys.platform}-{platform.machine()}",
        gatekit=__version__,
        fingerprint=environment_fingerprint(),
    )


def _write_result(run_dir: Path, result: RunResult) -> None:
    from gatekit import canonical

    (run_dir / "result.json").write_text(canonical.dumps(result.model_dump(mode="json")) + "\n", encoding="utf-8")


def _write_reports(request: CheckRequest, report: CheckReport, run_dir: Path) -> None:
    if request.junit_xml is not None:
        from gatekit.reports.junit import write_junit_xml

        write_junit_xml(request.junit_xml, report.result.gates, run_dir)
        report.messages.append(f"JUnit written to {request.junit_xml}")
    if request.sarif is not None:
        from gatekit.reports.sarif import write_sarif

        write_sarif(request.sarif, report.result.gates)
        report.messages.append(f"SARIF written to {request.sarif}")


def _promote(repo: pygit2.Repository, request: CheckRequest, candidate: Candidate, report: CheckReport) -> None:
    from gatekit.record.promote import promote_ref, promotion_commit

    assert request.promote is not None and request.spec is not None
    if report.result.verdict is not Verdict.PASSED:
        report.messages.append(f"not promoting {request.promote}: the check did not pass")
        return
    if candidate.base is None:
        raise UsageError("nothing to promote from: the candidate has no base commit")
    spec = request.spec
    commit = promotion_commit(
        repo,
        candidate.tree,
        candidate.base,
        rev=spec.rev if spec.source == "rev" else None,
        head=spec.head if spec.source == "merge" else None,
    )
    promote_ref(repo, request.promote, candidate.base, commit)  # TargetMovedError -> exit 4
    report.messages.append(f"promoted {request.promote}: {candidate.base[:12]} -> {commit[:12]}")


def _apply_fixes(repo: pygit2.Repository, candidate: Candidate, report: CheckReport) -> None:
    from gatekit.record.fixes import apply_fixes, combined_fix_tree

    fix_trees = [g.fix_tree for g in report.result.gates if g.fix_tree]
    if not fix_trees:
        report.messages.append("no fixes to apply")
        return
    combined = combined_fix_tree(repo, candidate.tree, fix_trees)
    if combined is None:
        report.messages.append("no fixes to apply")
        return
    applied = apply_fixes(repo, candidate.tree, combined, candidate.source)
    report.messages.append(f"applied fixes to {len(applied.changed)} file(s): {', '.join(applied.changed)}")
