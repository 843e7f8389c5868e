"""gatekit serve: run reports and live pages on 127.0.0.1 (read-only)."""

from __future__ import annotations

import argparse

HELP = "serve run reports and a live view of running checks on 127.0.0.1 (read-only)"
DEFAULT_PORT = 8765


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)",
    )
    p.add_argument("--quiet", action="store_true", help="do not log requests")


def run(args: argparse.Namespace) -> int:
    from gatekit.errors import UsageError
    from gatekit.git.repo import gatekit_dir, open_repo, workdir
    from gatekit.insight.serve import HOST, Site, make_server

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number (0-65535)")
    repo = open_repo(".")
    site = Site(workdir(repo), gatekit_dir(repo) / "runs", gatekit_dir(repo) / "plans")
    try:
        server = make_server(site, args.port, quiet=args.quiet)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {HOST}:{args.port}: {exc.strerror or exc}",
            tip="choose another port with --port N (0: any free port)",
        ) from None
    port = server.server_address[1]
    print(f"gatekit: serving http://{HOST}:{port}/ (read-only; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
