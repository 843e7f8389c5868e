"""The run stage of gatekit check: the shadow, the hooks into the runner, the cache.

When every gate that would run is a cache hit, the shadow is materialised only if
a gate asks for it (a cache entry that went away in between).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.results import GateResult, Outcome

if TYPE_CHECKING:
    import pygit2

    from gatekit.cache import ResultCache
    from gatekit.check.request import CheckRequest
    from gatekit.git.candidate import Candidate
    from gatekit.git.guard import GuardChange, GuardSnapshot
    from gatekit.git.shadow import Shadow
    from gatekit.plan.model import GatePlan, PlannedGate
    from gatekit.precommit.gatehook import HookSource
    from gatekit.run.output import Reporter


def execute(
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
    scanned = examined(repo, candidate, request.all_paths)
    # The guard's "before": taken just before the first gate can run (no shadow, no gate)
    snapshots: list[GuardSnapshot] = []
    with contextlib.ExitStack() as stack:
        source = _hook_source(repo, plan, candidate.tree, scanned.changed, stack, env)
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
                real = stack.enter_context(pool.acquire(candidate, isolated=True))
                found.extend(_secret_values(repo, plan, scanned, real.path))
                if request.observer is not None:
                    request.observer.secrets(found)
                snapshots.append(snapshot_main(repo))
                return real

            shadow = _LazyShadow(materialise, candidate_commit(repo, candidate))
            secrets: Sequence[str] = found
            mask: Callable[[str], str] | None = _live_masker(found)
        else:
            if source is not None:  # its fork servers start while the shadow is made
                source.prestart(_hook_gates(plan, request), _is_cached(lookup), run_dir)
            shadow = stack.enter_context(pool.acquire(candidate, isolated=True))
            secrets = _secret_values(repo, plan, scanned, shadow.path)
            if request.observer is not None:
                request.observer.secrets(secrets)
            mask = _masker(secrets)
            snapshots.append(snapshot_main(repo))
        hooks = GateHooks(
            run_builtin=builtin_hook(
                repo, base=scanned.base, tree=candidate.tree, changed=scanned.changed
            ),
            lookup_cache=lookup,
            collect=collect_hook(run_dir, secrets),
            mask=mask,
            pre_commit=source,
        )
        options = RunOptions(
            jobs=request.jobs,
            fail_fast=request.fail_fast,
            only=request.only,
            skip=request.skip,
            environ=env,
            sweep_escapes=True,
        )
        results = execute_plan(plan, shadow, run_dir, options, reporter, hooks)
        guard_changes = changes_since(repo, snapshots[0]) if snapshots else []
        if request.promote:
            # The promotion target may move while the gates run (another process, a merge
            # queue): that is the compare-and-swap's case (exit 4, nothing overwritten), not
            # a gate writing into the repository. changes_since lines start with the ref name.
            guard_changes = [
                c for c in guard_changes if not c.text.startswith(request.promote + " ")
            ]
        return results, guard_changes, shadow.commit


def _hook_source(
    repo: pygit2.Repository,
    plan: GatePlan,
    tree: str,
    changed: Sequence[str],
    stack: contextlib.ExitStack,
    env: Mapping[str, str],
) -> HookSource | None:
    """The run's pre-commit hooks (None without a pre-commit gate); its fork servers end
    with ``stack``."""
    hooks = [g.pre_commit for g in plan.gates if g.runner == "pre-commit" and g.pre_commit]
    if not hooks:
        return None
    from gatekit.precommit.gatehook import HookSource

    source = HookSource(repo, tree, changed, run_hooks=hooks, environ=env)
    stack.callback(source.close)
    return source


def _hook_gates(plan: GatePlan, request: CheckRequest) -> list[PlannedGate]:
    """The run's pre-commit gates that it starts: by their decision, --skip, and --gate
    with what the selected gates need (as the scheduler selects them)."""
    from gatekit.run.scheduler import needs_closure

    selected = needs_closure(plan, request.only) if request.only else None
    return [
        g
        for g in plan.gates
        if g.runner == "pre-commit"
        and g.decision.value == "run"
        and (selected is None or g.id in selected)
        and g.id not in request.skip
    ]


def _is_cached(
    lookup: Callable[..., GateResult | None] | None,
) -> Callable[[PlannedGate], bool]:
    def cached(gate: PlannedGate) -> bool:
        return gate.cache and lookup is not None and lookup(gate) is not None

    return cached


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


def result_cache(
    repo: pygit2.Repository, candidate: Candidate, all_paths: bool = False
) -> ResultCache:
    from gatekit.cache import ResultCache

    # With --all, built-in gates examine every file, not what the candidate adds to its base.
    return ResultCache(repo, tree=candidate.tree, base=None if all_paths else candidate.base)


def examined(repo: pygit2.Repository, candidate: Candidate, all_paths: bool) -> Candidate:
    """The candidate as built-in gates see it: with --all, every file counts as added."""
    if not all_paths:
        return candidate
    import dataclasses

    from gatekit.git.candidate import changed_paths

    return dataclasses.replace(
        candidate, base=None, changed=changed_paths(repo, None, candidate.tree)
    )


def _cache_hook(cache: ResultCache | None) -> Callable[..., GateResult | None] | None:
    if cache is None:
        return None
    from gatekit.cache import cache_hook

    return cache_hook(cache)


def with_cache_key(result: GateResult, plan: GatePlan, cache: ResultCache) -> GateResult:
    if result.cache_key is not None or result.outcome is not Outcome.PASSED:
        return result
    try:
        gate = plan.gate(result.id)
    except KeyError:
        return result
    if not gate.cache or result.flaky:
        return result
    return result.model_copy(update={"cache_key": cache.key_for(gate)})


def _secret_values(
    repo: pygit2.Repository, plan: GatePlan, candidate: Candidate, root: Path
) -> tuple[str, ...]:
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
