"""schemas/*.json: generated from the models, committed, valid 2020-12, in agreement with the loader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT

from gatekit.config.loader import load_config
from gatekit.config.yamlsource import load_yaml
from gatekit.errors import ConfigError
from gatekit.schemagen import render, schemas

SCHEMAS = ROOT / "schemas"
NAMES = ("validation.schema.json", "plan.schema.json", "result.schema.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


def test_schemagen_check_passes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gatekit.schemagen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", NAMES)
def test_committed_schema_is_what_the_models_generate(name: str) -> None:
    assert (SCHEMAS / name).read_text(encoding="utf-8") == render(schemas()[name]), (
        f"{name} drifted: run python -m gatekit.schemagen"
    )


def test_check_fails_when_a_model_changes_without_regenerating(tmp_path: Path) -> None:
    """A copy of the package with one more field in the models: --check must fail."""
    shutil.copytree(
        ROOT / "gatekit", tmp_path / "gatekit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    models = tmp_path / "gatekit" / "config" / "models.py"
    text = models.read_text(encoding="utf-8")
    anchor = "    pool: str | None = None\n"
    assert anchor in text
    models.write_text(
        text.replace(anchor, anchor + "    priority: int | None = None\n"), encoding="utf-8"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gatekit.schemagen", "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "validation.schema.json" in proc.stderr
    assert "python -m gatekit.schemagen" in proc.stderr


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_draft_2020_12(name: str) -> None:
    schema = _schema(name)
    assert schema["$schema"] == DIALECT
    assert schema["$id"].endswith(name)
    jsonschema.Draft202012Validator.check_schema(schema)


POLICIES = sorted((ROOT / "policies").glob("*.yaml"))


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
def test_policies_validate_against_the_schema(policy: Path) -> None:
    text = policy.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/validation.schema.json")
    doc = load_yaml(text, policy.name)
    assert doc.issues == []
    jsonschema.Draft202012Validator(_schema("validation.schema.json")).validate(doc.data)
    assert isinstance(doc.data["policy_version"], str)
    assert isinstance(doc.data["effective"], str)


def test_policies_are_valid_configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for policy in POLICIES:
        (tmp_path / "validation.yaml").write_text(f"extends: gatekit:{policy.stem}\n")
        loaded = load_config(tmp_path)
        assert loaded.config.gates
        assert loaded.policies[-2].name == f"gatekit:{policy.stem}"


VALID = [
    "",
    "version: 1\ngates: []\n",
    "gates:\n  - {id: lint, nox: lint, timeout: 30}\n",
    "gates:\n  - {id: lint, nox: lint, timeout: 2.5, enabled: false, required: true}\n",
    "defaults: {timeout: 10m, jobs: auto, network: false}\n",
    "defaults: {jobs: 4}\ngates:\n  - {id: s, builtin: secrets, options: {max_kb: 500, strict: true, names: [a, b]}}\n",
    "gates:\n  - id: e2e\n    type: conditional\n    when: {changed: ['web/**'], env: RUN_E2E, event: [ci], branch: [main]}\n    nox: e2e\n",
    "gates:\n  - id: t\n    session: {python: '3.12', deps: [pytest], run: [pytest]}\n    kpi: {file: m.json, checks: [{metric: cov, op: '>=', value: 1}]}\n",
    "gates:\n  - {id: r, type: manual, instructions: Read it.}\n",
    "extends: [gatekit:default]\npolicy_version: '1'\neffective: '2026-01-01'\n",
]

INVALID = [
    ("quoted integer", "gates:\n  - {id: a, nox: a, retries: {transient: '3'}}\n"),
    ("quoted boolean", "gates:\n  - {id: a, nox: a, enabled: 'true'}\n"),
    ("yes is not a boolean", "gates:\n  - {id: a, nox: a, enabled: yes}\n"),
    ("boolean for an integer", "defaults: {jobs: true}\n"),
    ("unknown top-level key", "gate: []\n"),
    ("unknown gate key", "gates:\n  - {id: a, nox: a, timout: 5}\n"),
    ("unknown type", "gates:\n  - {id: a, nox: a, type: sometimes}\n"),
    ("unknown event", "gates:\n  - {id: a, nox: a, type: conditional, when: {event: [push]}}\n"),
    ("session without run", "gates:\n  - {id: a, session: {deps: [x]}}\n"),
    ("empty run", "gates:\n  - {id: a, session: {run: []}}\n"),
    ("gate id with a space", "gates:\n  - {id: 'a b', nox: a}\n"),
    ("missing id", "gates:\n  - {nox: a}\n"),
    ("gates not a list", "gates: {a: {nox: a}}\n"),
    ("version 2", "version: 2\n"),
    (
        "kpi op",
        "gates:\n  - {id: a, nox: a, kpi: {file: m, checks: [{metric: c, op: '=>', value: 1}]}}\n",
    ),
    ("retries out of range", "gates:\n  - {id: a, nox: a, retries: {flaky: 11}}\n"),
    ("extends a number", "extends: 5\n"),
    ("policy_version a number", "policy_version: 1.5\n"),
    ("top level list", "- a\n"),
]

# Rules only the loader can check (the schema is looser here, by design).
LOADER_ONLY = [
    "gates:\n  - {id: a, nox: a, needs: [b]}\n",
    "gates:\n  - {id: a, nox: a, timeout: 10 minutes}\n",
    "gates:\n  - {id: a}\n",
    "gates:\n  - {id: a, nox: a, paths: ['/abs']}\n",
    "gates:\n  - {id: a, nox: a}\n  - {id: a, nox: b}\n",
    "effective: '2026-02-30'\n",
]


def _both(text: str, tmp_path: Path) -> tuple[bool, bool]:
    doc = load_yaml(text, "validation.yaml")
    validator = jsonschema.Draft202012Validator(_schema("validation.schema.json"))
    schema_ok = not doc.issues and validator.is_valid(doc.data)
    (tmp_path / "validation.yaml").write_text(text)
    try:
        load_config(tmp_path)
        loader_ok = True
    except ConfigError:
        loader_ok = False
    return schema_ok, loader_ok


@pytest.mark.parametrize("text", VALID)
def test_schema_and_loader_accept(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _both(text, tmp_path) == (True, True)


@pytest.mark.parametrize(("why", "text"), INVALID, ids=[w for w, _ in INVALID])
def test_schema_and_loader_reject(
    why: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _both(text, tmp_path) == (False, False), why


@pytest.mark.parametrize("text", LOADER_ONLY)
def test_loader_is_stricter_than_the_schema(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _both(text, tmp_path) == (True, False)


def test_plan_schema_accepts_a_real_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.plan.compile import compile_plan, make_context

    monkeypatch.chdir(tmp_path)
    (tmp_path / "validation.yaml").write_text("extends: gatekit:strict\n")
    loaded = load_config(tmp_path)
    plan = compile_plan(loaded, make_context(loaded.config, "ci", "main", ["a.py"], {}))
    jsonschema.Draft202012Validator(_schema("plan.schema.json")).validate(
        json.loads(plan.canonical_json())
    )
