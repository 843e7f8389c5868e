"""gatekit.lazyclass: a class is exactly the dataclass it declares, made on first use."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil
import threading
from dataclasses import field
from typing import ClassVar

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


def _shapes() -> dict[str, dict[str, object]]:
    """Class bodies, made afresh for each class (a ``Field`` is claimed by its class)."""
    return {
        "plain": {"__annotations__": {"a": "int", "b": "str"}},
        "defaults": {"__annotations__": {"a": "int", "b": "str", "c": "float"}, "b": "x", "c": 1.5},
        "factory": {
            "__annotations__": {"a": "int", "c": "list[int]", "d": "dict[str, int]"},
            "c": field(default_factory=list),
            "d": field(default_factory=dict),
        },
        "keyword-only": {
            "__annotations__": {"a": "int", "k": "str", "m": "int"},
            "k": field(kw_only=True),
            "m": field(default=3, kw_only=True),
        },
        "not compared, not shown, not init": {
            "__annotations__": {"a": "int", "h": "int", "r": "int", "n": "list[int]", "z": "int"},
            "h": field(default=0, compare=False),
            "r": field(default=1, repr=False),
            "n": field(init=False, default_factory=list),
            "z": field(init=False, default=9),
        },
        "hash override": {
            "__annotations__": {"a": "int", "b": "int"},
            "b": field(default=0, hash=False),
        },
        "classvar": {"__annotations__": {"a": "int", "t": "ClassVar[int]"}, "t": 4},
        "no fields": {},
    }


CALLS: list[tuple[tuple[object, ...], dict[str, object]]] = [
    ((), {}),
    ((1,), {}),
    ((1, "y"), {}),
    ((1, "y", 2.0), {}),
    ((1, "y", 2.0, 3), {}),
    ((), {"a": 1}),
    ((1,), {"a": 2}),
    ((1,), {"zz": 2}),
    ((1,), {"k": "q"}),
    ((1,), {"k": "q", "m": 5}),
    ((1, [5]), {}),
    ((), {"a": 1, "b": 2, "c": [3]}),
    ((1,), {"n": [1]}),
]


def _outcome(cls: type, args: tuple[object, ...], kwargs: dict[str, object]) -> object:
    try:
        made = cls(*args, **kwargs)
    except TypeError as exc:
        return ("TypeError", str(exc))
    return (repr(made), dataclasses.asdict(made), vars(made))


def _hashed(value: object) -> object:
    try:
        return hash(value)
    except TypeError as exc:
        return str(exc)


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("shape", sorted(_shapes()))
def test_methods_without_compiling_act_as_the_standard_librarys(shape: str, frozen: bool) -> None:
    """Every call of a grid binds, defaults, refuses (in the same words), shows, compares
    and hashes as the dataclass the standard library makes of the same body."""

    def make(decorate: object) -> type:
        cls = type("S", (), {"__module__": __name__, **_shapes()[shape]})
        return decorate(cls)  # type: ignore[operator, no-any-return]

    lazy = make(dataclass(frozen=frozen))
    real = make(dataclasses.dataclass(frozen=frozen))
    assert ClassVar  # "ClassVar[int]" is resolved by name in this module, as dataclasses does
    for args, kwargs in CALLS:
        assert _outcome(lazy, args, kwargs) == _outcome(real, args, kwargs), (args, kwargs)
    good = next(c for c in CALLS if _outcome(real, *c)[0] != "TypeError")
    one, ref = lazy(*good[0], **good[1]), real(*good[0], **good[1])
    two = lazy(*good[0], **good[1])
    assert (one == two) is True and (one != two) is False and one != ref
    assert (lazy.__hash__ is None) is (real.__hash__ is None)
    if frozen:
        assert _hashed(one) == _hashed(two) == _hashed(ref)  # a list field: both refuse
        for name in [f.name for f in dataclasses.fields(ref)] + ["other"]:
            with pytest.raises(dataclasses.FrozenInstanceError) as got:
                setattr(one, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError) as want:
                setattr(ref, name, 1)
            assert str(got.value) == str(want.value)
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(one, name)
    assert lazy.__match_args__ == real.__match_args__  # type: ignore[attr-defined]
    assert [(f.name, f.init, f.repr, f.compare, f.kw_only) for f in dataclasses.fields(lazy)] == [
        (f.name, f.init, f.repr, f.compare, f.kw_only) for f in dataclasses.fields(real)
    ]
    assert dataclasses.replace(one) == one
    assert copy.deepcopy(one) == one
    assert lazy.__init__.__qualname__ == "S.__init__"


def test_a_recursive_value_shows_as_the_standard_library_shows_it() -> None:
    def make(decorate: object) -> type:
        body = {"__annotations__": {"items": "list[object]"}, "__module__": __name__}
        return decorate(type("R", (), body))  # type: ignore[operator, no-any-return]

    lazy, real = make(dataclass), make(dataclasses.dataclass)
    one, ref = lazy([]), real([])
    one.items.append(one)
    ref.items.append(ref)
    assert repr(one) == repr(ref) == "R(items=[...])"


def test_a_field_without_a_default_after_one_with_is_refused_as_dataclasses_refuses_it() -> None:
    body = {"__annotations__": {"a": "int", "b": "int"}, "a": 1, "__module__": __name__}
    lazy = dataclass(type("O", (), dict(body)))
    with pytest.raises(TypeError) as want:
        dataclasses.dataclass(type("O", (), dict(body)))
    with pytest.raises(TypeError) as got:
        lazy()
    assert str(got.value) == str(want.value)
