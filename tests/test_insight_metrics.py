"""gatekit metrics: prometheus_client's parser reads the output, and its values match the records."""

from __future__ import annotations

import os

import pygit2
from conftest import Repo
from insight_support import G, record_chain, trees
from prometheus_client.parser import text_string_to_metric_families

from gatekit.results import Outcome

P, F, C = Outcome.PASSED, Outcome.FAILED, Outcome.CACHED


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def test_metrics_parse_and_match_the_records(repo: Repo) -> None:
    pr = pygit2.Repository(str(repo.path))
    t = trees(pr, 4)
    record_chain(
        pr,
        "main",
        [
            (1000.0, t[0], {"lint": G(P, 1.5), 'we"ird': G(P, 2.0)}),
            (
                2000.0,
                t[1],
                {"lint": G(F, 2.5, attempts=2), 'we"ird': G(P, 3.0, attempts=2, flaky=True)},
            ),
            (3000.0, t[2], {"lint": G(P, 3.25), 'we"ird': G(C, 0.0, cached_from="c" * 40)}),
        ],
    )
    record_chain(pr, "release", [(5000.0, t[3], {"lint": G(F, 7.0)})])
    assert repo.gatekit("quarantine", "add", "lint", "--why", "watching it").returncode == 0
    out = repo.path / "metrics" / "gatekit.prom"
    out.parent.mkdir()
    proc = repo.gatekit("metrics", "--format", "prometheus", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert os.listdir(out.parent) == ["gatekit.prom"]  # no temporary file left
    got = _samples(out.read_text())
    main = {"chain": "main"}
    assert got[_key("gatekit_gate_last_duration_seconds", gate="lint", **main)] == 3.25
    assert got[_key("gatekit_gate_last_duration_seconds", gate='we"ird', **main)] == 3.0
    assert got[_key("gatekit_gate_outcomes_total", gate="lint", outcome="passed", **main)] == 2
    assert got[_key("gatekit_gate_outcomes_total", gate="lint", outcome="failed", **main)] == 1
    assert got[_key("gatekit_gate_retries_total", gate="lint", **main)] == 1
    assert got[_key("gatekit_gate_cache_hits_total", gate='we"ird', **main)] == 1
    assert got[_key("gatekit_gate_flaky_total", gate='we"ird', **main)] == 1
    assert got[_key("gatekit_gate_flaky_total", gate="lint", **main)] == 0
    assert got[_key("gatekit_gate_quarantined", gate="lint", **main)] == 1
    assert got[_key("gatekit_gate_quarantined", gate='we"ird', **main)] == 0
    assert got[_key("gatekit_runs_total", verdict="passed", **main)] == 2
    assert got[_key("gatekit_runs_total", verdict="failed", **main)] == 1
    assert got[_key("gatekit_run_last_verdict", verdict="passed", **main)] == 1
    assert got[_key("gatekit_run_last_verdict", verdict="failed", **main)] == 0
    assert got[_key("gatekit_run_last_duration_seconds", **main)] == 3.25
    assert got[_key("gatekit_run_last_timestamp_seconds", **main)] == 3000
    assert got[_key("gatekit_run_last_verdict", chain="release", verdict="failed")] == 1
    assert got[_key("gatekit_gate_last_duration_seconds", chain="release", gate="lint")] == 7.0
    # one chain only, on standard output; same records, same bytes
    only = repo.gatekit("metrics", "--chain", "release")
    assert only.returncode == 0 and 'chain="main"' not in only.stdout
    assert repo.gatekit("metrics", "--chain", "release").stdout == only.stdout
