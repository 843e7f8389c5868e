"""The methods :mod:`dataclasses` generates, as closures instead of compiled source.

:func:`dataclasses.dataclass` writes each class's ``__init__``, ``__repr__``,
``__eq__`` and, when frozen, ``__setattr__``, ``__delattr__`` and ``__hash__`` as
source text and compiles it: ~0.8 ms a class on a 2-core machine, ~25 ms for the
23 classes a ``gatekit check`` instantiates. Here the standard library still
collects the fields (``dataclass(init=False, repr=False, eq=False)`` generates
nothing, ~0.07 ms), and :func:`attach` adds methods that read the field lists
they close over. They behave as the generated ones do (the same binding of
positional and keyword arguments, defaults and ``default_factory`` per instance,
``__post_init__``, ``FrozenInstanceError``, the hash of the compared fields, a
repr that survives recursion); ``dataclasses.fields``, ``replace`` and ``asdict``
work as they read ``__dataclass_fields__``. What differs: ``__init__``'s
signature is ``(self, /, *args, **kwargs)``, and its errors are worded by
gatekit.

:func:`supports` says which declarations this covers; the others (``order``,
``slots``, ``InitVar``, methods of the class's own, ...) get the standard
library's methods.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

_OWN = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_DEFAULTS = {"eq": True, "init": True, "repr": True}
_COVERED = {"frozen", "kw_only", "match_args", *_DEFAULTS}
_MISSING = dataclasses.MISSING


def supports(cls: type, params: dict[str, Any]) -> bool:
    """Whether :func:`attach` can give ``cls`` (declared with ``params``) its methods."""
    if set(params) - _COVERED or any(params.get(k, v) is not v for k, v in _DEFAULTS.items()):
        return False
    if any(name in cls.__dict__ for name in _OWN):
        return False
    return not any("InitVar" in str(a) for a in getattr(cls, "__annotations__", {}).values())


def fields_only(cls: type, params: dict[str, Any]) -> None:
    """Let :mod:`dataclasses` collect ``cls``'s fields and generate nothing."""
    dataclasses.dataclass(
        cls,
        init=False,
        repr=False,
        eq=False,
        kw_only=params.get("kw_only", False),
        match_args=False,
    )


def attach(cls: type, params: dict[str, Any]) -> None:
    """Give ``cls`` (its fields collected by :func:`fields_only`) what ``params`` declare."""
    flds = dataclasses.fields(cls)
    frozen = bool(params.get("frozen", False))
    _check_order(cls, flds)
    _put(cls, "__init__", _init(cls, flds, frozen))
    _put(cls, "__repr__", _repr(cls, flds))
    _put(cls, "__eq__", _eq(flds))
    if frozen:
        _put(cls, "__setattr__", _frozen_set(cls, flds))
        _put(cls, "__delattr__", _frozen_del(cls, flds))
        _put(cls, "__hash__", _hash(flds))
    else:
        _put(cls, "__hash__", None)
    if params.get("match_args", True) and "__match_args__" not in cls.__dict__:
        _put(cls, "__match_args__", tuple(f.name for f in flds if f.init and not f.kw_only))
    cls.__dataclass_params__.eq = True  # type: ignore[attr-defined]
    cls.__dataclass_params__.init = True  # type: ignore[attr-defined]
    cls.__dataclass_params__.repr = True  # type: ignore[attr-defined]
    cls.__dataclass_params__.frozen = frozen  # type: ignore[attr-defined]


def _put(cls: type, name: str, value: Any) -> None:
    if callable(value):
        value.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, value)


def _check_order(cls: type, flds: tuple[dataclasses.Field[Any], ...]) -> None:
    seen_default = False
    for f in flds:
        if not f.init or f.kw_only:
            continue
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")


def _listed(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _init(cls: type, flds: tuple[dataclasses.Field[Any], ...], frozen: bool) -> Callable[..., None]:
    positional = tuple(f.name for f in flds if f.init and not f.kw_only)
    keyword = frozenset(f.name for f in flds if f.init)
    defaults = {f.name: f.default for f in flds if f.init and f.default is not _MISSING}
    factories = {f.name: f.default_factory for f in flds if f.default_factory is not _MISSING}
    order = tuple(f.name for f in flds if f.init or f.default_factory is not _MISSING)
    post_init = hasattr(cls, "__post_init__")
    assign = object.__setattr__ if frozen else setattr
    where = f"{cls.__qualname__}.__init__()"
    most = len(positional) + 1
    least = most - sum(1 for n in positional if n in defaults or n in factories)
    takes = (
        f"{most} positional argument{'s' if most != 1 else ''}"
        if least == most
        else f"from {least} to {most} positional arguments"
    )

    def __init__(self: object, /, *args: Any, **kwargs: Any) -> None:
        values = dict(zip(positional, args, strict=False))
        for name in kwargs:
            if name not in keyword:
                raise TypeError(f"{where} got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{where} got multiple values for argument {name!r}")
        if len(args) > len(positional):
            raise TypeError(f"{where} takes {takes} but {len(args) + 1} were given")
        values.update(kwargs)
        for name in order:
            if name in values:
                assign(self, name, values[name])
            elif name in defaults:
                assign(self, name, defaults[name])
            elif name in factories:
                assign(self, name, factories[name]())
            else:
                _missing(where, order, values, defaults, factories, positional)
        if post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    return __init__


def _missing(
    where: str,
    order: tuple[str, ...],
    values: dict[str, Any],
    defaults: dict[str, Any],
    factories: dict[str, Any],
    positional: tuple[str, ...],
) -> None:
    absent = [n for n in order if n not in values and n not in defaults and n not in factories]
    kind = "positional" if any(n in positional for n in absent) else "keyword-only"
    absent = [n for n in absent if (n in positional) is (kind == "positional")]
    s = "" if len(absent) == 1 else "s"
    raise TypeError(f"{where} missing {len(absent)} required {kind} argument{s}: {_listed(absent)}")


_repr_running = threading.local()


def _repr(cls: type, flds: tuple[dataclasses.Field[Any], ...]) -> Callable[[object], str]:
    shown = tuple(f.name for f in flds if f.repr)

    def __repr__(self: object) -> str:
        running: set[int] = _repr_running.__dict__.setdefault("ids", set())
        if id(self) in running:
            return "..."
        running.add(id(self))
        try:
            inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        finally:
            running.discard(id(self))
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(flds: tuple[dataclasses.Field[Any], ...]) -> Callable[[object, object], Any]:
    compared = tuple(f.name for f in flds if f.compare)

    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return tuple(getattr(self, n) for n in compared) == tuple(
                getattr(other, n) for n in compared
            )
        return NotImplemented

    return __eq__


def _hash(flds: tuple[dataclasses.Field[Any], ...]) -> Callable[[object], int]:
    hashed = tuple(f.name for f in flds if (f.compare if f.hash is None else f.hash))

    def __hash__(self: object) -> int:
        return hash(tuple(getattr(self, n) for n in hashed))

    return __hash__


def _frozen_set(cls: type, flds: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    names = frozenset(f.name for f in flds)

    def __setattr__(self: object, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)  # the base of cls is object

    return __setattr__


def _frozen_del(cls: type, flds: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    names = frozenset(f.name for f in flds)

    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __delattr__
