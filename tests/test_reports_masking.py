"""Masking secret values in logs."""

from __future__ import annotations

from gatekit.reports.masking import mask_bytes, mask_secrets


def test_exact_occurrences_are_masked() -> None:
    a = "abc" + "DEF123"
    assert mask_secrets(f"x={a} y={a}!", [a]) == "x=*** y=***!"


def test_longest_value_wins_and_empties_are_ignored() -> None:
    short, long = "sec" + "ret1", "sec" + "ret1-and-more"
    assert mask_secrets(f"{long} {short}", [short, long, ""]) == "*** ***"
    assert mask_secrets("nothing here", []) == "nothing here"


def test_regex_characters_are_literal() -> None:
    value = "a.b*c(d)" + "+e"
    assert mask_secrets(f"[{value}] aXbbc(d)+e", [value]) == "[***] aXbbc(d)+e"


def test_bytes() -> None:
    value = "pä" + "ss-wörd"
    assert mask_bytes(f"log {value}\n".encode(), [value]) == b"log ***\n"
