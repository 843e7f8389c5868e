"""What decides a hook gate's result, for its cache key: the hook as resolved (config
entry, repo and rev, additional dependencies) and the (path, mode, OID) of exactly the
files of a tree it would be given, its own filters and ``identify`` tags applied."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate
    from gatekit.precommit.resolve import ResolvedHook
    from gatekit.precommit.select import Tagger


def resolved_hooks(repo: pygit2.Repository, tree_hex: str) -> dict[str, ResolvedHook] | None:
    """Every hook of the tree's config as resolved, in config order (None: not resolved
    yet, or the tree has no config)."""
    import pygit2

    from gatekit.precommit.gatehook import memo_path, read_memo
    from gatekit.precommit.resolve import CONFIG_FILE

    try:
        blob = repo[tree_hex].peel(pygit2.Tree)[CONFIG_FILE]
    except KeyError:
        return None
    if not isinstance(blob, pygit2.Blob):
        return None
    return read_memo(memo_path(repo, blob.data))


def resolved_hook(repo: pygit2.Repository, tree_hex: str, gate: PlannedGate) -> ResolvedHook | None:
    """The gate's hook as the candidate's config resolves it (None: not resolved yet)."""
    if gate.pre_commit is None:
        return None
    hooks = resolved_hooks(repo, tree_hex)
    return None if hooks is None else hooks.get(gate.pre_commit)


def hook_inputs(repo: pygit2.Repository, tree_hex: str, hook: ResolvedHook) -> dict[str, str]:
    """What of the tree the hook's result depends on: the sha256 of the (path, mode, blob
    OID) of every file it would be given."""
    tagger = tagger_for(repo, tree_hex)
    digest = tagger.inputs_digest(hook)
    if tagger.unkept():  # a tree not seen before: the other hooks' choices too, kept at once
        for other in (resolved_hooks(repo, tree_hex) or {}).values():
            tagger.inputs_digest(other)
        tagger.keep()
    return {"files-sha256": digest}


_TAGGERS: dict[tuple[str, str], Tagger] = {}
_KEEP = 4  # a check looks at its candidate and its base


def tagger_for(repo: pygit2.Repository, tree_hex: str) -> Tagger:
    """One walk of a tree and one ``identify`` pass per file, shared by every hook of the
    check (a tree OID names immutable content, so sharing cannot go stale); the hooks'
    choices of its files are kept for the next check (:mod:`chosenmemo`)."""
    from gatekit.precommit.chosenmemo import TreeChoices
    from gatekit.precommit.select import Tagger, tree_files

    key = (repo.path, tree_hex)
    hit = _TAGGERS.get(key)
    if hit is None:
        while len(_TAGGERS) >= _KEEP:
            _TAGGERS.pop(next(iter(_TAGGERS)))
        hit = Tagger(repo, tree_files(repo, tree_hex), TreeChoices(repo, tree_hex))
        for (path, _), other in _TAGGERS.items():
            if path == repo.path:  # the base shares most files with the candidate
                hit.adopt(other)
        _TAGGERS[key] = hit
    return hit
