"""Views in memory for pre-commit hook gates: their overlay's upper and work directories
on a tmpfs (``/dev/shm``), not under the run directory.

A hook's writes are the files it was given, fixed; yet a fixer copies every file it
opens for writing up into its view (end-of-file-fixer opens each with ``rb+``): ~260
new files a check on a 500-file tree, all removed again with the view. On a disk file
system every one is an inode made and freed. On ext4 without a journal (as on the VM
the bench ran on) that churn grows costly: the inode allocator skips each inode freed in the
last minutes whose table block is still cached, one lookup each, so every check gets
slower than the last (measured on one such machine, the pre-commit bench's "all hooks
run": 0.66x of pre-commit after ``drop_caches``, 0.75-0.87x two runs later, half the
time in ``recently_deleted``). On a tmpfs making and removing a file is a few list
operations, whatever the file system under the repository.

Used where ``/dev/shm`` is a tmpfs with at least :data:`FREE_AT_LEAST` free (a
container's 64 MiB one is not used), overlays mount with their upper directory there
(probed once, remembered in the directory), and ``GATEKIT_MEMORY_VIEWS`` is not ``0``
(an absolute path there names another tmpfs directory to use instead of /dev/shm).
Views live in ``/dev/shm/gatekit-<uid>/views/<pid>-<n>-<gate>`` (the directory is the
user's own, mode 0700, never one found there owned by someone else or a symlink);
closed ones go to its ``.trash``, emptied in the background like any view. What a
gatekit killed before closing its views left is moved to that trash by the next one
(named after its pid, as gate cgroups are). What a hook writes counts against its
memory limit there (a tmpfs's pages are charged to the writer's cgroup) as well as
against its disk limit.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
from pathlib import Path

from gatekit.record.locks import pid_exists

SHM = Path("/dev/shm")
FREE_AT_LEAST = 1 << 30  # bytes free on the tmpfs for views to go there
_serial = itertools.count()
_swept: set[Path] = set()  # roots this process swept


def root(shm: Path = SHM, sweep_dead: bool = True) -> Path | None:
    """This user's directory for views in memory, made if need be; None where views stay
    on disk (see the module's text). The first call of a process also sweeps it, unless
    not ``sweep_dead``."""
    asked = os.environ.get("GATEKIT_MEMORY_VIEWS", "")
    if asked.lower() in ("0", "no", "off", "false"):
        return None
    if asked.startswith("/"):
        shm = Path(asked)  # another tmpfs (XDG_RUNTIME_DIR's, say)
    if not _is_tmpfs(shm) or _free(shm) < FREE_AT_LEAST:
        return None
    where = shm / f"gatekit-{os.getuid()}"
    with contextlib.suppress(OSError):  # it exists, or cannot be made (then lstat says)
        where.mkdir(mode=0o700)
    try:
        st = os.lstat(where)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # not ours alone: never write there
    if sweep_dead and where not in _swept:
        _swept.add(where)
        sweep(where)
    return where


def view_base(where: Path, gate_id: str) -> Path:
    """A new view's directory for ``gate_id`` (named after this process, for the sweep)."""
    return where / "views" / f"{os.getpid()}-{next(_serial)}-{gate_id}"


def trash(where: Path) -> Path:
    return where / ".trash"


def memo(where: Path) -> Path:
    """Where the overlay probe's answer for this tmpfs is kept."""
    return where / ".isolation"


def sweep(where: Path, background: bool = True) -> None:
    """Move the views a gatekit that died left into the trash, emptied in the background
    (or, not ``background``, by the caller: ``gatekit gc``)."""
    from gatekit.run.isolation import discard_soon, to_trash

    try:
        names = os.listdir(where / "views")
    except OSError:
        return
    for name in names:
        pid = name.split("-", 1)[0]
        if not pid.isdigit() or pid_exists(int(pid)):
            continue
        if background:
            discard_soon(where / "views" / name, trash(where), name)
        else:
            to_trash(where / "views" / name, trash(where), name)


def _is_tmpfs(path: Path) -> bool:
    """Whether ``path`` is on a tmpfs: the mount whose device is ``path``'s
    (``/proc/self/mountinfo``; Linux only)."""
    try:
        dev = os.stat(path).st_dev
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return False
    want = f"{os.major(dev)}:{os.minor(dev)}"
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) >= 3 and fields[2] == want:
            return right.split(" ", 1)[0] == "tmpfs"
    return False


def _free(path: Path) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize
