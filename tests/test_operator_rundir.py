"""Reading a run directory back when its status files lag behind its events: a check
killed or frozen right after a gate started must still show that gate, with its pid."""

from __future__ import annotations

import json
from pathlib import Path

from gatekit.operator import rundir
from gatekit.run.status import RunStatus


def test_a_process_start_reaches_the_status_file_at_once(tmp_path: Path) -> None:
    status = RunStatus(tmp_path)
    try:
        status.transition("lint", "running", attempt=1)
        status.set_pid("lint", 4242)
        # no waiting for the writer thread: the file already names the process
        doc = json.loads((tmp_path / "status" / "lint.json").read_text())
        assert doc["pid"] == 4242 and doc["phase"] == "running" and doc["attempt"] == 1
    finally:
        status.close()


def test_events_bring_a_missing_or_stale_status_up_to_date(tmp_path: Path) -> None:
    (tmp_path / "status").mkdir()
    stale = {
        "gate": "old",
        "phase": "queued",
        "attempt": 0,
        "pid": None,
        "started": None,
        "updated": "2026-01-01T00:00:00.000Z",
        "heartbeat": "2026-01-01T00:00:00.000Z",
        "log": "logs/old.log",
        "last_lines": ["x"],
    }
    (tmp_path / "status" / "old.json").write_text(json.dumps(stale))
    events = [
        {"time": "2026-01-01T00:00:01.000Z", "gate": "old", "phase": "running", "attempt": 1},
        {"time": "2026-01-01T00:00:01.500Z", "gate": "new", "phase": "running", "pid": 77},
        {"time": "2026-01-01T00:00:00.500Z", "gate": "old", "phase": "queued"},  # older
    ]
    text = "".join(json.dumps(e) + "\n" for e in events) + '{"time": "2026-01-01T00:0'  # cut
    (tmp_path / "events.jsonl").write_text(text)

    gates = rundir.gate_statuses(tmp_path)
    assert gates["old"]["phase"] == "running" and gates["old"]["attempt"] == 1
    assert gates["old"]["heartbeat"] == "2026-01-01T00:00:01.000Z"
    assert gates["old"]["last_lines"] == ["x"], "what only the file knows is kept"
    new = gates["new"]
    assert new["phase"] == "running" and new["pid"] == 77
    assert new["started"] == new["heartbeat"] == "2026-01-01T00:00:01.500Z"
    assert new["log"] == "logs/new.log"


def test_a_status_file_newer_than_the_events_wins(tmp_path: Path) -> None:
    (tmp_path / "status").mkdir()
    done = {"gate": "g", "phase": "passed", "updated": "2026-01-01T00:00:05.000Z"}
    (tmp_path / "status" / "g.json").write_text(json.dumps(done))
    event = {"time": "2026-01-01T00:00:01.000Z", "gate": "g", "phase": "running"}
    (tmp_path / "events.jsonl").write_text(json.dumps(event) + "\n")
    assert rundir.gate_statuses(tmp_path)["g"]["phase"] == "passed"
