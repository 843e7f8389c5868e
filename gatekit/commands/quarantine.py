"""gatekit quarantine: list flaky gates; record quarantine decisions (who, when, why)."""

from __future__ import annotations

import argparse

HELP = "list flaky gates and quarantined ones; add or remove a gate, with who and why"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="quarantined gates, and gates flaky often enough to consider")
    ls.add_argument("--chain", help="chain to count flaky events on (default: the current branch)")
    ls.add_argument(
        "--threshold",
        type=int,
        metavar="N",
        help="flaky events before a gate is listed (default: quarantine.flaky_threshold, 3)",
    )
    ls.add_argument("--json", action="store_true", help="the list as JSON")
    for name, text in (("add", "quarantine GATE"), ("remove", "end the quarantine of GATE")):
        one = sub.add_parser(name, help=text)
        one.add_argument("gate", metavar="GATE")
        one.add_argument(
            "--why", required=True, metavar="TEXT", help="the reason, kept in the record"
        )


def run(args: argparse.Namespace) -> int:
    from gatekit.git.repo import open_repo
    from gatekit.insight import quarantine

    repo = open_repo(".")
    if args.action == "list":
        return _list(repo, args.chain, args.threshold, args.json)
    held = quarantine.quarantined(repo)
    if args.action == "remove" and args.gate not in held:
        from gatekit.errors import UsageError

        names = ", ".join(sorted(held)) or "none"
        raise UsageError(f"gate {args.gate!r} is not quarantined", tip=f"quarantined: {names}")
    d = quarantine.record(repo, args.gate, args.action, args.why)
    verb = "quarantined" if args.action == "add" else "released from quarantine"
    print(f"{d.gate} {verb} by {d.by} at {d.at}: {d.why}")
    return 0


def _threshold(repo: object) -> int:
    """quarantine.flaky_threshold of the configuration (its errors are reported as usual)."""
    from gatekit.config.loader import load_config
    from gatekit.git.repo import workdir

    return load_config(workdir(repo), None).config.quarantine.flaky_threshold  # type: ignore[arg-type]


def _list(repo: object, chain_name: str | None, threshold: int | None, as_json: bool) -> int:
    import json
    import sys

    import pygit2

    from gatekit.insight import quarantine
    from gatekit.insight.history import chain_runs, resolve_chain

    assert isinstance(repo, pygit2.Repository)
    chain = resolve_chain(repo, chain_name)
    limit = threshold if threshold is not None else _threshold(repo)
    flaky = quarantine.suggestions(chain_runs(repo, chain), limit)
    held = quarantine.quarantined(repo)
    if as_json:
        doc = {
            "chain": chain,
            "threshold": limit,
            "quarantined": [d.__dict__ for _, d in sorted(held.items())],
            "flaky": [{"gate": g, "flaky": n, "quarantined": g in held} for g, n in flaky.items()],
        }
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    print(f"quarantined ({len(held)}):")
    for gate, d in sorted(held.items()):
        print(f"  {gate:<20} by {d.by} at {d.at}: {d.why}")
    print(f"flaky at least {limit} times on chain {chain} ({len(flaky)}):")
    for gate, n in flaky.items():
        tail = (
            "  (quarantined)" if gate in held else f"  -> gatekit quarantine add {gate} --why ..."
        )
        print(f"  {gate:<20} {n} flaky{tail}")
    return 0
