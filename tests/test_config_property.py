"""Random YAML fed to the loader: a clean ConfigError or a valid config, nothing else.

Three sources of documents: random nested structures dumped with
``yaml.safe_dump`` (keys drawn mostly from the configuration's own vocabulary,
so that validation goes deep), random text, and valid configurations mutated
at the data level and at the text level. A valid result must also compile into
a plan whose canonical JSON is real JSON.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekit.config.loader import LoadedConfig, load_config
from gatekit.errors import ConfigError
from gatekit.plan.compile import compile_plan, make_context

VOCABULARY = [
    "version", "extends", "policy_version", "effective", "defaults", "gates", "id", "type",
    "description", "enabled", "needs", "paths", "when", "changed", "env", "event", "branch",
    "required", "timeout", "retries", "transient", "flaky", "exit_codes", "patterns", "backoff",
    "session", "python", "deps", "run", "nox", "builtin", "options", "junit", "kpi", "file",
    "checks", "metric", "op", "value", "instructions", "pass_env", "pool", "network", "fix",
    "cache", "jobs", "<<",
]  # fmt: skip
TRICKY_STRINGS = [
    "yes", "no", "on", "off", "~", "null", "1:30", ".inf", "-.inf", ".nan", "0x1F", "0o17", "010",
    "1_000", "2026-01-01", "2026-02-30", "10m", "90s", "0s", "-5m", "auto", "manual", "conditional",
    "gatekit:default", "gatekit:nope", "gatekit:", "missing.yaml", "../x.yaml", "**/*.py", "[z-a]",
    "a/**/b", "src/**.py", "/abs", "(", "a{99999999999}", "RUN_E2E", "1BAD", ">=", "=>",
    "pre-commit", "pull_request", "lint", "tests", "", " ", "\t", "é", "\u2028",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY_STRINGS),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8))
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=30,
)
top_levels = st.one_of(
    st.dictionaries(keys, structures, max_size=8),
    st.fixed_dictionaries(
        {"gates": st.lists(st.dictionaries(keys, structures, max_size=8), max_size=5)},
        optional={"defaults": structures, "extends": structures, "version": structures},
    ),
    structures,
)

VALID: dict[str, Any] = {
    "version": 1,
    "policy_version": "1.2.0",
    "effective": "2026-01-01",
    "defaults": {"timeout": "10m", "python": "3.11", "jobs": "auto", "retries": {"transient": 1}},
    "gates": [
        {
            "id": "lint",
            "paths": ["**/*.py"],
            "session": {"deps": ["ruff"], "run": ["ruff check ."]},
        },
        {"id": "types", "needs": ["lint"], "nox": "types", "timeout": 300},
        {
            "id": "tests",
            "needs": ["lint"],
            "nox": "tests",
            "junit": "reports/*.xml",
            "kpi": {"file": "m.json", "checks": [{"metric": "coverage", "op": ">=", "value": 0.8}]},
            "retries": {"flaky": 1, "exit_codes": [75], "patterns": ["Connection reset"]},
        },
        {"id": "secrets", "builtin": "secrets", "options": {"baseline": ".secrets.baseline"}},
        {
            "id": "e2e",
            "type": "conditional",
            "when": {
                "changed": ["web/**"],
                "env": "RUN_E2E",
                "event": ["pull_request"],
                "branch": ["main"],
            },
            "nox": "e2e",
            "env": {"CI": "1"},
            "pass_env": ["DISPLAY"],
            "pool": "browser",
        },
        {
            "id": "review",
            "type": "manual",
            "instructions": "A maintainer reviews.",
            "when": {"changed": ["auth/**"]},
        },
    ],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_valid(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths or not isinstance(doc, dict):
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "duplicate"]))
        if action == "replace":
            parent[last] = draw(structures)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(last)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return doc


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(draw(mutated_valid()), sort_keys=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()) and pos < len(text):
            text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
        else:
            text = (
                text[:pos]
                + draw(st.text(alphabet="-:{}[],&*!|>'\"#%@`?\t\n <.~yn0", max_size=4))
                + text[pos:]
            )
    return text


def _dump(value: Any, flow: bool) -> str:
    return yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "validation.yaml").write_text(text, encoding="utf-8")
        try:
            loaded = load_config(root)
        except ConfigError as exc:
            assert exc.issues
            for issue in exc.issues:
                assert issue.line >= 1, issue
                assert issue.col >= 1, issue
                assert issue.message, issue
                assert len(issue.render().splitlines()) == 1, issue
                assert "Traceback" not in issue.message
            return
    assert isinstance(loaded, LoadedConfig)
    context = make_context(
        loaded.config, "pull_request", "main", ["web/a.py"], {"RUN_E2E": "1", "HOME": "/x"}
    )
    plan = compile_plan(loaded, context)
    json.loads(plan.canonical_json(), parse_constant=_no_constants)
    assert "HOME" not in plan.context.env


def _no_constants(name: str) -> Any:
    raise AssertionError(f"plan JSON holds {name}")


FAST = settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(top_levels, st.booleans())
def test_random_structures(value: Any, flow: bool) -> None:
    _check(_dump(value, flow))


@FAST
@given(mutated_valid(), st.booleans())
def test_mutated_valid_configs(value: Any, flow: bool) -> None:
    _check(_dump(value, flow))


@FAST
@given(text_mutations())
def test_mutated_valid_text(text: str) -> None:
    _check(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    _check(text)


def test_unmutated_valid_config_is_valid() -> None:
    _check(_dump(VALID, False))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "validation.yaml").write_text(_dump(VALID, False))
        assert len(load_config(Path(tmp)).config.gates) == len(VALID["gates"])
