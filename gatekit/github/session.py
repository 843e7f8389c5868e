"""Before a ``--ci`` check or collect: the event, the commits it needs, the chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gatekit.github.event import CiEvent, read_event

if TYPE_CHECKING:
    import pygit2


def prepare(environ: Mapping[str, str], chain: str | None = None) -> tuple[CiEvent, list[str]]:
    """The event of this workflow run, with its commits in the clone; (event, messages)."""
    from gatekit.git.repo import open_repo
    from gatekit.github.fetch import ensure_available

    ci = read_event(environ)
    messages: list[str] = []
    if ci.spec is None:
        return ci, messages
    repo = open_repo(".")
    fetched = ensure_available(repo, ci.spec, ci.needed)
    if fetched:
        messages.append("fetched what the checkout lacked: " + ", ".join(f[:40] for f in fetched))
    return ci, messages


def seed_chain(repo: pygit2.Repository, chain: str, remote: str = "origin") -> bool:
    """A fresh CI clone has no local chain; start it at the remote's fetched tip, so the
    new checkpoint pushes as a fast-forward. True when seeded."""
    from gatekit.record.checkpoints import CHAIN_PREFIX, REMOTE_PREFIX
    from gatekit.record.refs import read_ref

    local = CHAIN_PREFIX + chain
    if read_ref(repo, local) is not None:
        return False
    tip = read_ref(repo, f"{REMOTE_PREFIX}{remote}/checkpoints/{chain}")
    if tip is None:
        return False
    try:
        repo.create_reference(local, tip, force=False)
    except ValueError:  # created meanwhile
        return False
    return True
