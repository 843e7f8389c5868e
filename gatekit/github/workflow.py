"""Workflow commands, written exactly as the Actions runner reads them.

The runner unescapes a command's data (``%25`` ``%0D`` ``%0A``) and, in property
values, also ``%3A`` and ``%2C``; :func:`escape_data` and :func:`escape_property`
are their inverses. The runner keeps at most 10 error, 10 warning and 10 notice
annotations per step and drops the rest silently: :func:`annotation_lines` emits
at most ``LIMIT`` per level and one closing notice counting what it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gatekit.lazyclass import dataclass

Level = Literal["error", "warning", "notice"]
LIMIT = 10  # annotations per level per step the runner shows
LEVELS: tuple[Level, ...] = ("error", "warning", "notice")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, data: str = "", **props: str | int | None) -> str:
    """``::name k=v,...::data`` with every part escaped; ``None`` properties left out."""
    given = [(k, v) for k, v in props.items() if v is not None and v != ""]
    head = name
    if given:
        head += " " + ",".join(f"{k}={escape_property(str(v))}" for k, v in given)
    return f"::{head}::{escape_data(data)}"


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def render(self) -> str:
        return command(
            self.level,
            self.message,
            file=self.file,
            line=self.line if self.file else None,
            col=self.col if self.file and self.line else None,
            title=self.title,
        )

    def where(self) -> str:
        if not self.file:
            return "-"
        return (
            self.file
            + (f":{self.line}" if self.line else "")
            + (f":{self.col}" if self.line and self.col else "")
        )


def split_annotations(
    annotations: Sequence[Annotation], limit: int = LIMIT
) -> tuple[list[Annotation], list[Annotation]]:
    """(shown, left out): the first ``limit`` of each level are shown, in order."""
    counts = dict.fromkeys(LEVELS, 0)
    shown: list[Annotation] = []
    rest: list[Annotation] = []
    for a in annotations:
        if counts[a.level] < limit:
            counts[a.level] += 1
            shown.append(a)
        else:
            rest.append(a)
    return shown, rest


def annotation_lines(annotations: Sequence[Annotation], limit: int = LIMIT) -> list[str]:
    """The lines to print: the shown annotations, then one notice counting the rest."""
    shown, rest = split_annotations(annotations, limit)
    lines = [a.render() for a in shown]
    if rest:
        parts = []
        for level in LEVELS:
            n = sum(1 for a in rest if a.level == level)
            if n:
                parts.append(f"{n} {level}{'s' if n != 1 else ''}")
        lines.append(
            command(
                "notice",
                f"{' and '.join(parts)} more than GitHub shows per step: "
                "all are listed in the job summary",
                title="gatekit: more annotations",
            )
        )
    return lines


def mask_lines(values: Sequence[str]) -> list[str]:
    """``::add-mask::`` for each value and, for a multi-line value, each of its lines."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        parts = [value, *value.splitlines()] if ("\n" in value or "\r" in value) else [value]
        for part in parts:
            part = part.strip() if part is not value else part
            if len(part) >= 4 and part not in seen:  # shorter pieces would mask everyday text
                seen.add(part)
                out.append(command("add-mask", part))
    return out


def group(title: str) -> str:
    return command("group", title)


def endgroup() -> str:
    return "::endgroup::"
