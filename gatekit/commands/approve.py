"""gatekit approve: record that a person did what a manual gate asks, for this candidate tree."""

from __future__ import annotations

import argparse

from gatekit.commands._candidate import add_source_arguments, spec_from_args

HELP = "approve a manual gate for the candidate tree (a new tree needs a new approval)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("gate", metavar="GATE", help="id of a manual gate")
    p.add_argument("--config", metavar="PATH", help="configuration file (default: validation.yaml)")
    p.add_argument("-m", "--message", default="", help="a comment kept with the approval")
    add_source_arguments(p, default_help="staged")


def run(args: argparse.Namespace) -> int:
    from gatekit.config.enums import GateType
    from gatekit.config.loader import load_config
    from gatekit.config.suggest import did_you_mean
    from gatekit.errors import UsageError
    from gatekit.git.candidate import resolve_candidate
    from gatekit.git.repo import open_repo, workdir
    from gatekit.record.approvals import approve
    from gatekit.record.objects import signature

    repo = open_repo(".")
    manual = [
        g.id
        for g in load_config(workdir(repo), args.config).config.gates
        if g.type is GateType.MANUAL
    ]
    if args.gate not in manual:
        hint = did_you_mean(args.gate, manual)
        raise UsageError(
            f"'{args.gate}' is not a manual gate of this configuration{hint}",
            tip=("manual gates: " + ", ".join(manual))
            if manual
            else "the configuration has no manual gate",
        )
    spec = spec_from_args(args, default="staged")
    assert spec is not None
    candidate = resolve_candidate(repo, spec)
    sig = signature(repo)
    approval = approve(repo, candidate.tree, args.gate, f"{sig.name} <{sig.email}>", args.message)
    print(
        f"gatekit: approved {approval.gate} for tree {approval.tree[:12]} ({candidate.description}) by {approval.by}"
    )
    return 0
