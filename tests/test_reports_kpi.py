"""KPI checks: ops, dotted metrics, missing file or metric, non-numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekit.config.models import KpiCheck, KpiSpec
from gatekit.reports.kpi import evaluate_kpi


def spec(*checks: tuple[str, str, float], file: str = "metrics.json") -> KpiSpec:
    return KpiSpec(file=file, checks=[KpiCheck(metric=m, op=op, value=v) for m, op, v in checks])  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "metrics.json").write_text(
        json.dumps(
            {
                "coverage": {"total": 0.91, "line.rate": 0.8},
                "ms": 120,
                "runs": [{"p95": 3}],
                "flag": True,
                "name": "x",
                "errors": 0,
            }
        )
    )
    return tmp_path


@pytest.mark.parametrize(
    ("op", "value", "passed"),
    [
        (">=", 0.91, True),
        (">=", 0.92, False),
        ("<=", 0.91, True),
        ("<=", 0.9, False),
        ("==", 0.91, True),
        ("==", 0.9, False),
        ("<", 1, True),
        ("<", 0.91, False),
        (">", 0.9, True),
        (">", 0.91, False),
    ],
)
def test_ops(root: Path, op: str, value: float, passed: bool) -> None:
    (result,) = evaluate_kpi(root, spec(("coverage.total", op, value)))
    assert result.passed is passed
    assert result.value == 0.91 and result.threshold == float(value) and result.op == op
    assert ("met" if passed else "not met") in result.reason


def test_dotted_paths(root: Path) -> None:
    results = evaluate_kpi(
        root,
        spec(
            ("ms", "<=", 200),
            ("runs.0.p95", "<", 5),
            ("coverage.line.rate", ">=", 0.8),
            ("errors", "==", 0),
        ),
    )
    assert [r.passed for r in results] == [True, True, True, True]


def test_missing_file_fails_every_check(tmp_path: Path) -> None:
    results = evaluate_kpi(tmp_path, spec(("a", ">=", 1), ("b", "<", 2), file="out/metrics.json"))
    assert [r.passed for r in results] == [False, False]
    assert all(
        r.reason == "metrics file out/metrics.json declared but not produced" for r in results
    )
    assert all(r.value is None for r in results)


def test_missing_metric_and_non_numbers(root: Path) -> None:
    missing, flag, name, nested = evaluate_kpi(
        root,
        spec(
            ("coverage.branch", ">=", 0.5),
            ("flag", "==", 1),
            ("name", "==", 1),
            ("coverage", ">", 0),
        ),
    )
    assert (
        not missing.passed
        and missing.reason
        == "metric coverage.branch declared but not produced (not in metrics.json)"
    )
    assert not flag.passed and "not a number: bool" in flag.reason
    assert not name.passed and "not a number: str" in name.reason
    assert not nested.passed and "not a number: dict" in nested.reason


def test_invalid_json_and_escaping_file(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text("{nope")
    (result,) = evaluate_kpi(tmp_path, spec(("a", ">=", 1)))
    assert not result.passed and "not valid JSON" in result.reason
    (result,) = evaluate_kpi(tmp_path, spec(("a", ">=", 1), file="../metrics.json"))
    assert not result.passed and "outside the repository" in result.reason
