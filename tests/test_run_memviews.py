"""pre-commit hook gates' views in memory (``/dev/shm/gatekit-<uid>/views``), every
other gate's under its run directory; fixes made there land as before.

The hook is a real ``language: system`` hook of a ``local`` repo that fixes a file and
prints the overlay its command runs in (its ``upperdir``, from its own mountinfo).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from check_support import check_json, gate_log, gate_of, write_config
from conftest import Repo

from gatekit.run import isolation, memviews

WHERE = memviews.root()
pytestmark = pytest.mark.skipif(
    WHERE is None or not isolation.overlay_available(WHERE, memo=memviews.memo(WHERE)),
    reason="no tmpfs at /dev/shm with 1 GiB free where an overlay mounts",
)

# prints its overlay's upper directory, then fixes a.txt (a fixer, as end-of-file-fixer)
UPPER = """
import os, re, sys
for line in open("/proc/self/mountinfo"):
    m = re.search(r"upperdir=([^,]+)", line)
    if m and line.split()[4] == os.getcwd():
        print("upper:", m.group(1))
for name in sys.argv[1:]:
    with open(name, "r+") as f:
        text = f.read()
        if not text.endswith("fixed\\n"):
            f.write("fixed\\n")
"""
CONFIG = f"""repos:
-   repo: local
    hooks:
    -   id: fixer
        name: fixer
        language: system
        entry: {sys.executable} upper.py
        files: '[.]txt$'
"""


@pytest.fixture
def hooked(repo: Repo) -> Iterator[Repo]:
    repo.write(".pre-commit-config.yaml", CONFIG)
    repo.write("upper.py", UPPER)
    repo.write("a.txt", "text\n")
    write_config(
        repo,
        [
            {"id": "fixer", "pre-commit": "fixer"},
            {"id": "plain", "session": {"run": [f"{sys.executable} upper.py"]}},
        ],
    )
    repo.commit("project")
    yield repo


def _upper(log: str) -> Path:
    found = re.findall(r"^upper: (.+)$", log, re.MULTILINE)
    assert len(found) == 1, log
    return Path(found[0])


def test_a_hooks_view_is_in_memory_and_its_fix_lands(hooked: Repo) -> None:
    assert WHERE is not None
    proc, doc = check_json(hooked, "--all", expect=1)
    fixer = gate_of(doc, "fixer")
    assert fixer["outcome"] == "failed" and "made fixes" in fixer["reason"], fixer
    fixed = hooked.git("diff", "--name-only", "HEAD", str(fixer["fix_tree"])).split()
    assert fixed == ["a.txt"]
    upper = _upper(gate_log(proc, doc, "fixer"))
    assert upper.parent.parent == WHERE / "views", upper
    assert upper.parent.name.startswith(f"{proc_pid(upper)}-") and upper.parent.name.endswith(
        "-fixer"
    )
    assert not upper.exists(), "a closed view was left in memory"
    # every other gate's view stays under its run directory
    plain = _upper(gate_log(proc, doc, "plain"))
    assert plain.is_relative_to(hooked.path / ".git" / "gatekit" / "runs"), plain
    # the fix made in memory is applied (an --all check's candidate is the working tree)
    applied = hooked.gatekit("check", "--all", "--apply-fixes", "--plain")
    assert "applied fixes to 1 file(s): a.txt" in applied.stderr, applied.stderr
    assert (hooked.path / "a.txt").read_text() == "text\nfixed\n"


def proc_pid(upper: Path) -> int:
    return int(upper.parent.name.split("-", 1)[0])


def test_memory_views_off_keeps_a_hooks_view_under_its_run(hooked: Repo) -> None:
    proc, doc = check_json(hooked, "--all", env={"GATEKIT_MEMORY_VIEWS": "0"}, expect=1)
    assert gate_of(doc, "fixer")["outcome"] == "failed"
    upper = _upper(gate_log(proc, doc, "fixer"))
    assert upper.is_relative_to(hooked.path / ".git" / "gatekit" / "runs"), upper


@pytest.fixture
def shm(tmp_path: Path) -> Iterator[Path]:
    """A directory on the tmpfs, standing for /dev/shm."""
    d = memviews.SHM / f"gatekit-test-{os.getpid()}-{tmp_path.name}"
    d.mkdir()
    try:
        yield d
    finally:
        isolation.discard(d)


def test_the_users_directory_is_made_private_and_never_taken_from_another(shm: Path) -> None:
    mine = memviews.root(shm)
    assert mine == shm / f"gatekit-{os.getuid()}"
    assert os.stat(mine).st_mode & 0o777 == 0o700
    os.chmod(mine, 0o777)
    assert memviews.root(shm) is None, "a directory others may write was used"
    mine.rmdir()
    elsewhere = shm / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    mine.symlink_to(elsewhere)
    assert memviews.root(shm) is None, "a symlink was followed"
    mine.unlink()
    if os.getuid() == 0:
        mine.mkdir(mode=0o700)
        os.chown(mine, 65534, 65534)
        assert memviews.root(shm) is None, "another user's directory was used"


def test_no_views_in_memory_off_a_tmpfs_or_short_of_room(
    shm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert memviews.root(tmp_path) is None  # the tests' temporary directory is on disk
    monkeypatch.setenv("GATEKIT_MEMORY_VIEWS", "0")
    assert memviews.root(shm) is None
    monkeypatch.delenv("GATEKIT_MEMORY_VIEWS")
    free = os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize
    monkeypatch.setattr(memviews, "FREE_AT_LEAST", free * 2)
    assert memviews.root(shm) is None
    assert not (shm / f"gatekit-{os.getuid()}").exists()


def test_views_a_dead_gatekit_left_are_removed_by_the_next(shm: Path) -> None:
    where = memviews.root(shm)
    assert where is not None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = where / "views" / f"{dead.pid}-0-fixer" / "upper"
    live = where / "views" / f"{os.getpid()}-999-fixer" / "upper"
    for d in (left, live):
        d.mkdir(parents=True)
        (d / "a.txt").write_text(json.dumps("written"))
    memviews.sweep(where)
    isolation.wait_for_trash()
    assert not left.parent.exists()
    assert live.exists(), "a live gatekit's view was removed"
    assert list((where / ".trash").iterdir()) == []


def test_gc_removes_what_dead_gatekits_left_in_memory(hooked: Repo, shm: Path) -> None:
    """``gatekit gc`` empties the memory views' trash, with the views of dead gatekits
    (of any repository of the user); a live gatekit's view stays."""
    env = {"GATEKIT_MEMORY_VIEWS": str(shm)}
    proc, doc = check_json(hooked, "--all", env=env, expect=1)
    assert (
        _upper(gate_log(proc, doc, "fixer")).parent.parent
        == shm / f"gatekit-{os.getuid()}" / "views"
    )
    where = memviews.root(shm, sweep_dead=False)
    assert where is not None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = where / "views" / f"{dead.pid}-0-fixer"
    live = where / "views" / f"{os.getpid()}-999-fixer"
    for d in (left, live):
        (d / "work" / "w1" / "work").mkdir(parents=True)
        (d / "work" / "w1" / "work").chmod(0)  # as overlayfs leaves a work directory
    gc = hooked.gatekit("gc", env=env)
    assert gc.returncode == 0, gc.stderr
    assert f"removed gate view {left.name}" in gc.stdout, gc.stdout
    assert not left.exists() and live.exists()
    assert list((where / ".trash").iterdir()) == []
