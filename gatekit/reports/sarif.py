"""SARIF 2.1.0 for the findings of built-in gates, as GitHub code scanning accepts it.

Locations are repository-relative URIs (percent-encoded) against the
``%SRCROOT%`` base; a finding without a line has no region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gatekit import __version__
from gatekit.results import Finding, GateResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"


def rule_description(rule: str) -> str:
    from gatekit.builtins import REGISTRY, describe

    if rule in REGISTRY:
        return describe(rule)
    if rule.startswith("secrets/"):
        kind = rule.removeprefix("secrets/").replace("-", " ")
        return f"Possible secret added ({kind})"
    return rule


def _location(finding: Finding) -> dict[str, Any]:
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": quote(finding.path, safe="/"), "uriBaseId": "%SRCROOT%"}
    }
    if finding.line is not None and finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
    return {"physicalLocation": physical}


def sarif_document(results: Sequence[GateResult]) -> dict[str, Any]:
    pairs = [(gate.id, f) for gate in results for f in gate.findings]
    rule_ids = sorted({f.rule for _gate, f in pairs})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    levels: dict[str, str] = {}
    for _gate, f in pairs:
        levels.setdefault(f.rule, f.severity)
    rules = [
        {
            "id": rule,
            "name": rule.replace("/", "-"),
            "shortDescription": {"text": rule_description(rule)},
            "defaultConfiguration": {"level": levels[rule]},
        }
        for rule in rule_ids
    ]
    sarif_results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": f.severity,
            "message": {"text": f.message},
            "locations": [_location(f)],
            "properties": {"gate": gate_id},
        }
        for gate_id, f in pairs
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gatekit",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                "results": sarif_results,
            }
        ],
    }


def write_sarif(path: Path, results: Sequence[GateResult]) -> None:
    """Write the SARIF log of every finding in ``results`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(sarif_document(results), indent=2, sort_keys=False) + "\n"
    path.write_text(text, encoding="utf-8")
