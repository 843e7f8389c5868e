"""The plan context of a workflow run's event (what ``check --ci`` plans with)."""

from __future__ import annotations

from collections.abc import Mapping


def ci_context(
    environ: Mapping[str, str], branch: str | None, all_paths: bool
) -> tuple[str, str | None, tuple[str, ...], bool]:
    """(gatekit event, branch, changed paths, all_paths) as check --ci plans them."""
    from gatekit.errors import UsageError
    from gatekit.git.candidate import resolve_candidate
    from gatekit.git.repo import open_repo
    from gatekit.github.session import prepare

    ci, _ = prepare(environ)
    if ci.spec is None:
        raise UsageError(f"nothing to plan for this {ci.event} event (a deleted branch)")
    changed = resolve_candidate(open_repo("."), ci.spec).changed
    return ci.event, branch if branch is not None else ci.branch, changed, all_paths or ci.all_paths
