"""What a plan's gate environments are made of, read from a tree without building
anything: the key under which CI keeps them between jobs (the action's
``cache-environments``).

An environment's own key (``noxenv.EnvSpec.key``) needs its local packages' wheels built,
for their ``Requires-Dist``. What decides a wheel is its package directory, whose tree OID
stands in for it here: the declaration of an environment is its python, the backend, the
index requirements as written, the text of every requirement file it reads, and per
local package its path, extras, editable flag and tree OID. Whenever an environment's key
can change, its declaration changes too. ``nox:`` gates add the noxfile's blob OID and
their session (their environments are Nox's, under the same directory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatekit import canonical

if TYPE_CHECKING:
    import pygit2

    from gatekit.plan.model import GatePlan, PlannedGate

_FORMAT = 1


def declarations(repo: pygit2.Repository, tree_hex: str, plan: GatePlan) -> list[dict[str, Any]]:
    """One declaration per distinct environment of the plan's gates, sorted."""
    import pygit2

    tree = repo[tree_hex].peel(pygit2.Tree)
    found: dict[str, dict[str, Any]] = {}
    for gate in plan.gates:
        decl = _declaration(tree, gate)
        if decl is not None:
            found[canonical.dumps(decl)] = decl
    return [found[k] for k in sorted(found)]


def cache_key(repo: pygit2.Repository, tree_hex: str, plan: GatePlan) -> str:
    """sha256 hex of every declaration (the same for a plan with no environment)."""
    from gatekit.run.noxenv import choose_backend

    body = {
        "format": _FORMAT,
        "backend": choose_backend(),
        "envs": declarations(repo, tree_hex, plan),
    }
    return canonical.digest(body)


def _declaration(tree: pygit2.Tree, gate: PlannedGate) -> dict[str, Any] | None:
    if gate.runner == "nox" and gate.nox is not None:
        return {"nox": gate.nox, "noxfile": _oid(tree, "noxfile.py")}
    if gate.runner != "session" or gate.session is None or not gate.session.deps:
        return None  # no environment of gatekit's own
    from gatekit.record.objects import tree_text
    from gatekit.run import localdeps

    deps = tuple(gate.session.deps)
    decl: dict[str, Any] = {"python": gate.session.python, "deps": list(deps)}
    if not localdeps.needs_candidate(deps):
        return decl
    try:
        resolved = localdeps.resolve(deps, lambda rel: tree_text(tree, rel))
    except localdeps.LocalDepsError as exc:
        return {**decl, "error": str(exc)}
    decl["index"] = list(resolved.index)
    decl["files"] = [[f.option, f.text] for f in resolved.files]
    decl["local"] = [
        [p.path, list(p.extras), p.editable, _oid(tree, p.path)] for p in resolved.local
    ]
    return decl


def _oid(tree: pygit2.Tree, rel: str) -> str | None:
    if not rel:
        return str(tree.id)
    try:
        return str(tree[rel].id)
    except KeyError:
        return None
