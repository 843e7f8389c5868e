"""JUnit: collecting a gate's files, and the merged file of a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from gatekit.reports.junit import (
    JUnitNotProduced,
    JUnitUnreadable,
    collect_junit,
    junit_dir,
    write_junit_xml,
)
from gatekit.results import GateResult, Outcome

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites>
  <testsuite name="pytest" tests="4">
    <testcase classname="tests.test_a" name="test_ok" time="0.1"/>
    <testcase classname="tests.test_a" name="test_bad" time="0.2">
      <failure message="assert 1 == 2">details
more</failure>
    </testcase>
    <testcase classname="tests.test_b" name="test_boom"><error message="RuntimeError: x"/></testcase>
    <testcase classname="tests.test_b" name="test_later"><skipped message="todo"/></testcase>
  </testsuite>
</testsuites>
"""

SUITE_ONLY = """<testsuite name="other"><testcase classname="c" name="n"/></testsuite>"""


def test_collect_totals_and_failing_cases(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.xml").write_text(REPORT)
    (tmp_path / "reports" / "b.xml").write_text(SUITE_ONLY)
    summary = collect_junit(tmp_path, ["reports/*.xml"])
    assert summary is not None
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (5, 1, 1, 1)
    assert [(c.suite, c.classname, c.name, c.result, c.message) for c in summary.failing] == [
        ("pytest", "tests.test_a", "test_bad", "failure", "assert 1 == 2"),
        ("pytest", "tests.test_b", "test_boom", "error", "RuntimeError: x"),
    ]


def test_collect_masks_secret_values_in_messages(tmp_path: Path) -> None:
    token = "tok" + "en-9f8e7d6c5b"
    (tmp_path / "r.xml").write_text(REPORT.replace("assert 1 == 2", f"bad {token}"))
    summary = collect_junit(tmp_path, ["r.xml"], secrets=[token])
    assert summary is not None
    assert summary.failing[0].message == "bad ***"


def test_no_globs_is_none_and_missing_files_fail(tmp_path: Path) -> None:
    assert collect_junit(tmp_path, []) is None
    with pytest.raises(JUnitNotProduced, match="junit declared but not produced"):
        collect_junit(tmp_path, ["reports/*.xml"])


def test_unreadable_and_escaping(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text("<html>not junit</html>")
    with pytest.raises(JUnitUnreadable, match=r"r\.xml is not JUnit XML"):
        collect_junit(tmp_path, ["r.xml"])
    (tmp_path / "s.xml").write_text("<testsuites><oops")
    with pytest.raises(JUnitUnreadable):
        collect_junit(tmp_path, ["s.xml"])
    with pytest.raises(JUnitUnreadable, match="outside"):
        collect_junit(tmp_path, ["../x.xml"])


def test_merged_file_has_a_suite_per_gate(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    run_dir = tmp_path / "run"
    (shadow / "reports").mkdir(parents=True)
    (shadow / "reports" / "a.xml").write_text(REPORT)
    summary = collect_junit(shadow, ["reports/*.xml"], keep_dir=junit_dir(run_dir, "unit"))
    results = [
        GateResult(
            id="unit", outcome=Outcome.FAILED, reason="2 tests failed", duration=1.5, junit=summary
        ),
        GateResult(id="lint", outcome=Outcome.PASSED, duration=0.25),
        GateResult(id="fmt", outcome=Outcome.FAILED, reason="exit code 1"),
        GateResult(id="slow", outcome=Outcome.TIMED_OUT, reason="timed out after 10s"),
        GateResult(id="e2e", outcome=Outcome.SKIPPED, reason="no change under web/"),
        GateResult(
            id="cov",
            outcome=Outcome.FAILED,
            reason="kpi coverage not met",
            junit=collect_junit(shadow, ["reports/*.xml"]).model_copy(  # type: ignore[union-attr]
                update={"failures": 0, "errors": 0, "failing": ()}
            ),
        ),
    ]
    out = tmp_path / "merged.xml"
    write_junit_xml(out, results, run_dir)
    xml = JUnitXml.fromfile(str(out))
    suites = {s.name: s for s in xml}
    assert list(suites) == ["unit", "lint", "fmt", "slow", "e2e", "cov"]
    assert [c.name for c in suites["unit"]] == ["test_ok", "test_bad", "test_boom", "test_later"]
    assert suites["unit"].tests == 4 and suites["unit"].failures == 1 and suites["unit"].errors == 1

    def only(name: str) -> object:
        cases = list(suites[name])
        assert len(cases) == 1 and cases[0].name == name
        return cases[0].result

    assert only("lint") == []
    assert isinstance(only("fmt")[0], Failure)  # type: ignore[index]
    assert isinstance(only("slow")[0], Error)  # type: ignore[index]
    assert isinstance(only("e2e")[0], Skipped)  # type: ignore[index]
    # A failing gate whose own cases (not kept) all passed still shows a failure.
    assert isinstance(only("cov")[0], Failure)  # type: ignore[index]
    assert xml.tests == 9
