"""gatekit explain: why gates of the last (or a named) run did not pass, and what to do."""

from __future__ import annotations

import argparse

HELP = "explain the failed, stopped, crashed or pending gates of the last run, with the next action"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gate", nargs="?", metavar="GATE", help="only this gate")
    p.add_argument("--run", metavar="RUN", help="run id or prefix (default: the newest run)")
    p.add_argument(
        "--json", action="store_true", help="the stable JSON form (schemas/explain.schema.json)"
    )


def run(args: argparse.Namespace) -> int:
    import json

    from gatekit.commands._operator import run_dir
    from gatekit.operator.explain import explain_doc, render

    doc = explain_doc(run_dir(args.run), args.gate)
    if args.json:
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(render(doc))
    return 0
