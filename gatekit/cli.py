"""Thin command line: parse, dispatch to ``gatekit.commands.<name>``, map errors to exit codes.

Each command module exposes ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; it unpacks the arguments and calls the core, which never
sees argparse. Command modules import their core lazily so that start-up
(``gatekit --version``) stays cheap.
"""

from __future__ import annotations

import os
import sys

from gatekit import __version__

TYPE_CHECKING = False  # typing (and argparse) cost milliseconds the daemon's client path saves
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

COMMANDS = (
    "check",
    "plan",
    "shadow",
    "gc",
    "log",
    "show",
    "rollback",
    "promote",
    "push",
    "fetch",
    "secrets",
    "hook",
    "init",
    "pre-push",
    "approve",
    "daemon",
    "report",
    "collect",
    "status",
    "watch",
    "explain",
    "stop",
    "unlock",
    "serve",
    "stats",
    "metrics",
    "quarantine",
)


_PARSERS: dict[str | None, argparse.ArgumentParser] = {}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's (imports one command module, not all).

    Built once per process (a daemon worker reuses the one its server built: argparse
    spends milliseconds in gettext look-ups while building)."""
    if only not in _PARSERS:
        _PARSERS[only] = _new_parser(only)
    return _PARSERS[only]


def _new_parser(only: str | None) -> argparse.ArgumentParser:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="gatekit",
        description="Git-native gates: check exactly what will land, keep the evidence in git.",
    )
    parser.add_argument("--version", action="version", version=f"gatekit {__version__}")
    parser.add_argument(
        "-C", dest="chdir", metavar="DIR", help="run as if gatekit was started in DIR"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        try:
            module = importlib.import_module(f"gatekit.commands.{name.replace('-', '')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gatekit.commands.{name.replace('-', '')}":
                raise
            continue
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(func=module.run)
    return parser


def _daemon_may_be_running() -> bool:
    from gatekit.daemon.paths import may_be_running

    return may_be_running(os.environ)


def entry() -> NoReturn:
    """The ``gatekit`` command: :func:`main`, then exit. After a check, whether the
    daemon ran it or this process did, nothing is left to tear down: every file of the
    run is closed (each write was flushed), temporary directories were removed by their
    ``with``; the only thread that may still run removes closed gate views from
    ``runs/.trash`` (what it leaves, the next check or ``gatekit gc`` removes). So the
    process ends at once: Python's own shutdown
    (clearing modules, a last collection) cost an in-process check ~25 ms, and more
    than the whole client of a daemon check."""
    if sys.argv[1:2] == ["check"]:
        pause_collector()
    code = main()
    if _served_by_daemon or _checked:
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105 (contextlib is not imported on this path)
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)
    sys.exit(code)


_served_by_daemon = False
_checked = False  # an in-process `gatekit check` ran (see entry())


def main(argv: Sequence[str] | None = None, *, use_daemon: bool = True) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list in (["--version"], ["-V"]):
        # Fast path: no parser, no command modules.
        print(f"gatekit {__version__}")
        return 0
    warm = use_daemon and args_list[:1] == ["check"] and not os.environ.get("GATEKIT_NO_DAEMON")
    if warm and _daemon_may_be_running():
        # Warm start: a running `gatekit daemon` forks a worker that is this process
        # (fds, cwd, environment); None when there is none (or it refused): run here.
        from gatekit.daemon.client import run_check

        code = run_check(args_list)
        if code is not None:
            global _served_by_daemon
            _served_by_daemon = True
            return code
    code = _run_here(args_list)
    if warm and code in _CHECK_RAN and _autostart_allowed(os.environ):
        _autostart()
    if args_list[:1] == ["check"]:
        global _checked
        _checked = True
    return code


def pause_collector() -> None:
    """A process that is one check (``gatekit check``, a daemon's worker) runs without
    Python's cyclic garbage collector.

    Its start-up makes objects that live until the process ends (modules, classes,
    the plan): the collector walked them in ~48 passes, ~12 ms and 3% of the
    instructions of a 2,000-file check of five trivial gates, and found a few hundred
    objects in the whole run. What the check frees, reference counting frees; the
    process ends with the check (``entry``). Not for ``main()`` called in a process
    that goes on (tests)."""
    import gc

    gc.disable()


# A check that ran to a verdict (not a usage error, not an interruption).
_CHECK_RAN = (0, 1, 3, 4)
AUTOSTART_IDLE = 1800.0  # seconds: an auto-started daemon goes away after 30 idle minutes


def _autostart_allowed(environ: Mapping[str, str]) -> bool:
    """Not on CI (one check per machine: nothing to warm), nor when turned off."""
    ci = environ.get("CI", "").strip().lower()
    return ci in ("", "0", "false", "no") and not environ.get("GATEKIT_NO_DAEMON")


def _autostart() -> None:
    """Start the warm-start daemon in the background for the next checks (best effort)."""
    from gatekit.daemon.control import spawn

    if spawn(os.environ, AUTOSTART_IDLE) and sys.stderr.isatty():
        print(
            "gatekit: started the warm-start daemon for faster checks "
            "('gatekit daemon stop' stops it; GATEKIT_NO_DAEMON=1 turns this off)",
            file=sys.stderr,
        )


def _recover_runs() -> None:
    """Crash recovery: runs of this repository whose owner died are marked crashed (and
    what they left running is stopped) by whichever gatekit command finds them first."""
    from gatekit.operator.locate import gatekit_dir

    try:
        found = gatekit_dir()
        if found is None or not os.listdir(found / "active"):
            return
    except OSError:
        return
    from gatekit.operator.recover import recover_runs

    recover_runs(found)


def _run_here(args_list: list[str]) -> int:
    from gatekit.errors import ExitCode, GatekitError

    # `gatekit COMMAND ...` needs only COMMAND's parser (help and errors read the same).
    parser = build_parser(args_list[0] if args_list[:1] and args_list[0] in COMMANDS else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse reports usage errors with exit 2
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE.value
    try:
        if args.chdir:
            os.chdir(args.chdir)
        if args.command != "daemon":
            _recover_runs()
        return int(args.func(args))
    except GatekitError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code.value
    except KeyboardInterrupt:
        print("gatekit: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED.value
    except BrokenPipeError:
        # Output closed early (e.g. piped into head): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.PASS.value
    except OSError as exc:
        print(f"gatekit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE.value
