"""Real projects from PyPI source distributions, checked as a new user would.

``tests/data/projects/`` holds trimmed copies of three sdists (see its README):
each goes into a fresh git repository with a ``validation.yaml`` running its own
test suite twice, through a ``session:`` gate that installs the project from the
candidate (``deps: [".", ...]``, toolz through ``-r requirements-test.txt``) and
through a ``nox:`` gate running the project's noxfile. pytest, the build
backends and toolz's constraint come from the package index.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from check_support import check_json, explain, gate_log, gate_of, outcomes, run_dir_of
from conftest import ROOT, Repo, git
from local_support import share_uv_cache

PROJECTS = ROOT / "tests" / "data" / "projects"


@dataclass(frozen=True)
class Project:
    name: str
    deps: tuple[str, ...]
    run: str
    count: str  # the suite's own summary, as pytest prints it run directly
    test_file: str
    original: str
    broken: str
    failing: str  # how pytest names the broken test
    tag: str | None = None  # the release tag a version plugin reads
    nox_again: bool = False  # also run the nox gate on the broken index (it takes long)


CASES = [
    Project(
        "iniconfig",
        (".", "pytest"),
        "pytest -q testing",
        "54 passed",
        "testing/test_iniconfig.py",
        'assert config.lineof("section") == 1',
        'assert config.lineof("section") == 2',
        "FAILED testing/test_iniconfig.py::test_iniconfig_lineof",
        nox_again=True,
    ),
    Project(
        "six",
        (".", "pytest"),
        "pytest -q test_six.py",
        "198 passed, 2 skipped",
        "test_six.py",
        "    assert isinstance(1, six.integer_types)",
        "    assert not isinstance(1, six.integer_types)",
        "FAILED test_six.py::test_integer_types",
    ),
    Project(
        "toolz",
        (".", "-r requirements-test.txt"),
        "pytest -q",
        "192 passed, 1 skipped",
        "toolz/tests/test_functoolz.py",
        "    assert thread_first(2, inc) == 3",
        "    assert thread_first(2, inc) == 4",
        "FAILED toolz/tests/test_functoolz.py::test_thread_first",
        tag="1.2.0",
    ),
]


@pytest.fixture(autouse=True)
def _uv_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    share_uv_cache(tmp_path_factory, monkeypatch)


def project_repo(tmp_path: Path, project: Project) -> Repo:
    path = tmp_path / project.name
    shutil.copytree(PROJECTS / project.name, path)
    git(path, "init", "-q", "-b", "main")
    repo = Repo(path)
    gates = [
        {"id": "tests", "session": {"deps": list(project.deps), "run": [project.run]}},
        {"id": "nox-tests", "nox": "tests"},
    ]
    repo.write("validation.yaml", json.dumps({"version": 1, "gates": gates}, indent=2) + "\n")
    repo.commit(f"{project.name} as released")
    if project.tag:
        repo.git("tag", project.tag)
    return repo


@pytest.mark.slow
@pytest.mark.parametrize("project", CASES, ids=[p.name for p in CASES])
def test_real_project_suite_passes_then_fails_on_a_test_broken_in_the_index(
    tmp_path: Path, project: Project
) -> None:
    repo = project_repo(tmp_path, project)
    proc, doc = check_json(repo)
    assert outcomes(doc) == {"tests": "passed", "nox-tests": "passed"}, explain(proc)
    for gid in ("tests", "nox-tests"):
        log = gate_log(proc, doc, gid)
        summary = re.compile(re.escape(project.count) + r"(, [^\n]*)? in [0-9.]+s$", re.M)
        assert summary.search(log), log[-3000:]

    # Break one test in the index only: the working tree keeps the good version.
    test_file = repo.path / project.test_file
    good = test_file.read_text()
    assert good.count(project.original) == 1
    test_file.write_text(good.replace(project.original, project.broken))
    repo.git("add", project.test_file)
    test_file.write_text(good)
    gates = ("tests", "nox-tests") if project.nox_again else ("tests",)
    proc, doc = check_json(repo, "--staged", *(f"--gate={g}" for g in gates), expect=1)
    assert {g: outcomes(doc).get(g) for g in gates} == dict.fromkeys(gates, "failed"), explain(proc)
    assert gate_of(doc, "tests")["reason"] == f"`{project.run}` exited with 1"
    if project.nox_again:
        assert gate_of(doc, "nox-tests")["reason"] == "`nox -s tests` exited with 1"
    for gid in gates:
        runbook = (run_dir_of(proc) / "reports" / f"{gid}.md").read_text()
        assert "- phase: running" in runbook
        assert project.failing in runbook, runbook
    assert test_file.read_text() == good  # the user's file untouched
