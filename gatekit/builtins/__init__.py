"""Built-in gates: in-process checks over the changed files of the candidate.

A built-in needs no environment: it reads ``ctx.paths`` (the changed paths,
already filtered by the gate's ``paths``) from ``ctx.root`` (the shadow
worktree), and may compare against the base through ``ctx.repo``.

Registry: :data:`REGISTRY` maps each built-in name to the module that
implements it (imported on first use, so start-up pays nothing). Every such
module satisfies :class:`Builtin`: a ``NAME``, a ``DESCRIPTION`` (used as the
SARIF rule text), the ``OPTIONS`` it accepts and ``run(ctx)``.

Errors: an unknown name or a bad option raises :class:`UsageError` (the runner
records the gate as ``error`` with the message).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

    from gatekit.config.models import OptionValue
    from gatekit.results import Finding


@dataclass(frozen=True)
class BuiltinContext:
    root: Path  # shadow worktree root (read files here)
    paths: tuple[str, ...]  # changed paths to examine (already filtered by gate paths)
    options: Mapping[str, OptionValue]
    repo: pygit2.Repository  # main repository (objects: base/tree)
    base: str | None  # base commit hex (None: no base, every file is new)
    tree: str  # candidate tree hex


@dataclass(frozen=True)
class BuiltinOutcome:
    passed: bool
    findings: tuple[Finding, ...]
    log: str  # text for the gate log (never a secret value)
    # Plain secret values this built-in saw, for masking other gates' logs
    # (only the secrets built-in fills it). Never printed, never stored.
    secret_values: tuple[str, ...] = field(default=(), repr=False, compare=False)


class Builtin(Protocol):
    NAME: str
    DESCRIPTION: str
    OPTIONS: tuple[str, ...]

    def run(self, ctx: BuiltinContext) -> BuiltinOutcome: ...


REGISTRY: dict[str, str] = {
    "secrets": "gatekit.builtins.secrets",
    "conflict-markers": "gatekit.builtins.conflict_markers",
    "large-files": "gatekit.builtins.large_files",
    "parse-yaml": "gatekit.builtins.parse_yaml",
    "parse-json": "gatekit.builtins.parse_json",
    "parse-toml": "gatekit.builtins.parse_toml",
    "private-keys": "gatekit.builtins.private_keys",
    "case-conflicts": "gatekit.builtins.case_conflicts",
}


def known_builtins() -> tuple[str, ...]:
    return tuple(sorted(REGISTRY))


def get_builtin(name: str) -> Builtin:
    module_name = REGISTRY.get(name)
    if module_name is None:
        import difflib

        close = difflib.get_close_matches(name, REGISTRY, n=1)
        tip = (
            f"did you mean {close[0]!r}?" if close else "built-ins: " + ", ".join(known_builtins())
        )
        raise UsageError(f"unknown built-in gate {name!r}", tip=tip)
    return cast(Builtin, importlib.import_module(module_name))


def describe(name: str) -> str:
    """One-line description of a built-in (SARIF rule text); the name when unknown."""
    try:
        return get_builtin(name).DESCRIPTION
    except UsageError:
        return name


def run_builtin(name: str, ctx: BuiltinContext) -> BuiltinOutcome:
    """Run the built-in ``name`` on ``ctx``; options are checked before anything is read."""
    builtin = get_builtin(name)
    unknown = sorted(set(ctx.options) - set(builtin.OPTIONS))
    if unknown:
        known = ", ".join(builtin.OPTIONS) or "none"
        raise UsageError(
            f"built-in {name!r} has no option {unknown[0]!r}", tip=f"options of {name!r}: {known}"
        )
    return builtin.run(ctx)


def summarize(name: str, checked: int, findings: tuple[Finding, ...], notes: list[str]) -> str:
    """The gate log of a built-in: what was checked, each finding, extra notes."""
    lines = [f"{name}: checked {checked} file(s), {len(findings)} finding(s)"]
    lines += [f"{f.path}:{f.line or 0}: {f.rule}: {f.message}" for f in findings]
    lines += notes
    return "\n".join(lines) + "\n"
