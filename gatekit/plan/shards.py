"""Split a plan's runnable gates into N shards for a CI matrix.

Gates joined by ``needs`` stay in one shard (a unit); units are placed longest
first on the shard with the least work so far (ties: the lower shard number),
with each gate's duration as last recorded (unknown gates count as the median
of the known, or ``DEFAULT_SECONDS``). Same plan and durations give the same
shards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from statistics import median

from gatekit.errors import UsageError
from gatekit.plan.model import Decision, GatePlan

DEFAULT_SECONDS = 60.0


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) as a pair."""
    k, sep, n = text.partition("/")
    try:
        pair = (int(k), int(n))
    except ValueError:
        pair = (0, 0)
    if not sep or not 1 <= pair[0] <= pair[1]:
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/3")
    return pair


def units(plan: GatePlan) -> list[list[str]]:
    """Runnable gates grouped by ``needs`` (connected components), in plan order."""
    run = [g.id for g in plan.gates if g.decision is Decision.RUN]
    parent = {g: g for g in run}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in plan.gates:
        if g.id not in parent:
            continue
        for need in g.needs:
            if need in parent:
                parent[find(g.id)] = find(need)
    order = [g for g in plan.order if g in parent] + [g for g in run if g not in plan.order]
    groups: dict[str, list[str]] = {}
    for gid in order:
        groups.setdefault(find(gid), []).append(gid)
    return list(groups.values())


def assign(plan: GatePlan, durations: Mapping[str, float], n: int) -> list[tuple[str, ...]]:
    """N shards (some may be empty), each a tuple of gate ids in plan order."""
    if n < 1:
        raise UsageError("--shards must be at least 1")
    known = [d for d in durations.values() if d > 0]
    fallback = median(known) if known else DEFAULT_SECONDS

    def cost(unit: Sequence[str]) -> float:
        return sum(durations.get(g, fallback) for g in unit)

    ranked = sorted(units(plan), key=lambda u: (-cost(u), u[0]))
    load = [0.0] * n
    shards: list[list[str]] = [[] for _ in range(n)]
    for unit in ranked:
        i = min(range(n), key=lambda j: (load[j], j))
        load[i] += cost(unit)
        shards[i].extend(unit)
    position = {g: i for i, g in enumerate(plan.order)}
    return [tuple(sorted(s, key=lambda g: position.get(g, len(position)))) for s in shards]


def github_matrix(plan: GatePlan, durations: Mapping[str, float], n: int) -> str:
    """``{"include": [{"shard": "K/N", "gates": "a b"}, ...]}`` for ``strategy.matrix``
    (only shards with gates; an empty plan gives one entry with no gates, so the
    matrix is never empty, which GitHub refuses)."""
    shards = assign(plan, durations, n)
    include = [
        {"shard": f"{k}/{n}", "gates": " ".join(gates)}
        for k, gates in enumerate(shards, start=1)
        if gates
    ]
    if not include:
        include = [{"shard": f"1/{n}", "gates": ""}]
    return json.dumps({"include": include}, sort_keys=True, separators=(",", ":"))
