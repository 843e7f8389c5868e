"""``gatekit serve``: the report and live pages over HTTP, on 127.0.0.1 only, read-only.

    /                   the newest runs (live state or verdict), each linked
    /runs/<run_id>      a finished run's report; a running one's live page
    /api/runs           the index as JSON
    /api/runs/<run_id>  one run's live state as JSON (what the live page polls)

Only GET and HEAD are answered; every other method gets 405. Nothing on the
page changes anything: no action is taken from the page.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gatekit.insight.livepage import index_page, live_run_page
from gatekit.insight.livestate import run_state, runs_index
from gatekit.insight.rundir import RunDir, find

HOST = "127.0.0.1"


class Site:
    """What the server serves: one repository's run directories."""

    def __init__(self, repo_path: Path, runs_root: Path, plans_dir: Path) -> None:
        self.repo_path = repo_path
        self.runs_root = runs_root
        self.plans_dir = plans_dir

    def report(self, run: RunDir, doc: dict[str, Any]) -> str:
        from gatekit.insight.html import render_report
        from gatekit.insight.report import build_report
        from gatekit.results import RunResult

        try:
            result = RunResult.model_validate(doc)
        except ValueError:
            return live_run_page(run_state(run))
        quarantine = {}
        try:
            import pygit2

            from gatekit.insight.quarantine import quarantined

            quarantine = quarantined(pygit2.Repository(str(self.repo_path)))
        except Exception:  # the report stands without it
            quarantine = {}
        report = build_report(result, run, self.plans_dir, None, quarantine)
        html = render_report(report)
        return html.replace("<body>\n", '<body>\n<p><a href="/">all runs</a></p>\n', 1)

    def get(self, path: str) -> tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            return 200, "text/html", index_page(runs_index(self.runs_root)).encode()
        if path == "/api/runs":
            return 200, "application/json", json.dumps(runs_index(self.runs_root)).encode()
        for prefix, kind in (("/api/runs/", "json"), ("/runs/", "html")):
            if path.startswith(prefix):
                run = find(self.runs_root, path[len(prefix) :].strip("/"))
                if run is None:
                    break
                if kind == "json":
                    return 200, "application/json", json.dumps(run_state(run)).encode()
                doc = run.result()
                html = self.report(run, doc) if doc is not None else live_run_page(run_state(run))
                return 200, "text/html", html.encode()
        return 404, "text/plain", b"not found\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "gatekit"
    sys_version = ""
    site: Site
    quiet = False

    def _send(self, code: int, kind: str, body: bytes, head_only: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(*self.site.get(self.path))

    def do_HEAD(self) -> None:
        self._send(*self.site.get(self.path), head_only=True)

    def _refuse(self) -> None:
        self._send(405, "text/plain", b"read-only: only GET and HEAD\n")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            sys.stderr.write(f"gatekit serve: {self.address_string()} {format % args}\n")


def make_server(site: Site, port: int, quiet: bool = False) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"site": site, "quiet": quiet})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    return server
