"""Canonical JSON: the one byte form used for hashing and for git notes."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def dumps(value: Any) -> str:
    """Compact, key-sorted, ASCII-only JSON: identical bytes in any process."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(value: Any) -> str:
    """sha256 hex of the canonical JSON of ``value``."""
    return hashlib.sha256(dumps(value).encode("ascii")).hexdigest()
