"""gatekit report github: publish a recorded run as PR status checks."""

from __future__ import annotations

import argparse

HELP = "publish a recorded run: 'report github' sets commit statuses and a check run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=("github",), help="where to publish")
    p.add_argument(
        "checkpoint",
        nargs="?",
        metavar="CHECKPOINT",
        help="checkpoint id, CHAIN or CHAIN~N (default: the newest of the event's or "
        "current branch's chain)",
    )
    p.add_argument(
        "--sha",
        help="the commit the statuses go on (default: the event's head, e.g. the PR head)",
    )
    p.add_argument("--no-check-run", action="store_true", help="commit statuses only, no check run")


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from gatekit.github.report import publish_checkpoint

    return publish_checkpoint(
        os.environ,
        args.checkpoint,
        sha=args.sha,
        check_run=not args.no_check_run,
        out=sys.stdout,
        err=sys.stderr,
    )
