"""'Did you mean' suggestions for misspelt keys, gate ids and names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def gate_tip(gid: str, known: Sequence[str]) -> str:
    """The tip of an error naming a gate the plan does not have."""
    close = difflib.get_close_matches(gid, known, n=1)
    return (
        f"did you mean {close[0]!r}?"
        if close
        else f"gates in the plan: {', '.join(known) or 'none'}"
    )
