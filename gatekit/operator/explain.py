"""``gatekit explain``: per gate that did not pass, why, and what to do next.

The JSON form (``--json``, ``schemas/explain.schema.json``) is a stable contract:
fields are only ever added. ``action`` is one of the words of
:mod:`gatekit.operator.actions`; ``next_command`` is the command to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit import phases
from gatekit.operator import actions, history, rundir
from gatekit.operator.statusview import approve_command

EXPLAIN_SCHEMA_VERSION = 1
EXPLAINED = frozenset({"failed", "error", "timed_out", "stopped", "crashed", "manual_pending"})


def explain_doc(run_dir: Path, gate: str | None, with_history: bool = True) -> dict[str, Any]:
    view = rundir.load(run_dir)
    run = view.run or {}
    result = view.result() or {}
    outcomes: dict[str, dict[str, Any]] = {g["id"]: g for g in result.get("gates", [])}
    for gid, st in view.gates.items():
        if gid not in outcomes or st.get("phase") == "crashed":
            outcomes[gid] = {"id": gid, "outcome": st.get("phase"), "reason": st.get("reason", "")}
            if st.get("code"):
                outcomes[gid]["code"] = st["code"]
    if gate is not None and gate not in outcomes:
        from gatekit.config.suggest import did_you_mean
        from gatekit.errors import UsageError

        raise UsageError(
            f"run {view.run_id} has no gate {gate!r}{did_you_mean(gate, list(outcomes))}",
            tip="gates of the run: " + (", ".join(outcomes) or "none"),
        )
    chosen = [gate] if gate else [g for g, r in outcomes.items() if r.get("outcome") in EXPLAINED]
    gates = [
        _gate(view, outcomes.get(g) or {"id": g, "outcome": "unknown"}, run, result, with_history)
        for g in chosen
    ]
    return {
        "schema_version": EXPLAIN_SCHEMA_VERSION,
        "run_id": view.run_id,
        "run_dir": str(run_dir),
        "state": view.state,
        "verdict": result.get("verdict") or run.get("verdict"),
        "exit_code": result.get("exit_code", run.get("exit_code")),
        "crash": run.get("crash"),
        "gates": gates,
        "pending_manual": [
            {"gate": g["gate"], "approve": g["next_command"]}
            for g in gates
            if g["outcome"] == "manual_pending"
        ],
    }


def _gate(
    view: rundir.RunView,
    rec: dict[str, Any],
    run: dict[str, Any],
    result: dict[str, Any],
    with_history: bool,
) -> dict[str, Any]:
    gid = str(rec["id"])
    outcome = str(rec.get("outcome"))
    book = view.report(gid) or {}
    st = view.gates.get(gid, {})
    attempts = rec.get("attempts") or []
    last = attempts[-1] if attempts else {}
    cls = book.get("failure_class") or last.get("failure_class")
    code = rec.get("code") or book.get("code") or st.get("code")
    act = actions.next_action(
        gid,
        outcome,
        code=code,
        failure_class=cls,
        reason=str(rec.get("reason") or ""),
        fix_tree=bool(rec.get("fix_tree")),
        setting=book.get("setting"),
    )
    command = act.command
    if outcome == "manual_pending":
        command = approve_command(gid, run)
    doc: dict[str, Any] = {
        "gate": gid,
        "outcome": outcome,
        "code": code,
        "reason": rec.get("reason") or book.get("reason") or "",
        "phase": book.get("phase") or st.get("last_phase") or _phase(st),
        "exit_code": book.get("exit_code", last.get("exit_code")),
        "failure_class": cls,
        "command": book.get("command"),
        "last_lines": book.get("last_lines") or list(st.get("last_lines") or [])[-20:],
        "action": act.action,
        "next_command": command,
        "setting": act.setting,
        "next_action": book.get("next_action") or _prose(outcome, rec, command),
        "runbook": _rel(view.run_dir, book.get("runbook")),
        "forensics": _rel(view.run_dir, book.get("forensics")),
        "log": _rel(view.run_dir, st.get("log") or rec.get("log")),
        "signature": rec.get("signature") or book.get("signature"),
        "seen_before": None,
    }
    if with_history and doc["signature"]:
        try:
            doc["seen_before"] = history.seen_before(
                result.get("chain"), gid, doc["signature"], view.run_id
            )
        except Exception:  # history is a bonus: a broken chain never hides the explanation
            doc["seen_before"] = None
    doc["seen_before_text"] = history.sentence(doc["seen_before"])
    return doc


def _phase(st: dict[str, Any]) -> str | None:
    phase = st.get("phase")
    return str(phase) if phase in phases.ACTIVE_PHASES else None


def _rel(run_dir: Path, rel: object) -> str | None:
    if not rel:
        return None
    path = run_dir / str(rel)
    return str(path) if path.exists() else None


def _prose(outcome: str, rec: dict[str, Any], command: str | None) -> str:
    if outcome == "manual_pending":
        what = str(rec.get("reason") or "A manual action is required").rstrip(".")
        return f"{what}. Then run `{command}`."
    if outcome in ("passed", "cached", "approved"):
        return "Nothing to do: the gate passed."
    if outcome == "skipped":
        return f"Skipped: {rec.get('reason')}"
    return f"Read the log, then run `{command}`." if command else "Read the log."


def render(doc: dict[str, Any]) -> str:
    head = f"run {doc['run_id']}: {doc['state']}"
    if doc.get("verdict"):
        head += f", verdict {doc['verdict']} (exit {doc['exit_code']})"
    out = [head]
    if doc.get("crash"):
        out.append(f"crashed: {doc['crash'].get('why')}")
    if not doc["gates"]:
        out.append("every gate passed, was cached, approved or skipped: nothing to explain")
    for g in doc["gates"]:
        out.append("")
        title = f"{g['gate']}: {g['outcome']}"
        if g["code"]:
            title += f" [{g['code']}]"
        out.append(title)
        for key, label in (
            ("reason", "reason"),
            ("phase", "phase"),
            ("exit_code", "exit code"),
            ("failure_class", "failure class"),
            ("command", "command"),
            ("seen_before_text", "history"),
            ("runbook", "runbook"),
            ("forensics", "forensics"),
            ("log", "log"),
        ):
            if g.get(key) not in (None, ""):
                out.append(f"  {label}: {g[key]}")
        if g["last_lines"]:
            out.append("  last lines:")
            out.extend(f"    {ln}" for ln in g["last_lines"][-10:])
        out.append(
            f"  next: {g['action']}" + (f" -> {g['next_command']}" if g["next_command"] else "")
        )
        out.append(f"  {g['next_action']}")
    return "\n".join(out)
