"""Share checkpoints and notes through any git remote (the git CLI does the transport).

Plain git equivalents (REMOTE = origin):

    git push origin 'refs/gatekit/checkpoints/*:refs/gatekit/checkpoints/*' \\
                    'refs/notes/gatekit:refs/notes/gatekit'
    git fetch origin '+refs/gatekit/checkpoints/*:refs/gatekit/remotes/origin/checkpoints/*' \\
                     '+refs/notes/gatekit:refs/notes/remotes/origin/gatekit'
    git notes --ref=gatekit merge -s cat_sort_uniq refs/notes/remotes/origin/gatekit

Fetched chains land under ``refs/gatekit/remotes/<remote>/`` (never over local
chains); fetched notes under ``refs/notes/remotes/<remote>/gatekit`` and are then
merged into ``refs/notes/gatekit`` by line union (:func:`merge_notes`), so no
local note is ever clobbered. A push whose notes are rejected as
non-fast-forward fetches, merges and retries (bounded).
"""

from __future__ import annotations

import subprocess
from dataclasses import field
from typing import TYPE_CHECKING

from gatekit.errors import GatekitError, RepositoryError
from gatekit.lazyclass import dataclass
from gatekit.record.checkpoints import CHAIN_PREFIX, REMOTE_PREFIX, sanitize_chain
from gatekit.record.fixes import clean_git_env
from gatekit.record.notes import NOTES_REF, merge_notes
from gatekit.record.refs import read_ref

if TYPE_CHECKING:
    import pygit2

PUSH_ATTEMPTS = 3


class SharingError(GatekitError):
    pass


@dataclass
class ShareReport:
    remote: str
    updated: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    notes_merged: bool = False


def remote_namespace(repo: pygit2.Repository, remote: str) -> str:
    """The ref-safe name under which a remote's checkpoints and notes are stored."""
    return (
        remote
        if remote in repo.remotes.names() and sanitize_chain(remote) == remote
        else sanitize_chain(remote)
    )


def _git(repo: pygit2.Repository, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", f"--git-dir={repo.path}", *args],
            capture_output=True,
            text=True,
            env=clean_git_env(),
            check=False,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepositoryError(f"git {args[0]} failed: {exc}") from None


def fetch(repo: pygit2.Repository, remote: str = "origin") -> ShareReport:
    ns = remote_namespace(repo, remote)
    notes_dst = f"refs/notes/remotes/{ns}/gatekit"
    specs = [
        f"+{CHAIN_PREFIX}*:{REMOTE_PREFIX}{ns}/checkpoints/*",
        # a glob, so that a remote without notes yet is not an error
        f"+{NOTES_REF}*:{notes_dst}*",
    ]
    prefixes = (f"{REMOTE_PREFIX}{ns}/", notes_dst)
    snapshot = {r: read_ref(repo, r) for r in repo.references if r.startswith(prefixes)}
    proc = _git(repo, "fetch", "--no-tags", "--no-write-fetch-head", remote, *specs)
    if proc.returncode != 0:
        raise SharingError(f"git fetch {remote} failed:\n{proc.stderr.strip()}")
    report = ShareReport(remote)
    for r in sorted(repo.references):
        if r.startswith(prefixes) and read_ref(repo, r) != snapshot.get(r):
            report.updated.append(r)
    before = read_ref(repo, NOTES_REF)
    if read_ref(repo, notes_dst) is not None:
        after = merge_notes(repo, notes_dst, NOTES_REF)
        report.notes_merged = after != before
    return report


def _parse_push(out: str) -> tuple[list[str], list[str]]:
    updated, rejected = [], []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        flag, spec, summary = parts[0], parts[1], parts[2]
        dst = spec.partition(":")[2]
        if flag == "!":
            rejected.append(f"{dst} ({summary})")
        elif flag != "=":
            updated.append(dst)
    return updated, rejected


def push(repo: pygit2.Repository, remote: str = "origin") -> ShareReport:
    report = ShareReport(remote)
    for _attempt in range(PUSH_ATTEMPTS):
        specs = []
        if any(r.startswith(CHAIN_PREFIX) for r in repo.references):
            specs.append(f"{CHAIN_PREFIX}*:{CHAIN_PREFIX}*")
        if read_ref(repo, NOTES_REF) is not None:
            specs.append(f"{NOTES_REF}:{NOTES_REF}")
        if not specs:
            return report
        proc = _git(repo, "push", "--porcelain", remote, *specs)
        updated, rejected = _parse_push(proc.stdout)
        report.updated.extend(updated)
        report.rejected = rejected
        if proc.returncode != 0 and not rejected:
            raise SharingError(f"git push {remote} failed:\n{proc.stderr.strip()}")
        if not any(r.startswith(NOTES_REF + " ") for r in rejected):
            return report
        fetch(repo, remote)  # notes moved on the remote: merge theirs, then retry
        report.notes_merged = True
    return report
