"""``gatekit status``: the runs of a repository and, per gate, phase, attempt, pid,
elapsed time, heartbeat age, last line and log path; pending manual gates with the
exact approve command. JSON (``--json``) or text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatekit import phases
from gatekit.operator import rundir
from gatekit.operator.runfile import recovered

RECENT = 20


def status_doc(gatekit_dir: Path, show_all: bool) -> dict[str, Any]:
    now = datetime.now(UTC)
    ids = list(rundir.active_ids(gatekit_dir))
    ids += [r for r in recovered if r not in ids]
    if show_all:
        recent = rundir.run_ids(gatekit_dir)[-RECENT:]
        ids += [r for r in recent if r not in ids]
    runs = [
        _run_doc(rundir.load(rundir.runs_dir(gatekit_dir) / r), now)
        for r in sorted(set(ids), reverse=True)
        if (rundir.runs_dir(gatekit_dir) / r).is_dir()
    ]
    return {"schema_version": 1, "runs": runs}


def _run_doc(view: rundir.RunView, now: datetime) -> dict[str, Any]:
    run = view.run or {}
    result = view.result() if view.state != "running" else None
    gates = []
    pending = []
    outcomes = {g["id"]: g for g in (result or {}).get("gates", [])}
    for gate_id, st in view.gates.items():
        phase = str(st.get("phase"))
        if gate_id in outcomes and phase != "crashed":
            phase = outcomes[gate_id]["outcome"]
        running = phase in phases.ACTIVE_PHASES
        gates.append(
            {
                "gate": gate_id,
                "phase": phase,
                "attempt": st.get("attempt", 0),
                "pid": st.get("pid") if running else None,
                "elapsed": rundir.age(st.get("started"), now) if running else None,
                "heartbeat_age": rundir.age(st.get("heartbeat"), now),
                "last_line": (st.get("last_lines") or [None])[-1],
                "log": str(view.run_dir / str(st.get("log") or f"logs/{gate_id}.log")),
                "reason": st.get("reason"),
                "code": st.get("code"),
            }
        )
        if phase == "manual_pending":
            pending.append({"gate": gate_id, "approve": approve_command(gate_id, run)})
    owner = run.get("owner") or {}
    return {
        "run_id": view.run_id,
        "state": view.state,
        "run_dir": str(view.run_dir),
        "owner_pid": owner.get("pid"),
        "candidate": run.get("candidate"),
        "started_at": run.get("started_at"),
        "elapsed": rundir.age(run.get("started_at"), now) if view.state == "running" else None,
        "verdict": run.get("verdict") or (result or {}).get("verdict"),
        "exit_code": run.get("exit_code", (result or {}).get("exit_code")),
        "gates": gates,
        "pending_manual": pending,
        "crash": run.get("crash"),
    }


def approve_command(gate_id: str, run: dict[str, Any]) -> str:
    source = (run.get("candidate") or {}).get("source")
    flag = {"staged": "", "worktree": " --worktree"}.get(str(source), "")
    return f"gatekit approve {gate_id}{flag}"


def render(doc: dict[str, Any], show_all: bool) -> str:
    runs = doc["runs"]
    if not runs:
        return "no gatekit run in progress" + ("" if show_all else " (--all: recent runs)")
    out = []
    for run in runs:
        cand = run.get("candidate") or {}
        tree = str(cand.get("tree") or "")[:12]
        head = f"run {run['run_id']}  {run['state']}"
        if run.get("verdict"):
            head += f" ({run['verdict']})"
        head += f"  owner pid {run.get('owner_pid')}  candidate {cand.get('source', '?')} {tree}"
        if run.get("elapsed") is not None:
            head += f"  {run['elapsed']:g}s"
        out.append(head)
        if run.get("crash"):
            out.append(f"  crashed: {run['crash'].get('why')}")
        for g in run["gates"]:
            bits = [f"  {g['gate']:<16} {g['phase']:<12} attempt {g['attempt']}"]
            if g["pid"]:
                bits.append(f"pid {g['pid']}")
            if g["elapsed"] is not None:
                bits.append(f"{g['elapsed']:g}s")
            if g["heartbeat_age"] is not None and g["phase"] in phases.ACTIVE_PHASES:
                bits.append(f"heartbeat {g['heartbeat_age']:g}s ago")
            if g["last_line"]:
                bits.append(f"| {str(g['last_line'])[:80]}")
            out.append("  ".join(bits))
            if g["phase"] in phases.ACTIVE_PHASES:
                out.append(f"    log: {g['log']}")
        for p in run["pending_manual"]:
            out.append(f"  pending manual gate {p['gate']}: {p['approve']}")
    return "\n".join(out)
