"""KPI checks: thresholds on numbers in a metrics JSON file a gate writes.

A missing file, a missing metric or a value that is not a number is a failed
:class:`KpiResult` with a reason, never a silent pass.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekit.builtins._files import check_relative, resolve_inside
from gatekit.errors import UnsafePathError
from gatekit.plan.model import KpiCheck, KpiSpec
from gatekit.results import KpiResult

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}

_MISSING = object()


def lookup(data: Any, metric: str) -> Any:
    """The value at a dotted path (``coverage.total``; list items by index: ``runs.0.ms``).

    A key containing dots is found whole first (``{"line.rate": 0.9}``).
    """
    if isinstance(data, dict) and metric in data:
        return data[metric]
    head, dot, rest = metric.partition(".")
    if isinstance(data, dict):
        node = data.get(head, _MISSING)
    elif isinstance(data, list) and head.isdigit() and int(head) < len(data):
        node = data[int(head)]
    else:
        return _MISSING
    if node is _MISSING or not dot:
        return node
    return lookup(node, rest)


def _failed(check: KpiCheck, reason: str, value: float | None = None) -> KpiResult:
    return KpiResult(
        metric=check.metric,
        op=check.op,
        threshold=float(check.value),
        value=value,
        passed=False,
        reason=reason,
    )


def evaluate_kpi(root: Path, spec: KpiSpec) -> tuple[KpiResult, ...]:
    """One result per check of ``spec``, reading ``root / spec.file``."""
    try:
        rel = check_relative(spec.file)
    except UnsafePathError:
        return tuple(
            _failed(c, f"metrics file {spec.file!r} is outside the repository") for c in spec.checks
        )
    real = resolve_inside(root, rel)
    if real is None:
        return tuple(
            _failed(c, f"metrics file {rel} declared but not produced") for c in spec.checks
        )
    try:
        data = json.loads(real.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = f"metrics file {rel} is not valid JSON: {exc}"
        return tuple(_failed(c, reason) for c in spec.checks)
    return tuple(evaluate_check(data, c, rel) for c in spec.checks)


def evaluate_check(data: Any, check: KpiCheck, file: str = "metrics") -> KpiResult:
    raw = lookup(data, check.metric)
    if raw is _MISSING:
        return _failed(check, f"metric {check.metric} declared but not produced (not in {file})")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return _failed(check, f"metric {check.metric} is not a number: {type(raw).__name__}")
    value = float(raw)
    if math.isnan(value) or math.isinf(value):
        return _failed(check, f"metric {check.metric} is not a finite number", None)
    threshold = float(check.value)
    passed = OPS[check.op](value, threshold)
    verdict = "met" if passed else "not met"
    return KpiResult(
        metric=check.metric,
        op=check.op,
        threshold=threshold,
        value=value,
        passed=passed,
        reason=f"{check.metric} = {value:g}, required {check.op} {threshold:g}: {verdict}",
    )
