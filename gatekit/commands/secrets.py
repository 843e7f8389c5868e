"""gatekit secrets: manage the detect-secrets baseline of the repository."""

from __future__ import annotations

import argparse

HELP = "manage the secrets baseline (.secrets.baseline) used by the 'secrets' gate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="secrets_command", metavar="ACTION", required=True)
    base = sub.add_parser(
        "baseline",
        help="write .secrets.baseline from the tracked files (secret values are never shown)",
        description="Scan the tracked files and write the detect-secrets baseline: "
        "findings listed there are known and not reported again by the 'secrets' gate.",
    )
    base.add_argument(
        "--update",
        action="store_true",
        help="refresh an existing baseline, keeping its settings and audit labels",
    )
    base.add_argument(
        "--baseline",
        default=".secrets.baseline",
        metavar="PATH",
        help="baseline path relative to the repository root (default: .secrets.baseline)",
    )


def run(args: argparse.Namespace) -> int:
    from gatekit.builtins.secrets_baseline import write_baseline
    from gatekit.git.repo import open_repo, workdir

    repo = open_repo(".")
    report = write_baseline(repo, workdir(repo), baseline=args.baseline, update=args.update)
    verb = "updated" if report.updated else "wrote"
    print(
        f"gatekit: {verb} {report.path}: {report.secrets} potential secret(s) in "
        f"{report.files} of {report.scanned} tracked file(s); review it, then commit it"
    )
    return 0
