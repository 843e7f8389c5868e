"""What decides a hook gate's result, for its cache key: the hook as resolved (config
entry, repo and rev, additional dependencies) and the (path, mode, OID) of exactly the
files of a tree it would be given, its own filters and ``identify`` tags applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import PlannedGate
    from gatekit.precommit.resolve import ResolvedHook


def resolved_hook(repo: pygit2.Repository, tree_hex: str, gate: PlannedGate) -> ResolvedHook | None:
    """The gate's hook as the candidate's config resolves it (None: not resolved yet)."""
    import pygit2

    from gatekit.precommit.gatehook import memo_path, read_memo
    from gatekit.precommit.resolve import CONFIG_FILE

    try:
        blob = repo[tree_hex].peel(pygit2.Tree)[CONFIG_FILE]
    except KeyError:
        return None
    if not isinstance(blob, pygit2.Blob) or gate.pre_commit is None:
        return None
    hooks = read_memo(memo_path(repo, blob.data))
    return None if hooks is None else hooks.get(gate.pre_commit)


def hook_inputs(repo: pygit2.Repository, tree_hex: str, hook: ResolvedHook) -> list[Any]:
    from gatekit.precommit.select import Tagger, hook_files, tree_files

    files = tree_files(repo, tree_hex)
    chosen = hook_files(hook, list(files), Tagger(repo, files))
    return [[p, files[p][0], files[p][1]] for p in chosen]
