"""Atomic promotion: move a ref from the exact base that was tested to the tested commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.record.objects import signature
from gatekit.record.refs import cas_update_ref

if TYPE_CHECKING:
    import pygit2


def promotion_commit(
    repo: pygit2.Repository,
    candidate_tree: str,
    base: str,
    *,
    rev: str | None = None,
    head: str | None = None,
    message: str | None = None,
) -> str:
    """The commit to promote.

    ``--rev``: the revision itself (a fast-forward) when its tree is the
    candidate tree. ``--merge BASE HEAD``: a merge commit (parents BASE, HEAD).
    Otherwise a commit with tree = candidate tree and parent = base.
    """
    import pygit2

    tree = repo[candidate_tree].peel(pygit2.Tree).id
    base_commit = repo[base].peel(pygit2.Commit)
    if rev is not None:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
        if commit.tree_id != tree:
            raise UsageError(f"{rev} does not hold the tested tree", tip="check the revision again")
        return str(commit.id)
    parents = [base_commit.id]
    if head is not None:
        head_id = repo.revparse_single(head).peel(pygit2.Commit).id
        if head_id != base_commit.id:
            parents.append(head_id)
    sig = signature(repo)
    text = message or (
        "gatekit: merge tested by gatekit\n"
        if len(parents) > 1
        else "gatekit: promote tested tree\n"
    )
    return str(repo.create_commit(None, sig, sig, text, tree, parents))


def promote_ref(repo: pygit2.Repository, ref: str, expected_base: str, new_commit: str) -> None:
    """Compare-and-swap ``ref`` from ``expected_base`` to ``new_commit``.

    If ``ref`` moved since the check, nothing changes and TargetMovedError
    (exit 4) is raised. ``new_commit`` must descend from ``expected_base``.
    """
    import pygit2

    if not pygit2.reference_is_valid_name(ref):
        raise UsageError(f"invalid ref name {ref!r}")
    new_id = repo[new_commit].peel(pygit2.Commit).id
    base_id = repo[expected_base].peel(pygit2.Commit).id
    if new_id != base_id and not repo.descendant_of(new_id, base_id):
        raise UsageError(
            f"{new_commit[:12]} does not descend from {expected_base[:12]}: not a promotion"
        )
    cas_update_ref(repo, ref, str(base_id), str(new_id), f"gatekit: promote {str(new_id)[:12]}")
