"""Pydantic validation with errors translated to ``file:line:col: path: message``."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from gatekit.config.models import ValidationConfig
from gatekit.config.suggest import did_you_mean
from gatekit.config.yamlsource import PathKey, Positions, format_path
from gatekit.errors import ConfigIssue

_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list[str]": "a list of strings",
    "list": "a list",
    "dict": "a mapping",
    "literal": "one of the allowed values",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_PLAIN = {
    "a valid array": "a list",
    "a valid list": "a list",
    "a valid boolean": "true or false",
    "a valid integer": "an integer",
    "a valid string": "a string",
    "a valid number": "a number",
    "a valid dictionary": "a mapping",
    "an object": "a mapping",
    "a valid dictionary or instance of": "a mapping",
}


def _plain(expected: str) -> str:
    for prefix, word in _PLAIN.items():
        if expected.startswith(prefix):
            return word
    return expected


def _split_loc(loc: tuple[str | int, ...], data: Any) -> tuple[PathKey, list[str]]:
    """Separate real data path parts from pydantic's union-member tags."""
    path: list[str | int] = []
    tags: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:  # noqa: SIM114 (types differ)
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif (
            not tags and isinstance(node, dict) and isinstance(part, str) and not path_is_tag(part)
        ):
            # a key that is absent (missing) or extra: keep it in the path
            path.append(part)
            node = None
        else:
            tags.append(str(part))
    return tuple(path), tags


def path_is_tag(part: str) -> bool:
    return any(ch in part for ch in "[]-") or part in _TYPE_WORDS or part.startswith("literal")


def _model_at(model: type[BaseModel], path: PathKey) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``path`` (for key suggestions)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def validate_model(
    data: Any, positions: Positions, file: str
) -> tuple[ValidationConfig | None, list[ConfigIssue]]:
    try:
        return ValidationConfig.model_validate_json(json.dumps(data), strict=True), []
    except ValidationError as exc:
        return None, _translate(exc, data, positions, file)


def _translate(
    exc: ValidationError, data: Any, positions: Positions, file: str
) -> list[ConfigIssue]:
    grouped: dict[PathKey, list[tuple[list[str], dict[str, Any]]]] = {}
    for err in exc.errors(include_url=False):
        path, tags = _split_loc(tuple(err["loc"]), data)
        grouped.setdefault(path, []).append((tags, dict(err)))
    issues = []
    for path, errs in grouped.items():
        message, at_key = _message(path, errs)
        loc = positions.key_at(path) if at_key else positions.value_at(path)
        if loc is None:
            loc_line, loc_col, loc_file = 1, 1, file
        else:
            loc_line, loc_col, loc_file = loc.line, loc.col, loc.file
        issues.append(
            ConfigIssue(loc_file, loc_line, loc_col, format_path(positions.origin(path)), message)
        )
    return issues


def _message(path: PathKey, errs: list[tuple[list[str], dict[str, Any]]]) -> tuple[str, bool]:
    tags0, first = errs[0]
    kind = first["type"]
    value = first.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = _model_at(ValidationConfig, path[:-1])
        allowed = list(model.model_fields) if model else []
        hint = did_you_mean(key, allowed)
        return f"unknown key '{key}'{hint}", True
    if kind == "missing":
        return f"missing required key '{path[-1]}'", True
    if len(errs) > 1 or tags0:
        wanted = []
        for tags, err in errs:
            if err["type"] in ("literal_error", "enum"):
                wanted.append(err["msg"].removeprefix("Input should be ").lower())
            else:
                tag = tags[-1] if tags else err["type"].removesuffix("_type")
                wanted.append(_TYPE_WORDS.get(tag, tag))
        unique = list(dict.fromkeys(wanted))
        return f"expected {' or '.join(unique)}, got {_describe(value)}", False
    if kind == "string_pattern_mismatch" and path[-1:] == ("id",):
        return (
            "a gate id is letters, digits, '.', '_' and '-', starting with a letter or digit,"
            f" got {_describe(value)}"
        ), False
    msg = str(first["msg"])
    if kind.endswith("_type") or kind in {"literal_error", "enum"}:
        expected = _plain(msg.removeprefix("Input should be "))
        return f"expected {expected}, got {_describe(value)}", False
    text = msg[0].lower() + msg[1:] if msg else kind
    return text, False
