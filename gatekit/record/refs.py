"""Compare-and-swap ref updates on top of libgit2 reference transactions.

Every ref gatekit writes goes through :func:`locked_ref`:

1. an ``fcntl`` guard per ref (``<common dir>/gatekit/locks/``) serialises
   gatekit writers and makes stale-lock recovery race-free;
2. ``tx.lock_ref(name)`` takes git's own ``<ref>.lock`` (so ``git`` itself
   sees the ref as locked), retried with bounded, jittered backoff;
3. an owner record (pid + process start time + the lock's inode) is written
   while the lock is held; a ``.lock`` left by a crashed gatekit is removed only
   when that record matches it and the owner is confirmed dead;
4. the body reads the current target *under the lock* and sets the new one;
   leaving the block commits, an exception rolls back (no lock file remains).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.errors import GatekitError, TargetMovedError
from gatekit.git.repo import common_dir, gatekit_dir
from gatekit.record.locks import (
    LOCK_TIMEOUT,
    LockBusyError,
    describe_holder,
    flocked,
    intent_path_for,
    remove_if_stale,
    remove_quietly,
    wait_until,
    write_intent,
    write_owner,
)

if TYPE_CHECKING:
    import pygit2
    from pygit2.transaction import ReferenceTransaction


def read_ref(repo: pygit2.Repository, name: str) -> str | None:
    """The hex target of a direct ref, or None when it does not exist."""
    ref = repo.references.get(name)
    if ref is None:
        return None
    return str(ref.resolve().target)


def _lock_paths(repo: pygit2.Repository, name: str) -> tuple[Path, Path, Path]:
    key = hashlib.sha1(name.encode()).hexdigest()[:20]
    locks = gatekit_dir(repo) / "locks"
    return common_dir(repo) / f"{name}.lock", locks / f"{key}.flock", locks / f"{key}.owner"


def ref_lock_file(repo: pygit2.Repository, name: str) -> Path:
    """Where git keeps the lock of ``name`` (for tests and diagnostics)."""
    return _lock_paths(repo, name)[0]


@contextlib.contextmanager
def locked_ref(
    repo: pygit2.Repository, name: str, timeout: float = LOCK_TIMEOUT
) -> Iterator[ReferenceTransaction]:
    """Hold ``name`` locked in a transaction; commit on normal exit, roll back on error."""
    import pygit2

    lock_path, guard_path, owner_path = _lock_paths(repo, name)
    with flocked(guard_path, timeout, what=f"the gatekit lock of {name}"):
        if lock_path.exists():
            remove_if_stale(lock_path, owner_path)  # before our intent replaces a dead one's
        tx: ReferenceTransaction | None = None

        def acquired() -> bool:
            nonlocal tx
            write_intent(owner_path)
            tx = repo.transaction()
            try:
                tx.lock_ref(name)
            except pygit2.GitError:
                tx.__exit__(RuntimeError, None, None)  # free, commit nothing
                tx = None
                return remove_if_stale(lock_path, owner_path) and acquired()
            return True

        def busy() -> GatekitError:
            return LockBusyError(
                f"{name} is locked by {describe_holder(owner_path)} ({lock_path.name})",
                tip=f"if no git or gatekit process is running, remove {lock_path}",
            )

        wait_until(acquired, timeout, busy)
        assert tx is not None
        try:
            write_owner(owner_path, lock_path)
            try:
                yield tx
            except BaseException as exc:
                tx.__exit__(type(exc), exc, exc.__traceback__)
                raise
            tx.__exit__(None, None, None)
        finally:
            remove_quietly(owner_path)
            remove_quietly(intent_path_for(owner_path))


def update_ref(
    repo: pygit2.Repository,
    name: str,
    build: Callable[[str | None], str | None],
    message: str,
    timeout: float = LOCK_TIMEOUT,
) -> str | None:
    """Lock ``name``, call ``build(current)`` and set the ref to what it returns.

    ``build`` runs under the lock, so it always builds on the real tip: there is
    no lost update and no rebuild loop. Returning None (or the current value)
    leaves the ref unchanged. Returns the ref's value afterwards.
    """
    with locked_ref(repo, name, timeout) as tx:
        current = read_ref(repo, name)
        new = build(current)
        if new is None or new == current:
            return current
        tx.set_target(name, new, message=message)
        return new


def cas_update_ref(
    repo: pygit2.Repository, name: str, expected: str | None, new: str, message: str
) -> None:
    """Set ``name`` to ``new`` only if it still points at ``expected`` (None: absent).

    Raises TargetMovedError (exit 4) and changes nothing when it moved.
    """

    def build(current: str | None) -> str:
        if current != expected:
            raise TargetMovedError(
                f"{name} moved: expected {_short(expected)}, found {_short(current)}",
                tip="nothing was changed; check again against the new target",
            )
        return new

    update_ref(repo, name, build, message)


def cas_delete_ref(repo: pygit2.Repository, name: str, expected: str) -> None:
    """Delete ``name`` only if it still points at ``expected``."""
    with locked_ref(repo, name) as tx:
        current = read_ref(repo, name)
        if current != expected:
            raise TargetMovedError(
                f"{name} moved: expected {_short(expected)}, found {_short(current)}"
            )
        tx.remove(name)


def _short(oid: str | None) -> str:
    return "nothing (absent)" if oid is None else oid[:12]
