"""gatekit promote: apply the fixes recorded in a checkpoint to the index and working tree."""

from __future__ import annotations

import argparse

HELP = "apply the fixes of a checkpoint's fix gates to the index and working tree (all or nothing)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint id, CHAIN, or CHAIN~N")


def run(args: argparse.Namespace) -> int:
    from gatekit.errors import UsageError
    from gatekit.git.repo import open_repo
    from gatekit.record.apply import recover_pending_apply
    from gatekit.record.checkpoints import resolve_checkpoint
    from gatekit.record.fixes import apply_fixes, combined_fix_tree

    repo = open_repo(".")
    recover_pending_apply(repo)
    cp = resolve_checkpoint(repo, args.checkpoint)
    records = cp.records(repo)
    if not records:
        raise UsageError(
            f"checkpoint {cp.id[:12]} has no record", tip="fetch notes with 'gatekit fetch'"
        )
    rec = records[-1]
    fixes = [g.fix_tree for g in rec.gates if g.fix_tree]
    fix_tree = combined_fix_tree(repo, cp.tree, fixes)
    if fix_tree is None:
        print(f"gatekit: checkpoint {cp.id[:12]} recorded no fixes")
        return 0
    source = rec.candidate.source if rec.candidate else "staged"
    report = apply_fixes(repo, cp.tree, fix_tree, source=source)
    print(f"gatekit: applied fixes to {len(report.changed)} file(s)")
    for path in report.changed:
        kept = " (kept your unstaged changes)" if path in report.merged else ""
        print(f"  {path}{kept}")
    return 0
