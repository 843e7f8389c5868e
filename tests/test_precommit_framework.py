"""The real pre-commit runs gatekit from a local clone of this repository through
.pre-commit-hooks.yaml: ``pre-commit try-repo``, and a commit refused by a failing gate.

The clone holds this working tree as one commit (what a user gets from a tag);
pre-commit builds the hook's environment from it and the package index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Repo, git, wheelhouse_env

pytestmark = pytest.mark.slow


def _source_clone(tmp: Path) -> tuple[Path, str]:
    """This working tree (tracked and untracked, not ignored files) as a one-commit repo."""
    dst = tmp / "gatekit-src"
    dst.mkdir()
    proc = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if proc.returncode == 0:
        names = [n.decode() for n in proc.stdout.split(b"\0") if n]
    else:  # an unpacked sdist: everything but caches and environments
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not {".venv", "__pycache__", ".git"} & set(p.parts)
        ]
    for name in names:
        src = ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", "gatekit")
    git(dst, "tag", "v0-test")
    return dst, "v0-test"


def _env(home: Path, house: Path) -> dict[str, str]:
    """pre-commit's pip builds the hook's environment from the run's wheelhouse."""
    env = dict(wheelhouse_env(house), PRE_COMMIT_HOME=str(home), GATEKIT_NO_DAEMON="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _pre_commit(
    repo: Repo, *args: str, home: Path, house: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=_env(home, house),
        check=False,
        timeout=900,
    )


def test_pre_commit_runs_gatekit_and_refuses_a_failing_commit(
    repo: Repo, tmp_path: Path, wheelhouse: Path
) -> None:
    src, rev = _source_clone(tmp_path)
    home = tmp_path / "pre-commit-home"
    repo.write("bad.json", '{"a": \n')
    repo.git("add", "bad.json")
    tried = _pre_commit(
        repo, "try-repo", str(src), "gatekit", "--ref", rev, home=home, house=wheelhouse
    )
    out = tried.stdout + tried.stderr
    assert tried.returncode == 1, out
    assert "gatekit" in out and "Failed" in out
    assert "bad.json:2" in out  # gatekit's parse-json finding, through pre-commit

    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {src}\n    rev: {rev}\n    hooks:\n      - id: gatekit\n",
    )
    repo.git("add", ".pre-commit-config.yaml")
    installed = _pre_commit(repo, "install", home=home, house=wheelhouse)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    head = repo.git("rev-parse", "HEAD").strip()
    env = _env(home, wheelhouse)
    commit = subprocess.run(
        ["git", "commit", "-q", "-m", "broken json"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    assert commit.returncode == 1, commit.stdout + commit.stderr
    assert "bad.json:2" in commit.stdout + commit.stderr
    assert repo.git("rev-parse", "HEAD").strip() == head  # refused
    repo.write("bad.json", '{"a": 1}\n')
    repo.git("add", "bad.json")
    commit = subprocess.run(
        ["git", "commit", "-q", "-m", "fixed json"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert repo.git("rev-parse", "HEAD").strip() != head
