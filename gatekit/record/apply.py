"""All-or-nothing changes to the user's working tree and index.

Used by ``apply_fixes`` (promote / --apply-fixes) and ``rollback``. Protocol:

1. hold an ``fcntl`` guard (gatekit writers queue) and git's own ``index.lock``
   (``git add`` and friends wait or fail: nobody changes the index under us);
2. re-check, under the lock, every expectation the caller planned with (the
   staged entry and the worktree bytes of each affected path): any mismatch
   refuses the whole apply, and nothing has changed;
3. write a *prepared* journal listing every temporary file, then write all new
   contents to temporary files next to their targets, and the new index to a
   temporary index file;
4. re-check the worktree bytes, then atomically rewrite the journal as
   *commit*: this is the commit point;
5. rename every temporary file into place, replace the index, drop the lock
   and the journal.

SIGINT/SIGTERM are held back during 4-5 (a Ctrl-C lands just after, on the new
state; before 4 it aborts on the old state). A SIGKILL or power loss leaves the
journal: the next apply, or :func:`recover_pending_apply` (``gatekit check``
calls it on start), rolls a *prepared* journal back (temporary files removed:
old state) and a *commit* journal forward (renames finished: new state), and
removes the ``index.lock`` the dead process held. Until recovery runs, a
killed apply can leave temporary ``.*.gatekit-*.tmp`` files and a held
``index.lock``; it never leaves a half-written file or index.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

from gatekit.errors import GatekitError, UnsafePathError
from gatekit.git.repo import workdir
from gatekit.lazyclass import dataclass
from gatekit.record.applystate import index_path, pending, state_paths
from gatekit.record.locks import LockBusyError, flocked, remove_quietly, wait_until
from gatekit.record.objects import Entry

if TYPE_CHECKING:
    import pygit2


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()  # "no expectation" marker
INDEX_LOCK_TIMEOUT = 10.0
LINK = 0o120000
EXEC = 0o100755
REGULAR = 0o100644


class ApplyRefusedError(GatekitError):
    """The apply was refused and nothing was changed."""

    def __init__(self, reasons: Sequence[str], *, tip: str | None = None) -> None:
        self.reasons = tuple(reasons)
        text = "refused, nothing was changed:\n" + "\n".join(f"  {r}" for r in reasons)
        super().__init__(text, tip=tip)


@dataclass(frozen=True)
class FileWrite:
    path: str  # repo-relative, '/'-separated
    content: bytes | None  # None deletes the file
    mode: int = REGULAR  # git mode of the new content
    expect: bytes | _Any | None = ANY  # worktree bytes that must still be there (None: absent)


@dataclass(frozen=True)
class IndexUpdate:
    path: str
    entry: Entry | None  # new stage-0 entry; None removes the path
    expect: Entry | _Any | None = ANY  # stage-0 entry that must still be there


# --- paths ----------------------------------------------------------------------


def safe_target(root: Path, rel: str) -> Path:
    """``root/rel`` after checking it cannot escape ``root`` (no '..', no symlinked parent)."""
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise UnsafePathError(f"unsafe path {rel!r}")
    if any(p.lower() == ".git" for p in parts):
        raise UnsafePathError(f"refusing to write inside .git: {rel!r}")
    cur = root
    for p in parts[:-1]:
        cur = cur / p
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            break
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePathError(f"{rel}: {cur.relative_to(root)} is not a directory (symlink?)")
    return root.joinpath(*parts)


def read_worktree(root: Path, rel: str) -> tuple[bytes | None, int | None]:
    """(bytes, git mode) of a worktree path; (None, None) when absent. Links give their target."""
    p = safe_target(root, rel)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return None, None
    if stat.S_ISLNK(st.st_mode):
        return os.fsencode(os.readlink(p)), LINK
    if stat.S_ISDIR(st.st_mode):
        return None, None
    return p.read_bytes(), EXEC if st.st_mode & 0o111 else REGULAR


# --- locks and journal --------------------------------------------------------------


def _write_json_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _index_lock(repo: pygit2.Repository, journal: Path) -> Iterator[Path]:
    """Take git's ``index.lock`` so that a crash at any moment leaves it recoverable.

    The lock is made as a private file first, recorded in the journal (inode and
    mtime), then hard-linked into place: there is no moment where an
    ``index.lock`` of ours exists that the journal does not name.
    """
    lock = index_path(repo).with_name("index.lock")
    private = lock.with_name(f"index.lock.gatekit-{os.getpid()}")
    remove_quietly(private)
    os.close(os.open(private, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    st = os.lstat(private)
    record = {"state": "prepared", "files": [], "index": None, "lock": [st.st_ino, st.st_mtime_ns]}
    _write_json_atomic(journal, record)

    def acquired() -> bool:
        try:
            os.link(private, lock)
        except FileExistsError:
            return False
        return True

    def busy() -> GatekitError:
        return LockBusyError(
            f"{lock} exists: another git process is using the index",
            tip="wait for it to finish; if none is running, remove the lock file",
        )

    try:
        wait_until(acquired, INDEX_LOCK_TIMEOUT, busy, base=0.005, cap=0.2)
    except BaseException:
        remove_quietly(private)
        remove_quietly(journal)
        raise
    remove_quietly(private)
    try:
        yield lock
    finally:
        # The lock goes first, then the journal: a journal outliving the lock is
        # harmless (recovery finds nothing left to do), a lock outliving it is not.
        remove_quietly(lock)
        remove_quietly(journal)


def recover_pending_apply(repo: pygit2.Repository) -> str | None:
    """Finish or undo an apply interrupted by a crash. Returns "rolled back", "completed" or None."""
    if not pending(repo):
        return None  # nothing to finish (an apply that starts now is alive: not ours to undo)
    guard, journal = state_paths(repo)
    with flocked(guard, what="the gatekit apply lock"):
        return _recover(repo, journal)


def _recover(repo: pygit2.Repository, journal: Path) -> str | None:
    # Called under the guard: any journal belongs to a process that died.
    try:
        data = json.loads(journal.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        data = {"state": "prepared", "files": [], "index": None, "lock": None}
    root = Path(repo.workdir or ".")
    files: list[list[str | None]] = data.get("files", [])
    if data.get("state") == "commit":
        for tmp, dest in files:
            if dest is None:
                continue
            if tmp is None:
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    os.unlink(root / dest)
            elif os.path.lexists(root / tmp):
                os.replace(root / tmp, root / dest)
        if data.get("index") and os.path.exists(data["index"]):
            os.replace(data["index"], index_path(repo))
        outcome = "completed"
    else:
        for tmp, _dest in files:
            if tmp is not None:
                remove_quietly(root / tmp)
        if data.get("index"):
            remove_quietly(Path(data["index"]))
            remove_quietly(Path(data["index"] + ".lock"))  # libgit2's, if killed mid-write
        outcome = "rolled back"
    for private in index_path(repo).parent.glob("index.lock.gatekit-*"):
        remove_quietly(private)
    lock = data.get("lock")
    if lock:
        lock_path = index_path(repo).with_name("index.lock")
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(lock_path)
            if [st.st_ino, st.st_mtime_ns] == lock:
                lock_path.unlink()
    remove_quietly(journal)
    return outcome


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --- the apply ------------------------------------------------------------------


def _new_file_mode(mode: int) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if mode == EXEC else 0o666) & ~umask


def _write_temp(root: Path, tmp_rel: str, content: bytes, mode: int) -> None:
    tmp = root / tmp_rel
    tmp.parent.mkdir(parents=True, exist_ok=True)
    if mode == LINK:
        os.symlink(os.fsdecode(content), tmp)
        return
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _new_file_mode(mode))
    try:
        _write_all(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, _new_file_mode(mode))


def _write_all(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _check(
    repo: pygit2.Repository,
    root: Path,
    ix: pygit2.Index,
    writes: Sequence[FileWrite],
    updates: Sequence[IndexUpdate],
) -> list[str]:
    problems: list[str] = []
    conflicts = ix.conflicts
    for u in updates:
        if conflicts is not None and u.path in conflicts:
            problems.append(f"{u.path}: has unresolved merge conflicts")
            continue
        if isinstance(u.expect, _Any):
            continue
        try:
            e = ix[u.path]
            cur: Entry | None = Entry(str(e.id), int(e.mode))
        except KeyError:
            cur = None
        if cur != u.expect:
            problems.append(f"{u.path}: the staged version changed since the check")
    for w in writes:
        if isinstance(w.expect, _Any):
            continue
        data, _mode = read_worktree(root, w.path)
        if data != w.expect:
            problems.append(f"{w.path}: the file changed in the working tree since it was read")
    return problems


def apply_changes(
    repo: pygit2.Repository,
    writes: Sequence[FileWrite],
    updates: Sequence[IndexUpdate],
) -> None:
    """Apply worktree writes and index updates all or nothing (see the module doc)."""
    import pygit2

    root = workdir(repo)
    for w in writes:
        safe_target(root, w.path)
    guard, journal = state_paths(repo)
    with flocked(guard, what="the gatekit apply lock"):
        _recover(repo, journal)
        with _index_lock(repo, journal) as lock:
            lst = os.lstat(lock)
            index_file = index_path(repo)
            new_index = index_file.with_name(f"index.gatekit-{os.getpid()}.tmp")
            pid = os.getpid()
            files: list[tuple[str | None, str]] = []
            for n, w in enumerate(writes):
                if w.content is None:
                    files.append((None, w.path))
                else:
                    d, _, name = w.path.rpartition("/")
                    tmp_name = f".{name[:80]}.gatekit-{pid}-{n}.tmp"
                    files.append((f"{d}/{tmp_name}" if d else tmp_name, w.path))
            record = {
                "state": "prepared",
                "files": files,
                "index": str(new_index) if updates else None,
                "lock": [lst.st_ino, lst.st_mtime_ns],
            }
            committed = False
            try:
                if updates and index_file.exists():
                    new_index.write_bytes(index_file.read_bytes())
                if updates:
                    ix = pygit2.Index(str(new_index))
                else:
                    ix = pygit2.Index(str(index_file)) if index_file.exists() else pygit2.Index()
                problems = _check(repo, root, ix, writes, updates)
                if problems:
                    raise ApplyRefusedError(problems)
                _write_json_atomic(journal, record)
                for (tmp, _dest), w in zip(files, writes, strict=True):
                    if tmp is not None and w.content is not None:
                        _write_temp(root, tmp, w.content, w.mode)
                if updates:
                    for u in updates:
                        if u.entry is None:
                            with contextlib.suppress(KeyError, OSError, pygit2.GitError):
                                ix.remove(u.path)
                        else:
                            ix.add(
                                pygit2.IndexEntry(
                                    u.path,
                                    pygit2.Oid(hex=u.entry.oid),
                                    pygit2.enums.FileMode(u.entry.mode),
                                )
                            )
                    ix.write()
                with _signals_held():
                    problems = _check(repo, root, ix, writes, [])
                    if problems:
                        raise ApplyRefusedError(problems)
                    record["state"] = "commit"
                    _write_json_atomic(journal, record)
                    committed = True
                    _roll_forward(root, files, new_index if updates else None, index_file)
            finally:
                if not committed:
                    for tmp, _dest in files:
                        if tmp is not None:
                            remove_quietly(root / tmp)
                    remove_quietly(new_index)


def _roll_forward(
    root: Path, files: Sequence[tuple[str | None, str]], new_index: Path | None, index_path: Path
) -> None:
    for tmp, dest in files:
        target = root / dest
        if tmp is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
            _prune_empty_dirs(root, target.parent)
        else:
            if os.path.isdir(target) and not os.path.islink(target):
                raise UnsafePathError(f"{dest} is a directory in the working tree")
            os.replace(root / tmp, target)
    if new_index is not None:
        os.replace(new_index, index_path)


def _prune_empty_dirs(root: Path, d: Path) -> None:
    while d != root and root in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent
