"""Shadow worktrees: real linked git worktrees holding a candidate, reused and refreshed.

Layout under ``<git common dir>/gatekit/shadows/``::

    s0/        a linked worktree (``git worktree add --detach``, hooks disabled)
    s0.lock    held with fcntl.flock while a check uses s0; its mtime = last use
    s1/ ...    more slots for concurrent checks in the same repository

A shadow's HEAD is a commit of the candidate tree whose parent is the base
(deterministic: same tree and base give the same commit), kept reachable by
``refs/gatekit/shadow/<name>``. Refreshing runs ``git checkout -f --detach`` and
``git clean -ffdx`` inside the worktree (hooks disabled):
only changed files are rewritten, and everything a previous gate left behind
(untracked files, build outputs, ignored caches such as ``__pycache__`` or
``.nox``) is removed, so nothing leaks from one run into the next. Gates keep
caches outside the shadow (the runner's env cache dir).

The user's index, working tree, HEAD and branches are never written: the only
writes to the main repository are objects, ``refs/gatekit/shadow/*`` and the
worktree's admin dir under ``<common dir>/worktrees/``. A lock fd is passed to
every git child so that a killed gatekit keeps the slot locked until its child
is gone too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gatekit.atomicfile import write_atomic
from gatekit.errors import RepositoryError, UnsafePathError
from gatekit.git.gitproc import describe_failure, run_git
from gatekit.git.repo import common_dir, gatekit_dir
from gatekit.git.safety import scan_tree, unsafe_symlinks
from gatekit.lazyclass import dataclass

if TYPE_CHECKING:
    import pygit2

    from gatekit.git.candidate import Candidate

SHADOW_REF_PREFIX = "refs/gatekit/shadow/"
_CLEANING = "cleaning"  # second line of a slot's lock file while it is cleaned after a check
_HOLDER_SIZE = 64  # bytes of a slot lock file's record
_CLEAN_WAIT = 30.0  # seconds a check waits for a slot being cleaned before making another
MAX_SLOTS = 16
_SIGNATURE = ("gatekit", "gatekit@invalid")


def candidate_commit(repo: pygit2.Repository, candidate: Candidate) -> str:
    """A commit of the candidate tree whose parent is the base (on no ref; deterministic)."""
    import pygit2

    parents = [candidate.base] if candidate.base else []
    when = cast("pygit2.Commit", repo[candidate.base]).commit_time if candidate.base else 0
    sig = pygit2.Signature(*_SIGNATURE, when, 0)
    message = f"gatekit candidate: {candidate.description}\n"
    return str(repo.create_commit(None, sig, sig, message, candidate.tree, parents))


@dataclass
class Shadow:
    """One materialised candidate; ``reset()`` brings it back, removing leftovers."""

    name: str
    path: Path
    commit: str
    tree: str
    _symlinks: tuple[str, ...] = field(default=(), repr=False)
    _lock_fd: int | None = field(default=None, repr=False)
    # the index and HEAD as the candidate left them (see _admin_state)
    admin: tuple[tuple[int, int, int], ...] | None = field(default=None, repr=False)

    def reset(self) -> None:
        _checkout(self.path, self.commit, self._lock_fd)
        _refuse_escaping_links(self.path, self._symlinks)
        self.admin = _admin_state(self.path)  # the candidate's again, whatever a gate did


class ShadowPool:
    """The shadows of one repository; each concurrent check gets its own slot."""

    def __init__(self, repo: pygit2.Repository, max_slots: int = MAX_SLOTS) -> None:
        self.repo = repo
        self.root = gatekit_dir(repo) / "shadows"
        self.max_slots = max_slots

    # -- public ---------------------------------------------------------------------
    @contextlib.contextmanager
    def acquire(self, candidate: Candidate, isolated: bool = False) -> Iterator[Shadow]:
        """Lock a free slot, materialise ``candidate`` in it, check it, yield it.

        ``isolated``: the caller writes nothing into the shadow (gates wrote into their
        own views, or reset it after themselves), so once it is done in-process the slot
        is marked clean at the candidate (see ``_clean_afterwards``), unless the shadow's
        index or HEAD changed meanwhile (a gate's own git commands write them outside its
        view). Not for a shadow handed to a user (``gatekit shadow``), who may change
        anything in it."""
        scan = scan_tree(self.repo, candidate.tree)
        commit = candidate_commit(self.repo, candidate)
        with self._locked_slot() as (name, fd):
            path = self.path_for(name)
            clean_at = self._take_clean_mark(name)
            self._set_ref(name, commit)
            self._materialise(path, commit, fd, clean_at)
            shadow = Shadow(name, path, commit, candidate.tree, scan.symlinks, fd)
            _refuse_escaping_links(path, scan.symlinks)
            shadow.admin = _admin_state(path)
            yield shadow
            # a gate's own git commands write the shadow's index and HEAD, outside its view
            untouched = isolated and shadow.admin is not None and _admin_state(path) == shadow.admin
            self._clean_afterwards(name, path, commit, fd, untouched)

    def path_for(self, name: str) -> Path:
        return self.root / name

    def slot_names(self) -> list[str]:
        """Names of the slots that exist (a directory or a lock file)."""
        if not self.root.is_dir():
            return []
        names = {p.name.removesuffix(".lock") for p in self.root.iterdir()}
        names = {n for n in names if n[:1] == "s" and n[1:].isdigit()}
        return sorted(names, key=lambda n: (len(n), n))

    def remove(self, name: str) -> bool:
        """Remove one slot (worktree, admin dir, ref, lock); False when it is in use."""
        lock = self.root / f"{name}.lock"
        if not lock.exists() and not self.path_for(name).exists():
            self._delete_ref(name)
            return True
        fd = _try_lock(lock)
        if fd is None:
            return False
        try:
            self._destroy(self.path_for(name))
            self._delete_ref(name)
            (self.root / f"{name}.clean").unlink(missing_ok=True)
            lock.unlink(missing_ok=True)
        finally:
            os.close(fd)
        return True

    def last_used(self, name: str) -> float | None:
        try:
            return (self.root / f"{name}.lock").stat().st_mtime
        except OSError:
            return None

    def in_use(self, name: str) -> bool:
        fd = _try_lock(self.root / f"{name}.lock")
        if fd is None:
            return True
        os.close(fd)
        return False

    def orphan_refs(self) -> list[str]:
        """Shadow refs whose slot no longer exists."""
        names = set(self.slot_names())
        return sorted(
            r.removeprefix(SHADOW_REF_PREFIX)
            for r in self.repo.references
            if r.startswith(SHADOW_REF_PREFIX) and r.removeprefix(SHADOW_REF_PREFIX) not in names
        )

    def prune_admin_dirs(self) -> list[str]:
        """Remove worktree admin dirs that point into the pool at a slot that is gone."""
        removed = []
        for admin, target in self._admin_dirs():
            if _is_under(target, self.root) and not target.parent.exists():
                shutil.rmtree(admin, ignore_errors=True)
                removed.append(admin.name)
        return removed

    # -- slots ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked_slot(self) -> Iterator[tuple[str, int]]:
        self.root.mkdir(parents=True, exist_ok=True)
        delay = 0.05
        patience = time.monotonic() + _CLEAN_WAIT
        while True:
            cleaning = False
            for i in range(self.max_slots):
                name = f"s{i}"
                lock = self.root / f"{name}.lock"
                if cleaning and not self.path_for(name).exists() and time.monotonic() < patience:
                    break  # a slot is being cleaned: wait for it rather than build a new one
                fd = _try_lock(lock)
                if fd is None:
                    cleaning = cleaning or _being_cleaned(lock)
                else:
                    try:
                        _write_holder(fd, str(os.getpid()))
                        os.utime(fd)
                        yield name, fd
                    finally:
                        os.close(fd)  # releases the flock
                    return
            if cleaning:  # done within tens of milliseconds
                time.sleep(0.002)
                continue
            time.sleep(delay)  # every slot busy: wait for one
            delay = min(delay * 2, 1.0)

    def _materialise(self, path: Path, commit: str, fd: int, clean_at: str | None = None) -> None:
        if not _is_valid_worktree(path, common_dir(self.repo)):
            self._destroy(path)
            self._create(path, commit, fd)
            return
        if clean_at == commit:
            return  # cleaned at this very commit after the previous check: nothing to do
        try:
            _checkout(path, commit, fd, clean=clean_at is None)
        except (OSError, RepositoryError):
            # a gate left something checkout cannot remove (read-only dirs, ...): start over
            self._destroy(path)
            self._create(path, commit, fd)

    # -- cleaning after the answer (daemon workers) --------------------------------
    def _clean_afterwards(
        self, name: str, path: Path, commit: str, fd: int, isolated: bool = False
    ) -> None:
        """Where work can wait for the answer (a daemon worker), queue a full refresh of the
        slot at ``commit``; once done it leaves ``<slot>.clean`` naming the commit, and the
        next check of the same candidate skips the refresh (another candidate skips the
        clean). The slot stays locked (a dup of its lock fd) until the refresh is done."""
        from gatekit import afterwards

        held = os.dup(fd)
        mark = self.root / f"{name}.clean"

        def clean() -> None:
            try:
                _write_holder(held, f"{os.getpid()}\n{_CLEANING}")
                _checkout(path, commit, held)
                write_atomic(mark, commit + "\n")
            finally:
                os.close(held)

        if not afterwards.defer(clean):
            os.close(held)
            if not isolated:
                return
            # In-process there is no "after the answer": the slot is left as the check
            # found it (each gate wrote only into its own copy-on-write view, or reset the
            # shadow after itself in exclusive mode), so it is marked clean at ``commit``
            # now. The next check of the same candidate skips the refresh; another
            # candidate pays only the checkout, not the sweep for untracked files.
            write_atomic(mark, commit + "\n")

    def _take_clean_mark(self, name: str) -> str | None:
        """The commit ``name`` was left clean at (the mark is removed: a run dirties it)."""
        mark = self.root / f"{name}.clean"
        try:
            text = mark.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        mark.unlink(missing_ok=True)
        return text or None

    def _create(self, path: Path, commit: str, fd: int) -> None:
        """A new linked worktree at ``commit``; git's own checkout (no hooks) is the fastest
        full materialisation (libgit2 took ~2.5x longer on 20,000 files)."""
        args = [
            "-c",
            "core.hooksPath=/dev/null",
            "worktree",
            "add",
            "-q",
            "--detach",
            str(path),
            commit,
        ]
        # git reads every worktree's admin files while adding one: two concurrent adds
        # (or an add beside a removal) can see each other half-written, so one at a time
        with _exclusive(self.root / "admin.lock"):
            proc = run_git(args, env={"GIT_DIR": self.repo.path}, pass_fds=(fd,))
        if proc.returncode != 0:
            raise RepositoryError(
                f"cannot create the shadow worktree: {describe_failure(args, proc)}"
            )

    def _destroy(self, path: Path) -> None:
        if path.exists() or path.is_symlink():
            _rmtree(path)
        target = path / ".git"
        with _exclusive(self.root / "admin.lock"):
            for admin, points_to in self._admin_dirs():
                if points_to == target:
                    shutil.rmtree(admin, ignore_errors=True)

    def _admin_dirs(self) -> Iterator[tuple[Path, Path]]:
        base = common_dir(self.repo) / "worktrees"
        if not base.is_dir():
            return
        for admin in base.iterdir():
            try:
                text = (admin / "gitdir").read_text().strip()
            except OSError:
                continue
            yield admin, Path(os.path.normpath(admin / text))

    # -- refs -----------------------------------------------------------------------
    def _set_ref(self, name: str, commit: str) -> None:
        import pygit2

        ref = SHADOW_REF_PREFIX + name
        current = self.repo.references.get(ref)
        if current is not None and str(current.target) == commit:
            return  # the same candidate again: rewriting the ref would only cost time
        try:
            self.repo.references.create(ref, commit, force=True)
        except (pygit2.GitError, OSError):  # libgit2's "failed to lock file" is an OSError
            # a gatekit killed while writing this ref left its lock; we hold the slot
            (common_dir(self.repo) / f"{ref}.lock").unlink(missing_ok=True)
            self.repo.references.create(ref, commit, force=True)

    def _delete_ref(self, name: str) -> None:
        ref = SHADOW_REF_PREFIX + name
        if ref in self.repo.references:
            self.repo.references.delete(ref)


# -- materialising ------------------------------------------------------------------


def _checkout(path: Path, commit: str, lock_fd: int | None = None, clean: bool = True) -> None:
    """Reset the shadow to ``commit``: only changed files are rewritten (git's index
    stat data), then every untracked and ignored file a gate left is removed.

    git itself rather than libgit2: its checkout and clean together took ~45 ms on
    20,000 files where libgit2's FORCE|REMOVE_UNTRACKED|REMOVE_IGNORED took ~80 ms,
    and it runs the same filters (e.g. LFS) as the ``git worktree add`` that made the
    slot. The slot's lock fd goes to git, so a killed gatekit's git keeps the slot
    locked until it has finished too.
    """
    fds = () if lock_fd is None else (lock_fd,)
    steps = [["-c", "core.hooksPath=/dev/null", "checkout", "-q", "-f", "--detach", commit]]
    if clean:
        steps.append(["clean", "-q", "-ffdx"])
    for args in steps:
        # the ceiling keeps git from walking up into the main .git should a gate have
        # removed the shadow's .git file: then this fails and the slot is rebuilt
        env = {"GIT_CEILING_DIRECTORIES": str(path.parent)}
        proc = run_git(args, cwd=path, env=env, pass_fds=fds)
        if proc.returncode != 0:
            raise RepositoryError(
                f"cannot refresh the shadow worktree {path.name}: {describe_failure(args, proc)}"
            )


def _refuse_escaping_links(path: Path, symlinks: tuple[str, ...]) -> None:
    bad = unsafe_symlinks(path, symlinks)
    if not bad:
        return
    for rel, _ in bad:  # never leave a link out of the shadow for a tool to follow
        with contextlib.suppress(OSError):
            (path / rel).unlink()
    rel, why = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise UnsafePathError(
        f"refusing the symlink {rel!r}{more}: it {why}",
        tip=(
            "gates run in a shadow checkout; symlinks in the candidate must stay inside it. "
            "If the link is not meant to land (a virtualenv, say), ignore it in .gitignore, "
            "or check only what is staged with --staged"
        ),
    )


def _is_valid_worktree(path: Path, common: Path) -> bool:
    dotgit = path / ".git"
    try:
        text = dotgit.read_text().strip()
    except OSError:
        return False
    if not text.startswith("gitdir:"):
        return False
    admin = Path(text.removeprefix("gitdir:").strip())
    return (
        (admin / "HEAD").is_file() and (admin / "commondir").is_file() and _is_under(admin, common)
    )


def _admin_state(path: Path) -> tuple[tuple[int, int, int], ...] | None:
    """(inode, size, mtime) of the shadow's index and HEAD in its admin directory (None:
    unreadable), to tell whether anything wrote them."""
    try:
        text = (path / ".git").read_text().strip()
        admin = Path(text.removeprefix("gitdir:").strip())
        stats = [os.stat(admin / name) for name in ("index", "HEAD")]
    except OSError:
        return None
    return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in stats)


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """A blocking flock, released when the block ends or the process dies."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_holder(fd: int, text: str) -> None:
    """The lock file's content, in place: a fixed-size record, padded with spaces, so the
    file is never truncated (truncating makes some filesystems flush: ~0.2 ms a time)."""
    os.pwrite(fd, f"{text}\n".encode().ljust(_HOLDER_SIZE), 0)


def _being_cleaned(lock: Path) -> bool:
    """Whether the holder of ``lock`` is cleaning the slot after a check (see above)."""
    try:
        with lock.open("rb") as f:
            return _CLEANING.encode() in f.read(_HOLDER_SIZE)
    except OSError:
        return False


def _try_lock(lock: Path) -> int | None:
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _rmtree(path: Path) -> None:
    def make_writable(func: object, p: str, _exc: object) -> None:
        parent = os.path.dirname(p)
        with contextlib.suppress(OSError):
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
            os.chmod(p, stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(p)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable)
    else:
        shutil.rmtree(path, onerror=make_writable)
