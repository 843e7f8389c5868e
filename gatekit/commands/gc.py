"""gatekit gc: remove stale shadows, leftovers of interrupted runs and (with --keep) old checkpoints."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pygit2

HELP = (
    "remove stale shadow worktrees, old builds of local packages and leftovers; "
    "--keep N also prunes old checkpoints"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--older-than",
        type=float,
        default=14.0,
        metavar="DAYS",
        help="remove shadows unused for this many days (default: 14; 0: every shadow not in use)",
    )
    p.add_argument(
        "--keep",
        type=int,
        default=None,
        metavar="N",
        help="also keep only the newest N checkpoints of each chain",
    )
    p.add_argument(
        "-n", "--dry-run", action="store_true", help="say what would be removed (shadows only)"
    )


def run(args: argparse.Namespace) -> int:
    import importlib

    from gatekit.errors import UsageError
    from gatekit.git.repo import open_repo

    if args.older_than < 0 or (args.keep is not None and args.keep < 0):
        raise UsageError("--older-than and --keep take numbers >= 0")
    from gatekit.run import localgc
    from gatekit.run.envcache import default_cache_dir

    repo = open_repo(".")
    envs = default_cache_dir()
    if args.dry_run:
        import time

        from gatekit.git.shadow import ShadowPool

        pool = ShadowPool(repo)
        now = time.time()
        for name in pool.slot_names():
            used = pool.last_used(name)
            stale = used is None or now - used >= args.older_than * 86400
            if stale and not pool.in_use(name):
                print(f"would remove shadow {name}")
        for entry in localgc.stale_entries(envs, args.older_than * 86400):
            print(f"would remove local build {entry.parent.name}/{entry.name}")
        return 0
    from gatekit.git.shadowgc import gc_shadows

    for line in gc_shadows(repo, args.older_than * 86400):
        print(f"removed {line}")
    for line in localgc.prune_local(envs, args.older_than * 86400):
        print(f"removed local build {line.removeprefix('local/')}")
    for name in _empty_view_trash(repo):
        print(f"removed gate view {name}")
    if args.keep is not None:
        try:
            module = importlib.import_module("gatekit.record.checkpoints")
        except ImportError:
            module = None
        prune = getattr(module, "prune_checkpoints", None)
        if callable(prune):
            reports = prune(repo, args.keep)
            for report in reports or ():
                print(f"pruned {report}")
    return 0


def _empty_view_trash(repo: pygit2.Repository) -> list[str]:
    """Closed gate views a check left in ``runs/.trash`` and in the memory views' trash
    (it ends before its background removal does); what a running check moves there
    meanwhile it removes itself."""
    from gatekit.git.repo import gatekit_dir
    from gatekit.run import memviews
    from gatekit.run.isolation import empty_trash

    names = empty_trash(gatekit_dir(repo) / "runs" / ".trash")
    # hook gates' views in memory: the user's, of every repository, with those that
    # gatekits which died left behind
    where = memviews.root(sweep_dead=False)
    if where is not None:
        memviews.sweep(where, background=False)
        names += empty_trash(memviews.trash(where))
    return names
