"""A stable topological order: dependencies first, ties in declaration order."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("needs cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def stable_toposort(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    index = {name: i for i, name in enumerate(names)}
    pending = {name: {n for n in needs.get(name, ()) if n in index} for name in names}
    dependants: dict[str, list[str]] = {name: [] for name in names}
    for name, deps in pending.items():
        for dep in deps:
            dependants[dep].append(name)
    ready = [index[name] for name, deps in pending.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in dependants[name]:
            pending[child].discard(name)
            if not pending[child]:
                heapq.heappush(ready, index[child])
    if len(order) != len(names):
        stuck = [n for n in names if n not in set(order)]
        raise CycleError([*stuck, stuck[0]])
    return order
