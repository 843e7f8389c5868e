"""Every gate sees the candidate exactly as it will land, plus only its own writes.

Where the kernel allows it (Linux with overlayfs in a mount namespace: as root, or
unprivileged in a user namespace), each gate's commands run in a mount namespace of
their own in which the shadow is covered by a copy-on-write overlay: the shadow is
the lower layer (never written), the gate's writes land in its own upper directory
under the run directory, and gates running in parallel never see each other's
files. What the gate changed is then read off its upper directory (files written,
whiteouts for deletions, opaque directories) without walking the shadow.

Where the kernel has it (5.10+), the overlay is ``volatile``: overlayfs neither
syncs the files it copies up into the upper directory nor passes the gate's own
syncs on to it. The upper directory is read right after the gate's commands end
and thrown away with the run, so no sync could matter; without it a fixer that
opens every file for writing (end-of-file-fixer) waits for one sync per file. Each
mount gets a fresh work directory, as a volatile one is never mounted again.

Elsewhere (macOS, kernels or policies that forbid it) gates that run commands take
turns in the shared shadow (``exclusive``), which is reset after each of them.

The plan's ``network: false`` namespace and this one are one ``unshare`` call.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from gatekit.lazyclass import dataclass
from gatekit.run import limits
from gatekit.run.cgroup import ENTER_LOOP

OVERLAY = "overlay"
EXCLUSIVE = "exclusive"
_UNSAFE_IN_OPTIONS = frozenset(",:\\\n")
VOLATILE = ",volatile"
# $1 lower (= the shadow, mounted over itself), $2 upper, $3 work (a fresh one per
# mount), $4 mount options tail, $5 uid:gid to map back to ('' as root); then the
# gate's command.
_MOUNT = 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3$4" "$1" && cd "$1" || exit 125\n'
_EXEC = (
    "ids=$5; shift 5\n"
    'if [ -n "$ids" ]; then exec unshare --user --map-user="${ids%:*}" --map-group="${ids#*:}" -- "$@"; fi\n'
    'exec "$@"\n'
)
MOUNT_FAILED = 125


def _script(cgroups: bool, ulimits: str) -> str:
    """The view's shell: as root it also moves itself into the command's cgroups first
    ($1... up to "--": one shell fewer per command than cgroup.enter_argv); then it
    mounts, sets the limits (``ulimits``: shell commands, or "") and execs."""
    body = _MOUNT + (f"{ulimits} || exit 1\n" if ulimits else "") + _EXEC
    return f"{ENTER_LOOP}\n{body}" if cgroups else body


_probe_lock = threading.Lock()
_probed: dict[str, str] = {}  # key -> EXCLUSIVE, OVERLAY or OVERLAY + VOLATILE


@dataclass(frozen=True)
class Writes:
    """A gate's writes, by repository-relative path."""

    changed: tuple[str, ...]  # tracked files of the candidate it changed (content or mode)
    deleted: tuple[str, ...]  # tracked files it deleted
    added: tuple[str, ...]  # files the candidate does not track (outputs: fine)
    files: Mapping[str, Path]  # written path -> where its bytes are (changed and added)

    @property
    def tracked(self) -> tuple[str, ...]:
        return tuple(sorted({*self.changed, *self.deleted}))


class GateView:
    """One gate's copy-on-write view of the shadow (``overlay`` mode)."""

    def __init__(
        self,
        shadow: Path,
        base: Path,
        unshare: str,
        volatile: bool = False,
        trash: Path | None = None,
        label: str | None = None,
    ) -> None:
        self.shadow = shadow
        self.base = base
        self.label = label  # its name in the trash (after the pid and a serial number)
        self.upper = base / "upper"
        self.work = base / "work"
        self._unshare = unshare
        self._volatile = volatile
        self._trash = trash
        self.reset()

    def reset(self) -> None:
        """Forget every write (a new attempt starts from the candidate again)."""
        discard(self.base)
        self.upper.mkdir(parents=True)
        self.work.mkdir()

    @staticmethod
    def enters_cgroups() -> bool:
        """Whether :meth:`wrap` can move the command into cgroups itself (as root: no user
        namespace between gatekit and the cgroup files)."""
        return os.getuid() == 0

    def wrap(
        self,
        argv: Sequence[str],
        isolate_network: bool,
        cgroups: Sequence[str] = (),
        rlimits: tuple[limits.Rlimit, ...] = (),
    ) -> list[str]:
        """The command line that runs ``argv`` in the view (each call: a new work directory),
        first moved into ``cgroups`` (their ``cgroup.procs`` files, only where
        :meth:`enters_cgroups`), under ``rlimits`` (set by the view's shell where it can,
        else by ``prlimit``)."""
        ulimits = limits.ulimit_commands(rlimits) or ""
        if rlimits and not ulimits:
            argv = [*limits.rlimit_argv(rlimits), *argv]
        flags = "-m" + ("n" if isolate_network else "")
        uid, gid = os.getuid(), os.getgid()
        if uid != 0:
            flags = "-r" + flags[1:]
        if cgroups and not self.enters_cgroups():
            raise ValueError("a view enters cgroups only as root")
        ids = f"{uid}:{gid}" if uid != 0 else ""
        enter = [*cgroups, "--"] if cgroups else []
        mount = self.mount_spec()
        return [
            self._unshare,
            flags,
            "--",
            "sh",
            "-c",
            _script(bool(cgroups), ulimits),
            "gatekit-view",
            *enter,
            mount["lower"],
            mount["upper"],
            mount["work"],
            mount["options"],
            ids,
            *argv,
        ]

    def mount_spec(self) -> dict[str, str]:
        """The overlay's lower, upper and work directories and its options' tail: what
        mounts the view for one command (each call: a new work directory, see VOLATILE)."""
        tail = (",userxattr" if os.getuid() != 0 else "") + (VOLATILE if self._volatile else "")
        return {
            "lower": str(self.shadow),
            "upper": str(self.upper),
            "work": tempfile.mkdtemp(dir=self.work, prefix="w"),
            "options": tail,
        }

    def writes(self, tracked: Mapping[str, tuple[int, str]]) -> Writes:
        """What the gate wrote, against ``tracked`` (path -> (git mode, blob OID))."""
        return read_upper(self.upper, tracked)

    def close(self) -> None:
        """Throw the view away: at once out of the gate's way (into ``trash``, emptied in
        the background), or removed here when there is no trash directory."""
        if self._trash is None:
            discard(self.base)
        else:
            discard_soon(self.base, self._trash, self.label)


def overlay_available(scratch: Path, memo: Path | None = None) -> bool:
    """Whether a gate's overlay can be mounted with its upper directory on ``scratch``'s
    file system: a real mount of a test view, probed once per process and file system,
    and remembered in ``memo`` (a small file) for as long as the kernel, the user and
    the file system are the same."""
    return overlay_mode(scratch, memo) != EXCLUSIVE


def overlay_mode(scratch: Path, memo: Path | None = None) -> str:
    """:data:`EXCLUSIVE`, :data:`OVERLAY`, or ``OVERLAY + VOLATILE`` where a volatile
    overlay mounts too (see :func:`overlay_available`)."""
    unshare = shutil.which("unshare")
    if unshare is None or not Path("/proc/self/ns/mnt").exists():
        return EXCLUSIVE
    scratch.mkdir(parents=True, exist_ok=True)
    key = f"{os.stat(scratch).st_dev}:{os.getuid()}:{os.uname().release}:{unshare}:2"
    with _probe_lock:
        answer = _probed.get(key)
        if answer is None:
            answer = _remembered(memo, key)
            if answer is None:
                answer = _probe(scratch, unshare)
                _remember(memo, key, answer)
            _probed[key] = answer
        return answer


_ANSWERS = (OVERLAY + VOLATILE, OVERLAY, EXCLUSIVE)


def _remembered(memo: Path | None, key: str) -> str | None:
    if memo is None:
        return None
    try:
        saved_key, _, answer = memo.read_text(encoding="utf-8").partition("\n")
    except OSError:
        return None
    if saved_key != key or answer.strip() not in _ANSWERS:
        return None
    return answer.strip()


def _remember(memo: Path | None, key: str, answer: str) -> None:
    if memo is None:
        return
    from gatekit.atomicfile import save_quietly

    save_quietly(memo, f"{key}\n{answer}\n")


def _probe(scratch: Path, unshare: str) -> str:
    """The first of the answers whose overlay mounts and behaves (a volatile one, a plain
    one), else :data:`EXCLUSIVE`."""
    for volatile in (True, False):
        if _probe_one(scratch, unshare, volatile):
            return OVERLAY + (VOLATILE if volatile else "")
    return EXCLUSIVE


def _probe_one(scratch: Path, unshare: str, volatile: bool) -> bool:
    try:
        with tempfile.TemporaryDirectory(dir=scratch, prefix=".isolation-probe-") as tmp:
            lower = Path(tmp) / "lower"
            lower.mkdir()
            (lower / "f").write_text("lower\n")
            view = GateView(lower, Path(tmp) / "view", unshare, volatile)
            # twice: a second command of a gate mounts the same upper directory again
            script = "echo upper > f && rm -f f && test ! -e f"
            ok = True
            for command in (script, "test ! -e f"):
                argv = view.wrap(["sh", "-c", command], False)
                proc = subprocess.run(
                    argv,
                    cwd=lower,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=10,
                    check=False,
                )
                ok = ok and proc.returncode == 0
            ok = ok and (lower / "f").read_text() == "lower\n"
            ok = ok and read_upper(view.upper, {"f": (0o100644, "")}).deleted == ("f",)
            view.close()
            return ok
    except (OSError, subprocess.TimeoutExpired):
        return False


def usable_in_options(*paths: Path) -> bool:
    """overlayfs options cannot hold these characters in a path (no escaping is portable)."""
    return not any(_UNSAFE_IN_OPTIONS & set(str(p)) for p in paths)


def make_view(
    shadow: Path, base: Path, trash: Path | None = None, label: str | None = None
) -> GateView | None:
    """The gate's view, or None where overlays cannot serve (then: exclusive mode).
    ``trash``, on the file system of ``base``, is where a closed view goes to be removed
    in the background (see :func:`discard_soon`)."""
    unshare = shutil.which("unshare")
    if unshare is None or not usable_in_options(shadow, base):
        return None
    mode = overlay_mode(base.parent.parent)
    if mode == EXCLUSIVE:
        return None
    volatile = mode.endswith(VOLATILE)
    return GateView(shadow, base, unshare, volatile=volatile, trash=trash, label=label)


# --- reading an upper directory ----------------------------------------------------


def git_mode(st: os.stat_result) -> int:
    if stat.S_ISLNK(st.st_mode):
        return 0o120000
    return 0o100755 if st.st_mode & 0o111 else 0o100644


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _walk(root: str, rel: str = "") -> Iterator[tuple[str, str, os.stat_result, bool]]:
    """(relative path, absolute path, lstat, opaque) of every entry below ``root``."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        path = f"{rel}{entry.name}"
        st = entry.stat(follow_symlinks=False)
        is_dir = stat.S_ISDIR(st.st_mode)
        yield path, entry.path, st, is_dir and _is_opaque(entry.path)
        if is_dir:
            yield from _walk(entry.path, path + "/")


def read_upper(upper: Path, tracked: Mapping[str, tuple[int, str]]) -> Writes:
    import pygit2

    changed: list[str] = []
    added: list[str] = []
    gone: list[str] = []  # whiteouts and opaque directories: what is under them went away
    files: dict[str, Path] = {}
    for rel, absolute, st, opaque in _walk(str(upper)):
        if _is_whiteout(st):
            gone.append(rel)
            continue
        if stat.S_ISDIR(st.st_mode):
            if opaque:
                gone.append(rel)
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        files[rel] = Path(absolute)
        known = tracked.get(rel)
        if known is None:
            added.append(rel)
            continue
        if stat.S_ISLNK(st.st_mode):
            oid = str(pygit2.hash(os.readlink(absolute).encode()))
        else:
            oid = str(pygit2.hashfile(absolute))
        if (git_mode(st), oid) != known:
            changed.append(rel)
    deleted: set[str] = set()
    if gone:
        for path in tracked:
            if path in files:
                continue
            if any(path == g or path.startswith(g + "/") for g in gone):
                deleted.add(path)
    written = {p: f for p, f in files.items() if p not in deleted}
    return Writes(tuple(sorted(changed)), tuple(sorted(deleted)), tuple(sorted(added)), written)


def discard(path: Path) -> None:
    """Remove a view's directories (overlayfs leaves its work dir without permissions)."""
    if not path.exists():
        return
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:
            try:
                os.chmod(os.path.join(dirpath, name), 0o700, follow_symlinks=False)
            except OSError:
                continue
    shutil.rmtree(path, ignore_errors=True)


# --- removing views off the gates' path ------------------------------------------------
# Removing a view's files (every file a fixer copied up) takes a while where deletes
# are slow (a busy disk, ext4 with online discard), and the gate would hold its job
# slot meanwhile. A closed view is renamed into a trash directory at once, and a
# thread empties it. What a process could not finish (an in-process check ends with
# os._exit) stays there until the next view goes to the same trash; a daemon worker
# waits for it after it has answered its client (gatekit.afterwards).

_trash_lock = threading.Lock()
_trash_pending: set[Path] = set()
_trash_worker: threading.Thread | None = None
_trash_serial = itertools.count()


def to_trash(path: Path, trash: Path, name: str) -> bool:
    """Move ``path`` into ``trash`` as ``name``; False when it cannot be moved."""
    try:
        trash.mkdir(parents=True, exist_ok=True)
        os.rename(path, trash / name)
    except OSError:
        return False
    return True


def discard_soon(path: Path, trash: Path, label: str | None = None) -> None:
    """Move ``path`` into ``trash`` (as ``<pid>-<n>-<label>``, by default its parent's
    name: the gate's) and remove it there in the background (with whatever else is in
    ``trash``); removed here when it cannot be moved."""
    if not path.exists():
        return
    name = f"{os.getpid()}-{next(_trash_serial)}-{label or path.parent.name}"
    if not to_trash(path, trash, name):
        discard(path)
        return
    global _trash_worker
    with _trash_lock:
        _trash_pending.add(trash)
        if _trash_worker is not None and _trash_worker.is_alive():
            return  # the running worker takes it (one of a parent process is not alive here)
        _trash_worker = threading.Thread(target=_empty_trash, name="gatekit-trash", daemon=True)
        _trash_worker.start()
    from gatekit import afterwards

    afterwards.defer(wait_for_trash)


def wait_for_trash() -> None:
    """Return once the background removal has emptied every trash it was given."""
    with _trash_lock:
        worker = _trash_worker
    if worker is not None:
        worker.join()


def _empty_trash() -> None:
    global _trash_worker
    while True:
        with _trash_lock:
            if not _trash_pending:
                _trash_worker = None
                return
            trash = _trash_pending.pop()
        empty_trash(trash)


def empty_trash(trash: Path) -> list[str]:
    """Remove every closed view in ``trash``; their names (none when there is no trash)."""
    try:
        entries = sorted(Path(e.path) for e in os.scandir(trash))
    except OSError:
        return []
    for entry in entries:
        discard(entry)
    return [e.name for e in entries]
