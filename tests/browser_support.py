"""Headless Chromium for the page tests (Debian's ``chromium``, driven by Playwright).

Every request the page makes goes through :class:`Guard`: loopback and file
URLs go on, anything else is aborted and recorded, so a test can assert that
no request left the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def chromium_path() -> str:
    override = os.environ.get("GATEKIT_CHROMIUM")
    found = override if override else shutil.which("chromium")
    if not found or not Path(found).exists():
        pytest.fail(
            "headless Chromium is needed for the page tests and was not found: install it with "
            "'sudo apt-get install chromium' (Debian/Ubuntu; .ci/run does this), or point "
            "GATEKIT_CHROMIUM at a Chromium binary"
        )
    return found


class Guard:
    """Lets through file:, data:, about: and loopback requests; aborts and records the rest."""

    LOCAL = ("127.0.0.1", "localhost", "[::1]", "::1")

    def __init__(self) -> None:
        self.allowed: list[str] = []
        self.blocked: list[str] = []
        self.console: list[str] = []

    def route(self, route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        url = request.url
        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "about") or parts.hostname in self.LOCAL:
            self.allowed.append(url)
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]


@contextmanager
def browser_page(
    profile: Path, *, width: int = 1200, javascript: bool = True
) -> Iterator[tuple[object, Guard]]:
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    guard = Guard()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),  # a fresh, empty profile per test
            executable_path=exe,
            args=FLAGS,
            headless=True,
            viewport={"width": width, "height": 900},
            java_script_enabled=javascript,
            service_workers="block",
        )
        try:
            context.route("**/*", guard.route)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda msg: guard.console.append(f"{msg.type}: {msg.text}"))
            page.on("pageerror", lambda exc: guard.console.append(f"pageerror: {exc}"))
            yield page, guard
        finally:
            context.close()
