"""What a ``git push`` sends, from the pre-push hook's standard input, as candidates.

git gives the hook one line per ref it updates: ``<local ref> <local sha> <remote ref>
<remote sha>``. Each pushed tip is checked against what the remote had, so a push of
several commits is checked as one range, never only HEAD against its first parent.
A new branch is compared against where it forked from the remote's default branch
(``refs/remotes/<remote>/HEAD``) or, when that is unknown, checked with ``--all``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

ZERO = "0" * 40


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    tip: str  # the commit pushed
    remote_ref: str
    base: str | None  # what it is checked against; None: checked with --all
    why: str  # for people: which rule chose the base


def parse_lines(lines: Iterable[str]) -> list[tuple[str, str, str, str]]:
    out = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 4:
            raise UsageError(
                f"unexpected pre-push input line: {line!r}",
                tip="git passes '<local ref> <local sha> <remote ref> <remote sha>' lines",
            )
        out.append((parts[0], parts[1], parts[2], parts[3]))
    return out


def pushed_refs(
    repo: pygit2.Repository, remote: str | None, lines: Iterable[str]
) -> list[PushedRef]:
    """The refs a push updates (deletions left out), each with the base to check against."""
    out = []
    for local_ref, local_sha, remote_ref, remote_sha in parse_lines(lines):
        if set(local_sha) == {"0"}:
            continue  # a deletion: nothing lands
        if set(remote_sha) != {"0"} and _known(repo, remote_sha):
            out.append(
                PushedRef(local_ref, local_sha, remote_ref, remote_sha, "what the remote had")
            )
            continue
        default = _remote_default(repo, remote)
        if default is not None:
            fork = _merge_base(repo, local_sha, default) or default
            why = f"new on the remote: compared with where it forked from {remote}'s default branch"
            out.append(PushedRef(local_ref, local_sha, remote_ref, fork, why))
        else:
            why = "new on the remote and its default branch is unknown: checked with --all"
            out.append(PushedRef(local_ref, local_sha, remote_ref, None, why))
    return out


def _known(repo: pygit2.Repository, sha: str) -> bool:
    try:
        return repo.get(sha) is not None
    except ValueError:
        return False


def _remote_default(repo: pygit2.Repository, remote: str | None) -> str | None:
    if not remote or "/" in remote or ":" in remote:
        return None  # a URL, not a named remote: no remote-tracking refs
    try:
        ref = repo.references[f"refs/remotes/{remote}/HEAD"].resolve()
    except (KeyError, ValueError):
        return None
    return str(ref.target)


def _merge_base(repo: pygit2.Repository, a: str, b: str) -> str | None:
    try:
        found = repo.merge_base(a, b)
    except (KeyError, ValueError):
        return None
    return None if found is None else str(found)
