"""``gatekit report github``: a recorded checkpoint's run as commit statuses and a
check run; with a read-only token (403), workflow-command annotations instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from gatekit.errors import UsageError

if TYPE_CHECKING:
    import pygit2

    from gatekit.results import RunResult


def _event_head(environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(head sha, chain) of the workflow run's event, when there is one."""
    if not environ.get("GITHUB_EVENT_PATH") or not environ.get("GITHUB_EVENT_NAME"):
        return None, None
    from gatekit.github.event import read_event

    ev = read_event(environ)
    return ev.head_sha, ev.chain


def _record(repo: pygit2.Repository, spec: str) -> tuple[RunResult, str]:
    from gatekit.record.checkpoints import resolve_checkpoint

    cp = resolve_checkpoint(repo, spec)
    records = cp.records(repo)
    if not records:
        raise UsageError(
            f"checkpoint {cp.id[:12]} has no result note", tip="fetch notes: gatekit fetch"
        )
    return records[-1], cp.id


def publish_checkpoint(
    environ: Mapping[str, str],
    checkpoint: str | None,
    *,
    sha: str | None,
    check_run: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    from gatekit.git.repo import gatekit_dir, open_repo
    from gatekit.github.api import ApiError, GitHubApi
    from gatekit.github.statuses import publish, target_from_env
    from gatekit.github.workflow import annotation_lines
    from gatekit.record.checkpoints import chain_name_for, sanitize_chain
    from gatekit.reports.summary import build_summary

    repo = open_repo(".")
    head, chain = _event_head(environ)
    spec = checkpoint or (sanitize_chain(chain) if chain else chain_name_for(repo, None))
    result, cp_id = _record(repo, spec)
    target = target_from_env(environ, sha or head)
    run_dir = gatekit_dir(repo) / "runs" / result.run_id
    summary = build_summary(result, run_dir if run_dir.is_dir() else None)
    api = GitHubApi.from_env(environ)
    try:
        report = publish(api, target, result, summary, check_run=check_run)
    except ApiError as exc:
        raise UsageError(f"publishing checkpoint {cp_id[:12]} failed: {exc.message}") from None
    for note in [*api.notes, *report.messages]:
        print(f"gatekit: {note}", file=err)
    if report.forbidden:
        from gatekit.github.annotate import annotations_for

        out.write("".join(line + "\n" for line in annotation_lines(annotations_for(result))))
        return 0
    print(
        f"gatekit: published checkpoint {cp_id[:12]} ({result.verdict}) on {target.sha[:12]}: "
        f"{report.statuses} status(es)"
        + (
            f", check run {report.check_run} with {report.annotations} annotation(s)"
            if report.check_run
            else ""
        ),
        file=err,
    )
    return 0
