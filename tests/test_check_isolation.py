"""Gates never see each other's writes (issue 10, item 3), through ``gatekit check``.

Each gate that runs commands gets its own copy-on-write view of the shadow (overlayfs
in a mount namespace), or, where that is not available, takes turns in the shadow
(``GATEKIT_ISOLATION=exclusive`` forces that mode here).
"""

from __future__ import annotations

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
