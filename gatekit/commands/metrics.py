"""gatekit metrics: the recorded runs in the Prometheus text format (textfile collector)."""

from __future__ import annotations

import argparse

HELP = "write gate and run metrics in the Prometheus text format (for node_exporter's textfile collector)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("prometheus",), default="prometheus", help="output format")
    p.add_argument(
        "--chain",
        action="append",
        metavar="NAME",
        help="a chain to include (repeatable; default: every local chain)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write FILE atomically (default: standard output)"
    )


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from gatekit.atomicfile import write_atomic
    from gatekit.git.repo import open_repo
    from gatekit.insight.history import chain_runs
    from gatekit.insight.metrics import render
    from gatekit.insight.quarantine import quarantined
    from gatekit.record.checkpoints import BACKUP_CHAIN, list_chains

    repo = open_repo(".")
    names = args.chain or [c for c in list_chains(repo) if c != BACKUP_CHAIN]
    text = render({c: chain_runs(repo, c) for c in names}, quarantined(repo))
    if args.output:
        write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0
