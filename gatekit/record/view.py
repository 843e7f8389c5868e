"""Rendering checkpoints for people and for --json (used by the log and show commands)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekit.record.checkpoints import Checkpoint
from gatekit.results import cost_text

if TYPE_CHECKING:
    import pygit2


def _time(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def checkpoint_json(repo: pygit2.Repository, cp: Checkpoint) -> dict[str, Any]:
    records = cp.records(repo)
    return {
        "checkpoint": cp.id,
        "chain": cp.chain,
        "kind": cp.kind,
        "time": _time(cp.time),
        "tree": cp.tree,
        "base": cp.base,
        "previous": cp.previous,
        "verdict": cp.verdict,
        "plan_id": cp.plan_id,
        "run_id": cp.run_id,
        "records": [r.model_dump(mode="json") for r in records],
    }


def log_line(repo: pygit2.Repository, cp: Checkpoint) -> str:
    records = cp.records(repo)
    gates = ""
    if records:
        gates = " ".join(f"{g.id}={g.outcome}" for g in records[-1].gates)
    plan = (cp.plan_id or "-")[:12]
    verdict = cp.verdict or cp.kind
    return f"{cp.id[:12]}  {_time(cp.time)}  {verdict:<15}  plan {plan:<12}  {gates}".rstrip()


def show_text(repo: pygit2.Repository, cp: Checkpoint, runs_dir: Path | None) -> str:
    lines = [
        f"checkpoint {cp.id}",
        f"chain      {cp.chain}",
        f"time       {_time(cp.time)}",
        f"tree       {cp.tree}",
        f"base       {cp.base or '-'}",
        f"previous   {cp.previous or '-'}",
    ]
    if cp.kind != "check":
        lines.append(f"kind       {cp.kind}")
        for key in ("Head", "Index"):
            if key in cp.trailers:
                lines.append(f"{key.lower():<10} {cp.trailers[key]}")
    records = cp.records(repo)
    if not records and cp.kind == "check":
        lines.append("record     (no note: fetch notes with 'gatekit fetch')")
    for rec in records:
        lines += [
            f"verdict    {rec.verdict} (exit {rec.exit_code})",
            f"plan       {rec.plan_id}",
            f"run        {rec.run_id}  started {rec.started_at}  {rec.duration:.1f}s",
            f"event      {rec.context.event}"
            + (f" on {rec.context.branch}" if rec.context.branch else ""),
        ]
        if rec.candidate:
            lines.append(f"candidate  {rec.candidate.source} tree {rec.candidate.tree[:12]}")
        if rec.cost is not None:
            lines.append(f"cost       {cost_text(rec.cost)}")
        run_dir = runs_dir / rec.run_id if runs_dir is not None else None
        lines.append("gates:")
        for g in rec.gates:
            extra = []
            if g.flaky:
                extra.append("flaky")
            if g.quarantined:
                extra.append("quarantined" + ("" if g.required else ", does not block"))
            if g.cached_from:
                extra.append(f"cached from {g.cached_from[:12]}")
            if g.fix_tree:
                extra.append(f"fixes {g.fix_tree[:12]}")
            if g.junit:
                extra.append(
                    f"junit {g.junit.tests} tests, {g.junit.failures} failures, {g.junit.errors} errors"
                )
            tail = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"  {g.id:<20} {g.outcome:<14} {g.duration:6.1f}s{tail}")
            if g.reason:
                lines.append(f"    reason: {g.reason}")
            if g.cost is not None:
                enforced = f" (limits: {g.limits_enforced})" if g.limits_enforced else ""
                lines.append(f"    cost: {cost_text(g.cost)}{enforced}")
            if g.log:
                where = run_dir / g.log if run_dir is not None else None
                state = "" if where is not None and where.exists() else " (not on this machine)"
                lines.append(f"    log: {where if where is not None else g.log}{state}")
    return "\n".join(lines)
