"""Sizes: whole bytes, or strings such as '512K', '100M', '2G', '1.5GiB'.

K, M, G and T are powers of 1024, as in systemd and docker; 'KB', 'KiB' and the
like mean the same.
"""

from __future__ import annotations

import re

_UNIT = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?$", re.IGNORECASE)
_MAX = 1024**5  # a pebibyte: larger is a mistake


def parse_size(value: object) -> int:
    """Bytes, or ValueError with a message for people."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 512M or 2G, got a boolean")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        m = _SIZE.match(value.strip())
        if m is None:
            raise ValueError(
                f"cannot read '{value}' as a size: use forms like '512K', '100M', '2G'"
            )
        size = int(float(m.group(1)) * _UNIT[m.group(2).upper()])
    else:
        raise ValueError("expected a size like 512M or 2G (or whole bytes)")
    if size <= 0:
        raise ValueError(f"a size must be positive, got {value!r}")
    if size > _MAX:
        raise ValueError(f"a size must be at most 1P, got {value!r}")
    return size


def format_size(size: int | float) -> str:
    """``1536`` -> '1.5 KiB' (for people, never parsed back)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns
