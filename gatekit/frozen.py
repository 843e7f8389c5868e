"""Frozen records without pydantic: the plan and the results on a check's hot path.

Importing pydantic and building its models costs ~100 ms, more than the rest of a
trivial check. The records a check reads (a cached plan) and writes (results,
notes) are plain frozen records (annotated, keyword-only, compared by value, like
frozen dataclasses) with the small part of pydantic's surface
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

import enum
import json
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar, dataclass_transform

_Convert = Callable[[Any], Any]
_V = TypeVar("_V")


class RecordError(ValueError):
    """Data that does not fit a record (a cached file that is not what it claims)."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], _V]) -> _V:
    """A default made per instance (``field(default_factory=list)``)."""
    return _Factory(default_factory)  # type: ignore[return-value]


_NO_DEFAULT = object()


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
class Record:
    """Base of frozen records: annotated fields, keyword-only, compared by value.

    Not :mod:`dataclasses`: generating and compiling their methods costs ~0.5 ms a
    class at import, on every check; one generic ``__init__`` costs nothing."""

    __fields__: typing.ClassVar[tuple[str, ...]] = ()
    __defaults__: typing.ClassVar[dict[str, Any]] = {}
    __converters__: typing.ClassVar[dict[str, _Convert] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = list(cls.__fields__)
        defaults = dict(cls.__defaults__)
        for name in _own_annotations(cls):
            if name.startswith("__"):
                continue
            if name not in names:
                names.append(name)
            value = cls.__dict__.get(name, _NO_DEFAULT)
            if value is not _NO_DEFAULT:
                defaults[name] = value
                if isinstance(value, _Factory):
                    delattr(cls, name)
        cls.__fields__ = tuple(names)
        cls.__defaults__ = defaults
        cls.__converters__ = None

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.__fields__)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(unknown)}")
        converters = type(self)._converters()
        for name in self.__fields__:
            if name in values:
                value = values[name]
            else:
                value = self.__defaults__.get(name, _NO_DEFAULT)
                if value is _NO_DEFAULT:
                    raise TypeError(f"{type(self).__name__}: missing field {name!r}")
                if isinstance(value, _Factory):
                    value = value.make()
            convert = converters.get(name)
            object.__setattr__(self, name, value if convert is None else convert(value))

    @classmethod
    def _converters(cls) -> dict[str, _Convert]:
        found = cls.__converters__
        if found is None:
            found = {}
            written = _annotations(cls)
            for name in cls.__fields__:
                known, convert = _plain(written.get(name))
                if not known:  # evaluated (compiled) only when the string does not tell
                    convert = _converter(_evaluate(cls, name))
                if convert is not None:
                    found[name] = convert
            cls.__converters__ = found
        return found

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__fields__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__fields__)
        return f"{type(self).__name__}({body})"

    def model_dump(self, mode: str = "python", exclude: set[str] | None = None) -> dict[str, Any]:
        as_json = mode == "json"
        return {
            n: _dump(getattr(self, n), as_json)
            for n in self.__fields__
            if not (exclude and n in exclude)
        }

    def model_dump_json(self, indent: int | None = None) -> str:
        data = self.model_dump(mode="json")
        if indent is None:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(data, ensure_ascii=False, indent=indent)

    def model_copy(self, update: Mapping[str, Any] | None = None) -> Self:
        values = {n: getattr(self, n) for n in self.__fields__}
        values.update(update or {})
        return type(self)(**values)

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        if isinstance(data, cls):
            return data
        if hasattr(data, "model_dump") and not isinstance(data, Record):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise RecordError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise RecordError(f"{cls.__name__}: {exc}") from None

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        return cls.model_validate(json.loads(text))


def record_defaults(cls: type[Record]) -> dict[str, Any]:
    """Each field's default (made, for a factory); required fields are absent."""
    return {n: (v.make() if isinstance(v, _Factory) else v) for n, v in cls.__defaults__.items()}


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


def _own_annotations(klass: type) -> dict[str, Any]:
    """What ``inspect.get_annotations(klass)`` gives a class (the annotations it declares
    itself), without importing ``inspect`` (~5 ms with the ``ast`` and ``dis`` it needs)."""
    found = klass.__dict__.get("__annotations__")  # noqa: RUF063 (see above)
    return dict(found) if isinstance(found, dict) else {}


def _annotations(cls: type) -> dict[str, Any]:
    """Each field's annotation as written (a string, with postponed evaluation)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update(_own_annotations(klass))
    return out


def _evaluate(cls: type, name: str) -> Any:
    """The type of field ``name``, as ``typing.get_type_hints`` finds it (the annotation
    of the class in the MRO that declares it, in that class's module), for that field
    alone: get_type_hints compiles every annotation of every class in the MRO."""
    for klass in cls.__mro__:
        annotations = _own_annotations(klass)
        if name in annotations:
            written = annotations[name]
            if not isinstance(written, str):
                return written
            module = sys.modules[klass.__module__]
            return typing.get_type_hints(
                _One(written), globalns=vars(module), localns=dict(vars(klass))
            )["value"]
    raise KeyError(name)


class _One:
    """A holder of one annotation, for ``typing.get_type_hints`` to evaluate."""

    def __init__(self, written: str) -> None:
        self.__annotations__ = {"value": written}


_SCALARS = frozenset({"str", "int", "bool"})  # kept as given


def _plain(written: Any) -> tuple[bool, _Convert | None]:
    """(True, converter) for an annotation of builtin types read without evaluating it
    (what :func:`_converter` gives for the evaluated type); (False, None) otherwise.

    ``typing.get_type_hints`` compiles every annotation string: ~130 for the records a
    check reads and writes, most of them ``str``, ``int | None`` or ``tuple[str, ...]``."""
    if not isinstance(written, str):
        return False, None
    text = written.strip()
    optional = text.endswith(" | None")
    if optional:
        text = text[: -len(" | None")]
    convert: _Convert | None
    if text in _SCALARS:
        convert = None
    elif text == "float":
        convert = _to_float
    elif text.startswith(("tuple[", "list[")) and text.endswith("]"):
        kind, _, inner = text[:-1].partition("[")
        if kind == "tuple":
            if not inner.endswith(", ..."):
                return False, None
            inner = inner[: -len(", ...")]
        if inner not in _SCALARS:
            return False, None
        convert = _to_sequence(tuple if kind == "tuple" else list, None)
    elif text.startswith("dict[") and text.endswith("]"):
        key, sep, value = text[len("dict[") : -1].partition(", ")
        if not sep or key not in _SCALARS or value not in _SCALARS:
            return False, None
        convert = _to_dict(None)
    else:
        return False, None
    return True, (_optional(convert) if optional and convert is not None else convert)


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
