"""gatekit check: run the plan on the candidate tree in a shadow worktree."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gatekit.commands._candidate import add_source_arguments, spec_from_args
from gatekit.commands.plan import add_context_arguments
from gatekit.errors import UsageError

HELP = "run the gates on exactly what will land (in a shadow worktree, never in yours)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_context_arguments(p)
    add_source_arguments(p, default_help="")
    p.add_argument(
        "--base",
        metavar="REV",
        help="compare the candidate against REV instead of its default base (a pushed range)",
    )
    p.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="ID",
        help="run only this gate (and its needs); repeatable",
    )
    p.add_argument(
        "--skip", action="append", default=[], metavar="ID", help="do not run this gate; repeatable"
    )
    p.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="gates run at once (default: one per CPU)"
    )
    p.add_argument("--fail-fast", action="store_true", help="start no new gate after one fails")
    p.add_argument(
        "--no-cache", action="store_true", help="run every gate even when its inputs already passed"
    )
    p.add_argument("--chain", metavar="NAME", help="checkpoint chain (default: the current branch)")
    p.add_argument("--no-record", action="store_true", help="do not record a checkpoint")
    p.add_argument(
        "--promote",
        metavar="REF",
        help="on a pass, move REF from the tested base to the tested commit (compare-and-swap)",
    )
    p.add_argument(
        "--apply-fixes",
        action="store_true",
        help="apply the changes of fix gates to the index and working tree, all or nothing",
    )
    p.add_argument(
        "--junit-xml", type=Path, metavar="FILE", help="write one merged JUnit file for all gates"
    )
    p.add_argument(
        "--sarif",
        type=Path,
        metavar="FILE",
        help="write SARIF 2.1.0 for the findings of built-in gates",
    )
    p.add_argument("--json", action="store_true", help="print the result document on stdout")
    view = p.add_mutually_exclusive_group()
    view.add_argument(
        "--live",
        dest="live",
        action="store_true",
        default=None,
        help="live view even when not on a terminal",
    )
    view.add_argument(
        "--plain",
        dest="live",
        action="store_false",
        help="plain '[gate] ' lines even on a terminal",
    )


def run(args: argparse.Namespace) -> int:
    from gatekit.check.pipeline import run_check
    from gatekit.check.request import CheckRequest
    from gatekit.run.output import make_reporter

    event = args.event or "manual"
    spec = spec_from_args(args, default=None)  # None: the event's default candidate
    if args.base:
        from dataclasses import replace

        from gatekit.git.candidate import default_spec_for_event

        if spec is not None and spec.source == "merge":
            raise UsageError("--base does not go with --merge BASE HEAD (BASE is the base)")
        spec = replace(spec or default_spec_for_event(event), base=args.base)
    request = CheckRequest(
        config_path=args.config,
        event=event,
        branch=args.branch,
        spec=spec,
        only=tuple(args.gate),
        skip=tuple(args.skip),
        jobs=args.jobs,
        fail_fast=args.fail_fast,
        use_cache=not args.no_cache,
        chain=args.chain,
        record=not args.no_record,
        promote=args.promote,
        apply_fixes=args.apply_fixes,
        junit_xml=args.junit_xml,
        sarif=args.sarif,
        all_paths=args.all_paths,
    )
    reporter = make_reporter(sys.stderr, live=args.live)
    report = run_check(request, reporter)
    for message in report.messages:
        print(f"gatekit: {message}", file=sys.stderr)
    print(f"gatekit: run directory {report.run_dir}", file=sys.stderr)
    for gate in report.result.gates:
        runbook = report.run_dir / "reports" / f"{gate.id}.md"
        if runbook.is_file():
            print(
                f"gatekit: {gate.id} {gate.outcome.value}: next action in {runbook}",
                file=sys.stderr,
            )
    if args.json:
        print(report.result.model_dump_json(indent=2))
    return report.exit_code
