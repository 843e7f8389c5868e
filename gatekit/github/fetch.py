"""Fetch what a shallow CI checkout lacks for the candidate.

``actions/checkout`` fetches one commit by default. A pull request's merge needs
its base and head and a merge base between them; a push range needs ``before``.
Missing commits are fetched from ``origin`` (first shallow, then the history
needed for a merge base); when that fails the error says what is missing and
how to get it (``fetch-depth: 0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gatekit.errors import CandidateError
from gatekit.git.gitproc import describe_failure, run_git

if TYPE_CHECKING:
    import pygit2

    from gatekit.git.candidate import CandidateSpec

REMOTE = "origin"
_TIP = "give actions/checkout 'fetch-depth: 0', or fetch the commits before 'gatekit check --ci'"


def _has_commit(repo: pygit2.Repository, rev: str) -> bool:
    proc = run_git(["cat-file", "-e", f"{rev}^{{commit}}"], env={"GIT_DIR": repo.path})
    return proc.returncode == 0


def _shallow(repo: pygit2.Repository) -> bool:
    proc = run_git(["rev-parse", "--is-shallow-repository"], env={"GIT_DIR": repo.path})
    return proc.stdout.strip() == b"true"


def _fetch(repo: pygit2.Repository, args: Sequence[str], what: str) -> None:
    full = ["fetch", "--no-tags", "--no-write-fetch-head", *args]
    proc = run_git(full, env={"GIT_DIR": repo.path})
    if proc.returncode != 0:
        raise CandidateError(
            f"the checkout lacks {what} and fetching it from {REMOTE} failed: "
            + describe_failure(full, proc),
            tip=_TIP,
        )


def ensure_available(
    repo: pygit2.Repository, spec: CandidateSpec, needed: Sequence[str]
) -> list[str]:
    """Fetch the commits (and merge base) the candidate needs; returns what was fetched."""
    fetched: list[str] = []
    missing = [sha for sha in needed if not _has_commit(repo, sha)]
    if missing:
        depth = ["--depth=50"] if _shallow(repo) else []
        _fetch(repo, [*depth, REMOTE, *missing], "commit(s) " + ", ".join(m[:12] for m in missing))
        fetched.extend(missing)
    base = spec.base
    if base and base.startswith(f"refs/remotes/{REMOTE}/") and not _has_commit(repo, base):
        branch = base.removeprefix(f"refs/remotes/{REMOTE}/")
        depth = ["--depth=50"] if _shallow(repo) else []
        _fetch(repo, [*depth, REMOTE, f"+refs/heads/{branch}:{base}"], f"the branch {branch}")
        fetched.append(base)
    merge = spec.source == "merge" and spec.base and spec.head
    if merge and _shallow(repo) and not _merge_base(repo, str(spec.base), str(spec.head)):
        _fetch(repo, ["--unshallow", REMOTE], "the history between base and head")
        fetched.append("history (unshallow)")
    return fetched


def _merge_base(repo: pygit2.Repository, a: str, b: str) -> bool:
    proc = run_git(["merge-base", a, b], env={"GIT_DIR": repo.path})
    return proc.returncode == 0
