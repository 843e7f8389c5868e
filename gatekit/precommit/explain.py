"""``gatekit plan --explain`` for pre-commit gates: which hook, its filters and stages, and
how many of the plan's changed files it would be given.

The hook as pre-commit resolved it (manifest merged with the config entry) when a check
resolved this config before; else the config entry as written (the hook repository's
manifest may add filters: nothing is cloned to plan). Files are the working tree's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit.precommit.resolve import CONFIG_FILE, ResolvedHook

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import GatePlan, PlannedGate

_ALL_STAGES = 8  # pre-commit gives a hook without stages every stage it has (more than this)


class _DiskTagger:
    """``identify`` tags of working-tree files (the interface of select.Tagger)."""

    def __init__(self, root: Path, paths: Sequence[str]) -> None:
        self.root = root
        self.files = {p: (0, "") for p in paths if (root / p).is_file() or (root / p).is_symlink()}

    def tags(self, path: str) -> frozenset[str]:
        from identify import identify

        try:
            return frozenset(identify.tags_from_path(str(self.root / path)))
        except ValueError:
            return frozenset()


def hook_lines(repo: pygit2.Repository, root: Path, plan: GatePlan) -> dict[str, str]:
    """gate id -> what ``--explain`` says of its hook, for every pre-commit gate."""
    gates = [g for g in plan.gates if g.pre_commit is not None]
    if not gates:
        return {}
    try:
        config = (root / CONFIG_FILE).read_bytes()
    except OSError:
        return {g.id: f"hook '{g.pre_commit}': there is no {CONFIG_FILE} here" for g in gates}
    from gatekit.precommit.gatehook import memo_path, read_memo

    resolved = read_memo(memo_path(repo, config)) or {}
    entries = _entries(config)
    ctx = plan.context
    if ctx.all_paths:
        candidates = sorted(e.path for e in repo.index)
        scope = "files"
    else:
        candidates = sorted(ctx.changed or ())
        scope = "changed files"
    tagger = _DiskTagger(root, candidates)
    out: dict[str, str] = {}
    for gate in gates:
        assert gate.pre_commit is not None
        hook = resolved.get(gate.pre_commit)
        if hook is not None:
            out[gate.id] = _resolved_line(gate, hook, candidates, scope, tagger)
        else:
            out[gate.id] = _entry_line(gate, entries.get(gate.pre_commit))
    return out


def _resolved_line(
    gate: PlannedGate,
    hook: ResolvedHook,
    candidates: Sequence[str],
    scope: str,
    tagger: _DiskTagger,
) -> str:
    from gatekit.precommit.select import hook_files

    head = _head(hook.id, hook.repo, hook.rev, hook.language)
    filters = _filters(
        {
            "files": hook.files,
            "exclude": hook.exclude,
            "types": list(hook.types),
            "types_or": list(hook.types_or),
            "exclude_types": list(hook.exclude_types),
            "top-level files": hook.top_files,
            "top-level exclude": hook.top_exclude,
        }
    )
    stages = "any" if len(hook.stages) >= _ALL_STAGES else ", ".join(hook.stages)
    line = f"{head}; {filters}; stages: {stages}{_no_event(hook.stages)}"
    if gate.decision.value != "run":
        return line
    given = hook_files(hook, candidates, tagger)
    if hook.always_run and not given:
        return f"{line}; runs: always_run, though none of the {len(candidates)} {scope} pass"
    if not given:
        return (
            f"{line}; none of the {len(candidates)} {scope} pass its filters: it passes"
            " without running"
        )
    files = "" if hook.pass_filenames else " (pass_filenames: false, it runs once without them)"
    return f"{line}; runs: {len(given)} of the {len(candidates)} {scope} pass its filters{files}"


def _entry_line(gate: PlannedGate, entry: tuple[str, Any, Mapping[str, Any]] | None) -> str:
    if entry is None:
        return f"hook '{gate.pre_commit}': not in {CONFIG_FILE} (the gate ends in error)"
    repo, rev, hook = entry
    head = _head(str(hook.get("id")), str(repo), rev if isinstance(rev, str) else None, None)
    keys = ("files", "exclude", "types", "types_or", "exclude_types")
    filters = _filters({k: hook[k] for k in keys if k in hook})
    stages = hook.get("stages")
    shown = ", ".join(map(str, stages)) if isinstance(stages, list) and stages else "any"
    return (
        f"{head}; {filters} as configured (its repository's manifest may add more: a check"
        f" resolves it); stages: {shown}{_no_event(stages if isinstance(stages, list) else [])}"
    )


def _no_event(stages: Sequence[object]) -> str:
    """What a hook of stages none of which is a gatekit event gets: a word why it never runs."""
    from gatekit.config.precommit_layer import STAGE_EVENTS

    if not stages or any(s in STAGE_EVENTS for s in stages):
        return ""
    known = ", ".join(sorted(STAGE_EVENTS))
    return f" (none is a stage gatekit runs: {known}; so the gate never runs)"


def _head(hook_id: str, repo: str, rev: str | None, language: str | None) -> str:
    at = f" rev {rev}" if rev else ""
    lang = f", language {language}" if language else ""
    return f"hook {hook_id} of repo {repo}{at}{lang}"


def _filters(values: Mapping[str, Any]) -> str:
    shown = []
    for key, value in values.items():
        if value in ("", "^$", [], ["file"]) or value is None:
            continue  # the default: no filter
        shown.append(f"{key} {value!r}" if isinstance(value, str) else f"{key} {value}")
    return "filters: " + (", ".join(shown) if shown else "none (every file)")


def _entries(config: bytes) -> dict[str, tuple[str, Any, Mapping[str, Any]]]:
    """hook key ('ID', 'ID#N') -> (repo, rev, the config entry), from the YAML as written."""
    import yaml

    try:
        data = yaml.safe_load(config)
    except yaml.YAMLError:
        return {}
    out: dict[str, tuple[str, Any, Mapping[str, Any]]] = {}
    seen: dict[str, int] = {}
    repos = data.get("repos") if isinstance(data, dict) else None
    for repo in repos if isinstance(repos, list) else ():
        hooks = repo.get("hooks") if isinstance(repo, dict) else None
        for hook in hooks if isinstance(hooks, list) else ():
            hook_id = hook.get("id") if isinstance(hook, dict) else None
            if not isinstance(hook_id, str):
                continue
            seen[hook_id] = seen.get(hook_id, 0) + 1
            key = hook_id if seen[hook_id] == 1 else f"{hook_id}#{seen[hook_id]}"
            out[key] = (str(repo.get("repo")), repo.get("rev"), hook)
    return out
