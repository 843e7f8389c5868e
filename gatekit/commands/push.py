"""gatekit push: share checkpoints and result notes through a git remote."""

from __future__ import annotations

import argparse

HELP = "push checkpoints (refs/gatekit/checkpoints/*) and notes (refs/notes/gatekit) to a remote"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "remote",
        nargs="?",
        default="origin",
        metavar="REMOTE",
        help="remote name or URL (default: origin)",
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from gatekit.git.repo import open_repo
    from gatekit.record.sharing import push

    repo = open_repo(".")
    report = push(repo, args.remote)
    for ref in report.updated:
        print(f"gatekit: pushed {ref}")
    if report.notes_merged:
        print("gatekit: merged the remote's notes before pushing")
    for ref in report.rejected:
        print(f"gatekit: rejected {ref}", file=sys.stderr)
    if report.rejected:
        print(
            "gatekit: tip: a chain of the same name moved on the remote; record on another chain (--chain)",
            file=sys.stderr,
        )
        return 1
    if not report.updated:
        print("gatekit: everything up to date")
    return 0
