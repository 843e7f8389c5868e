"""Crash recovery: a run whose owner died is marked ``crashed``, once, by whoever finds it.

Any gatekit command first looks at the active runs of its repository (few files:
``<gatekit dir>/active/``). A run whose owner is dead (SIGKILL, power loss, OOM,
or a daemon client that went away) gets:

- its gates that had not finished marked ``crashed`` (status file, event, runbook,
  forensics), with the phase they were in;
- the processes it left running (those carrying its ``GATEKIT_RUN`` token)
  stopped: SIGTERM, grace, SIGKILL, confirmed gone;
- the ref locks its dead processes held removed (only when provably theirs);
- its shadow slot free again (the kernel released its lock; the next check refreshes it);
- ``run.json`` set to ``crashed``, and one line on stderr.

Marking is claimed with an exclusive create, so two commands never both do it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from gatekit.operator import actions, control, forensics, procs, runfile
from gatekit.operator.rundir import active_ids, gate_statuses, read_json
from gatekit.phases import UNFINISHED_PHASES

GRACE = 3.0
CLIENT_GONE = "CLIENT_GONE"
CLAIM = "recovered"
WATCHDOG_DEFAULT = 900.0


def client_gone_run(run_dir: Path) -> None:
    """The end of a run of a daemon worker whose client went away: the run is crashed."""
    from gatekit.operator import clientwatch

    doc = runfile.read(run_dir) or {}
    mark_crashed(run_dir, doc, why=clientwatch.why(), code=CLIENT_GONE, interrupted=True)


def recover_runs(gatekit_dir: Path, report: bool = True) -> list[str]:
    """Mark every active run whose owner died; one stderr line each. Never raises."""
    messages = []
    for run_id in active_ids(gatekit_dir):
        run_dir = gatekit_dir / "runs" / run_id
        try:
            msg = _recover_one(run_dir)
        except Exception as exc:  # recovery must never break the command that found it
            msg = f"gatekit: could not recover run {run_id}: {exc}"
        if msg:
            messages.append(msg)
            if report:
                print(msg, file=sys.stderr)
    return messages


def _recover_one(run_dir: Path) -> str | None:
    doc = runfile.read(run_dir)
    if doc is None:
        if not run_dir.is_dir() or (run_dir / "result.json").is_file():
            runfile.clear_active(run_dir)
        return None
    if doc.get("state") in runfile.FINAL_STATES:
        runfile.clear_active(run_dir)
        return None
    if runfile.owner_alive(doc):
        return _heartbeat_watchdog(run_dir, doc)
    if runfile.worker_alive(doc) and doc.get("worker", {}).get("pid") != doc["owner"].get("pid"):
        return None  # a daemon worker whose client died stops its gates itself
    owner = doc.get("owner", {})
    why = f"the gatekit process that owned it (pid {owner.get('pid')}) died"
    return mark_crashed(run_dir, doc, why=why, code=control.OWNER_DIED)


def mark_crashed(
    run_dir: Path, doc: dict[str, Any], *, why: str, code: str, interrupted: bool = False
) -> str | None:
    """Mark the run and its unfinished gates crashed (``interrupted``: also the gates that
    were stopped because the run was interrupted, as when a daemon's client went away)."""
    try:
        fd = os.open(run_dir / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None  # someone else recovers (or recovered) it
    os.close(fd)
    run_id = run_dir.name
    gates = gate_statuses(run_dir)
    crashed: list[str] = []
    for gate_id, st in gates.items():
        cut_short = interrupted and st.get("phase") == "stopped" and not st.get("code")
        if st.get("phase") not in UNFINISHED_PHASES and not cut_short:
            continue
        pgid = st.get("pid") if isinstance(st.get("pid"), int) else None
        _left, snap = control.end_gate(
            run_dir, gate_id, pgid, why=f"crash recovery: {why}", grace=GRACE
        )
        if snap is None:
            where = forensics.snapshot(run_dir, gate_id, why=f"crash recovery: {why}")
            snap = str(where.relative_to(run_dir))
        _crash_gate(run_dir, gate_id, st, why=why, code=code, snap=snap)
        crashed.append(gate_id)
    strays = procs.carrying(runfile.RUN_VAR, f"{run_id}/", prefix=True)
    procs.stop_all(strays, GRACE)
    dead = {p for p in (doc.get("owner", {}).get("pid"), doc.get("worker", {}).get("pid")) if p}
    released = _release_locks(run_dir.parent.parent, dead)
    doc = {**doc, "state": "crashed", "ended_at": runfile.now_iso()}
    doc["crash"] = {"why": why, "code": code, "gates": crashed, "locks_released": released}
    runfile.write(run_dir, doc)
    runfile.clear_active(run_dir)
    if run_id not in runfile.recovered:
        runfile.recovered.append(run_id)
    gates_txt = f"{len(crashed)} gate(s) marked crashed" if crashed else "no gate was running"
    locks_txt = f", {len(released)} lock(s) released" if released else ""
    return f"gatekit: run {run_id} crashed ({why}): {gates_txt}{locks_txt}; see gatekit explain --run {run_id}"


def _crash_gate(
    run_dir: Path, gate_id: str, st: dict[str, Any], *, why: str, code: str, snap: str
) -> None:
    now = runfile.now_iso()
    last_phase = str(st.get("phase"))
    reason = f"crashed in phase {last_phase}: {why}"
    doc = {**st, "phase": "crashed", "last_phase": last_phase, "reason": reason, "code": code}
    doc.update(pid=None, updated=now, heartbeat=now)
    from gatekit.atomicfile import save_quietly

    save_quietly(
        run_dir / "status" / f"{gate_id}.json", json.dumps(doc, indent=2, sort_keys=True) + "\n"
    )
    event = {"time": now, "gate": gate_id, "phase": "crashed", "reason": reason, "code": code}
    with (run_dir / "events.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, sort_keys=True) + "\n")
    act = actions.next_action(gate_id, "crashed", code=code)
    lines = forensics.tail(run_dir / "logs" / f"{gate_id}.log", 200)
    prose = (
        f"The run crashed while this gate was in phase {last_phase} ({why}). Its processes "
        f"were stopped. Re-run it with `{act.command}`."
    )
    report = {
        "gate": gate_id,
        "outcome": "crashed",
        "code": code,
        "reason": reason,
        "phase": last_phase,
        "exit_code": None,
        "failure_class": None,
        "command": None,
        "attempts": st.get("attempt", 0),
        "action": act.action,
        "next_command": act.command,
        "setting": None,
        "next_action": prose,
        "signature": None,
        "forensics": snap,
        "log": f"logs/{gate_id}.log",
        "runbook": f"reports/{gate_id}.md",
        "last_lines": lines[-20:],
    }
    reports = run_dir / "reports"
    reports.mkdir(exist_ok=True)
    (reports / f"{gate_id}.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    md = [
        f"# Gate `{gate_id}`: crashed",
        "",
        f"- phase: {last_phase}",
        f"- reason: {reason}",
        f"- code: {code}",
        f"- forensics: {snap}/",
        f"- full log: logs/{gate_id}.log",
        "",
        "## Next action",
        "",
        prose,
        "",
        "## Last 200 lines of output",
        "",
        "```",
        *lines,
        "```",
        "",
    ]
    (reports / f"{gate_id}.md").write_text("\n".join(md), encoding="utf-8")


def _release_locks(gatekit_dir: Path, dead: set[int]) -> list[str]:
    """Ref locks whose owner record names one of the dead processes, removed when stale."""
    from gatekit.operator.locks import list_locks, release

    released = []
    for lock in list_locks(gatekit_dir):
        if lock.kind == "ref" and lock.pid in dead and lock.state != "alive" and release(lock):
            released.append(lock.name)
    return released


def _heartbeat_watchdog(run_dir: Path, doc: dict[str, Any]) -> str | None:
    """A live run whose gate's heartbeat is older than ``watchdog``: the run's process is
    stuck (stopped, deadlocked). Stop the gate (the run records it when it moves again)."""
    from gatekit.operator.rundir import age

    limit = doc.get("watchdog")
    limit = float(limit) if isinstance(limit, (int, float)) else WATCHDOG_DEFAULT
    out = []
    for gate_id, st in gate_statuses(run_dir).items():
        if st.get("phase") not in UNFINISHED_PHASES - {"queued"}:
            continue
        beat = age(st.get("heartbeat"))
        if beat is None or beat < limit:
            continue
        if control.stop_requested(run_dir, gate_id) is not None:
            continue
        reason = f"heartbeat {beat:g}s old: stopped by the watchdog (watchdog {limit:g}s)"
        control.request_stop(
            run_dir, gate_id, code=control.WATCHDOG_STUCK, reason=reason, setting="watchdog"
        )
        pgid = st.get("pid") if isinstance(st.get("pid"), int) else None
        control.end_gate(run_dir, gate_id, pgid, why="watchdog: " + reason, grace=GRACE)
        out.append(f"gatekit: run {run_dir.name}: gate {gate_id} {reason}")
    return "\n".join(out) or None


def read_crash(run_dir: Path) -> dict[str, Any] | None:
    doc = read_json(run_dir / runfile.RUN_FILE)
    return doc.get("crash") if doc else None
