"""gatekit rollback: restore the working tree and index to a checkpoint's tree."""

from __future__ import annotations

import argparse

HELP = "restore the working tree and index (or some paths) to a checkpoint"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint id, CHAIN, or CHAIN~N")
    p.add_argument(
        "--paths",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="restore only paths matching these globs",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite uncommitted work after recording it on the chain 'rollback-backup'",
    )


def run(args: argparse.Namespace) -> int:
    from gatekit.git.repo import open_repo
    from gatekit.record.apply import recover_pending_apply
    from gatekit.record.checkpoints import resolve_checkpoint
    from gatekit.record.rollback import rollback

    repo = open_repo(".")
    recover_pending_apply(repo)
    cp = resolve_checkpoint(repo, args.checkpoint)
    report = rollback(repo, cp, args.paths, force=args.force)
    if report.backup:
        print(
            f"gatekit: saved the previous state as checkpoint {report.backup} (chain rollback-backup)"
        )
    print(f"gatekit: restored {len(report.changed)} path(s) from checkpoint {cp.id[:12]}")
    for path in report.changed:
        print(f"  {path}")
    return 0
