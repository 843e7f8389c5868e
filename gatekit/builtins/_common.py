"""Shared loop of the file-by-file built-ins: read each changed file safely, collect findings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gatekit.builtins import BuiltinContext, BuiltinOutcome, summarize
from gatekit.builtins._files import escapes_root, matches_any, opt_list, read_bytes
from gatekit.results import Finding

EXCLUDE_OPTION = "exclude"


def selected_paths(ctx: BuiltinContext, notes: list[str]) -> Iterator[str]:
    """Changed paths minus the ``exclude`` option's exact paths or globs (listed explicitly)."""
    exclude = opt_list(ctx.options, EXCLUDE_OPTION)
    for path in ctx.paths:
        if exclude and matches_any(exclude, path):
            notes.append(f"{path}: excluded by option 'exclude'")
            continue
        yield path


def iter_contents(
    ctx: BuiltinContext, notes: list[str], wanted: Callable[[str], bool] = lambda _p: True
) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each selected changed file that is present and inside the root."""
    for path in selected_paths(ctx, notes):
        if not wanted(path):
            continue
        if escapes_root(ctx.root, path):
            notes.append(f"{path}: symlink pointing outside the repository, not followed")
            continue
        data = read_bytes(ctx.root, path)
        if data is not None:
            yield path, data


def run_per_file(
    name: str,
    ctx: BuiltinContext,
    check: Callable[[str, bytes], list[Finding]],
    wanted: Callable[[str], bool] = lambda _p: True,
) -> BuiltinOutcome:
    notes: list[str] = []
    findings: list[Finding] = []
    checked = 0
    for path, data in iter_contents(ctx, notes, wanted):
        checked += 1
        findings.extend(check(path, data))
    found = tuple(sorted(findings, key=lambda f: (f.path, f.line or 0, f.rule)))
    return BuiltinOutcome(
        passed=not found, findings=found, log=summarize(name, checked, found, notes)
    )


def has_suffix(*suffixes: str) -> Callable[[str], bool]:
    lowered = tuple(s.lower() for s in suffixes)
    return lambda path: path.lower().endswith(lowered)
