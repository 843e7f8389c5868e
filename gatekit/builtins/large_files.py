"""``large-files``: changed files over a size limit (option ``max_kb``, default 500)."""

from __future__ import annotations

from gatekit.builtins import BuiltinContext, BuiltinOutcome, summarize
from gatekit.builtins._common import selected_paths
from gatekit.builtins._files import escapes_root, opt_int, resolve_inside
from gatekit.results import Finding

NAME = "large-files"
DESCRIPTION = "File larger than the configured limit"
OPTIONS = ("max_kb", "exclude")
DEFAULT_MAX_KB = 500


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    max_kb = opt_int(ctx.options, "max_kb", DEFAULT_MAX_KB)
    limit = max_kb * 1024
    notes: list[str] = []
    findings: list[Finding] = []
    checked = 0
    for path in selected_paths(ctx, notes):
        if escapes_root(ctx.root, path):
            notes.append(f"{path}: symlink pointing outside the repository, not followed")
            continue
        if (ctx.root / path).is_symlink():
            continue  # git stores the link target, a few bytes
        real = resolve_inside(ctx.root, path)
        if real is None:
            continue
        checked += 1
        size = real.stat().st_size
        if size > limit:
            findings.append(
                Finding(
                    rule=NAME,
                    path=path,
                    line=None,
                    message=f"file is {size / 1024:.0f} KB, over the limit of {max_kb} KB",
                )
            )
    found = tuple(findings)
    return BuiltinOutcome(
        passed=not found, findings=found, log=summarize(NAME, checked, found, notes)
    )
