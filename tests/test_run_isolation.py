"""A gate's copy-on-write view: every command of the gate sees its earlier writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gatekit.run import isolation

pytestmark = pytest.mark.skipif(
    not isolation.overlay_available(Path("/tmp")),
    reason="overlayfs in a mount namespace is not available here",
)


def _volatile_modes() -> list[bool]:
    return [False, True] if isolation.overlay_mode(Path("/tmp")).endswith(",volatile") else [False]


def _run(view: isolation.GateView, script: str) -> int:
    argv = view.wrap(["sh", "-c", script], False)
    return subprocess.run(argv, cwd=view.shadow, check=False).returncode


@pytest.mark.parametrize("volatile", _volatile_modes())
def test_a_later_command_of_a_gate_sees_its_earlier_writes(tmp_path: Path, volatile: bool) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "a.txt").write_text("candidate\n")
    (shadow / "b.txt").write_text("gone soon\n")
    unshare = shutil.which("unshare")
    assert unshare is not None
    view = isolation.GateView(shadow, tmp_path / "view", unshare, volatile)
    try:
        assert _run(view, "echo fixed >> a.txt && rm b.txt && mkdir out && echo r > out/r") == 0
        # a second command (a second batch of files) mounts the same upper again
        assert _run(view, "test ! -e b.txt && grep -q fixed a.txt && echo again >> a.txt") == 0
        tracked = {"a.txt": (0o100644, "0" * 40), "b.txt": (0o100644, "0" * 40)}
        writes = view.writes(tracked)
        assert writes.changed == ("a.txt",)
        assert writes.deleted == ("b.txt",)
        assert writes.added == ("out/r",)
        assert writes.files["a.txt"].read_text() == "candidate\nfixed\nagain\n"
        assert (shadow / "a.txt").read_text() == "candidate\n"  # the shadow is never written
        assert (shadow / "b.txt").exists()
    finally:
        view.close()
    assert not (tmp_path / "view").exists()


def test_a_closed_view_leaves_at_once_and_its_trash_is_emptied(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "a.txt").write_text("candidate\n")
    trash = tmp_path / "runs" / ".trash"
    left = trash / "1-0-earlier"  # what a process that ended first could not remove
    (left / "upper").mkdir(parents=True)
    (left / "upper" / "x").write_text("x")
    unshare = shutil.which("unshare")
    assert unshare is not None
    base = tmp_path / "runs" / "r1" / "sandbox" / "fmt" / "view"
    view = isolation.GateView(shadow, base, unshare, trash=trash)
    assert _run(view, "echo fixed >> a.txt") == 0
    view.close()
    assert not base.exists()
    isolation.wait_for_trash()
    assert list(trash.iterdir()) == []
    assert (shadow / "a.txt").read_text() == "candidate\n"


LIMITS_SHOWN = (
    "import resource as r; print(*(r.getrlimit(getattr(r, 'RLIMIT_' + n)) for n in"
    " ('DATA', 'CPU', 'FSIZE', 'NOFILE')))"
)


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_the_views_shell_sets_the_limits_prlimit_would(tmp_path: Path) -> None:
    """The view's shell sets the rlimits with its ulimit builtin (no prlimit process):
    the command gets what ``prlimit`` gives it, sizes rounded down to the shell's unit."""
    import sys

    from gatekit.plan.model import GateLimits
    from gatekit.run import limits

    shadow = tmp_path / "shadow"
    shadow.mkdir()
    unshare = shutil.which("unshare")
    assert unshare is not None
    wanted = limits.rlimits(
        GateLimits(memory=100 * 2**20 + 1000, cpu=4.2, disk=10 * 2**20 + 700, open_files=77)
    )
    command = [sys.executable, "-c", LIMITS_SHOWN]
    view = isolation.GateView(shadow, tmp_path / "view", unshare)
    try:
        argv = view.wrap(command, False, (), wanted)
        assert not any("prlimit" in a for a in argv) and "ulimit -S -d" in " ".join(argv)
        by_shell = subprocess.run(argv, cwd=shadow, capture_output=True, text=True, check=True)
        plain = view.wrap([*limits.rlimit_argv(wanted), *command], False)
        by_prlimit = subprocess.run(plain, cwd=shadow, capture_output=True, text=True, check=True)
    finally:
        view.close()
    data = (100 * 2**20 + 1000) * 2 // 1024 * 1024
    disk = (10 * 2**20 + 700) // 512 * 512
    assert by_shell.stdout.split() == (
        f"({data}, {data}) (6, 8) ({disk}, {disk}) (77, 77)".split()
    ), by_shell.stderr
    # prlimit sets the exact byte counts; the shell, whole units of them
    exact_data, exact_disk = (100 * 2**20 + 1000) * 2, 10 * 2**20 + 700
    assert by_prlimit.stdout.split() == (
        f"({exact_data}, {exact_data}) (6, 8) ({exact_disk}, {exact_disk}) (77, 77)".split()
    )


def test_a_limit_no_shell_can_set_is_left_to_prlimit() -> None:
    from gatekit.run import limits

    assert limits.ulimit_commands((("nproc", 10, 10),)) is None
    assert limits.ulimit_commands((("nofile", 9, 9), ("cpu", 2, 4))) == (
        "ulimit -S -n 9 && ulimit -H -n 9 && ulimit -S -t 2 && ulimit -H -t 4"
    )
