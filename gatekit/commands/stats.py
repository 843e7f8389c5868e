"""gatekit stats: per-gate trends of a chain (durations, failure, flaky and cache-hit rates)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekit.insight.stats import GateStats

HELP = "per-gate trends of a chain: p50/p95 duration, failure, flaky and cache-hit rates"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chain", help="chain name (default: the current branch); REMOTE/CHAIN for fetched ones"
    )
    p.add_argument(
        "--since",
        metavar="DATE",
        help="only runs started at or after DATE (YYYY-MM-DD[THH:MM:SSZ])",
    )
    p.add_argument("--json", action="store_true", help="the figures as one JSON document")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from gatekit.git.repo import open_repo
    from gatekit.insight.history import chain_runs, parse_when, resolve_chain
    from gatekit.insight.stats import gate_stats, percentile

    repo = open_repo(".")
    chain = resolve_chain(repo, args.chain)
    since = parse_when(args.since) if args.since else None
    runs = chain_runs(repo, chain, since=since)
    stats = gate_stats(runs)
    verdicts: dict[str, int] = {}
    for r in runs:
        verdicts[str(r.result.verdict)] = verdicts.get(str(r.result.verdict), 0) + 1
    walls = [r.result.duration for r in runs]
    if args.json:
        doc = {
            "chain": chain,
            "since": args.since,
            "runs": len(runs),
            "verdicts": verdicts,
            "wall_p50": percentile(walls, 50),
            "wall_p95": percentile(walls, 95),
            "gates": [s.as_json() for s in stats.values()],
        }
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if not runs:
        print(f"no recorded runs on chain {chain!r}", file=sys.stderr)
        return 0
    print(render_table(chain, len(runs), verdicts, walls, stats))
    return 0


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}s"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def render_table(
    chain: str,
    count: int,
    verdicts: dict[str, int],
    walls: list[float],
    stats: Mapping[str, GateStats],
) -> str:
    from gatekit.insight.stats import percentile

    tally = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    lines = [
        f"chain {chain}: {count} runs ({tally}); wall time p50 {_secs(percentile(walls, 50))}, "
        f"p95 {_secs(percentile(walls, 95))}",
    ]
    rows = [("gate", "ran", "p50", "p95", "fail", "flaky", "cache", "recovery")]
    for s in stats.values():
        rows.append(
            (
                s.gate,
                str(s.ran),
                _secs(s.p50),
                _secs(s.p95),
                _pct(s.failure_rate),
                _pct(s.flaky_rate),
                _pct(s.cache_hit_rate),
                _secs(s.recovery_median) + ("" if s.failing_now_since is None else " (failing)"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)
