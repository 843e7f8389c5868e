"""gatekit check: run the plan on the candidate tree in a shadow worktree."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gatekit.commands._candidate import add_source_arguments, spec_from_args
from gatekit.commands.plan import add_context_arguments
from gatekit.errors import UsageError

if TYPE_CHECKING:
    from gatekit.run.output import Reporter

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
    ci = p.add_mutually_exclusive_group()
    ci.add_argument(
        "--ci",
        dest="ci",
        action="store_true",
        default=None,
        help="GitHub Actions: candidate and event from GITHUB_EVENT_PATH, workflow commands, "
        "job summary, step outputs (default when GITHUB_ACTIONS=true and no candidate is named)",
    )
    ci.add_argument("--no-ci", dest="ci", action="store_false", help="never the --ci behaviour")
    p.add_argument(
        "--statuses",
        action="store_true",
        help="with --ci: set a commit status per gate (pending first) and a check run",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="check only shard K of N (gates grouped by recorded durations, needs kept together)",
    )
    p.add_argument(
        "--shard-gates",
        metavar="IDS",
        help="the shard's gates as 'gatekit plan --format github-matrix' listed them "
        "(space or comma separated; default: computed again)",
    )
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


def _ci_mode(args: argparse.Namespace) -> bool:
    """--ci, or GITHUB_ACTIONS=true when neither a candidate nor an event is named."""
    if args.ci is not None:
        return bool(args.ci)
    from gatekit.github import is_actions

    named = args.source or args.rev or args.merge or args.event
    return is_actions(os.environ) and not named


def run(args: argparse.Namespace) -> int:
    from gatekit.check.pipeline import run_check
    from gatekit.check.request import CheckRequest
    from gatekit.check.selection import parse_skip_env
    from gatekit.run.output import make_reporter

    event = args.event or "manual"
    spec = spec_from_args(args, default=None)  # None: the event's default candidate
    if args.base:
        from dataclasses import replace

        from gatekit.git.candidate import default_spec_for_event

        if spec is not None and spec.source == "merge":
            raise UsageError("--base does not go with --merge BASE HEAD (BASE is the base)")
        spec = replace(spec or default_spec_for_event(event), base=args.base)
    shard = None
    if args.shard:
        from gatekit.plan.shards import parse_shard

        shard = parse_shard(args.shard)
    elif args.shard_gates is not None:
        raise UsageError("--shard-gates needs --shard K/N")
    ci = None
    branch, chain, all_paths = args.branch, args.chain, args.all_paths
    if _ci_mode(args):
        from gatekit.github.checking import CiRun

        if spec is not None or args.event:
            raise UsageError("--ci takes the candidate and event from the GitHub event")
        ci = CiRun(os.environ, sys.stderr, statuses=args.statuses)
        for message in ci.messages:
            print(f"gatekit: {message}", file=sys.stderr)
        if ci.event.spec is None:
            print(f"gatekit: nothing to check for this {ci.event.name} event", file=sys.stderr)
            return 0
        event, spec = ci.event.event, ci.event.spec
        branch = branch if branch is not None else ci.event.branch
        chain = ci.chain(chain, shard)
        all_paths = all_paths or ci.event.all_paths
        if not args.no_record:
            ci.seed(chain)
    elif args.statuses:
        raise UsageError("--statuses needs --ci", tip="or publish later: gatekit report github")
    request = CheckRequest(
        config_path=args.config,
        event=event,
        branch=branch,
        spec=spec,
        only=tuple(args.gate),
        skip=tuple(args.skip),
        jobs=args.jobs,
        fail_fast=args.fail_fast,
        use_cache=not args.no_cache,
        chain=chain,
        record=not args.no_record,
        promote=args.promote,
        apply_fixes=args.apply_fixes,
        junit_xml=args.junit_xml,
        sarif=args.sarif,
        all_paths=all_paths,
        requested_skip=parse_skip_env(os.environ.get("GATEKIT_SKIP")),
        shard=shard,
        shard_gates=_ids(args.shard_gates),
        observer=ci.observer if ci is not None else None,
    )
    if ci is not None:
        from gatekit.github.ci import CiReporter

        reporter: Reporter = CiReporter(sys.stderr)
    else:
        reporter = make_reporter(sys.stderr, live=args.live)
    report = run_check(request, reporter)
    if ci is not None:
        ci.finish(report.result, report.run_dir)
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


def _ids(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(p for p in text.replace(",", " ").split() if p)
