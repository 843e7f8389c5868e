"""``dataclass`` as :mod:`dataclasses` makes it, made when the class is first instantiated.

:func:`dataclasses.dataclass` generates and compiles each class's ``__init__``,
``__repr__``, ``__eq__`` (and ``__setattr__``/``__delattr__``/``__hash__`` when
frozen) at import: ~0.5-2 ms a class, ~60 million instructions for the classes a
``gatekit check`` imports, most of which that check never instantiates (they serve
other commands or rarer paths). Here the decorator only marks the class; the first
``Class(...)`` (its ``__new__``) applies the real :func:`dataclasses.dataclass` with
the same arguments, under a lock, and then removes the mark. From then on the class
is exactly what :mod:`dataclasses` would have made (``fields``, ``replace``,
``asdict`` included); every instance is made after that, so none sees the class
unfinished.

Limits (checked where they would bite): a class decorated here has no base
class of its own and no ``__new__``, and is not given to stdlib code that inspects
``__dataclass_fields__`` on the class before any instance exists;
``inspect.signature`` of the class shows that ``__new__`` (of its ``__init__``, the
dataclass's). Type checkers see :func:`dataclasses.dataclass` itself.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import TYPE_CHECKING, Any


class _Deferred(types.ModuleType):
    """A module's stand-in in ``sys.modules`` while another module imports it: the
    importer keeps it, and its first attribute access imports the real module (but for
    the names ``shims`` serves while the real module is not loaded)."""

    def __init__(self, name: str, shims: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        self._shims = shims or {}

    def __getattr__(self, name: str) -> Any:
        if name in self._shims and self.__name__ not in sys.modules:
            return self._shims[name]
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        return getattr(real, name)


def import_dataclasses() -> None:
    """Import :mod:`dataclasses` without :mod:`inspect` (once per process).

    dataclasses imports inspect (~6 ms with the ``ast``, ``dis`` and ``tokenize`` it
    imports in turn) for one use: the ``__doc__`` of a class declared without one
    (:func:`realize` gives every class of gatekit one first; pygit2 has one without).
    So dataclasses gets a :class:`_Deferred` inspect whose ``signature`` is
    :func:`gatekit.initsig.signature` until the real module is loaded; it is gone from
    ``sys.modules`` once dataclasses is imported, and a later ``import inspect``
    anywhere gets the real module."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return
    from gatekit import initsig

    stand_in = _Deferred("inspect", {"signature": initsig.signature})
    sys.modules["inspect"] = stand_in
    try:
        importlib.import_module("dataclasses")
    finally:
        if sys.modules.get("inspect") is stand_in:
            del sys.modules["inspect"]


_PARAMS = "__gatekit_lazy_dataclass__"


def is_lazy(value: object) -> bool:
    """Whether ``value`` is a class declared here that is not made yet."""
    return isinstance(value, type) and _PARAMS in value.__dict__


if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass

    def realize(cls: type) -> None: ...
else:
    import_dataclasses()
    _lock = threading.RLock()

    def dataclass(cls: type | None = None, /, **params: Any) -> Any:
        """``@dataclass`` or ``@dataclass(frozen=True, ...)``, made on first instantiation."""

        def mark(cls: type) -> type:
            if cls.__bases__ != (object,) or "__new__" in cls.__dict__:
                raise TypeError(f"{cls.__qualname__}: gatekit.lazyclass takes plain classes only")
            setattr(cls, _PARAMS, params)

            def __new__(kind: type, /, *args: Any, **kwargs: Any) -> Any:
                if _PARAMS in cls.__dict__:
                    realize(cls)
                return object.__new__(kind)

            cls.__new__ = staticmethod(__new__)
            return cls

        return mark if cls is None else mark(cls)

    def realize(cls: type) -> None:
        """Make ``cls`` the dataclass it was declared as (once; a no-op after)."""
        import dataclasses

        from gatekit import dcmethods

        with _lock:
            params = cls.__dict__.get(_PARAMS)
            if params is None:
                return
            if not cls.__doc__:  # else dataclass computes one from inspect.signature
                cls.__doc__ = cls.__name__
            if dcmethods.supports(cls, params):
                dcmethods.fields_only(cls, params)
                dcmethods.attach(cls, params)
            else:
                dataclasses.dataclass(**params)(cls)
            delattr(cls, _PARAMS)
