"""gatekit shadow: look inside the shadow worktree where gates run."""

from __future__ import annotations

import argparse
import sys

HELP = "show, refresh or remove the shadow worktree holding the candidate"


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--staged",
        dest="source",
        action="store_const",
        const="staged",
        help="the index (what 'git commit' records)",
    )
    src.add_argument(
        "--worktree",
        dest="source",
        action="store_const",
        const="worktree",
        help="index + unstaged + untracked files (default)",
    )
    src.add_argument("--rev", metavar="REV", help="a commit, compared against its first parent")
    src.add_argument(
        "--merge", nargs=2, metavar=("BASE", "HEAD"), help="the in-memory merge of HEAD into BASE"
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=("path", "refresh", "clean"),
        help="path: print the shadow's path; refresh: materialise a candidate in it; clean: remove the shadows not in use",
    )
    add_source_arguments(p)


def spec_from_args(args: argparse.Namespace) -> object:
    from gatekit.git.candidate import CandidateSpec

    if args.rev:
        return CandidateSpec("rev", rev=args.rev)
    if args.merge:
        return CandidateSpec("merge", base=args.merge[0], head=args.merge[1])
    return CandidateSpec(args.source or "worktree")


def run(args: argparse.Namespace) -> int:
    from gatekit.git.repo import open_repo

    repo = open_repo(".")
    if args.action == "path":
        from gatekit.git.shadow import ShadowPool

        print(ShadowPool(repo).path_for("s0"))
        return 0
    if args.action == "clean":
        from gatekit.git.shadowgc import clean_shadows

        removed, busy = clean_shadows(repo)
        for name in removed:
            print(f"removed shadow {name}")
        for name in busy:
            print(f"gatekit: shadow {name} is in use; left in place", file=sys.stderr)
        return 0
    from gatekit.git.candidate import CandidateSpec, resolve_candidate
    from gatekit.git.shadow import ShadowPool

    spec = spec_from_args(args)
    assert isinstance(spec, CandidateSpec)
    candidate = resolve_candidate(repo, spec)
    with ShadowPool(repo).acquire(candidate) as shadow:
        print(
            f"gatekit: {candidate.description}: {len(candidate.changed)} changed path(s)",
            file=sys.stderr,
        )
        print(shadow.path)
    return 0
