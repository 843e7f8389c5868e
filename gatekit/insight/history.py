"""A chain's runs, oldest first: each checkpoint with its result record.

Only what git holds is read (the checkpoint chain and its notes), so the same
history reads the same on every machine that fetched the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

    from gatekit.record.checkpoints import Checkpoint
    from gatekit.results import RunResult


@dataclass(frozen=True)
class Run:
    """One check of a chain: its checkpoint and the record in the checkpoint's note."""

    checkpoint: str
    chain: str
    tree: str
    time: float  # seconds since the epoch: when the run started (from the record)
    result: RunResult


def parse_when(text: str) -> float:
    """``2026-11-01``, ``2026-11-01T10:00:00Z`` or ``2026-11-01 10:00`` as epoch seconds (UTC)."""
    value = text.strip().replace(" ", "T")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"cannot read the date {text!r}", tip="write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def started(result: RunResult, fallback: float) -> float:
    try:
        return parse_when(result.started_at)
    except UsageError:
        return fallback


def _last_record(repo: pygit2.Repository, notes: pygit2.Tree | None, oid: str) -> RunResult | None:
    """The newest result record in the note of ``oid`` (the notes tree is read once per walk)."""
    import pygit2

    from gatekit.record.notes import find_note
    from gatekit.results import RunResult

    found = find_note(repo, notes, oid)
    if found is None:
        return None
    data: bytes = repo[pygit2.Oid(hex=found[1])].data  # type: ignore[attr-defined]
    for line in reversed(data.decode("utf-8", "replace").splitlines()):
        if line.strip():
            try:
                return RunResult.model_validate_json(line)
            except ValueError:
                continue
    return None


def runs_of(checkpoints: Iterable[Checkpoint], repo: pygit2.Repository) -> Iterator[Run]:
    import pygit2

    from gatekit.record.notes import NOTES_REF
    from gatekit.record.refs import read_ref

    tip = read_ref(repo, NOTES_REF)
    notes = repo[tip].peel(pygit2.Commit).tree if tip else None
    for cp in checkpoints:
        if cp.kind != "check":
            continue
        rec = _last_record(repo, notes, cp.id)
        if rec is not None:
            yield Run(cp.id, cp.chain, cp.tree, started(rec, float(cp.time)), rec)


def chain_runs(
    repo: pygit2.Repository, chain: str, since: float | None = None, limit: int = 0
) -> list[Run]:
    """The runs of ``chain`` oldest first; ``since`` drops older ones, ``limit`` keeps the newest."""
    from gatekit.record.checkpoints import iter_checkpoints

    newest_first: list[Run] = []
    for run in runs_of(iter_checkpoints(repo, chain), repo):
        if since is not None and run.time < since:
            continue
        newest_first.append(run)
        if limit and len(newest_first) >= limit:
            break
    newest_first.reverse()
    return newest_first


def resolve_chain(repo: pygit2.Repository, name: str | None) -> str:
    """``name`` (``REMOTE/CHAIN`` for a fetched one), else the current branch's chain."""
    from gatekit.record.checkpoints import chain_name_for

    return name if name and "/" in name else chain_name_for(repo, name)
