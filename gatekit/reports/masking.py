"""Masking known secret values in text before it is written anywhere."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every exact occurrence of each non-empty value replaced by ``***``.

    Longer values are replaced first, so a value that contains another is masked whole.
    """
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not values or not text:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return pattern.sub(MASK, text)


def mask_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """:func:`mask_secrets` for raw log bytes (values matched as UTF-8)."""
    values = sorted({s.encode("utf-8") for s in secrets if s}, key=len, reverse=True)
    if not values or not data:
        return data
    pattern = re.compile(b"|".join(re.escape(v) for v in values))
    return pattern.sub(MASK.encode("ascii"), data)
