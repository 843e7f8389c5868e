"""gatekit unlock: list this repository's locks; remove one only when its owner is dead."""

from __future__ import annotations

import argparse

HELP = "list the locks of this repository; remove one whose owner is dead (never by age)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "lock", nargs="*", metavar="LOCK", help="a lock name as listed (e.g. refs/notes/gatekit)"
    )
    p.add_argument("--dead", action="store_true", help="remove every lock whose owner is dead")
    p.add_argument("--json", action="store_true", help="the locks as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from gatekit.commands._operator import state_dir
    from gatekit.errors import UsageError
    from gatekit.operator.locks import list_locks, release
    from gatekit.operator.unlockview import describe, stop_command

    d = state_dir()
    locks = list_locks(d)
    if not args.lock and not args.dead:
        if args.json:
            print(json.dumps([describe(lock, d) for lock in locks], indent=2, sort_keys=True))
        elif not locks:
            print("no locks")
        for lock in locks if not args.json else ():
            info = describe(lock, d)
            line = f"{lock.kind:<7} {lock.name:<40} pid {lock.pid or '-'}  {lock.state}"
            if info["stop"]:
                line += f"  (end it with: {info['stop']})"
            elif lock.detail:
                line += f"  ({lock.detail})"
            print(line)
        return 0
    by_name = {lock.name: lock for lock in locks}
    chosen = list(locks) if args.dead else []
    for name in args.lock:
        if name not in by_name:
            raise UsageError(f"no lock {name!r}", tip="gatekit unlock lists them")
        chosen.append(by_name[name])
    code = 0
    for lock in chosen:
        if lock.removable and release(lock):
            print(f"gatekit: removed {lock.name} (owner pid {lock.pid} {lock.state})")
        elif args.dead and not args.lock:
            continue
        elif lock.state == "alive":
            print(
                f"gatekit: {lock.name} is held by pid {lock.pid}, which is alive; "
                f"not removed. End it with: {stop_command(lock, d)}"
            )
            code = 1
        else:
            print(
                f"gatekit: {lock.name} not removed ({lock.state}; {lock.detail or 'not provably dead'})"
            )
            code = 1
    return code
