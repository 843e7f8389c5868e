"""Workflow commands, summary and outputs as units: escaping round trips, limits, sizes."""

from __future__ import annotations

from pathlib import Path

from github_support import commands, parse_command, read_outputs

from gatekit.config.models import Event
from gatekit.github.outputs import output_block
from gatekit.github.workflow import Annotation, annotation_lines, command, mask_lines
from gatekit.plan.model import PlanContext
from gatekit.reports.summary import build_summary
from gatekit.results import Environment, Finding, GateResult, Outcome, RunResult, Verdict

NASTY = "100% done: a,b\r\nnext line\nthird %0A literal"


def test_escaping_round_trips_through_the_runners_unescaping() -> None:
    line = Annotation(
        "error", NASTY, title="t:i,t%le\n2", file="dir/we%ird:na,me\r\n.py", line=3, col=7
    ).render()
    assert "\n" not in line and "\r" not in line
    assert line == (
        "::error file=dir/we%25ird%3Ana%2Cme%0D%0A.py,line=3,col=7,title=t%3Ai%2Ct%25le%0A2"
        "::100%25 done: a,b%0D%0Anext line%0Athird %250A literal"
    )
    cmd = parse_command(line)
    assert cmd is not None
    assert cmd.name == "error"
    assert cmd.data == NASTY
    assert cmd.props == {
        "file": "dir/we%ird:na,me\r\n.py",
        "line": "3",
        "col": "7",
        "title": "t:i,t%le\n2",
    }


def test_25_findings_give_10_annotations_and_one_notice() -> None:
    anns = [Annotation("error", f"finding {i}", file="a.py", line=i + 1) for i in range(25)]
    anns += [Annotation("warning", "advisory", title="gatekit: adv")]
    lines = annotation_lines(anns)
    got = commands("\n".join(lines))
    assert [c.name for c in got] == ["error"] * 10 + ["warning", "notice"]
    assert [c.props["line"] for c in got[:10]] == [str(i) for i in range(1, 11)]
    assert got[-1].data == (
        "15 errors more than GitHub shows per step: all are listed in the job summary"
    )


def test_mask_lines_cover_each_line_of_a_multiline_secret() -> None:
    got = commands("\n".join(mask_lines(["abc%def\n  line-two-x  ", "abc%def\n  line-two-x  "])))
    assert [c.name for c in got] == ["add-mask"] * 3
    assert [c.data for c in got] == ["abc%def\n  line-two-x  ", "abc%def", "line-two-x"]


def test_outputs_use_the_delimiter_syntax_for_multiline_values(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text(output_block({"verdict": "failed", "notes": "a\nb=c\n<<x"}))
    assert read_outputs(out) == {"verdict": "failed", "notes": "a\nb=c\n<<x"}
    assert out.read_text().startswith("verdict=failed\nnotes<<ghadelimiter_")


def test_command_leaves_out_empty_properties() -> None:
    assert command("notice", "x", file=None, title="") == "::notice::x"


def _result(gates: list[GateResult]) -> RunResult:
    return RunResult(
        run_id="r",
        plan_id="p" * 64,
        policies=(),
        context=PlanContext(event=Event.CI, branch="main"),
        verdict=Verdict.FAILED,
        exit_code=1,
        gates=tuple(gates),
        environment=Environment(python="3", platform="x", gatekit="0", fingerprint="f"),
        started_at="2026-01-01T00:00:00Z",
        duration=1.0,
    )


def test_summary_stays_under_one_mib_and_says_what_it_left_out() -> None:
    findings = tuple(
        Finding(rule="r", path=f"pkg/m{i}.py", line=i, message="x" * 200) for i in range(20000)
    )
    res = _result([GateResult(id="lint", outcome=Outcome.FAILED, reason="|<b>", findings=findings)])
    text = build_summary(res)
    assert len(text.encode()) < 1024 * 1024
    assert "| `lint` | :x: failed | 0.0s | \\|&lt;b&gt; |" in text
    assert "left out to stay under GitHub's 1 MiB summary limit" in text


def test_summary_keeps_the_runbooks_code_spans(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "lint.md").write_text(
        "# Gate `lint`: failed\n\n## Next action\n\nRun `ruff check .` <here>\nthen retry.\n\n"
        "## Last 200 lines of output\n\n```\nx\n```\n"
    )
    res = _result([GateResult(id="lint", outcome=Outcome.FAILED, reason="exit 1")])
    text = build_summary(res, tmp_path)
    assert "  - Next action: Run `ruff check .` &lt;here&gt; then retry.\n" in text
    assert "Last 200 lines" not in text


def test_summary_lists_junit_failures_and_kpis() -> None:
    from gatekit.results import JUnitCase, JUnitSummary, KpiResult

    junit = JUnitSummary(
        tests=3,
        failures=1,
        errors=0,
        skipped=0,
        failing=(
            JUnitCase(
                suite="s", classname="tests.test_x", name="test_y", result="failure", message="a|b"
            ),
        ),
    )
    kpi = (
        KpiResult(
            metric="coverage", op=">=", threshold=0.9, value=0.85, passed=False, reason="low"
        ),
    )
    res = _result([GateResult(id="unit", outcome=Outcome.FAILED, junit=junit, kpi=kpi)])
    text = build_summary(res)
    assert "| `unit` | `tests.test_x.test_y` | failure | a\\|b |" in text
    assert "| `unit` | `coverage` | &gt;= 0.9 | 0.85 | :x: low |" in text
