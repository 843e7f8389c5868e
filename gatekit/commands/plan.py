"""gatekit plan: compile validation.yaml and the context into the gate plan."""

from __future__ import annotations

import argparse

HELP = "print the gate plan (what would run, and why)"

EVENTS = ("pre-commit", "pre-push", "manual", "ci", "pull_request", "merge")


def add_context_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: validation.yaml at the repository root)",
    )
    p.add_argument(
        "--event", choices=EVENTS, default=None, help="the event being checked (default: manual)"
    )
    p.add_argument("--branch", help="branch name for 'when: branch' (default: the current branch)")
    p.add_argument(
        "--all",
        dest="all_paths",
        action="store_true",
        help="plan every gate as if every path changed (like 'pre-commit run --all-files')",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_context_arguments(p)
    p.add_argument(
        "--changed",
        nargs="*",
        metavar="PATH",
        help="changed paths (default: computed from the repository)",
    )
    p.add_argument("--base", metavar="REV", help="compute changed paths as BASE...HEAD")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the canonical plan JSON")
    out.add_argument("--explain", action="store_true", help="show the reason for every gate")
    out.add_argument(
        "--format",
        choices=("text", "json", "github-matrix", "dot", "mermaid"),
        help="github-matrix: the runnable gates as a JSON matrix for strategy.matrix; "
        "dot (Graphviz) or mermaid: the needs graph with each gate's decision and reason",
    )
    out.add_argument(
        "--env-key",
        action="store_true",
        help="print one key of every gate environment the plan declares at HEAD (nothing is "
        "built): what CI keeps gatekit's environments under between jobs",
    )
    p.add_argument(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="with --format github-matrix: N shards balanced by recorded durations",
    )
    p.add_argument(
        "--ci",
        action="store_true",
        help="the context of the GitHub event (as 'gatekit check --ci' plans it)",
    )


def run(args: argparse.Namespace) -> int:
    import os

    from gatekit.plan.render import render_plan
    from gatekit.workspace import plan_for_repo

    event, branch, changed = args.event or "manual", args.branch, args.changed
    all_paths = args.all_paths
    if args.ci:
        from gatekit.github.plan import ci_context

        event, branch, changed, all_paths = ci_context(os.environ, branch, all_paths)
    plan, _ = plan_for_repo(
        config_path=args.config,
        event=event,
        branch=branch,
        changed=changed,
        base=args.base,
        all_paths=all_paths,
    )
    if args.env_key:
        from gatekit.git.repo import open_repo
        from gatekit.run.envdecl import cache_key

        repo = open_repo(".")
        if repo.head_is_unborn:
            from gatekit.errors import UsageError

            raise UsageError("--env-key: the repository has no commit yet")
        import pygit2

        print(cache_key(repo, str(repo.head.peel(pygit2.Commit).tree_id), plan))
    elif args.format == "github-matrix":
        from gatekit.git.repo import open_repo
        from gatekit.plan.shards import github_matrix
        from gatekit.record.durations import recorded_durations

        print(github_matrix(plan, recorded_durations(open_repo(".")), args.shards))
    elif args.format in ("dot", "mermaid"):
        from gatekit.plan.graph import render_dot, render_mermaid

        print((render_dot if args.format == "dot" else render_mermaid)(plan), end="")
    elif args.json or args.format == "json":
        print(plan.canonical_json())
    else:
        hooks = None
        if args.explain and any(g.runner == "pre-commit" for g in plan.gates):
            from pathlib import Path

            from gatekit.git.repo import open_repo, workdir
            from gatekit.precommit.explain import hook_lines

            repo = open_repo(".")
            hooks = hook_lines(repo, Path(workdir(repo)), plan)
        print(render_plan(plan, explain=args.explain, hooks=hooks))
    return 0
