"""Durations: whole seconds, or strings such as '90s', '10m', '1h30m', '500ms'."""

from __future__ import annotations

import math
import re

_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_MAX = 366 * 24 * 3600.0  # a year: longer is a mistake (and overflows timers)
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(value: object) -> float:
    """Seconds, or ValueError with a message for people."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30 (seconds), '90s' or '10m', got a boolean")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"a duration must be positive, got {value}")
        if not math.isfinite(value) or value > _MAX:
            raise ValueError(f"a duration must be at most {_MAX:.0f} seconds, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 30 (seconds), '90s' or '10m'")
    text = value.strip().replace(" ", "")
    if text.replace(".", "", 1).isdigit():
        raise ValueError(f"'{value}' is a string: write {text} (seconds, unquoted) or '{text}s'")
    pos = 0
    total = 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(
            f"cannot read '{value}' as a duration: use forms like '90s', '10m', '1h30m', '500ms'"
        )
    if total <= 0:
        raise ValueError(f"a duration must be positive, got '{value}'")
    if not math.isfinite(total) or total > _MAX:
        raise ValueError(f"a duration must be at most {_MAX:.0f} seconds, got '{value}'")
    return total


_CORES = re.compile(r"^(\d+(?:\.\d+)?)\s*cores?$")


def is_cores(value: object) -> bool:
    """``cpu: "0.5 cores"`` (a share of cores), not CPU seconds."""
    return isinstance(value, str) and value.strip().lower().endswith(("core", "cores"))


def parse_cores(value: object) -> float:
    """A share of cores ('0.5 cores', '2 cores'), or ValueError with a message for people."""
    m = _CORES.match(str(value).strip().lower())
    if m is None:
        raise ValueError(f"cannot read '{value}' as a share of cores: write e.g. '0.5 cores'")
    cores = float(m.group(1))
    if not 0.01 <= cores <= 4096:
        raise ValueError(f"a share of cores must be from 0.01 to 4096, got '{value}'")
    return cores
