"""gatekit report html, opened in headless Chromium: every gate, outcome and the verdict in the
DOM, readable without JavaScript and in a narrow window, and no request leaving the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import browser_page
from check_support import check_json, gate, write_config
from conftest import Repo

pytestmark = pytest.mark.slow

JUNIT = (
    "import pathlib, sys; p = pathlib.Path('reports'); p.mkdir(exist_ok=True); "
    '(p / \'unit.xml\').write_text(\'<testsuite name="unit" tests="2" failures="1">'
    '<testcase classname="tests.test_math" name="test_adds"/>'
    '<testcase classname="tests.test_math" name="test_divides">'
    '<failure message="ZeroDivisionError: division by zero">trace</failure></testcase>'
    "</testsuite>'); print('1 failed, 1 passed: test_divides'); sys.exit(1)"
)
COVERAGE = "import json; json.dump({'coverage': 0.5}, open('metrics.json', 'w')); print('cov 50%')"


def _project(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("lint", "print('lint clean')"),
            gate("unit", JUNIT, needs=["lint"], junit="reports/*.xml"),
            gate(
                "coverage",
                COVERAGE,
                needs=["lint"],
                kpi={
                    "file": "metrics.json",
                    "checks": [{"metric": "coverage", "op": ">=", "value": 0.9}],
                },
            ),
            gate("docs", "pass", needs=["unit"]),
            gate("wobbly", "import sys; print('wobbly: connection reset'); sys.exit(7)"),
            {
                "id": "review",
                "type": "manual",
                "instructions": "A maintainer reviews auth changes.",
            },
        ],
    )
    repo.commit("project")


def _text(page: Any, selector: str) -> str:
    return str(page.inner_text(selector))


def test_report_html_in_chromium(repo: Repo, tmp_path: Path) -> None:
    _project(repo)
    _, first = check_json(repo, "--rev", "HEAD", expect=1)
    assert repo.gatekit("quarantine", "add", "wobbly", "--why", "resets on CI").returncode == 0
    _, doc = check_json(repo, "--rev", "HEAD", expect=1)
    outcomes = {g["id"]: g["outcome"] for g in doc["gates"]}
    assert outcomes["lint"] == "cached" and outcomes["unit"] == "failed"
    out = tmp_path / "report.html"
    proc = repo.gatekit("report", "html", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")

    with browser_page(tmp_path / "profile", javascript=False) as (page, guard):
        page.goto(out.as_uri())  # type: ignore[attr-defined]
        assert page.get_attribute("#verdict", "data-verdict") == "failed"  # type: ignore[attr-defined]
        assert "Verdict: failed" in _text(page, "#verdict")
        for gid, outcome in outcomes.items():
            row = f'table.timeline tr[data-gate="{gid}"]'
            assert page.get_attribute(row, "data-outcome") == outcome  # type: ignore[attr-defined]
            # the outcome is a word, not only a colour
            assert outcome.replace("_", " ") in _text(page, f"{row} .badge")
            node = f'svg g.node[data-gate="{gid}"]'
            assert page.get_attribute(node, "data-outcome") == outcome  # type: ignore[attr-defined]
        card = 'section.gate-card[data-gate="unit"]'
        assert "Next action:" in _text(page, card)
        assert "1 failed, 1 passed: test_divides" in _text(page, f"{card} pre")
        junit = _text(page, "table.junit-failures")
        assert "tests.test_math.test_divides" in junit and "division by zero" in junit
        kpi = _text(page, "#kpi + table")
        assert "coverage" in kpi and "0.5" in kpi and ">= 0.9" in kpi
        cache = _text(page, "#cache + p + ul")
        assert "lint" in cache and first["checkpoint"] in cache
        quarantine = _text(page, "#quarantine + p + ul")
        assert "wobbly" in quarantine and "Test User" in quarantine and "resets on CI" in quarantine
        assert "still block the verdict" in _text(page, "#quarantine + p")
        history = page.query_selector_all("table.history tbody tr")  # type: ignore[attr-defined]
        assert [r.get_attribute("data-checkpoint") for r in history] == [
            doc["checkpoint"],
            first["checkpoint"],
        ]
        page.screenshot(path=str(tmp_path / "report-wide.png"), full_page=True)  # type: ignore[attr-defined]
        assert guard.blocked == [] and all(u.startswith("file://") for u in guard.allowed)
        assert not [c for c in guard.console if "Content Security Policy" in c], guard.console

    with browser_page(tmp_path / "profile-narrow", width=360, javascript=False) as (page, guard):
        page.goto(out.as_uri())  # type: ignore[attr-defined]
        widths = page.evaluate(  # type: ignore[attr-defined]
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1], f"horizontal scrolling in a narrow window: {widths}"
        assert page.is_visible('table.timeline tr[data-gate="unit"]')  # type: ignore[attr-defined]
        page.screenshot(path=str(tmp_path / "report-narrow.png"), full_page=True)  # type: ignore[attr-defined]
        assert guard.blocked == []
    print(f"screenshots: {tmp_path}")


def test_report_from_another_machine_has_no_run_directory(repo: Repo, tmp_path: Path) -> None:
    """A fetched chain: the timeline is laid out from durations and needs, logs are named."""
    _project(repo)
    check_json(repo, "--rev", "HEAD", expect=1)
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    for ref in ("refs/gatekit/checkpoints/main", "refs/notes/gatekit"):
        repo.git("-C", str(clone), "fetch", "-q", str(repo.path), f"+{ref}:{ref}")
    out = tmp_path / "r.html"
    proc = Repo(clone).gatekit("report", "html", "--chain", "main", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "laid out from durations and needs" in html
    assert "The plan of this run is not on this machine" in html
    assert "is not on this machine" in html and 'data-verdict="failed"' in html


def test_report_errors_are_clear(repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    proc = repo.gatekit("report", "html", "--chain", "nope", "-o", str(out))
    assert proc.returncode == 2 and "no checkpoints on chain 'nope'" in proc.stderr
    proc = repo.gatekit("report", "html", "main~5", "--chain", "main", "-o", str(out))
    assert proc.returncode == 2 and "not both" in proc.stderr
    assert not out.exists()


def test_missing_chromium_fails_with_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from browser_support import chromium_path

    monkeypatch.setenv("GATEKIT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pytest.fail.Exception) as info:
        chromium_path()
    assert "apt-get install chromium" in str(info.value)
