"""Publish a recorded run as PR status checks: one commit status per gate
(context ``gatekit/<gate>``) and, where the token allows, one check run with the
findings as annotations (50 per request, the rest by updates).

A 403 on statuses (a read-only token: a fork's pull request) falls back to
workflow-command annotations, said once; a 403 on the check run only leaves
the check run out (``checks: write`` is not granted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from gatekit.github.api import Forbidden, GitHubApi
from gatekit.lazyclass import dataclass
from gatekit.results import GateResult, Outcome, RunResult, Verdict

DESCRIPTION_MAX = 140
ANNOTATIONS_PER_REQUEST = 50
SUMMARY_MAX = 65535
CHECK_NAME = "gatekit"

STATE = {
    Outcome.PASSED: "success",
    Outcome.CACHED: "success",
    Outcome.APPROVED: "success",
    Outcome.SKIPPED: "success",
    Outcome.FAILED: "failure",
    Outcome.TIMED_OUT: "failure",
    Outcome.ERROR: "error",
    Outcome.CRASHED: "error",
    Outcome.STOPPED: "error",
    Outcome.MANUAL_PENDING: "pending",
}
CONCLUSION = {
    Verdict.PASSED: "success",
    Verdict.FAILED: "failure",
    Verdict.MANUAL_REQUIRED: "action_required",
    Verdict.INTERRUPTED: "cancelled",
}
_LEVEL = {"error": "failure", "warning": "warning", "notice": "notice"}


@dataclass(frozen=True)
class Target:
    repository: str  # owner/name
    sha: str
    url: str | None  # the run's page


@dataclass
class PublishReport:
    statuses: int = 0
    check_run: int | None = None
    annotations: int = 0
    forbidden: bool = False
    messages: list[str] = field(default_factory=list)


def shorten(text: str, limit: int = DESCRIPTION_MAX) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "\u2026"


def status_body(gate: GateResult, url: str | None) -> dict[str, Any]:
    label = gate.outcome.value.replace("_", " ")
    if not gate.required:
        label += " (advisory)"
    body: dict[str, Any] = {
        "state": STATE[gate.outcome],
        "context": f"gatekit/{gate.id}",
        "description": shorten(f"{label}: {gate.reason}" if gate.reason else label),
    }
    if url:
        body["target_url"] = url
    return body


def pending_body(gate_id: str, url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": "pending",
        "context": f"gatekit/{gate_id}",
        "description": "running",
    }
    if url:
        body["target_url"] = url
    return body


def _post_statuses(
    api: GitHubApi, target: Target, bodies: Sequence[Mapping[str, Any]], report: PublishReport
) -> bool:
    path = f"/repos/{target.repository}/statuses/{target.sha}"
    for body in bodies:
        try:
            api.request("POST", path, body)
        except Forbidden as exc:
            report.forbidden = True
            report.messages.append(
                f"cannot set commit statuses ({exc.message}); the token is read-only "
                "(a fork's pull request, or no 'statuses: write'): annotations only"
            )
            return False
        report.statuses += 1
    return True


def publish_pending(api: GitHubApi, target: Target, gate_ids: Sequence[str]) -> PublishReport:
    report = PublishReport()
    _post_statuses(api, target, [pending_body(g, target.url) for g in gate_ids], report)
    return report


def publish(
    api: GitHubApi,
    target: Target,
    result: RunResult,
    summary: str,
    check_run: bool = True,
) -> PublishReport:
    """Statuses for every gate (and an overall ``gatekit`` context), then the check run."""
    report = PublishReport()
    bodies = [status_body(g, target.url) for g in result.gates]
    overall = {
        "state": {"passed": "success", "manual_required": "pending"}.get(
            str(result.verdict), "failure"
        ),
        "context": "gatekit",
        "description": shorten(f"verdict {result.verdict}, plan {result.plan_id[:12]}"),
    }
    if target.url:
        overall["target_url"] = target.url
    if not _post_statuses(api, target, [*bodies, overall], report):
        return report
    if check_run:
        _check_run(api, target, result, summary, report)
    return report


def check_annotations(result: RunResult) -> list[dict[str, Any]]:
    """Findings with a file as check-run annotations (those without one are in the summary)."""
    from gatekit.github.annotate import annotations_for

    out = []
    for a in annotations_for(result):
        if not a.file:
            continue
        line = a.line or 1
        item: dict[str, Any] = {
            "path": a.file,
            "start_line": line,
            "end_line": line,
            "annotation_level": _LEVEL[a.level],
            "message": a.message[:60000],
        }
        if a.title:
            item["title"] = a.title[:255]
        if a.col and a.line:
            item["start_column"] = item["end_column"] = a.col
        out.append(item)
    return out


def _check_run(
    api: GitHubApi, target: Target, result: RunResult, summary: str, report: PublishReport
) -> None:
    annotations = check_annotations(result)
    title = f"gatekit: {str(result.verdict).replace('_', ' ')}"
    text = summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 40] + "\n\n(cut)\n"
    first = annotations[:ANNOTATIONS_PER_REQUEST]
    body: dict[str, Any] = {
        "name": CHECK_NAME,
        "head_sha": target.sha,
        "status": "completed",
        "conclusion": CONCLUSION[result.verdict],
        "external_id": result.run_id,
        "output": {"title": title, "summary": text, "annotations": first},
    }
    if target.url:
        body["details_url"] = target.url
    try:
        created = api.request("POST", f"/repos/{target.repository}/check-runs", body)
    except Forbidden:
        report.messages.append(
            "no check run: the token may not create check runs ('checks: write'); statuses were set"
        )
        return
    run_id = int(created["id"]) if isinstance(created, dict) and "id" in created else None
    report.check_run = run_id
    report.annotations = len(first)
    for start in range(ANNOTATIONS_PER_REQUEST, len(annotations), ANNOTATIONS_PER_REQUEST):
        batch = annotations[start : start + ANNOTATIONS_PER_REQUEST]
        update = {"output": {"title": title, "summary": text, "annotations": batch}}
        api.request("PATCH", f"/repos/{target.repository}/check-runs/{run_id}", update)
        report.annotations += len(batch)


def target_from_env(environ: Mapping[str, str], sha: str | None) -> Target:
    from gatekit.errors import UsageError

    repository = environ.get("GITHUB_REPOSITORY", "")
    if "/" not in repository:
        raise UsageError("GITHUB_REPOSITORY (owner/name) is not set")
    if not sha:
        raise UsageError("no commit to report on: pass --sha or run in a workflow")
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    run = environ.get("GITHUB_RUN_ID")
    url = f"{server}/{repository}/actions/runs/{run}" if run else None
    return Target(repository, sha, url)
