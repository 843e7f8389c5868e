"""gatekit shadow: look inside the shadow worktree where gates run."""

from __future__ import annotations

import argparse
import sys

from gatekit.commands._candidate import add_source_arguments, spec_from_args

HELP = "show, refresh or remove the shadow worktree holding the candidate"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=("path", "refresh", "clean"),
        help="path: print the shadow's path; refresh: materialise a candidate in it; clean: remove the shadows not in use",
    )
    add_source_arguments(p, default_help="worktree")


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

    spec = spec_from_args(args, default="worktree")
    assert isinstance(spec, CandidateSpec)
    candidate = resolve_candidate(repo, spec)
    with ShadowPool(repo).acquire(candidate) as shadow:
        print(
            f"gatekit: {candidate.description}: {len(candidate.changed)} changed path(s)",
            file=sys.stderr,
        )
        print(shadow.path)
    return 0
