"""Path globs with ``**``, matched against repository-relative POSIX paths.

Rules (close to .gitignore):
  * ``*`` matches within one path segment, ``?`` one character, ``[abc]`` /
    ``[!abc]`` a character class;
  * ``**`` as a whole segment matches zero or more segments;
  * a pattern without ``/`` matches the file name at any depth (``*.py``);
  * a pattern also matches everything below a directory it matches
    (``docs`` and ``docs/`` match ``docs/a/b.md``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable


class GlobError(ValueError):
    """A pattern that cannot be compiled; the message says why."""


def check_glob(pattern: str) -> None:
    compile_glob(pattern)


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise GlobError("empty pattern")
    if pattern.startswith("/"):
        raise GlobError("patterns are relative to the repository root: remove the leading '/'")
    if "\\" in pattern:
        raise GlobError("use '/' to separate directories; '\\' is not allowed")
    body = pattern.rstrip("/")
    if not body:
        raise GlobError("a pattern of only '/' matches nothing")
    segments = body.split("/")
    for seg in segments:
        if seg in ("..", "."):
            raise GlobError(f"'{seg}' segments are not allowed: paths stay inside the repository")
        if seg == "":
            raise GlobError("empty path segment ('//')")
        if "**" in seg and seg != "**":
            raise GlobError("'**' must be a whole path segment, as in 'src/**/*.py'")
    anywhere = len(segments) == 1 and segments[0] != "**"
    parts: list[str] = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        parts.append(_segment(seg) + ("" if last else "/"))
    regex = "".join(parts)
    prefix = "(?:.*/)?" if anywhere else ""
    return re.compile(f"^{prefix}{regex}(?:/.*)?$", re.DOTALL)


def _segment(seg: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            start = i + 1
            negate = seg[start : start + 1] == "!"
            start += negate
            # a ']' right after '[' or '[!' is a member, as in fnmatch and .gitignore
            end = seg.find("]", start + 1 if seg[start : start + 1] == "]" else start)
            if end == -1:
                raise GlobError(f"unclosed '[' at position {i + 1}")
            if end == start:
                raise GlobError("empty character class '[]'")
            members = _char_class(seg[start:end])
            out.append(f"[^/{members}]" if negate else f"[{members}]")
            i = end
        elif ch == "]":
            raise GlobError(f"unmatched ']' at position {i + 1}")
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _char_class(inner: str) -> str:
    """The members of ``[...]`` as a regex class body: ranges kept, every other character escaped."""
    out: list[str] = []
    j = 0
    while j < len(inner):
        if j + 2 < len(inner) and inner[j + 1] == "-":
            low, high = inner[j], inner[j + 2]
            if low > high:
                raise GlobError(f"bad character range '{low}-{high}'")
            out.append(f"{re.escape(low)}-{re.escape(high)}")
            j += 3
        else:
            out.append(re.escape(inner[j]))
            j += 1
    return "".join(out)


def matches(path: str, pattern: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def match_any(path: str, patterns: Iterable[str]) -> bool:
    return any(matches(path, p) for p in patterns)


def first_match(paths: Iterable[str], patterns: Iterable[str]) -> tuple[str, str] | None:
    """The first (path, pattern) pair that matches, in the given orders."""
    pats = list(patterns)
    for path in paths:
        for p in pats:
            if matches(path, p):
                return path, p
    return None
