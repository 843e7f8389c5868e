"""Local packages of a gate: their identity, their wheel and their declared dependencies.

A local package is known by the git tree OID of its directory in the candidate
(an unchanged package has the same OID in every candidate). Its wheel is built
once per OID (and interpreter) through the package's own PEP 517 backend
(``uv build --wheel``, or ``pip wheel`` where uv cannot run) into
``<cache>/local/wheels/<id>/``. The wheel's ``METADATA`` is the truth about its
dependencies (``Requires-Dist``, with their markers and extras), whatever the
project uses to declare them: ``[project]`` tables, ``setup.cfg`` or ``setup.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

from gatekit.lazyclass import dataclass

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class BuiltWheel:
    path: Path
    name: str  # normalised project name
    requires: tuple[str, ...]  # Requires-Dist lines as declared
    extras: tuple[str, ...]  # Provides-Extra


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    match = _NAME.match(line)
    return normalise(match.group(1)) if match else None


def package_oid(shadow: Path, rel: str, tree: str | None = None) -> str:
    """The tree OID of ``rel`` in the candidate (a content hash where there is no git tree)."""
    if tree and not rel:
        return tree  # the candidate's own tree: no repository to open
    import pygit2

    try:
        repo = pygit2.Repository(str(shadow))
        root = repo[tree].peel(pygit2.Tree) if tree else repo.head.peel(pygit2.Tree)
        obj = root[rel] if rel else root
        if obj.type_str == "tree":
            return str(obj.id)
    except (KeyError, ValueError, pygit2.GitError):
        pass
    return "content-" + content_hash(shadow / rel)


def content_hash(directory: Path) -> str:
    """sha256 of the paths, modes and bytes under ``directory`` (``.git`` left out)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(directory).as_posix()
            digest.update(f"{rel}\0{path.lstat().st_mode:o}\0".encode())
            if path.is_file() and not path.is_symlink():
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:40]


def wheel_dir(cache: Path, oid: str, python: str | None) -> Path:
    who = python or f"{sys.implementation.name}-{sys.version.split()[0]}-{sys.executable}"
    return cache / "local" / "wheels" / hashlib.sha256(f"{oid}\0{who}".encode()).hexdigest()[:24]


def built_wheel(directory: Path) -> BuiltWheel | None:
    """The wheel in a ready wheel directory, or None."""
    if not (directory / "ready").exists():
        return None
    wheels = sorted(directory.glob("*.whl"))
    return read_wheel(wheels[0]) if wheels else None


def read_wheel(path: Path) -> BuiltWheel:
    # imported here: email and zipfile cost ~10 ms, and only gates with local packages read wheels
    import email.parser
    import zipfile

    with zipfile.ZipFile(path) as zf:
        names = [
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        if not names:
            raise ValueError(f"{path.name} has no .dist-info/METADATA")
        text = zf.read(names[0]).decode("utf-8")
    meta = email.parser.HeaderParser().parsestr(text)
    return BuiltWheel(
        path,
        normalise(meta.get("Name", path.name.split("-")[0])),
        tuple(meta.get_all("Requires-Dist") or ()),
        tuple(meta.get_all("Provides-Extra") or ()),
    )


def build_command(source: Path, out: Path, python: str | None, uv: str | None) -> list[str]:
    if uv is not None:
        argv = [uv, "build", "--wheel", "--out-dir", str(out), "--no-progress"]
        return [*argv, "--python", python or sys.executable, str(source)]
    return [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(source)]


# Runs the build (argv after "--") in the package directory (argv[1]), then removes
# the leftovers it wrote there that were not there before: setuptools builds in
# place (``build/``, ``*.egg-info``), and a later pytest would collect build/lib as
# a second copy of the tests. Started inside the gate's view of the shadow, so the
# build writes, like the gate, only into the gate's own layer.
_CLEAN_BUILD = """
import os, shutil, subprocess, sys

from gatekit.lazyclass import dataclass
src = sys.argv[1]
argv = sys.argv[sys.argv.index("--") + 1:]
def leftovers():
    out = set()
    for where in (src, os.path.join(src, "src")):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            path = os.path.join(where, name)
            if (name in ("build", ".eggs") or name.endswith(".egg-info")) and os.path.isdir(path) and not os.path.islink(path):
                out.add(path)
    return out
before = leftovers()
try:
    code = subprocess.call(argv, cwd=src)
finally:
    for path in sorted(leftovers() - before):
        shutil.rmtree(path, ignore_errors=True)
sys.exit(code)
"""


def clean_build(source: Path, argv: list[str]) -> list[str]:
    """``argv`` run in ``source`` by a wrapper that removes the build's leftovers there."""
    return [sys.executable, "-c", _CLEAN_BUILD, str(source), "--", *argv]


def finish_build(tmp: Path, final: Path) -> BuiltWheel:
    """Move a finished build into place (atomically) and mark it ready."""
    wheels = sorted(tmp.glob("*.whl"))
    if len(wheels) != 1:
        raise ValueError(f"the build left {len(wheels)} wheels, expected one")
    (tmp / "ready").write_text(wheels[0].name + "\n", encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    wheel = built_wheel(final)
    assert wheel is not None
    return wheel


def deps_wheel_name(name: str) -> str:
    return f"gatekit_deps_of_{name.replace('-', '_')}-0-py3-none-any.whl"


def deps_wheel(dest: Path, wheel: BuiltWheel, skip: frozenset[str]) -> Path:
    """A wheel that has only ``wheel``'s dependencies (those named in ``skip`` left out).

    Installed with the local package's extras, it brings exactly what the package
    declares from the index, markers evaluated by the installer for the real
    interpreter, without the package itself.
    """
    path = dest / deps_wheel_name(wheel.name)
    name = path.name.split("-")[0]
    dest.mkdir(parents=True, exist_ok=True)
    info = f"{name}-0.dist-info"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 0"]
    lines += [f"Provides-Extra: {e}" for e in wheel.extras]
    lines += [f"Requires-Dist: {r}" for r in wheel.requires if requirement_name(r) not in skip]
    files = {
        f"{info}/METADATA": "\n".join(lines) + "\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: gatekit\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    import zipfile

    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with zipfile.ZipFile(tmp, "w") as zf:
        for key, value in files.items():
            zf.writestr(zipfile.ZipInfo(key, (1980, 1, 1, 0, 0, 0)), value)
        record = "".join(f"{k},,\n" for k in files) + f"{info}/RECORD,,\n"
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", (1980, 1, 1, 0, 0, 0)), record)
    tmp.replace(path)
    return path


def declared(wheel: BuiltWheel, skip: frozenset[str]) -> list[str]:
    """What goes into the environment key for this package's declarations."""
    keep = [r for r in wheel.requires if requirement_name(r) not in skip]
    return [wheel.name, *sorted(wheel.extras), "--", *keep]
