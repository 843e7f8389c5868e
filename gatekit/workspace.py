"""The repository a command works on, and the plan for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gatekit.config.loader import LoadedConfig
from gatekit.plan.build import PlanRequest, build_plan
from gatekit.plan.model import GatePlan

if TYPE_CHECKING:
    import pygit2


def default_changed(repo: pygit2.Repository, event: str, base: str | None) -> tuple[str, ...]:
    """Changed paths from the repository: what the event's candidate changes."""
    from gatekit.git.candidate import CandidateSpec, default_spec_for_event, resolve_candidate

    spec = (
        CandidateSpec(source="rev", rev="HEAD", base=base)
        if base
        else default_spec_for_event(event)
    )
    return resolve_candidate(repo, spec).changed


def plan_for_repo(
    *,
    config_path: str | None,
    event: str,
    branch: str | None,
    changed: Sequence[str] | None,
    base: str | None = None,
    all_paths: bool = False,
) -> tuple[GatePlan, LoadedConfig]:
    from gatekit.git.repo import current_branch, open_repo, workdir

    repo = open_repo(".")
    if changed is None:
        changed = default_changed(repo, event, base)
    request = PlanRequest(
        root=workdir(repo),
        event=event,
        config_path=config_path,
        branch=branch if branch is not None else current_branch(repo),
        changed=changed,
        all_paths=all_paths,
    )
    return build_plan(request)
