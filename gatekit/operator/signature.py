"""Failure signatures: the same failure gets the same signature, run after run.

A signature hashes the gate, the failing command, the last error lines of its
output normalised (numbers, hex ids, durations and temporary paths removed) and
the failing test ids from JUnit. ``gatekit explain`` counts earlier records of the
chain with the same signature.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

ERROR_LINES = 5
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b", re.I)
_NUM = re.compile(r"\d+(?:\.\d+)?")
_TMP = re.compile(r"(/tmp|/var/folders|/private/var)/\S*")
_RUN = re.compile(r"\S*/gatekit/(runs|shadows)/\S*")
_NOISE = re.compile(r"^(=== gatekit:|\$ )")


def normalise(line: str) -> str:
    line = _RUN.sub("<path>", line)
    line = _TMP.sub("<tmp>", line)
    line = _HEX.sub("<hex>", line)
    line = _NUM.sub("<n>", line)
    return " ".join(line.split())


def error_lines(lines: Sequence[str], count: int = ERROR_LINES) -> list[str]:
    """The last ``count`` meaningful lines of output, normalised."""
    kept = [normalise(ln) for ln in lines if ln.strip() and not _NOISE.match(ln)]
    return kept[-count:]


def signature(
    gate_id: str, command: str | None, lines: Sequence[str], test_ids: Iterable[str] = ()
) -> str:
    if command:  # the log echoes each command (``$ CMD``), which may span lines
        lines = "\n".join(lines).replace(f"$ {command}", "").splitlines()
    parts = [
        f"gate {gate_id}",
        f"command {normalise(command or '')}",
        *(f"line {ln}" for ln in error_lines(lines)),
        *(f"test {t}" for t in sorted(set(test_ids))),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
