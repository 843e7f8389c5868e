"""action.yml and every workflow pass actionlint (with shellcheck) and check-jsonschema's
built-in GitHub schemas; the composite action's own steps are linted as a workflow.

Linting runs on a copy in a fresh git repository, so actionlint resolves ``uses: ./``
(and the reusable workflow's ``./.gatekit-action``) to this action.yml and checks
every ``with:`` input and ``outputs`` reference against it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, git

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def lint_repo(tmp_path: Path) -> Path:
    root = tmp_path / "lint"
    (root / ".github").mkdir(parents=True)
    shutil.copytree(ROOT / ".github" / "workflows", root / ".github" / "workflows")
    shutil.copy(ROOT / "action.yml", root / "action.yml")
    (root / ".gatekit-action").mkdir()
    shutil.copy(ROOT / "action.yml", root / ".gatekit-action" / "action.yml")
    git(root, "init", "-q")
    return root


def _actionlint(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return _run(
        _tool("actionlint"), "-oneline", "-shellcheck", _tool("shellcheck"), *files, cwd=root
    )


def test_workflows_pass_actionlint(lint_repo: Path) -> None:
    files = [f".github/workflows/{p.name}" for p in WORKFLOWS]
    assert ".github/workflows/gatekit.yml" in files and ".github/workflows/ci.yml" in files
    proc = _actionlint(lint_repo, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_checks_inputs_against_action_yml(lint_repo: Path) -> None:
    """The lint above can fail: a misspelt input of the action is reported."""
    ci = lint_repo / ".github" / "workflows" / "ci.yml"
    ci.write_text(ci.read_text().replace("push-results:", "push-result:"))
    proc = _actionlint(lint_repo, ".github/workflows/ci.yml")
    assert proc.returncode == 1
    assert 'input "push-result" is not defined in action "gatekit"' in proc.stdout


def test_the_composite_steps_pass_actionlint(lint_repo: Path) -> None:
    """The action's steps, as the job of a workflow_call workflow with the same inputs."""
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in action["inputs"].items()
    }
    doc = {
        "name": "composite-steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"steps": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    text = yaml.safe_dump(doc, sort_keys=False).replace("'on':", "on:")
    text = text.replace("${{ github.token }}", "")  # input defaults cannot use contexts here
    (lint_repo / ".github" / "workflows" / "composite.yml").write_text(text)
    proc = _actionlint(lint_repo, ".github/workflows/composite.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        ("vendor.github-actions", [ROOT / "action.yml"]),
        ("vendor.github-workflows", WORKFLOWS),
    ],
)
def test_github_schemas(schema: str, paths: list[Path]) -> None:
    proc = _run(_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_action_runs_on_node20() -> None:
    """actions/checkout@v4 and setup-python@v5 run on node20 (removed from runners 2026-09-23)."""
    text = "\n".join(p.read_text() for p in [ROOT / "action.yml", *WORKFLOWS])
    for old in ("actions/checkout@v4", "actions/setup-python@v5", "upload-artifact@v4"):
        assert old not in text


def test_pre_commit_hooks_manifest() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hooks == [hooks[0]]
    assert (
        hooks[0]
        | {
            "id": "gatekit",
            "language": "python",
            "pass_filenames": False,
            "require_serial": True,
            "always_run": True,
        }
        == hooks[0]
    )


def test_the_readme_examples_pass_actionlint(lint_repo: Path) -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## GitHub: Actions step", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    workflows = [b for b in blocks if "jobs:" in b]
    assert len(workflows) == 2
    for i, block in enumerate(workflows):
        doc = block if "\non:" in "\n" + block else "on: [pull_request]\n" + block
        (lint_repo / ".github" / "workflows" / f"readme{i}.yml").write_text(doc)
    proc = _actionlint(lint_repo, ".github/workflows/readme0.yml", ".github/workflows/readme1.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
