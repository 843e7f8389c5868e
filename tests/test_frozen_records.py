"""The hot path's frozen records give the same JSON as their pydantic twins (which
generate the schemas), and a check with a cached plan imports neither pydantic nor
jsonschema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from check_support import check_json, gate, write_config
from conftest import Repo
from pydantic import BaseModel

from gatekit import canonical, results
from gatekit.config.loader import load_config
from gatekit.frozen import Record, RecordError, record_defaults
from gatekit.plan import model as plan_model
from gatekit.plan.compile import compile_plan, make_context
from gatekit.schemamodels import plan as plan_twin
from gatekit.schemamodels import results as results_twin

PAIRS = [
    (getattr(mod, name), getattr(twin, name))
    for mod, twin in ((plan_model, plan_twin), (results, results_twin))
    for name in dir(twin)
    if isinstance(getattr(twin, name), type)
    and issubclass(getattr(twin, name), BaseModel)
    and getattr(twin, name).__module__ == twin.__name__
    and name not in ("Frozen", "Rec")
]


@pytest.mark.parametrize(("record", "twin"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_record_has_the_twins_fields_and_defaults(
    record: type[Record], twin: type[BaseModel]
) -> None:
    assert list(record.__fields__) == list(twin.model_fields), record.__name__
    defaults = record_defaults(record)
    for name, info in twin.model_fields.items():
        if info.is_required():
            assert name not in defaults, name
        elif info.default_factory is not None:
            assert _dump(defaults[name]) == _dump(info.default_factory()), name  # type: ignore[call-arg]
        else:
            assert defaults[name] == info.default, name


def _dump(value: object) -> object:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def test_a_real_plan_is_byte_for_byte_its_twins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "validation.yaml").write_text(
        "extends: gatekit:strict\n"
        "defaults: {timeout: 600, watchdog: 300}\n"
        "gates:\n"
        "  - id: t\n"
        "    session: {run: ['true'], deps: [x]}\n"
        "    limits: {memory: 1G, cpu: 2 cores}\n"
        "    kpi: {file: m.json, checks: [{metric: c, op: '>=', value: 1}]}\n"
    )
    loaded = load_config(tmp_path)
    plan = compile_plan(loaded, make_context(loaded.config, "ci", "main", ["a.py"], {"X": "1"}))
    text = plan.canonical_json()
    twin = plan_twin.GatePlan.model_validate_json(text, strict=False)
    assert canonical.dumps(twin.model_dump(mode="json")) == text
    again = plan_model.GatePlan.from_json(text)
    assert again == plan and again.canonical_json() == text
    assert canonical.digest(again.body()) == plan.plan_id


def test_a_real_result_is_byte_for_byte_its_twins(repo: Repo) -> None:
    write_config(repo, [gate("ok", "pass"), gate("bad", "raise SystemExit(3)")])
    repo.write("a.txt", "a\n")
    repo.git("add", "a.txt")
    proc, doc = check_json(repo, "--staged", expect=1)
    text = proc.stdout
    record = results.RunResult.model_validate_json(text)
    twin = results_twin.RunResult.model_validate_json(text)
    assert record.model_dump_json(indent=2) == twin.model_dump_json(indent=2)
    assert record.model_dump_json() == twin.model_dump_json()
    assert json.loads(record.model_dump_json()) == doc


def test_a_record_refuses_what_it_does_not_know() -> None:
    with pytest.raises(RecordError, match="unknown fields"):
        results.Cost.model_validate({"wall": 1, "extra": 2})
    with pytest.raises(RecordError):
        results.Attempt.model_validate({"number": 1, "outcome": "nonsense", "duration": 0})
    assert results.Cost(wall=1).model_dump(mode="json")["wall"] == 1.0


def test_a_cached_check_imports_neither_pydantic_nor_jsonschema(repo: Repo) -> None:
    write_config(repo, [gate("ok", "pass")])
    repo.write("a.txt", "a\n")
    repo.git("add", "a.txt")
    check_json(repo, "--staged", expect=0)  # compiles and caches the plan
    probe = (
        # main() is what the gatekit command runs before it ends the process at once
        "import sys\n"
        "from gatekit.cli import main\n"
        "code = main(['check', '--staged', '--plain'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'jsonschema', 'yaml'))\n"
        "print('HEAVY', heavy, code)"
    )
    env = {**os.environ, "GATEKIT_NO_DAEMON": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "HEAVY [] 0" in proc.stdout, proc.stdout + proc.stderr


def test_a_record_is_frozen_compared_by_value_and_copied_with_updates() -> None:
    cost = results.Cost(wall=1)
    with pytest.raises(AttributeError, match="frozen"):
        cost.wall = 2.0  # type: ignore[misc]
    assert cost == results.Cost(wall=1.0) and hash(cost) == hash(results.Cost(wall=1.0))
    assert cost.model_copy(update={"cpu_user": 2}) == results.Cost(wall=1.0, cpu_user=2.0)
    gate = plan_model.GateLimits()
    assert gate.model_copy() == gate and gate.model_copy() is not gate
    with pytest.raises(TypeError, match="missing field 'wall'"):
        results.Cost()  # type: ignore[call-arg]


PROBES: tuple[object, ...] = (1, 2.5, "x", None, True, [1, "a"], ("b",), {"k": "v"}, {"k": 1})


def _applied(convert: object, value: object) -> object:
    if convert is None:
        return ("kept", value)
    try:
        out = convert(value)  # type: ignore[operator]
    except (TypeError, ValueError) as exc:
        return ("refused", type(exc).__name__)
    return ("made", type(out).__name__, out)


@pytest.mark.parametrize(("record", "twin"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_annotations_read_without_evaluation_convert_as_the_evaluated_types(
    record: type[Record], twin: type[BaseModel]
) -> None:
    """``frozen._plain`` reads common annotations as written (no compile of the string); for
    each it must convert every probe value exactly as the converter of the evaluated type."""
    import typing

    from gatekit import frozen

    hints = typing.get_type_hints(record)
    written = frozen._annotations(record)
    for name in record.__fields__:
        known, fast = frozen._plain(written[name])
        if not known:
            continue
        slow = frozen._converter(hints[name])
        for value in PROBES:
            assert _applied(fast, value) == _applied(slow, value), (name, written[name], value)
    assert all(
        frozen._plain(a)[0] for a in ("str", "int | None", "tuple[str, ...]", "dict[str, str]")
    )
    assert not any(frozen._plain(a)[0] for a in ("Outcome", "tuple[Finding, ...]", "int | float"))
