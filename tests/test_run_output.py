"""Reporters (live TTY view, plain lines) and the status heartbeat."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from pathlib import Path

from run_helpers import gate, plan, py, run

from gatekit.results import GateResult, Outcome
from gatekit.run.output import LiveReporter, PlainReporter, final_table, make_reporter
from gatekit.run.status import HEARTBEAT


def _results() -> list[GateResult]:
    return [
        GateResult(id="lint", outcome=Outcome.PASSED, duration=0.5),
        GateResult(
            id="unit-tests", outcome=Outcome.FAILED, reason="`pytest` exited with 1", duration=2.25
        ),
    ]


def test_plain_reporter_prefixes_every_line() -> None:
    s = io.StringIO()
    r = PlainReporter(s)
    r.event("lint", "queued")
    r.event("lint", "running")
    r.event("lint", "running", "checking 3 files")
    r.final(_results())
    lines = s.getvalue().splitlines()
    assert lines[0] == "[lint] == running"
    assert lines[1] == "[lint] checking 3 files"
    assert "unit-tests" in lines[-1] and "failed" in lines[-1] and "exited with 1" in lines[-1]


def test_live_reporter_redraws_in_place_and_ends_with_the_table() -> None:
    s = io.StringIO()
    r = LiveReporter(s)
    r.event("lint", "queued")
    r.event("unit-tests", "queued")
    r.event("lint", "running")
    r.event("lint", "running", "checking 3 files")
    time.sleep(0.35)
    r.event("lint", "passed")
    r.final(_results())
    out = s.getvalue()
    assert "\x1b[2K" in out and "\x1b[2F" in out  # cleared lines, cursor moved back up
    assert "checking 3 files" in out
    assert out.endswith(final_table(_results()))


def test_make_reporter_is_plain_off_a_terminal() -> None:
    assert isinstance(make_reporter(io.StringIO()), PlainReporter)


def test_status_heartbeat_while_running(tmp_path: Path) -> None:
    status = tmp_path / "run" / "status" / "slow.json"
    seen: list[dict[str, object]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                seen.append(json.loads(status.read_text()))
            time.sleep(0.1)

    t = threading.Thread(target=watch)
    t.start()
    try:
        res, _ = run(
            plan(
                gate(
                    "slow",
                    py(f"import time; print('tick', flush=True); time.sleep({HEARTBEAT + 0.6})"),
                )
            ),
            tmp_path,
        )
    finally:
        stop.set()
        t.join()
    assert res["slow"].outcome is Outcome.PASSED
    running = [s for s in seen if s["phase"] == "running"]
    assert len({s["heartbeat"] for s in running}) >= 2
    assert any(isinstance(s["pid"], int) for s in running)
    assert any(s["last_lines"] == ["tick"] for s in running)


def test_final_table_lists_the_findings_of_failed_gates() -> None:
    from gatekit.results import Finding, GateResult, Outcome
    from gatekit.run.output import final_table

    bad = GateResult(
        id="parse-json",
        outcome=Outcome.FAILED,
        reason="builtin parse-json: 1 finding(s)",
        findings=(Finding(rule="parse-json", path="a.json", line=2, message="invalid JSON"),),
    )
    good = GateResult(
        id="secrets",
        outcome=Outcome.PASSED,
        findings=(Finding(rule="x", path="b.txt", line=1, message="baseline only"),),
    )
    table = final_table([bad, good])
    assert "  a.json:2: invalid JSON" in table
    assert "b.txt" not in table  # a passing gate's notes are not failures
