"""``secrets``: detect-secrets over what the candidate adds or changes against its base.

Each changed file is scanned whole (detect-secrets' filters need the context);
a hit is reported only when its line is added relative to the base blob (every
line of a new file) and it is not in ``.secrets.baseline`` (matched like
detect-secrets does: file, hashed value, type; line numbers ignored).

Options: ``baseline`` (path of the baseline, default ``.secrets.baseline``; an
explicit path must exist), ``exclude`` (known-safe fixtures: exact paths or
globs of files, listed explicitly; nothing is excluded by default).

The secret value never reaches a Finding, the log or the outcome's repr; the
plain values are handed out only by :func:`secret_values_for_masking` and
``BuiltinOutcome.secret_values`` so that logs can be masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit.builtins import BuiltinContext, BuiltinOutcome, summarize
from gatekit.builtins._common import selected_paths
from gatekit.builtins._files import check_relative, opt_str, read_bytes
from gatekit.builtins._secretscan import (
    Hit,
    baseline_keys,
    load_baseline,
    rule_for,
    scan_files,
    settings,
)
from gatekit.errors import UsageError
from gatekit.results import Finding

if TYPE_CHECKING:
    import pygit2

NAME = "secrets"
DESCRIPTION = "Secret added to the repository"
OPTIONS = ("baseline", "exclude")
DEFAULT_BASELINE = ".secrets.baseline"
# Shorter values are not masked: replacing every "admin" in every log helps nobody.
MIN_MASK_LENGTH = 6


def added_lines(
    repo: pygit2.Repository, base: str | None, path: str, data: bytes
) -> set[int] | None:
    """1-based line numbers of ``data`` added relative to ``path`` in ``base``; None: a new file."""
    if base is None:
        return None
    import pygit2

    try:
        entry = repo[base].peel(pygit2.Tree)[path]
    except (KeyError, ValueError):
        return None
    if entry.type_str != "blob":
        return None
    patch = repo[entry.id].peel(pygit2.Blob).diff_to_buffer(data)
    return {line.new_lineno for hunk in patch.hunks for line in hunk.lines if line.origin == "+"}


def _baseline(ctx: BuiltinContext) -> tuple[str | None, dict[str, Any] | None]:
    explicit = "baseline" in ctx.options
    rel = check_relative(opt_str(ctx.options, "baseline", DEFAULT_BASELINE))
    path = ctx.root / rel
    if not path.is_file() or read_bytes(ctx.root, rel) is None:
        if explicit:
            raise UsageError(
                f"secrets baseline {rel} not found in the candidate",
                tip="create it with 'gatekit secrets baseline' and commit it, or drop the option",
            )
        return None, None
    return rel, load_baseline(path)


def scan(ctx: BuiltinContext, notes: list[str]) -> tuple[list[Hit], list[Hit], int]:
    """(all hits in the selected changed files, new hits to report, files scanned)."""
    baseline_rel, baseline_data = _baseline(ctx)
    paths = [p for p in selected_paths(ctx, notes) if p != baseline_rel]
    known = baseline_keys(baseline_data) if baseline_data is not None else set()
    with settings(baseline_data):
        hits = scan_files(ctx.root, paths, notes)
    new: list[Hit] = []
    added_cache: dict[str, set[int] | None] = {}
    for hit in hits:
        if (hit.path, hit.hashed, hit.type) in known:
            continue
        if hit.path not in added_cache:
            data = read_bytes(ctx.root, hit.path) or b""
            added_cache[hit.path] = added_lines(ctx.repo, ctx.base, hit.path, data)
        added = added_cache[hit.path]
        if added is None or hit.line in added:
            new.append(hit)
    if baseline_rel:
        notes.append(f"baseline {baseline_rel}: {len(known)} known secret(s) ignored")
    return hits, new, len(paths)


def to_finding(hit: Hit) -> Finding:
    return Finding(
        rule=rule_for(hit.type),
        path=hit.path,
        line=hit.line,
        message=f"possible secret ({hit.type}) added; the value is not shown",
    )


def key_material(root: Path, hits: Sequence[Hit]) -> set[str]:
    """The body lines of every private key block in the files of private-key hits.

    detect-secrets' value for a private key is only its ``BEGIN ... PRIVATE KEY``
    header; the key itself is the base64 body, which a gate printing the file
    would otherwise log in clear.
    """
    from gatekit.builtins._files import resolve_inside

    out: set[str] = set()
    for rel in sorted({h.path for h in hits if h.type == "Private Key"}):
        real = resolve_inside(root, rel)
        if real is None:
            continue
        try:
            text = real.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        inside = False
        for raw in text.splitlines():
            line = raw.strip()
            if "BEGIN" in line and "PRIVATE KEY" in line:
                inside = True
            elif "END" in line and "PRIVATE KEY" in line:
                inside = False
            elif inside and ":" not in line and len(line) >= MIN_MASK_LENGTH:
                out.add(line)  # base64 body (PEM headers such as "Proc-Type: ..." are not secret)
    return out


def mask_values(hits: Sequence[Hit], root: Path | None = None) -> tuple[str, ...]:
    values = {h.value for h in hits if len(h.value) >= MIN_MASK_LENGTH}
    if root is not None:
        values |= key_material(root, hits)
    return tuple(sorted(values))


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    notes: list[str] = []
    hits, new, scanned = scan(ctx, notes)
    findings = tuple(
        sorted((to_finding(h) for h in new), key=lambda f: (f.path, f.line or 0, f.rule))
    )
    if findings:
        notes.append(
            "tip: remove the secret (and rotate it), or, for a known-safe fixture, list the file "
            "under the gate's 'exclude' option or record it with 'gatekit secrets baseline --update'"
        )
    return BuiltinOutcome(
        passed=not findings,
        findings=findings,
        log=summarize(NAME, scanned, findings, notes),
        secret_values=mask_values(hits, ctx.root),
    )


def secret_values_for_masking(ctx: BuiltinContext) -> tuple[str, ...]:
    """Plain values of every secret detect-secrets finds in ``ctx.paths`` (all lines, baseline
    or not), for :func:`gatekit.reports.masking.mask_secrets`. Never print or store them."""
    hits, _new, _n = scan(ctx, [])
    return mask_values(hits, ctx.root)


def secret_values_in(root: Path, paths: Sequence[str]) -> tuple[str, ...]:
    """Same as :func:`secret_values_for_masking` without a context (default settings)."""
    with settings(None):
        return mask_values(scan_files(root, list(paths)), root)
