"""``parse-yaml``: YAML files that do not parse (multi-document streams allowed).

Composes the node graph rather than constructing objects, so application tags
(``!Ref``, ``!include``) are accepted: this is a syntax check.
"""

from __future__ import annotations

from gatekit.builtins import BuiltinContext, BuiltinOutcome
from gatekit.builtins._common import has_suffix, run_per_file
from gatekit.results import Finding

NAME = "parse-yaml"
DESCRIPTION = "YAML file that does not parse"
OPTIONS = ("exclude",)


def check(path: str, data: bytes) -> list[Finding]:
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for _ in yaml.compose_all(data, Loader=loader_cls):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        return [Finding(rule=NAME, path=path, line=line, message=f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:  # reader errors: bad encoding, control characters
        mark = getattr(exc, "position", None)
        line = _line_at(data, mark) if isinstance(mark, int) else 1
        return [
            Finding(rule=NAME, path=path, line=line, message=f"invalid YAML: {type(exc).__name__}")
        ]
    return []


def _line_at(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def run(ctx: BuiltinContext) -> BuiltinOutcome:
    return run_per_file(NAME, ctx, check, has_suffix(".yaml", ".yml"))
