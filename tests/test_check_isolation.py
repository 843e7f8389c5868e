"""Gates never see each other's writes (issue 10, item 3), through ``gatekit check``.

Each gate that runs commands gets its own copy-on-write view of the shadow (overlayfs
in a mount namespace), or, where that is not available, takes turns in the shadow
(``GATEKIT_ISOLATION=exclusive`` forces that mode here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from check_support import check_json, gate, gate_of, outcomes, write_config
from conftest import Repo

from gatekit.run.isolation import overlay_available

WRITER = (
    "import time\n"
    "for i in range(20):\n"
    "    open('src/a.txt', 'w').write(f'written by the writer {i}\\n'); time.sleep(0.005)\n"
)
READER = (
    "import sys, time\n"
    "for i in range(20):\n"
    "    if open('src/a.txt').read() != 'staged\\n': sys.exit(7)\n"
    "    time.sleep(0.005)\n"
)
MODES = [
    pytest.param(
        "overlay",
        marks=pytest.mark.skipif(
            not overlay_available(__import__("pathlib").Path("/tmp")),
            reason="overlayfs in a mount namespace is not available here",
        ),
    ),
    "exclusive",
]


@pytest.fixture
def staged(repo: Repo) -> Repo:
    repo.write("src/a.txt", "committed\n")
    repo.commit("a")
    repo.write("src/a.txt", "staged\n")
    repo.git("add", "src/a.txt")
    repo.write("src/a.txt", "unstaged edit\n")  # never what a gate sees
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_reader_sees_the_candidate_every_time_beside_a_writer(staged: Repo, mode: str) -> None:
    write_config(
        staged, [gate("writer", WRITER, fix=True), gate("reader", READER)], defaults={"jobs": 2}
    )
    staged.git("add", "validation.yaml")
    env = {"GATEKIT_ISOLATION": mode}
    runs = 50 if mode == "overlay" else 10
    for n in range(runs):
        _, doc = check_json(staged, "--staged", "--no-cache", "--no-record", env=env, expect=1)
        assert gate_of(doc, "reader")["outcome"] == "passed", (n, gate_of(doc, "reader"))
        writer = gate_of(doc, "writer")
        assert writer["outcome"] == "failed" and writer["reason"].startswith("made fixes"), writer
    assert (staged.path / "src/a.txt").read_text() == "unstaged edit\n"
    assert staged.git("show", ":src/a.txt") == "staged\n"


@pytest.mark.parametrize("mode", MODES)
def test_non_fix_gate_touching_a_tracked_file_fails_with_the_path(staged: Repo, mode: str) -> None:
    touch = "open('src/a.txt', 'a').write('lint was here\\n'); open('lint.log', 'w').write('ok')"
    write_config(staged, [gate("lint", touch), gate("other", "pass")])
    staged.git("add", "validation.yaml")
    _, doc = check_json(staged, "--staged", env={"GATEKIT_ISOLATION": mode}, expect=1)
    lint = gate_of(doc, "lint")
    assert lint["outcome"] == "failed"
    assert lint["reason"] == (
        "changed tracked files of the candidate: src/a.txt"
        " (declare `fix: true` if this gate is a formatter)"
    )
    assert lint["fix_tree"] is None
    assert outcomes(doc)["other"] == "passed"
    assert (staged.path / "src/a.txt").read_text() == "unstaged edit\n"
    assert not (staged.path / "lint.log").exists()


@pytest.mark.parametrize("mode", MODES)
def test_fix_is_the_formatters_own_writes_applied_all_or_nothing(staged: Repo, mode: str) -> None:
    staged.write("src/b.txt", "b\n")
    staged.git("add", "src/b.txt")
    fmt = "open('src/b.txt', 'w').write('B\\n')"
    other = "import os; os.makedirs('build', exist_ok=True); open('build/x', 'w').write('x')"
    write_config(staged, [gate("fmt", fmt, fix=True), gate("build", other)])
    staged.git("add", "validation.yaml")
    env = {"GATEKIT_ISOLATION": mode}
    _, doc = check_json(staged, "--staged", "--apply-fixes", env=env, expect=1)
    assert gate_of(doc, "fmt")["outcome"] == "failed"
    assert gate_of(doc, "build")["outcome"] == "passed"
    fix = gate_of(doc, "fmt")["fix_tree"]
    assert staged.git("ls-tree", "-r", "--name-only", fix).split() == [
        "README.md",
        "src/a.txt",
        "src/b.txt",
        "validation.yaml",
    ]
    assert staged.git("show", ":src/b.txt") == "B\n"  # applied to the index ...
    assert (staged.path / "src/b.txt").read_text() == "B\n"  # ... and the working tree
    assert (staged.path / "src/a.txt").read_text() == "unstaged edit\n"  # unstaged work kept
    assert not (staged.path / "build").exists()


@pytest.mark.parametrize("mode", MODES)
def test_an_in_process_check_leaves_its_shadow_marked_clean(staged: Repo, mode: str) -> None:
    """The gates wrote only into their views (or the shadow was reset after each), so the
    check marks the slot clean at its candidate; the next candidate is checked out without
    a sweep and still sees nothing a gate left, nor an old version of a file."""
    litter = (
        "import os, pathlib, sys\n"
        "bad = [p for p in ('left.txt', 'build/out.o') if os.path.exists(p)]\n"
        "pathlib.Path('left.txt').write_text('x')\n"
        "os.makedirs('build', exist_ok=True); pathlib.Path('build/out.o').write_text('o')\n"
        "sys.exit(3 if bad else 0)\n"
    )
    sees = "import sys; sys.exit(0 if open('src/a.txt').read() == {want!r} else 4)"
    shadows = staged.path / ".git" / "gatekit" / "shadows"
    env = {"GATEKIT_ISOLATION": mode, "GATEKIT_NO_DAEMON": "1"}
    for n, want in enumerate(["staged\n", "second\n", "third\n"]):
        staged.write("src/a.txt", want)
        staged.git("add", "src/a.txt")
        write_config(staged, [gate("litter", litter), gate("sees", sees.format(want=want))])
        staged.git("add", "validation.yaml")
        _, doc = check_json(staged, "--staged", "--no-cache", "--no-record", env=env, expect=0)
        assert outcomes(doc) == {"litter": "passed", "sees": "passed"}, (n, doc["gates"])
        head = staged.git("-C", str(shadows / "s0"), "rev-parse", "HEAD").strip()
        assert (shadows / "s0.clean").read_text().strip() == head
        assert not (shadows / "s0" / "left.txt").exists()


def test_a_shadow_handed_to_the_user_is_not_marked_clean(staged: Repo) -> None:
    """``gatekit shadow refresh`` gives the path to someone who may change anything in it:
    the next check refreshes it in full."""
    path = staged.gatekit("shadow", "refresh", "--staged")
    assert path.returncode == 0, path.stderr
    shadow = Path(path.stdout.strip())
    assert not (shadow.parent / f"{shadow.name}.clean").exists()
    (shadow / "stray.txt").write_text("a user's experiment\n")
    (shadow / "src" / "a.txt").write_text("edited in the shadow\n")
    sees = (
        "import os, sys\n"
        "sys.exit(5 if os.path.exists('stray.txt') else 0 if open('src/a.txt').read() == "
        "'staged\\n' else 6)\n"
    )
    write_config(staged, [gate("sees", sees)])
    staged.git("add", "validation.yaml")
    _, doc = check_json(staged, "--staged", "--no-cache", "--no-record", expect=0)
    assert outcomes(doc) == {"sees": "passed"}, doc["gates"]


@pytest.mark.parametrize("mode", MODES)
def test_a_gate_that_writes_the_shadows_index_leaves_no_clean_mark(staged: Repo, mode: str) -> None:
    """A gate's own git commands write the shadow's index outside its view: that check does
    not mark the slot clean, so the next check of the same candidate refreshes it and its
    gates see an index that is the candidate's."""
    stage = (
        "import subprocess, sys\n"
        "clean = subprocess.run(['git', 'diff', '--cached', '--quiet']).returncode == 0\n"
        "open('new.txt', 'w').write('x')\n"
        "subprocess.run(['git', 'add', 'new.txt'], check=True)\n"
        "sys.exit(0 if clean else 8)\n"
    )
    write_config(staged, [gate("stage", stage)])
    staged.git("add", "validation.yaml")
    shadows = staged.path / ".git" / "gatekit" / "shadows"
    env = {"GATEKIT_ISOLATION": mode, "GATEKIT_NO_DAEMON": "1"}
    for n in range(2):
        _, doc = check_json(staged, "--staged", "--no-cache", "--no-record", env=env, expect=0)
        assert outcomes(doc) == {"stage": "passed"}, (n, doc["gates"])
        if mode == "overlay":
            assert not (shadows / "s0.clean").exists()
