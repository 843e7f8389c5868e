"""gatekit fetch: fetch checkpoints and result notes from a remote and merge the notes."""

from __future__ import annotations

import argparse

from gatekit.commands.push import add_arguments as add_arguments  # the same REMOTE argument

HELP = "fetch checkpoints and notes from a remote; merge the notes into refs/notes/gatekit"


def run(args: argparse.Namespace) -> int:
    from gatekit.git.repo import open_repo
    from gatekit.record.sharing import fetch

    repo = open_repo(".")
    report = fetch(repo, args.remote)
    for ref in report.updated:
        print(f"gatekit: fetched {ref}")
    print(
        "gatekit: merged remote notes"
        if report.notes_merged
        else "gatekit: notes already up to date"
    )
    return 0
