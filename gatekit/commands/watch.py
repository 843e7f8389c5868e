"""gatekit watch: follow the live output of the running (or a named) run until it ends."""

from __future__ import annotations

import argparse

HELP = "follow a run's output until it ends; exits with the run's exit code"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gate", nargs="?", metavar="GATE", help="only this gate's output")
    p.add_argument("--run", metavar="RUN", help="run id or prefix (default: the running one)")


def run(args: argparse.Namespace) -> int:
    import sys

    from gatekit.commands._operator import run_dir, state_dir
    from gatekit.operator.rundir import active_ids, runs_dir
    from gatekit.operator.watch import watch

    chosen = None
    if args.run is None:
        active = active_ids(state_dir())
        if active:
            chosen = runs_dir(state_dir()) / active[-1]
    target = chosen or run_dir(args.run)

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    return watch(target, args.gate, write)
