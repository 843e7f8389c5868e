"""gatekit stop: end one gate of a run (all gates without GATE); the others carry on."""

from __future__ import annotations

import argparse

HELP = "stop a gate of a running check (SIGTERM, grace, SIGKILL); the other gates carry on"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gate", nargs="?", metavar="GATE", help="the gate to stop (default: all)")
    p.add_argument("--run", metavar="RUN", help="run id or prefix (default: the newest run)")
    p.add_argument(
        "--grace", type=float, default=5.0, metavar="SECONDS", help="SIGTERM -> SIGKILL (5)"
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from gatekit.commands._operator import run_dir
    from gatekit.operator.stop import stop

    report = stop(run_dir(args.run), args.gate, grace=args.grace)
    what = ", ".join(report.stopped) or "no running gate"
    print(f"gatekit: run {report.run_id}: stopped {what}")
    for gate, phase in sorted(report.outcomes.items()):
        print(f"gatekit: {gate}: {phase}")
    if report.recovered:
        print(report.recovered, file=sys.stderr)
    if report.left:
        print(f"gatekit: error: still alive after SIGKILL: {report.left}", file=sys.stderr)
        return 1
    return 0
