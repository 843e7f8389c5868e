"""A repository's ``.pre-commit-config.yaml`` as a configuration layer: a gate per hook.

Used when there is no validation.yaml (on top of the default policy) and by
``extends: pre-commit``. Gate ids are hook ids; the N-th hook with an id already
taken gets the gate id ``ID-N`` (and ``pre-commit: ID#N``), which its description
explains. Hook ``stages`` become events: a hook of stage ``pre-commit`` also runs in
CI verdicts (as ``pre-commit run --all-files`` runs it there); a hook of other stages
only at those events; one of no stage gatekit has (commit-msg, post-checkout, ...)
is planned as disabled, saying why. gatekit's own hook (id ``gatekit``) is no gate.
"""

from __future__ import annotations

from typing import Any

from gatekit.config.models import GATE_ID_PATTERN

PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
EXTENDS_NAME = "pre-commit"
STAGE_EVENTS = {  # pre-commit stage -> gatekit event
    "pre-commit": "pre-commit",
    "commit": "pre-commit",
    "pre-push": "pre-push",
    "push": "pre-push",
    "manual": "manual",
}
SELF = "gatekit"  # gatekit's own hook (.pre-commit-hooks.yaml): running the gates already
_COMPLETE = ("ci", "pull_request", "merge")


def hook_gates(data: Any) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
    """The gates of a parsed ``.pre-commit-config.yaml``, each with where its hook is
    (a malformed entry gives no gate: pre-commit names the error when a gate runs)."""
    import re

    pattern = re.compile(GATE_ID_PATTERN)
    gates: list[tuple[dict[str, Any], tuple[str | int, ...]]] = []
    seen: dict[str, int] = {}
    taken: set[str] = set()
    repos = data.get("repos") if isinstance(data, dict) else None
    for r, repo in enumerate(repos if isinstance(repos, list) else ()):
        hooks = repo.get("hooks") if isinstance(repo, dict) else None
        for h, hook in enumerate(hooks if isinstance(hooks, list) else ()):
            hook_id = hook.get("id") if isinstance(hook, dict) else None
            if not isinstance(hook_id, str) or not pattern.match(hook_id) or hook_id == SELF:
                continue
            seen[hook_id] = seen.get(hook_id, 0) + 1
            n = seen[hook_id]
            gate_id = hook_id if n == 1 else f"{hook_id}-{n}"
            while gate_id in taken:
                gate_id += "-dup"
            taken.add(gate_id)
            where = f"hook '{hook_id}' of {PRE_COMMIT_CONFIG} (repo {repo.get('repo')})"
            gate: dict[str, Any] = {
                "id": gate_id,
                "pre-commit": hook_id if n == 1 else f"{hook_id}#{n}",
                "description": where
                if n == 1
                else f"{where}: hook number {n} with this id, so gate id '{gate_id}'",
            }
            stages = hook.get("stages")
            if isinstance(stages, list) and stages:
                events = sorted({STAGE_EVENTS[s] for s in stages if s in STAGE_EVENTS})
                if not events:
                    gate["enabled"] = False
                    gate["description"] += f": stages {stages} are not gatekit events"
                elif events != ["pre-commit"]:
                    extra = list(_COMPLETE) if "pre-commit" in events else []
                    gate["type"] = "conditional"
                    gate["when"] = {"event": events + extra}
            gates.append((gate, ("repos", r, "hooks", h)))
    return gates
