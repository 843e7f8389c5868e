"""A small GitHub REST client (urllib): retries, rate limits, never the token in a message.

- 429, and 403 with ``Retry-After`` or ``x-ratelimit-remaining: 0`` (primary and
  secondary rate limits): wait ``Retry-After`` seconds, else until
  ``x-ratelimit-reset``, else a minute, as long as the total wait stays under
  ``max_wait``; then retry.
- Network errors and 5xx answers: retried with exponential backoff.
- Any other 4xx: :class:`ApiError` with GitHub's own message (403 as
  :class:`Forbidden`: a read-only token, e.g. a fork's pull request).

``GITHUB_API_URL`` may point at GitHub Enterprise Server (``https://HOST/api/v3``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from gatekit import __version__
from gatekit.errors import GatekitError
from gatekit.lazyclass import dataclass

DEFAULT_API = "https://api.github.com"


class ApiError(GatekitError):
    def __init__(self, status: int, message: str, *, tip: str | None = None) -> None:
        super().__init__(message, tip=tip)
        self.status = status


class Forbidden(ApiError):
    pass


@dataclass
class GitHubApi:
    api_url: str
    token: str = field(repr=False)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    max_wait: float = 300.0  # seconds of rate-limit waiting in all, per client
    attempts: int = 4  # per request, for network errors and 5xx
    backoff: float = 1.0
    timeout: float = 30.0
    waited: float = 0.0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **kw: Any) -> GitHubApi:
        token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or ""
        if not token:
            raise GatekitError(
                "no GitHub token: set GITHUB_TOKEN (in a workflow: env: GITHUB_TOKEN: ${{ github.token }})"
            )
        return cls(environ.get("GITHUB_API_URL") or DEFAULT_API, token, **kw)

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        url = self.api_url.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode()
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"gatekit/{__version__}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        failures = 0
        while True:
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", "replace")
                wait = self._rate_limit_wait(exc.code, exc.headers)
                if wait is not None:
                    self._wait(wait, method, path)
                    continue
                if exc.code >= 500 and failures + 1 < self.attempts:
                    failures += 1
                    self.sleep(self.backoff * 2 ** (failures - 1))
                    continue
                raise self._error(exc.code, method, path, text) from None
            except (urllib.error.URLError, OSError) as exc:
                failures += 1
                if failures >= self.attempts:
                    reason = getattr(exc, "reason", exc)
                    raise ApiError(
                        0,
                        f"{method} {path}: cannot reach {self.api_url} after {failures} attempts: {reason}",
                    ) from None
                self.sleep(self.backoff * 2 ** (failures - 1))

    def _rate_limit_wait(self, status: int, headers: Any) -> float | None:
        retry_after = headers.get("Retry-After")
        remaining = headers.get("x-ratelimit-remaining")
        if status not in (403, 429) or (status == 403 and retry_after is None and remaining != "0"):
            return None
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        reset = headers.get("x-ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset) - self.clock()) + 1.0
            except ValueError:
                pass
        return 60.0

    def _wait(self, seconds: float, method: str, path: str) -> None:
        if self.waited + seconds > self.max_wait:
            raise ApiError(
                429,
                f"{method} {path}: GitHub's rate limit asks to wait {seconds:.0f}s more, "
                f"past the {self.max_wait:.0f}s gatekit waits",
                tip="re-run the job later, or publish with 'gatekit report github' afterwards",
            )
        self.notes.append(f"rate limited: waiting {seconds:.0f}s as GitHub asks")
        self.waited += seconds
        self.sleep(seconds)

    def _error(self, status: int, method: str, path: str, text: str) -> ApiError:
        try:
            doc = json.loads(text)
            message = str(doc.get("message", "")) if isinstance(doc, dict) else ""
            errors = doc.get("errors") if isinstance(doc, dict) else None
        except ValueError:
            message, errors = text[:200], None
        if errors:
            message += f" {json.dumps(errors)[:300]}"
        full = f"{method} {path}: GitHub answered {status}: {message.strip() or '(no message)'}"
        if status == 403:
            return Forbidden(status, full)
        return ApiError(status, full)
