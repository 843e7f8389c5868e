"""gatekit log: the checkpoints of a chain, newest first."""

from __future__ import annotations

import argparse

HELP = "show the checkpoints of a chain (id, time, plan, verdict, gate outcomes)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chain", help="chain name (default: the current branch); REMOTE/CHAIN for fetched ones"
    )
    p.add_argument(
        "-n",
        "--max-count",
        type=int,
        default=20,
        metavar="N",
        help="at most N checkpoints (0: all)",
    )
    p.add_argument(
        "--json", action="store_true", help="one JSON array of checkpoints with their records"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from gatekit.git.repo import open_repo
    from gatekit.record.checkpoints import chain_name_for, iter_checkpoints
    from gatekit.record.view import checkpoint_json, log_line

    repo = open_repo(".")
    chain = args.chain if args.chain and "/" in args.chain else chain_name_for(repo, args.chain)
    items = []
    for i, cp in enumerate(iter_checkpoints(repo, chain)):
        if args.max_count and i >= args.max_count:
            break
        items.append(cp)
    if args.json:
        json.dump([checkpoint_json(repo, cp) for cp in items], sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if not items:
        print(f"no checkpoints on chain {chain!r}", file=sys.stderr)
        return 0
    for cp in items:
        print(log_line(repo, cp))
    return 0
