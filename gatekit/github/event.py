"""The GitHub event a workflow runs for, as gatekit's context and candidate.

``GITHUB_EVENT_NAME`` and the payload at ``GITHUB_EVENT_PATH`` decide:

=====================================  ============  ========================================
GitHub event                           gatekit event candidate
=====================================  ============  ========================================
``pull_request``, ``pull_request_target``  ``pull_request``  ``head.sha`` merged into ``base.sha``
``push``                               ``ci``        ``after`` against ``before`` (a new branch:
                                                     the default branch)
``merge_group``                        ``merge``     ``head_sha`` against ``base_sha``
``workflow_dispatch``, ``schedule``    ``ci``        ``GITHUB_SHA``, every path (``--all``)
=====================================  ============  ========================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekit.errors import UsageError
from gatekit.git.candidate import CandidateSpec
from gatekit.lazyclass import dataclass

ZERO = "0" * 40
EVENTS = {
    "pull_request": "pull_request",
    "pull_request_target": "pull_request",
    "push": "ci",
    "merge_group": "merge",
    "workflow_dispatch": "ci",
    "schedule": "ci",
}


@dataclass(frozen=True)
class CiEvent:
    name: str  # GitHub's event name
    event: str  # gatekit's event (the plan's, so ``when: event`` works)
    spec: CandidateSpec | None  # None: nothing to check (a deleted branch)
    all_paths: bool
    branch: str | None  # the branch the change lands on
    head_sha: str  # the commit that statuses and check runs describe
    chain: str
    fork: bool  # a pull request from a fork: the token is read-only
    needed: tuple[str, ...]  # commits the candidate needs in the clone
    default_branch: str | None = None


class EventError(UsageError):
    pass


def _get(doc: Mapping[str, Any], dotted: str, path: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            raise EventError(f"{path}: the event payload has no '{dotted}'")
        cur = cur[part]
    return cur


def _sha(doc: Mapping[str, Any], dotted: str, path: str) -> str:
    value = _get(doc, dotted, path)
    if not isinstance(value, str) or len(value) not in (40, 64):
        raise EventError(f"{path}: '{dotted}' is not a commit SHA: {value!r}")
    return value.lower()


def read_event(environ: Mapping[str, str]) -> CiEvent:
    """The event of this workflow run, from ``GITHUB_EVENT_NAME`` / ``GITHUB_EVENT_PATH``."""
    name = environ.get("GITHUB_EVENT_NAME", "")
    where = environ.get("GITHUB_EVENT_PATH", "")
    if not name or not where:
        raise EventError(
            "--ci needs GITHUB_EVENT_NAME and GITHUB_EVENT_PATH (set by GitHub Actions)",
            tip="outside Actions, name the candidate yourself: --rev REV or --merge BASE HEAD",
        )
    if name not in EVENTS:
        raise EventError(
            f"gatekit check --ci does not know the GitHub event '{name}'",
            tip=f"run it on {', '.join(sorted(EVENTS))}, or pass --rev/--merge explicitly",
        )
    try:
        doc = json.loads(Path(where).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EventError(f"cannot read the event payload {where}: {exc}") from None
    if not isinstance(doc, dict):
        raise EventError(f"{where}: the event payload is not a JSON object")
    return parse_event(name, doc, environ, where)


def parse_event(
    name: str, doc: Mapping[str, Any], environ: Mapping[str, str], where: str = "event"
) -> CiEvent:
    default = (
        doc.get("repository", {}).get("default_branch")
        if isinstance(doc.get("repository"), Mapping)
        else None
    )
    event = EVENTS[name]
    if name in ("pull_request", "pull_request_target"):
        base = _sha(doc, "pull_request.base.sha", where)
        head = _sha(doc, "pull_request.head.sha", where)
        number = (
            _get(doc, "number", where)
            if "number" in doc
            else _get(doc, "pull_request.number", where)
        )
        head_repo = doc["pull_request"].get("head", {}).get("repo") or {}
        base_repo = doc["pull_request"].get("base", {}).get("repo") or {}
        # a head repository that is gone (a deleted fork) counts as a fork
        fork = bool(head_repo.get("fork")) or head_repo.get("full_name") != base_repo.get(
            "full_name"
        )
        return CiEvent(
            name,
            event,
            CandidateSpec("merge", base=base, head=head),
            False,
            str(_get(doc, "pull_request.base.ref", where)),
            head,
            f"pr-{number}",
            fork,
            (base, head),
            default,
        )
    if name == "push":
        after = _sha(doc, "after", where)
        before = _sha(doc, "before", where)
        ref = str(_get(doc, "ref", where))
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        chain = branch or ref.rsplit("/", 1)[-1]
        if after == ZERO:  # the branch was deleted: nothing lands
            return CiEvent(name, event, None, False, branch, before, chain, False, (), default)
        if before == ZERO:  # a new branch: compare against the default branch
            if not default:
                raise EventError(f"{where}: a new branch, and no repository.default_branch")
            spec = CandidateSpec("rev", rev=after, base=f"refs/remotes/origin/{default}")
            if branch == default:  # the first push of the repository
                spec = CandidateSpec("rev", rev=after)
            return CiEvent(name, event, spec, False, branch, after, chain, False, (after,), default)
        spec = CandidateSpec("rev", rev=after, base=before)
        return CiEvent(
            name, event, spec, False, branch, after, chain, False, (before, after), default
        )
    if name == "merge_group":
        head = _sha(doc, "merge_group.head_sha", where)
        base = _sha(doc, "merge_group.base_sha", where)
        ref = str(_get(doc, "merge_group.base_ref", where))
        return CiEvent(
            name,
            event,
            CandidateSpec("rev", rev=head, base=base),
            False,
            ref.removeprefix("refs/heads/"),
            head,
            "merge-queue",
            False,
            (base, head),
            default,
        )
    sha = environ.get("GITHUB_SHA", "")
    if len(sha) not in (40, 64):
        raise EventError(f"GITHUB_SHA is not a commit SHA: {sha!r}")
    ref_name = environ.get("GITHUB_REF_NAME") or None
    return CiEvent(
        name,
        event,
        CandidateSpec("rev", rev=sha),
        True,
        ref_name,
        sha,
        ref_name or name,
        False,
        (sha,),
        default,
    )
