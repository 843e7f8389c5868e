"""gatekit status: the runs in progress in this repository, gate by gate."""

from __future__ import annotations

import argparse

HELP = "show the runs in progress (--all: recent ones too): phase, pid, heartbeat per gate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="recent finished runs too")
    p.add_argument("--json", action="store_true", help="the status document as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from gatekit.commands._operator import state_dir
    from gatekit.operator.statusview import render, status_doc

    doc = status_doc(state_dir(), args.all)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(render(doc, args.all))
    return 0
