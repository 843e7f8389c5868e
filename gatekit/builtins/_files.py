"""Safe file access for built-in gates: repository-relative paths inside the shadow only.

A built-in reads ``ctx.root / path`` for each changed path. Paths that are absolute
or climb with ``..`` are refused (:class:`UnsafePathError`); a symlink (or a
symlinked directory on the way) that resolves outside the root is never followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from gatekit.config.models import OptionValue
from gatekit.errors import UnsafePathError, UsageError

# Files are read whole; anything bigger is only ever measured, never parsed.
MAX_READ = 32 * 1024 * 1024


def check_relative(path: str) -> str:
    """``path`` as a clean repository-relative POSIX path, or UnsafePathError."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise UnsafePathError(f"refusing path outside the repository: {path!r}")
    return str(pure)


def resolve_inside(root: Path, path: str) -> Path | None:
    """The real location of ``root/path``, or None when it is missing, not a regular file,
    or (through a symlink) outside ``root``."""
    rel = check_relative(path)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / rel))
    if not real.is_relative_to(real_root):
        return None
    if not real.is_file():
        return None
    return real


def is_symlink(root: Path, path: str) -> bool:
    return (root / check_relative(path)).is_symlink()


def escapes_root(root: Path, path: str) -> bool:
    """True when ``root/path`` exists only through a symlink pointing outside ``root``."""
    rel = check_relative(path)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(real_root / rel))
    return (root / rel).is_symlink() and not real.is_relative_to(real_root)


def read_bytes(root: Path, path: str) -> bytes | None:
    """The content of a changed file, or None (missing, not a file, escaping symlink, huge)."""
    real = resolve_inside(root, path)
    if real is None:
        return None
    try:
        if real.stat().st_size > MAX_READ:
            return None
        return real.read_bytes()
    except OSError:
        return None


def is_binary(data: bytes) -> bool:
    """Git's heuristic: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:8000]


def line_of(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def matches_any(patterns: Iterable[str], path: str) -> bool:
    """gatekit's path globs (:mod:`gatekit.globs`); a bad pattern is a usage error."""
    from gatekit.globs import GlobError, match_any

    try:
        return match_any(path, patterns)
    except GlobError as exc:
        raise UsageError(f"bad glob in {list(patterns)!r}: {exc}") from None


def opt_int(options: Mapping[str, OptionValue], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"option {name!r} must be a number, got {value!r}")
    return int(value)


def opt_str(options: Mapping[str, OptionValue], name: str, default: str) -> str:
    value = options.get(name, default)
    if not isinstance(value, str):
        raise UsageError(f"option {name!r} must be a string, got {value!r}")
    return value


def opt_list(options: Mapping[str, OptionValue], name: str) -> tuple[str, ...]:
    value = options.get(name, [])
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise UsageError(f"option {name!r} must be a list of strings, got {value!r}")
    return tuple(value)
