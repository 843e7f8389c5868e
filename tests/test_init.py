"""gatekit init: a validation.yaml from what the repository already has."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Repo
from precommit_support import HOOKS_BUNDLE, clone_bundle

NOXFILE = """import nox

@nox.session(python=False)
def lint(session):
    session.run("true")

@nox.session(python=False)
def tests(session):
    session.run("true")
"""


def _plan_ids(repo: Repo) -> dict[str, dict[str, object]]:
    proc = repo.gatekit("plan", "--json")
    assert proc.returncode == 0, proc.stderr
    return {g["id"]: g for g in json.loads(proc.stdout)["gates"]}


def _commit(repo: Repo, path: str, text: str, message: str) -> subprocess.CompletedProcess[str]:
    """Write and stage ``path``, then ``git commit`` (the hook gatekit installed runs)."""
    repo.write(path, text)
    repo.git("add", path)
    return subprocess.run(
        ["git", "commit", "-q", "-m", message], cwd=repo.path, capture_output=True, text=True
    )


def test_from_pre_commit_config(repo: Repo) -> None:
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n-   repo: local\n    hooks:\n    -   id: hi\n        name: hi\n"
        "        entry: 'true'\n        language: system\n",
    )
    repo.commit("hooks")
    proc = repo.gatekit("init")
    assert proc.returncode == 0, proc.stderr
    text = (repo.path / "validation.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert "extends: [gatekit:default, pre-commit]" in text
    gates = _plan_ids(repo)
    assert gates["hi"]["pre_commit"] == "hi" and "secrets" in gates


def test_from_noxfile(repo: Repo) -> None:
    repo.write("noxfile.py", NOXFILE)
    repo.commit("nox")
    proc = repo.gatekit("init", "--stdout")
    assert proc.returncode == 0, proc.stderr
    assert "# from noxfile.py: nox session 'lint'" in proc.stdout
    assert not (repo.path / "validation.yaml").exists()
    repo.write("validation.yaml", proc.stdout)
    gates = _plan_ids(repo)
    assert gates["lint"]["nox"] == "lint" and gates["tests"]["nox"] == "tests"


def test_from_pyproject_tools(repo: Repo) -> None:
    repo.write("pyproject.toml", "[tool.ruff]\nline-length = 100\n[tool.mypy]\nstrict = true\n")
    repo.commit("tools")
    assert repo.gatekit("init").returncode == 0
    gates = _plan_ids(repo)
    assert gates["ruff"]["session"]["run"] == ["ruff check ."]  # type: ignore[index]
    assert gates["mypy"]["runner"] == "session"
    assert "pytest" not in gates


def test_refuses_to_overwrite(repo: Repo) -> None:
    repo.write("validation.yaml", "version: 1\n")
    proc = repo.gatekit("init")
    assert proc.returncode == 2
    assert "validation.yaml exists: gatekit init never overwrites it" in proc.stderr
    assert (repo.path / "validation.yaml").read_text() == "version: 1\n"


@pytest.mark.slow
def test_pre_commit_user_switches_and_commit_runs_hooks_through_gatekit(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit's hook is set aside, not chained (its hooks are the gates: they would
    run twice); the hook pre-commit had chained before its own still runs first."""
    import subprocess
    import sys

    hooks = clone_bundle(HOOKS_BUNDLE, tmp_path / "pre-commit-hooks")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pch"))
    count = tmp_path / "count"
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n-   repo: {hooks}\n    rev: v6.0.0\n    hooks:\n    -   id: check-yaml\n"
        "-   repo: local\n    hooks:\n    -   id: count\n        name: count\n"
        f"        entry: sh -c 'echo ran >> {count}'\n        language: system\n"
        "        pass_filenames: false\n        always_run: true\n",
    )
    repo.commit("hooks")
    hooks_dir = repo.path / ".git" / "hooks"
    mine = hooks_dir / "pre-commit"  # the user's own hook, from before pre-commit
    mine.write_text('#!/bin/sh\necho mine ran >> "$(git rev-parse --git-dir)/mine.log"\n')
    mine.chmod(0o755)
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=repo.path, check=True, text=True
    )
    assert "echo mine ran" in (hooks_dir / "pre-commit.legacy").read_text()  # pre-commit's chain
    proc = repo.gatekit("init", "--hook")
    assert proc.returncode == 2 and "rerun with --force" in proc.stderr
    assert "pre-commit.pre-commit-framework" in proc.stderr
    (repo.path / "validation.yaml").unlink()
    proc = repo.gatekit("init", "--hook", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "pre-commit's pre-commit hook set aside as" in proc.stdout
    assert "would run each of them twice" in proc.stdout
    assert f"{hooks_dir / 'pre-commit.legacy'} runs first" in proc.stdout
    repo.git("add", "validation.yaml")
    commit = _commit(repo, "bad.yaml", "a: [1\n", "bad")
    assert commit.returncode != 0
    assert "check-yaml" in commit.stdout + commit.stderr
    assert "migration mode" not in commit.stdout + commit.stderr
    assert count.read_text() == "ran\n"  # each hook once: pre-commit's own did not run
    assert (repo.path / ".git" / "mine.log").read_text() == "mine ran\n"
    commit = _commit(repo, "bad.yaml", "a: [1]\n", "good")
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert count.read_text() == "ran\nran\n"
    assert (repo.path / ".git" / "mine.log").read_text() == "mine ran\nmine ran\n"
    assert "gatekit" in (hooks_dir / "pre-commit").read_text()
    assert "pre-commit.com" in (hooks_dir / "pre-commit.pre-commit-framework").read_text()
    assert "echo mine ran" in (hooks_dir / "pre-commit.legacy").read_text()


def test_init_hook_force_chains_a_hook_that_is_not_pre_commits(repo: Repo) -> None:
    repo.write(
        ".pre-commit-config.yaml",
        "repos:\n-   repo: local\n    hooks:\n    -   id: no-fixme\n        name: no-fixme\n"
        "        entry: FIXME\n        language: pygrep\n",
    )
    repo.commit("hooks")
    hooks_dir = repo.path / ".git" / "hooks"
    mine = hooks_dir / "pre-commit"
    mine.write_text('#!/bin/sh\necho mine ran >> "$(git rev-parse --git-dir)/mine.log"\n')
    mine.chmod(0o755)
    proc = repo.gatekit("init", "--hook", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "set aside" not in proc.stdout
    assert f"{hooks_dir / 'pre-commit.legacy'} runs first, before gatekit" in proc.stdout
    repo.git("add", "validation.yaml")
    commit = _commit(repo, "notes.txt", "FIXME later\n", "fixme")
    assert commit.returncode != 0
    assert "no-fixme" in commit.stderr + commit.stdout
    assert "notes.txt:1:FIXME later" in commit.stderr + commit.stdout
    assert (repo.path / ".git" / "mine.log").read_text() == "mine ran\n"
    assert "echo mine ran" in (hooks_dir / "pre-commit.legacy").read_text()
