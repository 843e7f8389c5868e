"""gatekit.initsig: the text of a class's __init__ signature as inspect gives it, and a
check that never imports inspect (dataclasses and pygit2 get the stand-in)."""

# no "from __future__ import annotations": the annotations are objects, as inspect sees them
import dataclasses
import inspect
import os
import subprocess
import sys
import typing
from pathlib import Path

import pygit2
import pytest

from gatekit import initsig


@dataclasses.dataclass
class Plain:
    a: int
    b: str = "x"


@dataclasses.dataclass
class Rich:
    path: str | None
    mode: pygit2.enums.FileMode
    items: list[int] = dataclasses.field(default_factory=list)
    opt: typing.Optional[typing.Dict[str, int]] = None  # noqa: UP006, UP045 (inspect's typing. prefix)
    where: os.PathLike[str] | None = None
    nested: tuple[Path, ...] = ()
    kw: int = dataclasses.field(default=3, kw_only=True)
    late: typing.Any = dataclasses.field(default=None, kw_only=True)


class Hand:
    def __init__(self, x, y: "Rich", *, z=4) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.mark.parametrize("cls", [Plain, Rich, Hand, pygit2.index.MergeFileResult])
def test_the_text_is_inspects(cls: type) -> None:
    assert str(initsig.signature(cls)) == str(inspect.signature(cls))


class _WithNew:
    def __new__(cls, *args: object) -> "_WithNew":
        return object.__new__(cls)

    def __init__(self, a: int) -> None:
        pass


class _Star:
    def __init__(self, *args: int) -> None:
        pass


@pytest.mark.parametrize("cls", [_WithNew, _Star, len, typing.NamedTuple("N", [("a", int)])])
def test_what_it_does_not_render_is_inspects_own(cls: object) -> None:
    assert initsig.init_text(cls) is None
    assert str(initsig.signature(cls)) == str(inspect.signature(cls))  # type: ignore[arg-type]


def test_a_check_imports_no_inspect(tmp_path: Path) -> None:
    """dataclasses and pygit2 (whose MergeFileResult has no docstring) get their docs
    without it: the doc is the one inspect would give."""
    probe = (
        "import sys\n"
        "from gatekit.git.repo import open_repo\n"
        "import gatekit.check.pipeline, gatekit.run.execute, gatekit.record.checkpoints\n"
        "open_repo('.')\n"
        "import pygit2\n"
        "print('INSPECT', 'inspect' in sys.modules, pygit2.index.MergeFileResult.__doc__)"
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    doc = "MergeFileResult" + str(inspect.signature(pygit2.index.MergeFileResult))
    assert f"INSPECT False {doc.replace(' -> None', '')}" in proc.stdout, proc.stderr
