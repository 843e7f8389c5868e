"""gatekit.lazyclass: a class is exactly the dataclass it declares, made on first use."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pkgutil
import threading
from dataclasses import field

import pytest

import gatekit
from gatekit import lazyclass
from gatekit.lazyclass import dataclass

MARK = "__gatekit_lazy_dataclass__"


def _pair(**params: object) -> tuple[type, type]:
    """The same class body made lazily and by the standard library."""

    def body() -> dict[str, object]:
        def __post_init__(self: object) -> None:
            object.__setattr__(self, "seen", True) if params.get("frozen") else None

        return {
            "__annotations__": {"a": "int", "b": "str", "c": "list[int]", "kind": "str"},
            "__module__": __name__,
            "b": "x",
            "c": field(default_factory=list),
            "kind": "any name, even that of __new__'s first parameter",
            "__post_init__": __post_init__,
        }

    lazy = dataclass(**params)(type("P", (), body()))
    real = dataclasses.dataclass(**params)(type("P", (), body()))
    return lazy, real


@pytest.mark.parametrize(
    "params", [{}, {"frozen": True}, {"frozen": True, "order": True}, {"eq": False}]
)
def test_a_lazy_class_behaves_as_the_dataclass_it_declares(params: dict[str, object]) -> None:
    lazy, real = _pair(**params)
    assert MARK in lazy.__dict__ and not dataclasses.is_dataclass(lazy)  # nothing made yet
    one, ref = lazy(1, c=[2]), real(1, c=[2])
    assert MARK not in lazy.__dict__
    assert dataclasses.is_dataclass(lazy)
    assert [f.name for f in dataclasses.fields(one)] == ["a", "b", "c", "kind"]
    assert (
        dataclasses.asdict(one)
        == dataclasses.asdict(ref)
        == {
            "a": 1,
            "b": "x",
            "c": [2],
            "kind": "any name, even that of __new__'s first parameter",
        }
    )
    assert repr(one) == repr(ref)
    assert str(inspect.signature(lazy.__init__)) == str(inspect.signature(real.__init__))
    assert (one == lazy(1, c=[2])) is (ref == real(1, c=[2]))
    assert lazy(1).c is not lazy(1).c  # default_factory per instance
    assert dataclasses.replace(one, a=5).a == 5
    assert lazy(1, kind="k").kind == "k"
    assert copy.deepcopy(one) == one if params.get("eq", True) else True
    assert (lazy.__hash__ is None) is (real.__hash__ is None)
    if params.get("frozen"):
        assert one.seen is True  # __post_init__ ran
        with pytest.raises(dataclasses.FrozenInstanceError):
            one.a = 2
    if params.get("order"):
        assert lazy(1) < lazy(2)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        lazy()


def test_threads_instantiating_a_class_first_at_once_all_get_the_finished_class() -> None:
    lazy, _ = _pair(frozen=True)
    start = threading.Barrier(8)
    made: list[object] = []
    errors: list[BaseException] = []

    def make() -> None:
        start.wait()
        try:
            made.append(lazy(7))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(made) == 8 and all(m == lazy(7) for m in made)


def test_a_class_with_a_base_is_refused_at_its_definition() -> None:
    class Base:
        pass

    with pytest.raises(TypeError, match="plain classes only"):
        dataclass(type("Child", (Base,), {"__annotations__": {"a": "int"}}))


def test_every_lazy_class_of_gatekit_can_be_made() -> None:
    """A declaration the standard library refuses (a mutable default, a field order error)
    would surface at import with dataclasses; here it must surface in the tests."""
    marked = []
    for info in pkgutil.walk_packages(gatekit.__path__, "gatekit."):
        if info.name in ("gatekit.__main__",):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and MARK in value.__dict__:
                marked.append(value)
    assert len(marked) > 40
    for cls in marked:
        lazyclass.realize(cls)  # type: ignore[attr-defined]
        assert dataclasses.is_dataclass(cls), cls
