"""``parse-json``: JSON files that do not parse."""

from __future__ import annotations

import json

from gatekit.builtins import BuiltinContext, BuiltinOutcome
from gatekit.builtins._common import has_suffix, run_per_file
from gatekit.results import Finding

NAME = "parse-json"
DESCRIPTION = "JSON file that does not parse"
OPTIONS = ("exclude",)


def check(path: str, data: bytes) -> list[Finding]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [Finding(rule=NAME, path=path, line=line, message="invalid JSON: not UTF-8 text")]
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return [Finding(rule=NAME, path=path, line=exc.lineno, message=f"invalid JSON: {exc.msg}")]
    except RecursionError:
        return [Finding(rule=NAME, path=path, line=1, message="invalid JSON: nested too deeply")]
    return []


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    return run_per_file(NAME, ctx, check, has_suffix(".json"))
