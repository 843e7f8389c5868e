"""``case-conflicts``: paths of the candidate tree that differ only by case.

Such paths cannot both be checked out on a case-insensitive file system
(macOS, Windows). The whole candidate tree is examined (directories too);
a conflict is reported when one of its paths is, or contains, a changed path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from gatekit.builtins import BuiltinContext, BuiltinOutcome, summarize
from gatekit.builtins._common import selected_paths
from gatekit.results import Finding

if TYPE_CHECKING:
    import pygit2

NAME = "case-conflicts"
DESCRIPTION = "Paths that differ only by case"
OPTIONS = ("exclude",)


def tree_paths(repo: pygit2.Repository, tree_hex: str) -> list[str]:
    """Every path (files and directories) of a tree, repository-relative."""
    import pygit2

    out: list[str] = []
    stack: list[tuple[str, pygit2.Tree]] = [("", repo[tree_hex].peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            path = prefix + (entry.name or "")
            out.append(path)
            if entry.type_str == "tree":
                stack.append((path + "/", repo[entry.id].peel(pygit2.Tree)))
    return out


def conflicts(paths: list[str]) -> list[tuple[str, ...]]:
    """Groups of two or more paths equal under case folding, each group sorted."""
    groups: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        groups[path.casefold()].add(path)
    clashing = {key for key, g in groups.items() if len(g) > 1}

    def under_clash(key: str) -> bool:  # a parent directory already conflicts: report that one
        parts = key.split("/")
        return any("/".join(parts[:i]) in clashing for i in range(1, len(parts)))

    return sorted(tuple(sorted(groups[k])) for k in clashing if not under_clash(k))


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    notes: list[str] = []
    changed = list(selected_paths(ctx, notes))
    findings: list[Finding] = []
    for group in conflicts(tree_paths(ctx.repo, ctx.tree)):
        touched = [p for p in group if any(c == p or c.startswith(p + "/") for c in changed)]
        if not touched:
            continue
        for path in touched:
            others = ", ".join(p for p in group if p != path)
            findings.append(
                Finding(
                    rule=NAME, path=path, line=None, message=f"differs only by case from {others}"
                )
            )
    found = tuple(sorted(findings, key=lambda f: f.path))
    return BuiltinOutcome(
        passed=not found, findings=found, log=summarize(NAME, len(changed), found, notes)
    )
