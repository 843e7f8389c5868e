"""The text ``inspect.signature`` gives a plain class's ``__init__``, without :mod:`inspect`.

:mod:`dataclasses` reads it once per class declared without a docstring, to make one
(``Name(a: int, b: str = 'x')``); importing inspect for it costs ~6 ms of a check
(``ast``, ``dis``, ``tokenize``), for pygit2's one such class. :func:`signature`
renders the common case as inspect would (a test compares them) and hands every
other case to the real :func:`inspect.signature`.
"""

from __future__ import annotations

import importlib
import re
import types
from typing import Any

_VARARGS, _VARKEYWORDS = 0x04, 0x08


class Text:
    """What ``str()`` of an ``inspect.Signature`` gives."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def signature(obj: Any) -> Any:
    """``inspect.signature(obj)`` as text for a class whose own ``__init__`` is a plain
    function (no ``*args``, ``**kwargs``, own ``__new__`` or metaclass); else inspect's."""
    text = init_text(obj)
    if text is None:
        return importlib.import_module("inspect").signature(obj)
    return Text(text)


def init_text(cls: Any) -> str | None:
    if not isinstance(cls, type) or type(cls) is not type or "__new__" in cls.__dict__:
        return None
    init = cls.__dict__.get("__init__")
    if not isinstance(init, types.FunctionType):
        return None
    code = init.__code__
    if code.co_flags & (_VARARGS | _VARKEYWORDS) or code.co_posonlyargcount:
        return None
    names = code.co_varnames[1 : code.co_argcount]
    kwonly = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    defaults = init.__defaults__ or ()
    kwdefaults = init.__kwdefaults__ or {}
    notes = init.__annotations__
    first_default = len(names) - len(defaults)
    parts = []
    for i, name in enumerate(names):
        default = defaults[i - first_default] if i >= first_default else _NONE
        parts.append(_param(name, notes, default))
    if kwonly:
        parts.append("*")
        parts.extend(_param(name, notes, kwdefaults.get(name, _NONE)) for name in kwonly)
    tail = f" -> {format_annotation(notes['return'])}" if "return" in notes else ""
    return f"({', '.join(parts)}){tail}"


_NONE = object()


def _param(name: str, notes: dict[str, Any], default: Any) -> str:
    text = name
    if name in notes:
        text += f": {format_annotation(notes[name])}"
    if default is not _NONE:
        text += f"{' = ' if name in notes else '='}{default!r}"
    return text


def format_annotation(annotation: Any) -> str:
    """``inspect.formatannotation`` (Python 3.11-3.13)."""
    if getattr(annotation, "__module__", None) == "typing":
        return re.sub(r"[\w\.]+", lambda m: m.group().removeprefix("typing."), repr(annotation))
    if isinstance(annotation, types.GenericAlias):
        return str(annotation)
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation)
