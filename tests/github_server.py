"""A local stand-in for GitHub's REST API: every request body is validated against the
published request schemas (tests/data/github/rest-excerpt.json, from @octokit/openapi),
and GitHub's own rejections the schema does not state are answered 422 as GitHub does
(a commit-status description over 140 characters, more than 50 annotations).

Scripted answers (``fail``) stand in for a read-only token (403), rate limits (429 /
403 with Retry-After) and the like.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
from conftest import ROOT

SPEC = json.loads((ROOT / "tests" / "data" / "github" / "rest-excerpt.json").read_text())
TOKEN = "ghs_" + "test0token0value0never0printed0x"


def _route(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for op_id, op in SPEC["operations"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", op["path"]) + "$"
        if op["method"] == method and re.match(pattern, path):
            return op_id, op["requestBody"]
    return None


def _nullable(schema: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON Schema (``type: [T, "null"]``)."""
    if isinstance(schema, dict):
        out = {k: _nullable(v) for k, v in schema.items() if k != "nullable"}
        if schema.get("nullable") and isinstance(schema.get("type"), str):
            out["type"] = [schema["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    return schema


@dataclass
class Seen:
    method: str
    path: str
    op: str | None
    body: Any
    status: int
    at: float
    headers: dict[str, str]


@dataclass
class Script:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"message": "scripted"})
    op: str | None = None  # only for this operation (None: any)
    times: int = 1


class FakeGitHub:
    """``prefix`` serves the API under a path, as GitHub Enterprise Server does (/api/v3)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.seen: list[Seen] = []
        self.scripts: list[Script] = []
        self.check_runs = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, answer = fake.answer(self.command, self.path, raw, self.headers)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{prefix}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(
        self, method: str, path: str, raw: bytes, headers: Any
    ) -> tuple[int, dict[str, str], Any]:
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return 404, {}, {"message": f"Not Found (outside {self.prefix})"}
            path = path[len(self.prefix) :]
        route = _route(method, path)
        op = route[0] if route else None
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, extra, answer = self._decide(method, path, op, route, body, headers)
        with self._lock:
            self.seen.append(
                Seen(method, path, op, body, status, time.monotonic(), dict(headers.items()))
            )
        return status, extra, answer

    def _decide(
        self, method: str, path: str, op: str | None, route: Any, body: Any, headers: Any
    ) -> tuple[int, dict[str, str], Any]:
        if path.startswith("/marker/"):
            return 200, {}, {}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, {"message": "Bad credentials"}
        with self._lock:
            for s in self.scripts:
                if s.times > 0 and (s.op is None or s.op == op):
                    s.times -= 1
                    return s.status, s.headers, s.body
        if route is None:
            return 404, {}, {"message": "Not Found"}
        output = body.get("output") if isinstance(body, dict) else None
        if isinstance(output, dict) and len(output.get("annotations") or []) > 50:
            return 422, {}, {"message": "Only 50 annotations are allowed per request."}
        try:
            jsonschema.validate(body, _nullable(route[1]))
        except jsonschema.ValidationError as exc:
            return 422, {}, {"message": "Invalid request.", "errors": [exc.message]}
        if op == "repos/create-commit-status" and len(body.get("description") or "") > 140:
            return (
                422,
                {},
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "Status",
                            "code": "custom",
                            "field": "description",
                            "message": "description is too long (maximum is 140 characters)",
                        }
                    ],
                },
            )
        if op == "checks/create":
            with self._lock:
                self.check_runs += 1
                return 201, {}, {"id": 9000 + self.check_runs}
        return (201 if method == "POST" else 200), {}, {"id": 1}

    def ok(self) -> Iterator[Seen]:
        return (s for s in self.seen if s.status < 300 and s.op is not None)

    def by_op(self, op: str) -> list[Seen]:
        return [s for s in self.seen if s.op == op]
