"""Step outputs (``GITHUB_OUTPUT``) and the job summary (``GITHUB_STEP_SUMMARY``).

A multi-line output value is written with the runner's delimiter syntax
(``name<<DELIM`` ... ``DELIM``), with a delimiter the value cannot contain.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def output_block(values: Mapping[str, str]) -> str:
    parts = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delim = "ghadelimiter_" + os.urandom(8).hex()
            while delim in value:
                delim = "ghadelimiter_" + os.urandom(8).hex()
            parts.append(f"{name}<<{delim}\n{value}\n{delim}\n")
        else:
            parts.append(f"{name}={value}\n")
    return "".join(parts)


def _append(path: str | None, text: str) -> bool:
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(text)
    return True


def write_outputs(environ: Mapping[str, str], values: Mapping[str, str]) -> bool:
    return _append(environ.get("GITHUB_OUTPUT"), output_block(values))


def append_summary(environ: Mapping[str, str], markdown: str) -> bool:
    return _append(environ.get("GITHUB_STEP_SUMMARY"), markdown)
