"""The plan: byte-identical wherever it is computed, valid against its schema, right in its decisions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT, git, run_gatekit

from gatekit.config.loader import load_config
from gatekit.plan.compile import compile_plan, make_context
from gatekit.plan.model import Decision, GatePlan

CONFIG_A = """\
version: 1
extends: gatekit:default
policy_version: "3.1"
effective: "2026-03-01"
defaults: {timeout: 10m, python: "3.12", retries: {transient: 2}}
gates:
  - id: lint
    paths: ["**/*.py"]
    session: {deps: ["ruff"], run: ["ruff check ."]}
  - id: tests
    needs: [lint]
    nox: tests
    junit: "reports/*.xml"
    kpi: {file: m.json, checks: [{metric: coverage, op: ">=", value: 0.9}]}
  - id: e2e
    type: conditional
    when: {changed: ["web/**"], env: [RUN_E2E, E2E_ALWAYS], event: [pull_request, ci]}
    nox: e2e
    pass_env: [DISPLAY]
  - id: review
    type: manual
    when: {changed: ["auth/**"]}
    instructions: A maintainer reviews changes to authentication.
"""

# The same configuration: other top-level key order, other key order inside gates and mappings.
CONFIG_B = """\
gates:
  - paths: ["**/*.py"]
    session: {run: ["ruff check ."], deps: ["ruff"]}
    id: lint
  - kpi: {checks: [{value: 0.9, op: ">=", metric: coverage}], file: m.json}
    junit: "reports/*.xml"
    nox: tests
    needs: [lint]
    id: tests
  - nox: e2e
    pass_env: [DISPLAY]
    when: {event: [pull_request, ci], env: [RUN_E2E, E2E_ALWAYS], changed: ["web/**"]}
    type: conditional
    id: e2e
  - instructions: A maintainer reviews changes to authentication.
    when: {changed: ["auth/**"]}
    type: manual
    id: review
defaults: {retries: {transient: 2}, python: "3.12", timeout: 10m}
effective: "2026-03-01"
policy_version: "3.1"
extends: gatekit:default
version: 1
"""

CONTEXT = [
    "--event",
    "pull_request",
    "--branch",
    "feature/x",
    "--changed",
    "web/app.py",
    "src/a.py",
]
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())


def _make_repo(path: Path, config: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "validation.yaml").write_text(config)
    (path / "sub" / "deeper").mkdir(parents=True)
    return path


def _plan_json(cwd: Path, *args: str, seed: str = "0", env: dict[str, str] | None = None) -> str:
    proc = run_gatekit(
        cwd, *args, "plan", "--json", *CONTEXT, env={"PYTHONHASHSEED": seed, **(env or {})}
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_plan_json_is_byte_identical_across_processes_orders_and_directories(
    tmp_path: Path,
) -> None:
    a = _make_repo(tmp_path / "one" / "repo", CONFIG_A)
    b = _make_repo(tmp_path / "elsewhere" / "other-name", CONFIG_B)
    outputs = {
        "A, seed 0, in the repo": _plan_json(a, seed="0"),
        "A, seed 4242, from a sub directory": _plan_json(a / "sub" / "deeper", seed="4242"),
        "A, random seed, -C from outside": _plan_json(tmp_path, "-C", str(a), seed="random"),
        "A, -C into a sub directory": _plan_json(tmp_path, "-C", str(a / "sub"), seed="17"),
        "B, seed 1, other key order, other place": _plan_json(b, seed="1"),
        "B, -C from /": _plan_json(Path("/"), "-C", str(b), seed="99"),
    }
    reference = outputs["A, seed 0, in the repo"]
    for name, out in outputs.items():
        assert out == reference, f"{name} differs"
    plan = json.loads(reference)
    jsonschema.Draft202012Validator(SCHEMA).validate(plan)
    assert str(tmp_path) not in reference  # no absolute path of this machine
    assert GatePlan.from_json(reference).canonical_json() + "\n" == reference


def test_plan_id_changes_when_the_config_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def plan_id(config: str) -> str:
        (tmp_path / "validation.yaml").write_text(config)
        monkeypatch.chdir(tmp_path)
        loaded = load_config(tmp_path)
        return compile_plan(
            loaded, make_context(loaded.config, "ci", "main", ["src/a.py"], {})
        ).plan_id

    first = plan_id(CONFIG_A)
    assert plan_id(CONFIG_B) == first
    assert plan_id(CONFIG_A.replace("timeout: 10m", "timeout: 11m")) != first
    assert plan_id(CONFIG_A.replace('policy_version: "3.1"', 'policy_version: "3.2"')) != first
    assert plan_id(CONFIG_A.replace("value: 0.9", "value: 0.91")) != first
    assert plan_id(CONFIG_A + "  - {id: extra, builtin: secrets, enabled: false}\n") != first


def _plan(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config: str,
    *,
    event: str = "manual",
    branch: str | None = "main",
    changed: list[str] | None = None,
    environ: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> GatePlan:
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "validation.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    loaded = load_config(tmp_path)
    context = make_context(loaded.config, event, branch, changed, environ or {})
    plan = compile_plan(loaded, context)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(plan.canonical_json()))
    return plan


def _decisions(plan: GatePlan) -> dict[str, tuple[str, str]]:
    return {g.id: (g.decision.value, g.reason) for g in plan.gates}


SEMANTICS = """\
gates:
  - id: always
    nox: always
  - id: py
    paths: ["src/**/*.py"]
    nox: py
  - id: after-py
    needs: [py]
    nox: after
  - id: e2e
    type: conditional
    when: {changed: ["web/**"], env: RUN_E2E}
    nox: e2e
  - id: nightly
    type: conditional
    required: true
    nox: nightly
  - id: release
    type: conditional
    when: {branch: ["release/*"], event: [ci]}
    builtin: secrets
  - id: review
    type: manual
    instructions: Two people read the diff.
  - id: after-review
    needs: [review]
    nox: deploy
  - id: auth-review
    type: manual
    when: {changed: ["auth/**"]}
    instructions: Security signs off.
  - id: off
    enabled: false
    nox: off
"""


def test_decisions_and_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, monkeypatch, SEMANTICS, event="pre-commit", changed=["docs/x.md"])
    assert _decisions(plan) == {
        "always": ("run", "auto: runs on every check"),
        "py": (
            "skip",
            "no changed path matches paths ['src/**/*.py']"
            " (a hook-time shortcut of event 'pre-commit'; --all runs it)",
        ),
        "after-py": ("skip", "needs 'py', which is skipped"),
        "e2e": (
            "skip",
            "when does not hold: env flag RUN_E2E not set and no changed path matches ['web/**']",
        ),
        "nightly": ("run", "required: true"),
        "release": ("skip", "event 'pre-commit' is not one of ['ci']"),
        "review": ("manual", "manual action required: Two people read the diff."),
        "after-review": ("skip", "needs 'review', which waits for a manual action"),
        "auth-review": (
            "skip",
            "no manual action needed: when does not hold: no changed path matches ['auth/**']",
        ),
        "off": ("skip", "disabled in the configuration (enabled: false)"),
    }
    assert plan.order.index("py") < plan.order.index("after-py")
    assert plan.order.index("review") < plan.order.index("after-review")
    assert {g.id: g.runner for g in plan.gates}["review"] == "manual"


def test_when_triggers_and_filters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(
        tmp_path,
        monkeypatch,
        SEMANTICS,
        event="ci",
        branch="release/1.2",
        changed=["src/pkg/a.py", "web/index.html", "auth/login.py"],
    )
    got = _decisions(plan)
    assert got["py"] == ("run", "auto: changed path 'src/pkg/a.py' matches 'src/**/*.py'")
    assert got["after-py"] == ("run", "auto: runs on every check")
    assert got["e2e"] == ("run", "when holds: changed path 'web/index.html' matches 'web/**'")
    assert got["release"] == ("run", "when holds: event 'ci', branch 'release/1.2'")
    assert got["auth-review"] == ("manual", "manual action required: Security signs off.")

    wrong_branch = _plan(tmp_path, monkeypatch, SEMANTICS, event="ci", branch="main", changed=[])
    assert _decisions(wrong_branch)["release"] == (
        "skip",
        "branch 'main' matches none of ['release/*']",
    )
    detached = _plan(tmp_path, monkeypatch, SEMANTICS, event="ci", branch=None, changed=[])
    assert _decisions(detached)["release"] == (
        "skip",
        "branch '(detached)' matches none of ['release/*']",
    )


@pytest.mark.parametrize(
    ("value", "decision"),
    [("1", "run"), ("true", "run"), ("YES", "run"), ("on", "run"), ("0", "skip"), ("", "skip")],
)
def test_env_flags(
    value: str, decision: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path, monkeypatch, SEMANTICS, changed=[], environ={"RUN_E2E": value})
    gate = plan.gate("e2e")
    assert gate.decision.value == decision
    if decision == "run":
        assert gate.reason == f"when holds: env flag RUN_E2E={value}"
    assert plan.context.env == {"RUN_E2E": value}


def test_only_named_env_flags_enter_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        "RUN_E2E": "1",
        "SECRET_TOKEN": "hunter2-do-not-leak",
        "HOME": "/home/someone",
        "PATH": "/bin",
    }
    plan = _plan(tmp_path, monkeypatch, SEMANTICS, changed=[], environ=environ)
    text = plan.canonical_json()
    assert plan.context.env == {"RUN_E2E": "1"}
    for leaked in ("SECRET_TOKEN", "hunter2", "/home/someone", "PATH"):
        assert leaked not in text
    # the same plan whatever else the environment holds
    quiet = _plan(tmp_path, monkeypatch, SEMANTICS, changed=[], environ={"RUN_E2E": "1"})
    assert quiet.canonical_json() == text


def test_unset_flags_are_absent_not_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, monkeypatch, SEMANTICS, changed=[], environ={"OTHER": "1"})
    assert plan.context.env == {}


def test_changed_unknown_runs_path_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, monkeypatch, SEMANTICS, changed=None)
    got = _decisions(plan)
    assert got["py"] == ("run", "auto: runs on every check")
    assert got["e2e"] == ("run", "when holds: changed paths unknown (every path may have changed)")
    assert plan.context.changed is None


def test_changed_paths_are_sorted_and_deduplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _plan(tmp_path, monkeypatch, SEMANTICS, changed=["b.py", "a.py", "b.py"])
    two = _plan(tmp_path, monkeypatch, SEMANTICS, changed=["a.py", "b.py"])
    assert one.context.changed == ("a.py", "b.py")
    assert one.plan_id == two.plan_id


BASE = """\
policy_version: "1.0"
effective: "2025-12-01"
defaults: {timeout: 5m, network: false}
gates:
  - id: lint
    nox: lint
    timeout: 1m
    paths: ["*.py"]
  - id: tests
    needs: [lint]
    nox: tests
"""

CHILD = """\
extends: [gatekit:default, team/base.yaml]
policy_version: "2.0"
effective: "2026-06-30"
defaults: {timeout: 20m}
gates:
  - id: lint
    timeout: 2m
  - id: secrets
    enabled: false
  - id: docs
    needs: [lint]
    builtin: parse-yaml
"""


def test_extends_merges_gates_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, monkeypatch, CHILD, changed=["x.py"], files={"team/base.yaml": BASE})
    lint = plan.gate("lint")
    assert (lint.nox, lint.timeout, lint.paths) == ("lint", 120.0, ("*.py",))  # later keys override
    assert plan.gate("tests").timeout == 1200.0  # defaults merge key by key: the later timeout
    assert plan.gate("tests").network is False  # ... and the earlier network stays
    assert plan.gate("secrets").decision is Decision.SKIP
    assert plan.gate("secrets").builtin == "secrets"
    ids = [g.id for g in plan.gates]
    assert ids.index("conflict-markers") < ids.index("lint") < ids.index("docs")
    assert len(ids) == len(set(ids))
    assert [(p.name, p.policy_version, p.effective) for p in plan.policies] == [
        ("gatekit:default", "1.0.0", "2026-11-22"),
        ("team/base.yaml", "1.0", "2025-12-01"),
        ("validation.yaml", "2.0", "2026-06-30"),
    ]


def test_policy_version_and_effective_in_the_json(tmp_path: Path) -> None:
    repo = _make_repo(tmp_path / "repo", CONFIG_A)
    plan: dict[str, Any] = json.loads(_plan_json(repo))
    assert plan["policies"] == [
        {"name": "gatekit:default", "policy_version": "1.0.0", "effective": "2026-11-22"},
        {"name": "validation.yaml", "policy_version": "3.1", "effective": "2026-03-01"},
    ]


def test_resolved_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path, monkeypatch, CONFIG_A, event="ci", changed=["src/a.py"])
    lint = plan.gate("lint")
    assert lint.runner == "session" and lint.session is not None
    assert lint.session.python == "3.12"  # defaults.python fills the session
    assert lint.timeout == 600.0
    assert lint.retries.transient == 2
    tests = plan.gate("tests")
    assert tests.junit == ("reports/*.xml",)
    assert tests.needs == ("lint",)
    assert (
        plan.gate("conflict-markers").timeout == 600.0
    )  # the child's defaults apply to inherited gates


def test_plan_json_is_independent_of_the_process_environment(tmp_path: Path) -> None:
    repo = _make_repo(tmp_path / "repo", CONFIG_A)
    plain = _plan_json(repo)
    noisy = _plan_json(
        repo, env={"UNRELATED": "1", "LC_ALL": "C", "TZ": "Asia/Tokyo", "PYTHONUTF8": "1"}
    )
    assert plain == noisy
    flagged = _plan_json(repo, env={"RUN_E2E": "1"})
    assert json.loads(flagged)["context"]["env"] == {"RUN_E2E": "1"}
    assert flagged != plain


def test_copying_the_repository_keeps_the_plan(tmp_path: Path) -> None:
    repo = _make_repo(tmp_path / "repo", CONFIG_A)
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy, symlinks=True)
    assert _plan_json(repo) == _plan_json(copy)
