"""Which items of ``session.deps`` name the candidate: local packages and requirement files.

``.``, ``./sub/pkg``, ``.[extra]``, ``-e .`` and ``-r FILE`` / ``-c FILE`` (one
item each, as tox writes them) resolve against the candidate tree, never the
cache directory or the user's working tree. Requirement files are read from the
candidate and flattened (nested ``-r``/``-c`` are relative to the file naming
them, as pip reads them); their local lines (``.``, ``-e ./pkg``) become local
packages (relative to the candidate root, pip's working directory), every other
line stays for the installer as written (absolute paths too: they name no part
of the candidate). Relative paths that leave the candidate are refused, and so
are requirement files outside it.

The reader is a callable so that the same parse serves the shadow (files) and
the result cache (blobs of the candidate tree).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from gatekit.lazyclass import dataclass

Reader = Callable[[str], str | None]  # candidate-relative posix path -> text, None: missing

_EXTRAS = re.compile(r"^(?P<path>[^\[]*)(?:\[(?P<extras>[^\]]*)\])?$")
_MAX_FILES = 50


class LocalDepsError(Exception):
    """``deps`` name something the candidate lacks, or a path outside it."""


@dataclass(frozen=True)
class LocalPackage:
    path: str  # candidate-relative, posix; "" is the candidate root
    extras: tuple[str, ...] = ()
    editable: bool = False

    @property
    def shown(self) -> str:
        where = "./" + self.path if self.path else "."
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return ("-e " if self.editable else "") + where + extras


@dataclass(frozen=True)
class ReqFile:
    option: str  # "-r" or "-c"
    path: str  # candidate-relative, posix (the top file; nested ones are flattened in)
    text: str  # flattened lines for the package index, local lines removed


@dataclass(frozen=True)
class ResolvedDeps:
    index: tuple[str, ...]  # plain requirements, as written
    files: tuple[ReqFile, ...]
    local: tuple[LocalPackage, ...]
    read: tuple[str, ...]  # every requirement/constraint file read, nested ones too

    @property
    def has_candidate_parts(self) -> bool:
        return bool(self.files or self.local)


def is_candidate_item(item: str) -> bool:
    """Whether a deps item (as written) names the candidate or a file in it."""
    head = item.strip()
    if head.startswith(("-r", "-c", "--requirement", "--constraint")):
        return True
    if head.startswith(("-e ", "--editable ", "--editable=")):
        head = head.split(None, 1)[1] if " " in head else head.split("=", 1)[1]
    return _is_path(head.strip())


def needs_candidate(deps: tuple[str, ...] | list[str]) -> bool:
    return any(is_candidate_item(d) for d in deps)


def resolve(deps: tuple[str, ...] | list[str], read: Reader) -> ResolvedDeps:
    index: list[str] = []
    files: list[ReqFile] = []
    local: list[LocalPackage] = []
    seen: list[str] = []
    for item in deps:
        option, value = _split_option(item.strip())
        if option in ("-r", "-c"):
            _add_file(_inside("", value, item), option, read, seen, local, files)
        elif option == "-e" or _is_path(value):
            local.append(_package(value, editable=option == "-e", item=item))
        else:
            index.append(item)
    return ResolvedDeps(tuple(index), tuple(files), tuple(dict.fromkeys(local)), tuple(seen))


def _split_option(item: str) -> tuple[str | None, str]:
    for long, short in (
        ("--requirement", "-r"),
        ("--constraint", "-c"),
        ("--editable", "-e"),
    ):
        for prefix in (long + "=", long + " ", short + " ", short):
            if item.startswith(prefix) and (prefix != short or item[len(short) :][:1] != "-"):
                return short, item[len(prefix) :].strip()
    return None, item


def _is_path(value: str) -> bool:
    body = _EXTRAS.match(value)
    path = body.group("path") if body else value
    if "://" in path or "@" in path or not path or path.startswith("/"):
        return False  # an absolute path names no part of the candidate: the installer's
    return path.startswith(".") or "/" in path


def _inside(base: str, value: str, item: str) -> str:
    """``value`` relative to directory ``base``, normalised; refused when it leaves the candidate."""
    if value.startswith("/") or not value:
        raise LocalDepsError(f"{item!r}: only paths inside the candidate can be used")
    joined = posixpath.normpath(posixpath.join(base, value))
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == "..":
        raise LocalDepsError(f"{item!r}: the path leaves the candidate tree")
    return joined


def _package(value: str, *, editable: bool, item: str) -> LocalPackage:
    body = _EXTRAS.match(value)
    if body is None or (not _is_path(value) and not editable):
        raise LocalDepsError(f"{item!r}: not a local package path")
    if not _is_path(body.group("path")):
        raise LocalDepsError(f"{item!r}: -e takes a path in the candidate (e.g. -e .)")
    extras = tuple(
        sorted({e.strip() for e in (body.group("extras") or "").split(",") if e.strip()})
    )
    return LocalPackage(_inside("", body.group("path"), item), extras, editable)


def _add_file(
    path: str,
    option: str,
    read: Reader,
    seen: list[str],
    local: list[LocalPackage],
    files: list[ReqFile],
) -> None:
    lines = _flatten(path, option, read, seen, local, files)
    if lines is not None:
        files.append(ReqFile(option, path, "".join(line + "\n" for line in lines)))


def _flatten(
    path: str,
    option: str,
    read: Reader,
    seen: list[str],
    local: list[LocalPackage],
    files: list[ReqFile],
) -> list[str] | None:
    if path in seen:
        return None  # a file included twice (or a cycle) counts once
    if len(seen) >= _MAX_FILES:
        raise LocalDepsError(f"more than {_MAX_FILES} requirement files included")
    seen.append(path)
    text = read(path)
    if text is None:
        raise LocalDepsError(f"{option} {path}: no such file in the candidate")
    out: list[str] = []
    for raw in _logical_lines(text):
        opt, value = _split_option(raw)
        if opt in ("-r", "-c"):
            nested = _inside(posixpath.dirname(path), value, raw)
            if opt == option or option == "-c":  # same kind (in a constraints file, all are)
                out.extend(_flatten(nested, option, read, seen, local, files) or ())
            else:  # constraints named by a requirements file
                _add_file(nested, opt, read, seen, local, files)
        elif option == "-r" and (opt == "-e" or _is_path(value)):
            local.append(_package(value, editable=opt == "-e", item=raw))
        else:
            out.append(raw)
    return out


def _logical_lines(text: str) -> list[str]:
    """pip's reading: ``\\`` joins lines, `` #`` starts a comment, blank lines vanish."""
    joined = re.sub(r"\\\r?\n", "", text)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if line:
            out.append(line)
    return out
