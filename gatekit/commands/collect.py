"""gatekit collect: one verdict from the records of a sharded run."""

from __future__ import annotations

import argparse
import os
import sys

from gatekit.commands._candidate import add_source_arguments, spec_from_args
from gatekit.commands.plan import add_context_arguments

HELP = "fetch the shards' notes and combine them into one verdict (exit code as one run)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_context_arguments(p)
    add_source_arguments(p, default_help="")
    p.add_argument(
        "--remote",
        action="append",
        default=[],
        metavar="REMOTE",
        help="fetch notes from this remote, URL or bundle file; repeatable (default: origin)",
    )
    p.add_argument("--no-fetch", action="store_true", help="use the notes already here")
    p.add_argument("--chain", metavar="NAME", help="checkpoint chain (default: the current branch)")
    p.add_argument("--no-record", action="store_true", help="do not record a checkpoint")
    p.add_argument(
        "--ci", action="store_true", help="context from the GitHub event; summary, outputs"
    )
    p.add_argument("--statuses", action="store_true", help="with --ci: commit statuses, check run")
    p.add_argument("--json", action="store_true", help="print the combined result document")


def run(args: argparse.Namespace) -> int:
    from gatekit.check.collect import CollectRequest, run_collect
    from gatekit.run.output import final_table

    event, spec, branch, chain = (
        args.event or "ci",
        spec_from_args(args, None),
        args.branch,
        args.chain,
    )
    all_paths = args.all_paths
    ci = None
    if args.ci:
        from gatekit.github.checking import CiRun

        ci = CiRun(os.environ, sys.stderr, statuses=args.statuses)
        if ci.event.spec is None:
            print(f"gatekit: nothing to collect for this {ci.event.name} event", file=sys.stderr)
            return 0
        event, spec = ci.event.event, ci.event.spec
        branch = branch if branch is not None else ci.event.branch
        chain = ci.chain(chain, None)
        all_paths = all_paths or ci.event.all_paths
    remotes = () if args.no_fetch else tuple(args.remote or ["origin"])
    request = CollectRequest(
        config_path=args.config,
        event=event,
        branch=branch,
        spec=spec,
        all_paths=all_paths,
        chain=chain,
        record=not args.no_record,
        remotes=remotes,
    )
    report = run_collect(request, os.environ)
    sys.stderr.write(final_table(report.result.gates))
    for message in report.messages:
        print(f"gatekit: {message}", file=sys.stderr)
    if ci is not None:
        ci.finish(report.result, None, title="gatekit (all shards)")
    if args.json:
        print(report.result.model_dump_json(indent=2))
    return report.exit_code
