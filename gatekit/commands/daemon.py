"""gatekit daemon: an opt-in warm-start server that keeps gatekit imported for ``gatekit check``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekit.daemon.control import DaemonStatus

HELP = "start, stop or show the warm-start server that makes 'gatekit check' start fast"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = sub.add_parser(
        "start",
        help="start the server (one per user) unless it runs",
        description="start the server",
    )
    start.add_argument(
        "--idle-timeout",
        default="30m",
        metavar="DURATION",
        help="exit after this long without a request (default: 30m; e.g. 90s, 2h)",
    )
    sub.add_parser("stop", help="stop the server", description="stop the server")
    sub.add_parser(
        "status", help="show pid, socket, version, uptime", description="show the server"
    )


def run(args: argparse.Namespace) -> int:
    import os

    from gatekit.daemon import control

    if args.action == "start":
        result = control.start(os.environ, _duration(args.idle_timeout))
        _show(result, "started" if not result.note else result.note)
        return 0
    if args.action == "stop":
        result = control.stop(os.environ)
        if result.running:
            print(f"gatekit daemon: stopped (pid {result.info.get('pid')})")
        else:
            print(f"gatekit daemon: not running{'; ' + result.note if result.note else ''}")
        return 0
    result = control.status(os.environ)
    if not result.running:
        print(f"gatekit daemon: not running{'; ' + result.note if result.note else ''}")
        return 1
    _show(result, "running")
    return 0


def _duration(text: str) -> float:
    from gatekit.config.durations import parse_duration
    from gatekit.errors import UsageError

    try:
        return parse_duration(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise UsageError(f"--idle-timeout: {exc}") from None


def _show(result: DaemonStatus, state: str) -> None:
    info = result.info
    print(f"gatekit daemon: {state}")
    print(f"  pid      {info.get('pid')}")
    print(f"  socket   {info.get('socket')}")
    print(f"  version  {info.get('version')}")
    print(f"  uptime   {_uptime(float(info.get('uptime', 0)))}")
    print(f"  served   {info.get('served')} check(s), {info.get('running')} running")
    print(f"  idle     exits after {_uptime(float(info.get('idle_timeout', 0)))} without a request")


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f}s"
