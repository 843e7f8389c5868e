"""The candidate-source flags shared by check and shadow."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekit.git.candidate import CandidateSpec


def add_source_arguments(p: argparse.ArgumentParser, default_help: str) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--staged",
        dest="source",
        action="store_const",
        const="staged",
        help="the index (what 'git commit' records)" + default_help.count("staged") * " (default)",
    )
    src.add_argument(
        "--worktree",
        dest="source",
        action="store_const",
        const="worktree",
        help="index + unstaged + untracked files" + default_help.count("worktree") * " (default)",
    )
    src.add_argument("--rev", metavar="REV", help="a commit, compared against its first parent")
    src.add_argument(
        "--merge",
        nargs=2,
        metavar=("BASE", "HEAD"),
        help="HEAD merged into BASE in memory, as a merge queue lands it",
    )


def spec_from_args(args: argparse.Namespace, default: str | None) -> CandidateSpec | None:
    """The CandidateSpec the flags name; ``default`` source when none is given (None: the caller decides)."""
    from gatekit.git.candidate import CandidateSpec

    if args.rev:
        return CandidateSpec("rev", rev=args.rev)
    if args.merge:
        return CandidateSpec("merge", base=args.merge[0], head=args.merge[1])
    source = args.source or default
    if source == "staged":
        return CandidateSpec("staged")
    if source == "worktree":
        return CandidateSpec("worktree")
    return None
