"""``gatekit stop [GATE] [--run RUN]``: end one gate of a run (all without GATE).

The stop request is written first, then the gate's process group gets SIGTERM,
the grace period, SIGKILL, and gatekit waits until none of its processes is
left (also those that left the group but carry the gate's token). The run's own
process records the gate as ``stopped`` (code ``STOPPED_BY_OPERATOR``) and goes
on with the other gates. When the run's owner is already dead, the run is
recovered as crashed (its locks are released only now that its processes are
confirmed gone).
"""

from __future__ import annotations

import time
from dataclasses import field
from pathlib import Path

from gatekit import phases
from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass
from gatekit.operator import control, rundir, runfile

WAIT_RECORDED = 10.0  # seconds to wait for the run to record the stop


@dataclass
class StopReport:
    run_id: str
    stopped: list[str] = field(default_factory=list)  # gates whose processes were ended
    left: list[int] = field(default_factory=list)  # pids still alive (should be none)
    outcomes: dict[str, str] = field(default_factory=dict)
    recovered: str | None = None


def stop(run_dir: Path, gate: str | None, grace: float = 5.0) -> StopReport:
    view = rundir.load(run_dir)
    if view.state in runfile.FINAL_STATES:
        raise UsageError(f"run {view.run_id} is not running (it {view.state})")
    if gate is not None and gate not in view.gates:
        from gatekit.config.suggest import did_you_mean

        raise UsageError(
            f"run {view.run_id} has no gate {gate!r}{did_you_mean(gate, list(view.gates))}",
            tip="gates of the run: " + ", ".join(view.gates),
        )
    report = StopReport(view.run_id)
    control.request_stop(
        run_dir,
        gate,
        code=control.STOPPED_BY_OPERATOR,
        reason="stopped by an operator (gatekit stop)",
    )
    targets = [gate] if gate else list(view.gates)
    for gid in targets:
        st = view.gates.get(gid, {})
        if st.get("phase") not in phases.ACTIVE_PHASES:
            continue
        pgid = st.get("pid") if isinstance(st.get("pid"), int) else None
        left, _ = control.end_gate(
            run_dir, gid, pgid, why="stopped by an operator (gatekit stop)", grace=grace
        )
        report.stopped.append(gid)
        report.left.extend(left)
    if view.state == "crashed" or not runfile.owner_alive(view.run or {}):
        from gatekit.operator.recover import mark_crashed

        why = f"its owner (pid {(view.run or {}).get('owner', {}).get('pid')}) is gone"
        report.recovered = mark_crashed(run_dir, view.run or {}, why=why, code=control.OWNER_DIED)
        return report
    report.outcomes = _wait_recorded(run_dir, targets, WAIT_RECORDED + grace)
    return report


def _wait_recorded(run_dir: Path, gates: list[str], within: float) -> dict[str, str]:
    deadline = time.monotonic() + within
    while True:
        statuses = rundir.gate_statuses(run_dir)
        seen = {g: str(statuses.get(g, {}).get("phase")) for g in gates}
        if all(p not in phases.UNFINISHED_PHASES for p in seen.values()):
            return seen
        if time.monotonic() > deadline:
            return seen
        time.sleep(0.05)
