"""gatekit pre-push: the pre-push hook; checks every pushed ref against what the remote had."""

from __future__ import annotations

import argparse
import sys

HELP = "check what a 'git push' sends (git's pre-push hook runs this; reads the hook's stdin)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("remote", nargs="?", help="the remote's name (git passes it)")
    p.add_argument("url", nargs="?", help="the remote's URL (git passes it)")
    p.add_argument("--config", metavar="PATH", help="configuration file")


def run(args: argparse.Namespace) -> int:
    from gatekit.cli import main
    from gatekit.git.pushrange import pushed_refs
    from gatekit.git.repo import open_repo

    refs = pushed_refs(open_repo("."), args.remote, sys.stdin)
    if not refs:
        print("gatekit: pre-push: nothing to check (no ref is created or updated)", file=sys.stderr)
        return 0
    worst = 0
    for ref in refs:
        argv = ["check", "--event", "pre-push", "--rev", ref.tip]
        argv += ["--base", ref.base] if ref.base else ["--all"]
        if args.config:
            argv += ["--config", args.config]
        print(f"gatekit: pre-push: {ref.local_ref} -> {ref.remote_ref}: {ref.why}", file=sys.stderr)
        code = main(argv)
        worst = worst or code
    return worst
