"""``parse-toml``: TOML files that do not parse (tomllib)."""

from __future__ import annotations

import re
import tomllib

from gatekit.builtins import BuiltinContext, BuiltinOutcome
from gatekit.builtins._common import has_suffix, run_per_file
from gatekit.results import Finding

NAME = "parse-toml"
DESCRIPTION = "TOML file that does not parse"
OPTIONS = ("exclude",)

_WHERE = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")


def check(path: str, data: bytes) -> list[Finding]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [Finding(rule=NAME, path=path, line=line, message="invalid TOML: not UTF-8 text")]
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _WHERE.search(message)
        line = int(match.group(1)) if match and match.group(1) else text.count("\n") + 1
        problem = _WHERE.sub("", message) if match else message
        return [Finding(rule=NAME, path=path, line=line, message=f"invalid TOML: {problem}")]
    return []


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    return run_per_file(NAME, ctx, check, has_suffix(".toml"))
