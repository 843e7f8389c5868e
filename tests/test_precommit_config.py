"""A .pre-commit-config.yaml as gates: with no validation.yaml, and with extends: pre-commit."""

from __future__ import annotations

import json

from conftest import Repo

CONFIG = """repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
    -   id: check-yaml
    -   id: check-yaml
        args: [--unsafe]
    -   id: end-of-file-fixer
        stages: [pre-push]
    -   id: trailing-whitespace
        stages: [commit-msg]
"""


def _plan(repo: Repo, *args: str) -> dict[str, dict[str, object]]:
    proc = repo.gatekit("plan", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return {g["id"]: g for g in json.loads(proc.stdout)["gates"]}


def test_no_validation_yaml_runs_default_policy_and_every_hook(repo: Repo) -> None:
    repo.write(".pre-commit-config.yaml", CONFIG)
    repo.commit("hooks")
    gates = _plan(repo, "--event", "pre-commit")
    assert gates["secrets"]["runner"] == "builtin"  # the default policy is still there
    assert gates["check-yaml"]["pre_commit"] == "check-yaml"
    assert gates["check-yaml"]["runner"] == "pre-commit"
    assert gates["check-yaml-2"]["pre_commit"] == "check-yaml#2"
    assert "hook number 2 with this id, so gate id 'check-yaml-2'" in str(
        gates["check-yaml-2"]["description"]
    )
    assert gates["end-of-file-fixer"]["decision"] == "skip"  # stage pre-push
    assert "event 'pre-commit' is not one of ['pre-push']" in str(
        gates["end-of-file-fixer"]["reason"]
    )
    assert gates["trailing-whitespace"]["decision"] == "skip"
    assert gates["trailing-whitespace"]["reason"] == (
        "disabled in the configuration (enabled: false)"
    )
    assert _plan(repo, "--event", "pre-push")["end-of-file-fixer"]["decision"] == "run"


def test_extends_pre_commit_lets_gates_override_hooks_by_id(repo: Repo) -> None:
    repo.write(".pre-commit-config.yaml", CONFIG)
    repo.write(
        "validation.yaml",
        "version: 1\nextends: pre-commit\ngates:\n"
        "  - {id: check-yaml, timeout: 30s, required: false}\n"
        "  - {id: check-yaml-2, enabled: false}\n",
    )
    repo.commit("hooks")
    gates = _plan(repo)
    assert "secrets" not in gates  # only what it extends
    assert gates["check-yaml"]["timeout"] == 30.0
    assert gates["check-yaml"]["required"] is False
    assert gates["check-yaml"]["pre_commit"] == "check-yaml"
    assert gates["check-yaml-2"]["decision"] == "skip"


def test_a_pre_commit_gate_with_another_runner_is_a_config_error(repo: Repo) -> None:
    repo.write(".pre-commit-config.yaml", CONFIG)
    repo.write(
        "validation.yaml",
        "version: 1\ngates:\n  - id: x\n    pre-commit: check-yaml\n    builtin: secrets\n",
    )
    repo.commit("hooks")
    proc = repo.gatekit("plan")
    assert proc.returncode != 0
    assert (
        "validation.yaml:4:5: gates[0].pre-commit: a gate runs one way only:"
        " choose one of 'builtin', 'pre-commit'"
    ) in proc.stderr


def test_adding_a_pre_commit_config_later_is_seen_by_the_plan_cache(repo: Repo) -> None:
    assert "check-yaml" not in _plan(repo)
    repo.write(".pre-commit-config.yaml", CONFIG)
    assert _plan(repo)["check-yaml"]["runner"] == "pre-commit"
    (repo.path / ".pre-commit-config.yaml").unlink()
    assert "check-yaml" not in _plan(repo)


def _explain(repo: Repo, *args: str) -> dict[str, list[str]]:
    """gate id -> the lines ``plan --explain`` prints under it."""
    proc = repo.gatekit("plan", "--explain", *args)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, list[str]] = {}
    current = ""
    for line in proc.stdout.splitlines():
        words = line.split()
        if line.startswith("  ") and words[0] in ("run", "skip", "manual"):
            current = words[1]
            out[current] = [line]
        elif current:
            out[current].append(line.strip())
    return out


def test_plan_explain_names_the_hook_its_filters_stages_and_why(repo: Repo) -> None:
    repo.write(".pre-commit-config.yaml", CONFIG)
    repo.commit("hooks")
    shown = _explain(repo, "--event", "pre-commit", "--changed", "a.yaml")
    assert "pre-commit hook check-yaml" in shown["check-yaml"][0]
    assert shown["check-yaml"][1] == "why: auto: runs on every check"
    # not resolved yet (nothing is cloned to plan): the entry as the config has it
    assert shown["check-yaml-2"][2] == (
        "hook check-yaml of repo https://github.com/pre-commit/pre-commit-hooks rev v6.0.0;"
        " filters: none (every file) as configured (its repository's manifest may add more:"
        " a check resolves it); stages: any"
    )
    assert shown["end-of-file-fixer"][1] == ("why: event 'pre-commit' is not one of ['pre-push']")
    assert shown["end-of-file-fixer"][2].endswith("stages: pre-push")
    assert shown["trailing-whitespace"][1] == "why: disabled in the configuration (enabled: false)"
    assert shown["trailing-whitespace"][2].endswith(
        "stages: commit-msg (none is a stage gatekit runs: commit, manual, pre-commit,"
        " pre-push, push; so the gate never runs)"
    )


LOCAL_HOOKS = """files: ^src/
repos:
-   repo: local
    hooks:
    -   id: no-print
        name: no-print
        language: pygrep
        entry: 'print\\('
        types: [python]
        exclude: ^src/gen/
    -   id: docs
        name: docs
        language: pygrep
        entry: 'TODO'
        files: '[.]md$'
        stages: [pre-push, pre-commit]
"""


def test_plan_explain_after_a_check_shows_the_resolved_hook_and_its_files(repo: Repo) -> None:
    repo.write(".pre-commit-config.yaml", LOCAL_HOOKS)
    repo.write("src/a.py", "x = 1\n")
    repo.write("src/gen/b.py", "x = 2\n")
    repo.write("src/c.txt", "text\n")
    repo.commit("hooks")
    assert repo.gatekit("check", "--all").returncode == 0  # resolves the hooks
    changed = ("--changed", "src/a.py", "src/gen/b.py", "src/c.txt", "README.md")
    shown = _explain(repo, "--event", "pre-commit", *changed)
    assert shown["no-print"][2] == (
        "hook no-print of repo local, language pygrep; filters: exclude '^src/gen/',"
        " types ['python'], top-level files '^src/'; stages: any;"
        " runs: 1 of the 4 changed files pass its filters"
    )
    assert shown["docs"][2] == (
        "hook docs of repo local, language pygrep; filters: files '[.]md$', top-level files"
        " '^src/'; stages: pre-push, pre-commit; none of the 4 changed files pass its"
        " filters: it passes without running"
    )
    shown = _explain(repo, "--event", "pre-commit", "--all")
    assert shown["no-print"][2].endswith("runs: 1 of the 5 files pass its filters")
