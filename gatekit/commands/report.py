"""gatekit report: publish or write a recorded run.

``report github`` sets PR commit statuses and a check run; ``report html``
writes one self-contained HTML page.
"""

from __future__ import annotations

import argparse

HELP = (
    "publish or write a recorded run: 'report github' sets commit statuses and a check run, "
    "'report html' writes one self-contained page"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    gh = sub.add_parser("github", help="publish as PR commit statuses and a check run")
    gh.add_argument(
        "checkpoint",
        nargs="?",
        metavar="CHECKPOINT",
        help="checkpoint id, CHAIN or CHAIN~N (default: the newest of the event's or "
        "current branch's chain)",
    )
    gh.add_argument(
        "--sha",
        help="the commit the statuses go on (default: the event's head, e.g. the PR head)",
    )
    gh.add_argument(
        "--no-check-run", action="store_true", help="commit statuses only, no check run"
    )
    html = sub.add_parser(
        "html", help="one HTML file: verdict, timeline, needs graph, failures, history"
    )
    html.add_argument(
        "checkpoint", nargs="?", metavar="CHECKPOINT", help="checkpoint id, CHAIN or CHAIN~N"
    )
    html.add_argument(
        "--chain", help="the newest checkpoint of this chain (default: the current branch's)"
    )
    html.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the HTML file to write"
    )


def run(args: argparse.Namespace) -> int:
    if args.target == "html":
        return _html(args)
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


def _html(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gatekit.atomicfile import write_atomic
    from gatekit.errors import UsageError
    from gatekit.git.repo import open_repo
    from gatekit.insight.html import render_report
    from gatekit.insight.report import report_for_checkpoint

    if args.checkpoint and args.chain:
        raise UsageError("give a CHECKPOINT or --chain NAME, not both")
    repo = open_repo(".")
    report = report_for_checkpoint(repo, args.checkpoint, args.chain)
    out = Path(args.output)
    write_atomic(out, render_report(report))
    print(f"report written to {out} ({report.result.verdict}, {len(report.result.gates)} gates)")
    return 0
