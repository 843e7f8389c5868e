"""Frozen records without pydantic: the plan and the results on a check's hot path.

Importing pydantic and building its models costs ~100 ms, more than the rest of a
trivial check. The records a check reads (a cached plan) and writes (results,
notes) are plain frozen dataclasses with the small part of pydantic's surface
that gatekit uses: ``model_dump`` (``mode="json"``), ``model_dump_json``,
``model_copy(update=...)``, ``model_validate`` and ``model_validate_json``.

Construction converts like pydantic's lax mode does for the types records use:
an ``int`` given for a ``float`` becomes a float (so the JSON says ``600.0``, as
before), a list for a tuple becomes a tuple, a string for an enum becomes the
enum member, and a mapping (or a pydantic model) for a record becomes that
record. The pydantic twins in :mod:`gatekit.schemamodels` keep generating the
JSON Schemas and validating in the tests; a test proves both give the same JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar, dataclass_transform

_Convert = Callable[[Any], Any]
_T = TypeVar("_T", bound=type)


class RecordError(ValueError):
    """Data that does not fit a record (a cached file that is not what it claims)."""


@dataclass_transform(frozen_default=True, kw_only_default=True)
class Record:
    """Base of frozen records: subclasses are ``@record`` dataclasses."""

    __converters__: typing.ClassVar[dict[str, _Convert] | None] = None

    def __post_init__(self) -> None:
        converters = type(self)._converters()
        for name, convert in converters.items():
            value = getattr(self, name)
            new = convert(value)
            if new is not value:
                object.__setattr__(self, name, new)

    @classmethod
    def _converters(cls) -> dict[str, _Convert]:
        found = cls.__dict__.get("__converters__")
        if found is None:
            hints = typing.get_type_hints(cls)
            found = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                convert = _converter(hints[f.name])
                if convert is not None:
                    found[f.name] = convert
            cls.__converters__ = found
        return found

    def model_dump(self, mode: str = "python", exclude: set[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if exclude and f.name in exclude:
                continue
            out[f.name] = _dump(getattr(self, f.name), mode == "json")
        return out

    def model_dump_json(self, indent: int | None = None) -> str:
        data = self.model_dump(mode="json")
        if indent is None:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(data, ensure_ascii=False, indent=indent)

    def model_copy(self, update: Mapping[str, Any] | None = None) -> Self:
        return dataclasses.replace(self, **dict(update or {}))  # type: ignore[type-var]

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        if isinstance(data, cls):
            return data
        if hasattr(data, "model_dump") and not isinstance(data, Record):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise RecordError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise RecordError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise RecordError(f"{cls.__name__}: {exc}") from None

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        return cls.model_validate(json.loads(text))


def record(cls: _T) -> _T:
    """``@record``: a frozen, keyword-only dataclass on :class:`Record`."""
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)  # type: ignore[return-value]


def _dump(value: Any, as_json: bool) -> Any:
    if isinstance(value, Record):
        return value.model_dump(mode="json" if as_json else "python")
    if isinstance(value, enum.Enum):
        return value.value if as_json else value
    if isinstance(value, tuple):
        items = [_dump(v, as_json) for v in value]
        return items if as_json else tuple(items)
    if isinstance(value, list):
        return [_dump(v, as_json) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, as_json) for k, v in value.items()}
    return value


def _optional(inner: _Convert) -> _Convert:
    def convert(v: Any) -> Any:
        return None if v is None else inner(v)

    return convert


def _to_float(v: Any) -> Any:
    return float(v) if type(v) is int else v


def _to_enum(cls: type[enum.Enum]) -> _Convert:
    def convert(v: Any) -> Any:
        return v if isinstance(v, cls) else cls(v)

    return convert


def _to_record(cls: type[Record]) -> _Convert:
    def convert(v: Any) -> Any:
        return v if isinstance(v, cls) else cls.model_validate(v)

    return convert


def _to_sequence(kind: type[tuple[Any, ...]] | type[list[Any]], item: _Convert | None) -> _Convert:
    def convert(v: Any) -> Any:
        if item is None:
            return v if type(v) is kind else kind(v)
        return kind(item(x) for x in v)

    return convert


def _to_dict(value: _Convert | None) -> _Convert:
    def convert(v: Any) -> Any:
        if value is None:
            return v if type(v) is dict else dict(v)
        return {k: value(x) for k, x in v.items()}

    return convert


def _converter(hint: Any) -> _Convert | None:
    """How to bring a value to ``hint`` (None: keep it as given)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        inner = _converter(rest[0]) if len(rest) == 1 else None
        return None if inner is None else _optional(inner)
    if hint is float:
        return _to_float
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _to_enum(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        return _to_record(hint)
    if origin is tuple or origin is list:
        return _to_sequence(origin, _converter(args[0]) if args else None)
    if origin is dict:
        return _to_dict(_converter(args[1]) if len(args) == 2 else None)
    return None
