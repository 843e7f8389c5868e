"""gatekit quarantine: flaky gates listed, decisions recorded with who and why, the policy
key deciding whether a quarantined gate blocks the verdict."""

from __future__ import annotations

import json

import pygit2
from check_support import check_json, gate, gate_of, write_config
from conftest import Repo
from insight_support import G, record_chain, trees

from gatekit.insight.quarantine import ANCHOR, quarantined
from gatekit.results import Outcome

P, F = Outcome.PASSED, Outcome.FAILED


def _flaky_chain(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    t = trees(pr, 4)
    record_chain(
        pr,
        "main",
        [
            (1000.0, t[0], {"net": G(P, 2.0, attempts=2, flaky=True), "lint": G(P)}),
            (2000.0, t[1], {"net": G(F, 2.0), "lint": G(P)}),
            (3000.0, t[1], {"net": G(P, 2.0), "lint": G(F)}),  # same tree: net flaky
            (4000.0, t[2], {"net": G(P, 2.0, attempts=3, flaky=True), "lint": G(P)}),
            (5000.0, t[3], {"net": G(P, 2.0), "lint": G(F)}),  # lint fails on a new tree
        ],
    )


def test_list_add_remove(repo: Repo) -> None:
    _flaky_chain(repo)
    listed = repo.gatekit("quarantine", "list", "--chain", "main", "--json")
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert doc["threshold"] == 3  # the policy's default
    assert doc["flaky"] == [{"gate": "net", "flaky": 3, "quarantined": False}]
    assert doc["quarantined"] == []
    text = repo.gatekit("quarantine", "list", "--chain", "main", "--threshold", "4").stdout
    assert "net" not in text and "flaky at least 4 times on chain main (0)" in text

    added = repo.gatekit("quarantine", "add", "net", "--why", "times out on the CI proxy")
    assert added.returncode == 0, added.stderr
    assert "net quarantined by Test User <user@example.invalid>" in added.stdout
    held = quarantined(pygit2.Repository(str(repo.path)))
    assert list(held) == ["net"] and held["net"].why == "times out on the CI proxy"
    # the decision is a line in the notes ref (shared by gatekit push/fetch)
    lines = [
        json.loads(ln)
        for ln in repo.git("notes", "--ref=gatekit", "show", str(pygit2.hash(ANCHOR))).splitlines()
    ]
    assert lines[0]["kind"] == "gatekit-quarantine" and lines[0]["action"] == "add"
    text = repo.gatekit("quarantine", "list", "--chain", "main").stdout
    assert "net                  by Test User" in text and "3 flaky  (quarantined)" in text

    removed = repo.gatekit("quarantine", "remove", "net", "--why", "proxy fixed")
    assert removed.returncode == 0 and "released from quarantine" in removed.stdout
    assert quarantined(pygit2.Repository(str(repo.path))) == {}
    again = repo.gatekit("quarantine", "remove", "net", "--why", "twice")
    assert again.returncode == 2 and "gate 'net' is not quarantined" in again.stderr
    empty = repo.gatekit("quarantine", "add", "net", "--why", "  ")
    assert empty.returncode == 2 and "say why with --why TEXT" in empty.stderr


def test_policy_decides_whether_a_quarantined_gate_blocks(repo: Repo) -> None:
    gates = [gate("ok", "pass"), gate("wobbly", "import sys; sys.exit(3)")]
    write_config(repo, gates)
    repo.commit("config")
    _, doc = check_json(repo, "--rev", "HEAD", expect=1)
    assert doc["verdict"] == "failed" and gate_of(doc, "wobbly")["quarantined"] is False

    assert repo.gatekit("quarantine", "add", "wobbly", "--why", "flaky on CI").returncode == 0
    _, doc = check_json(repo, "--rev", "HEAD", "--no-cache", expect=1)
    wobbly = gate_of(doc, "wobbly")
    assert doc["verdict"] == "failed"  # blocking: true is the default
    assert wobbly["outcome"] == "failed" and wobbly["quarantined"] is True
    assert wobbly["required"] is True
    assert any(n.startswith("quarantined by Test User") for n in wobbly["notes"])

    write_config(repo, gates, quarantine={"blocking": False})
    repo.commit("quarantined gates do not block")
    _, doc = check_json(repo, "--rev", "HEAD", "--no-cache", expect=0)
    wobbly = gate_of(doc, "wobbly")
    assert doc["verdict"] == "passed"
    assert wobbly["outcome"] == "failed" and wobbly["required"] is False
    assert "does not block: quarantine.blocking is false" in wobbly["notes"]
    assert gate_of(doc, "ok")["quarantined"] is False
    shown = repo.gatekit("show", "main").stdout
    assert "(quarantined, does not block)" in shown


def test_job_summary_marks_quarantined_gates() -> None:
    from insight_support import run_result

    from gatekit.reports.summary import build_summary

    result = run_result(0.0, {"net": G(F), "lint": G(P)})
    gates = tuple(
        g.model_copy(update={"quarantined": True, "required": False}) if g.id == "net" else g
        for g in result.gates
    )
    text = build_summary(result.model_copy(update={"gates": gates}))
    net = next(ln for ln in text.splitlines() if ln.startswith("| `net`"))
    assert "failed (advisory) (quarantined)" in net
    lint = next(ln for ln in text.splitlines() if ln.startswith("| `lint`"))
    assert "quarantined" not in lint
