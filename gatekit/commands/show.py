"""gatekit show: one checkpoint with its record and a summary of its logs."""

from __future__ import annotations

import argparse

HELP = "show one checkpoint: its record, gate outcomes, reasons and log paths"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint id, CHAIN, or CHAIN~N")
    p.add_argument("--json", action="store_true", help="the checkpoint and its records as JSON")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from gatekit.git.repo import gatekit_dir, open_repo
    from gatekit.record.checkpoints import resolve_checkpoint
    from gatekit.record.view import checkpoint_json, show_text

    repo = open_repo(".")
    cp = resolve_checkpoint(repo, args.checkpoint)
    if args.json:
        json.dump(checkpoint_json(repo, cp), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(show_text(repo, cp, gatekit_dir(repo) / "runs"))
    return 0
