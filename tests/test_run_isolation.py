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
