"""Checkpoint chains: ``refs/gatekit/checkpoints/<chain>``, one commit per check.

A checkpoint commit has tree = the candidate tree, first parent = the previous
checkpoint of its chain (when there is one) and, next, the commit the
candidate was built on (so the base stays reachable). Its message carries
trailers (``Gatekit-Chain``, ``Gatekit-Previous``, ``Gatekit-Base``, ...);
``Gatekit-Previous`` says explicitly where the chain continues, so the first
checkpoint of a chain (whose only parent is the base) is never confused with
a chain link. The full result is a one-line note in ``refs/notes/gatekit``.

The chain ref is updated under its lock (see :mod:`gatekit.record.refs`): the
commit is built on the tip read under the lock, and its note is written before
the ref moves, so every checkpoint on a chain has its note.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit import canonical
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass
from gatekit.record.notes import append_notes, read_note_lines, read_records, remove_notes
from gatekit.record.objects import signature
from gatekit.record.refs import read_ref, update_ref

if TYPE_CHECKING:
    import pygit2

    from gatekit.results import RunResult

CHAIN_PREFIX = "refs/gatekit/checkpoints/"
REMOTE_PREFIX = "refs/gatekit/remotes/"
BACKUP_CHAIN = "rollback-backup"
_TRAILER = re.compile(r"^Gatekit-([A-Za-z]+): (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Checkpoint:
    id: str
    chain: str
    ref: str
    tree: str
    base: str | None
    previous: str | None
    time: int  # commit time, seconds since the epoch (UTC)
    kind: str  # "check" or "backup"
    verdict: str | None
    plan_id: str | None
    run_id: str | None
    trailers: Mapping[str, str] = field(default_factory=dict)

    def records(self, repo: pygit2.Repository) -> list[RunResult]:
        return read_records(repo, self.id)


# --- chain names --------------------------------------------------------------


def sanitize_chain(name: str) -> str:
    """A ref-safe, lowercase chain name; lossy renames get a short hash of the original.

    ``main`` stays ``main``; ``Main`` becomes ``main-<hash>`` and ``feature/x``
    becomes ``feature-x-<hash>``, so neither case-only differences (case-insensitive
    file systems) nor ``/`` (directory/file clashes between chains) can collide.
    """
    s = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    s = re.sub(r"\.{2,}", ".", s).strip(".-")
    if s.endswith(".lock"):
        s = s[: -len(".lock")] + "-lock"
    s = s or "chain"
    if s != name:
        s = f"{s[:60].rstrip('.-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return s


def chain_name_for(repo: pygit2.Repository, override: str | None) -> str:
    """The chain to record on: ``override``, else the current branch, else "detached"."""
    from gatekit.git.repo import current_branch

    if override is not None:
        if not override.strip():
            raise UsageError("the chain name is empty")
        return sanitize_chain(override)
    return sanitize_chain(current_branch(repo) or "detached")


def chain_ref(chain: str) -> str:
    import pygit2

    ref = CHAIN_PREFIX + chain
    if not pygit2.reference_is_valid_name(ref) or sanitize_chain(chain) != chain:
        raise UsageError(f"invalid chain name {chain!r}", tip="use chain_name_for() to sanitise it")
    return ref


def list_chains(repo: pygit2.Repository, remote: str | None = None) -> list[str]:
    prefix = CHAIN_PREFIX if remote is None else f"{REMOTE_PREFIX}{remote}/checkpoints/"
    return sorted(r[len(prefix) :] for r in repo.references if r.startswith(prefix))


# --- writing --------------------------------------------------------------------


def _message(subject: str, trailers: Mapping[str, str]) -> str:
    lines = [f"Gatekit-{k}: {v}" for k, v in trailers.items()]
    return subject + "\n\n" + "\n".join(lines) + "\n"


def scrub_paths(value: Any, prefixes: tuple[str, ...]) -> Any:
    """Replace absolute machine paths in every string of ``value`` (records stay portable)."""
    if isinstance(value, str):
        for prefix, repl in ((p, "") for p in prefixes):
            value = value.replace(prefix.rstrip("/") + "/", repl)
        return value
    if isinstance(value, list):
        return [scrub_paths(v, prefixes) for v in value]
    if isinstance(value, dict):
        return {k: scrub_paths(v, prefixes) for k, v in value.items()}
    return value


def _record_line(repo: pygit2.Repository, result: RunResult, checkpoint: str, chain: str) -> str:
    from gatekit.git.repo import common_dir

    data = result.model_copy(update={"checkpoint": checkpoint, "chain": chain}).model_dump(
        mode="json"
    )
    prefixes = tuple(
        str(p)
        for p in (Path(repo.workdir) if repo.workdir else None, common_dir(repo))
        if p is not None
    )
    return canonical.dumps(scrub_paths(data, prefixes))


def write_checkpoint(
    repo: pygit2.Repository,
    chain: str,
    tree: str,
    base: str | None,
    trailers: Mapping[str, str],
    subject: str,
    result: RunResult | None = None,
) -> str:
    """Append a checkpoint to ``chain`` (and its note when ``result`` is given)."""
    import pygit2

    ref = chain_ref(chain)
    tree_oid = repo[tree].peel(pygit2.Tree).id
    base_oid = repo[base].peel(pygit2.Commit).id if base else None

    def build(current: str | None) -> str:
        parents = [pygit2.Oid(hex=current)] if current else []
        if base_oid is not None and base_oid not in parents:
            parents.append(base_oid)
        full = {
            "Chain": chain,
            **trailers,
            "Base": str(base_oid) if base_oid else "none",
            "Previous": current or "none",
        }
        sig = signature(repo)
        commit = str(repo.create_commit(None, sig, sig, _message(subject, full), tree_oid, parents))
        if result is not None:
            append_notes(repo, [(commit, _record_line(repo, result, commit, chain))])
        return commit

    new = update_ref(repo, ref, build, f"gatekit: checkpoint on {chain}")
    assert new is not None
    return new


def record_checkpoint(
    repo: pygit2.Repository, chain: str, candidate_tree: str, base: str | None, result: RunResult
) -> str:
    """Record ``result`` as a new checkpoint of ``chain``; returns the checkpoint commit hex."""
    trailers = {
        "Kind": "check",
        "Verdict": str(result.verdict),
        "Plan": result.plan_id,
        "Run": result.run_id,
    }
    subject = f"gatekit checkpoint: {result.verdict} on {chain}"
    return write_checkpoint(repo, chain, candidate_tree, base, trailers, subject, result)


# --- reading --------------------------------------------------------------------


def parse_checkpoint(
    repo: pygit2.Repository, commit: pygit2.Commit, ref: str = ""
) -> Checkpoint | None:
    """The checkpoint a commit is, or None when it is no gatekit checkpoint."""
    trailers = dict(_TRAILER.findall(commit.message))
    if "Chain" not in trailers or "Previous" not in trailers:
        return None

    def opt(key: str) -> str | None:
        v = trailers.get(key)
        return None if v in (None, "none") else v

    return Checkpoint(
        id=str(commit.id),
        chain=trailers["Chain"],
        ref=ref,
        tree=str(commit.tree_id),
        base=opt("Base"),
        previous=opt("Previous"),
        time=commit.commit_time,
        kind=trailers.get("Kind", "check"),
        verdict=opt("Verdict"),
        plan_id=opt("Plan"),
        run_id=opt("Run"),
        trailers=trailers,
    )


def _ref_for(repo: pygit2.Repository, chain: str) -> str:
    if chain.startswith("refs/"):
        return chain
    local = CHAIN_PREFIX + chain
    if local in repo.references:
        return local
    remote, sep, rest = chain.partition("/")
    if sep:
        candidate = f"{REMOTE_PREFIX}{remote}/checkpoints/{rest}"
        if candidate in repo.references:
            return candidate
    return local


def iter_checkpoints(repo: pygit2.Repository, chain: str) -> Iterator[Checkpoint]:
    """The checkpoints of ``chain``, newest first (``origin/main`` names a fetched chain)."""
    ref = _ref_for(repo, chain)
    current = read_ref(repo, ref)
    while current is not None:
        obj = repo.get(current)
        if obj is None:
            return  # shallow or pruned history
        cp = parse_checkpoint(repo, obj, ref)  # type: ignore[arg-type]
        if cp is None:
            return
        yield cp
        current = cp.previous


def resolve_checkpoint(repo: pygit2.Repository, spec: str) -> Checkpoint:
    """``<chain>``, ``<chain>~N``, ``<remote>/<chain>``, or a full/short checkpoint id."""
    import pygit2

    name, tilde, back = spec.partition("~")
    if tilde and not back.isdigit():
        raise UsageError(f"bad checkpoint {spec!r}: expected <chain>~N with a number N")
    ref = _ref_for(repo, name)
    if ref in repo.references:
        n = int(back) if tilde else 0
        for i, cp in enumerate(iter_checkpoints(repo, name)):
            if i == n:
                return cp
        raise UsageError(f"chain {name!r} has fewer than {n + 1} checkpoints")
    if not tilde and re.fullmatch(r"[0-9a-fA-F]{4,64}", spec):
        try:
            obj = repo.revparse_single(spec)
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise UsageError(f"no checkpoint {spec!r}: {exc}") from None
        if isinstance(obj, pygit2.Commit):
            cp = parse_checkpoint(repo, obj)
            if cp is not None:
                return cp
        raise UsageError(f"{spec} is not a gatekit checkpoint")
    chains = ", ".join(list_chains(repo)) or "none yet"
    raise UsageError(f"no checkpoint or chain {spec!r}", tip=f"chains: {chains}")


# --- pruning --------------------------------------------------------------------


@dataclass(frozen=True)
class PruneReport:
    chain: str
    kept: int
    removed: int
    renamed: dict[str, str]  # old checkpoint id -> new id (kept checkpoints are rewritten)


def prune_checkpoints(
    repo: pygit2.Repository, keep: int, chains: list[str] | None = None
) -> list[PruneReport]:
    """Keep the newest ``keep`` checkpoints of each chain; drop the older ones.

    A chain is parent-linked, so cutting it means rewriting the kept checkpoints
    (same tree, base, author, committer and time; new ids). Each kept
    checkpoint's note is copied to its new id with ``checkpoint`` updated before
    the chain ref moves; the notes of the old ids are removed afterwards. The
    objects of dropped checkpoints become unreachable and ``git gc`` removes them.
    A shared chain rewritten this way no longer fast-forwards on the remote.
    """
    if keep < 1:
        raise UsageError("--keep must be at least 1")
    reports = []
    for chain in chains if chains is not None else list_chains(repo):
        reports.append(_prune_chain(repo, chain, keep))
    return reports


def _prune_chain(repo: pygit2.Repository, chain: str, keep: int) -> PruneReport:
    import pygit2

    ref = chain_ref(chain)
    renamed: dict[str, str] = {}
    dropped: list[str] = []

    def build(current: str | None) -> str | None:
        renamed.clear()
        dropped.clear()
        all_cps = list(iter_checkpoints(repo, chain)) if current else []
        if len(all_cps) <= keep:
            return None
        kept = list(reversed(all_cps[:keep]))
        dropped.extend(cp.id for cp in all_cps[keep:])
        prev: str | None = None
        notes: list[tuple[str, str]] = []
        for cp in kept:
            old = repo[cp.id].peel(pygit2.Commit)
            trailers = dict(cp.trailers)
            trailers["Previous"] = prev or "none"
            subject = old.message.split("\n", 1)[0]
            parents = [pygit2.Oid(hex=prev)] if prev else []
            if cp.base:
                parents.append(pygit2.Oid(hex=cp.base))
            new = str(
                repo.create_commit(
                    None,
                    old.author,
                    old.committer,
                    _message(subject, trailers),
                    pygit2.Oid(hex=cp.tree),
                    parents,
                )
            )
            renamed[cp.id] = new
            for line in read_note_lines(repo, cp.id):
                notes.append((new, _rename_in_record(line, cp.id, new)))
            prev = new
        append_notes(repo, notes)
        return prev

    update_ref(repo, ref, build, f"gatekit: prune {chain} to {keep}")
    if renamed or dropped:
        remove_notes(repo, [*renamed.keys(), *dropped])
    return PruneReport(
        chain=chain, kept=len(renamed) or keep, removed=len(dropped), renamed=dict(renamed)
    )


def _rename_in_record(line: str, old: str, new: str) -> str:
    import json

    try:
        data = json.loads(line)
    except ValueError:
        return line
    if isinstance(data, dict) and data.get("checkpoint") == old:
        data["checkpoint"] = new
        return canonical.dumps(data)
    return line
