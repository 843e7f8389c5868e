"""gatekit stats: figures checked against a chain with known durations and outcomes."""

from __future__ import annotations

import json

import pygit2
import pytest
from conftest import Repo
from insight_support import G, record_chain, trees

from gatekit.insight.history import chain_runs, parse_when
from gatekit.insight.stats import gate_stats, percentile
from gatekit.results import Outcome

P, F, C, S = Outcome.PASSED, Outcome.FAILED, Outcome.CACHED, Outcome.SKIPPED
T0 = parse_when("2026-11-01T10:00:00Z")


def _chain(repo: Repo) -> pygit2.Repository:
    pr = pygit2.Repository(str(repo.path))
    t = trees(pr, 6)
    runs = [
        # lint durations 1..6; unit fails at run 2 (t[1]) and passes on the same tree at run 3:
        # a flaky event; run 4 passes only on retry (flaky); run 5 is cached.
        (T0 + 0, t[0], {"lint": G(P, 1.0), "unit": G(P, 10.0)}),
        (T0 + 100, t[1], {"lint": G(P, 2.0), "unit": G(F, 20.0)}),
        (T0 + 250, t[1], {"lint": G(P, 3.0), "unit": G(P, 30.0)}),
        (T0 + 400, t[2], {"lint": G(P, 4.0), "unit": G(P, 40.0, attempts=2, flaky=True)}),
        (T0 + 500, t[3], {"lint": G(P, 5.0), "unit": G(C, 0.0, cached_from="c" * 40)}),
        (T0 + 600, t[4], {"lint": G(F, 6.0), "unit": G(S, 0.0)}),
    ]
    record_chain(pr, "main", runs)
    return pr


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 21)], 95) == 19.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_stats_match_the_chain(repo: Repo) -> None:
    pr = _chain(repo)
    runs = chain_runs(pr, "main")
    assert [r.time - T0 for r in runs] == [0, 100, 250, 400, 500, 600]
    st = gate_stats(runs)
    lint, unit = st["lint"], st["unit"]
    assert (lint.ran, lint.passed, lint.failed) == (6, 5, 1)
    assert (lint.p50, lint.p95) == (3.0, 6.0)
    assert lint.failure_rate == round(1 / 6, 4)
    assert lint.recoveries == [] and lint.failing_now_since == T0 + 600
    # unit ran 4 times (10, 20, 30, 40), once cached, once skipped
    assert (unit.runs, unit.ran, unit.cached, unit.skipped) == (6, 4, 1, 1)
    assert (unit.p50, unit.p95) == (20.0, 40.0)
    assert unit.failure_rate == 0.25
    assert unit.flaky == 2 and unit.flaky_rate == 0.5
    assert unit.retries == 1
    assert unit.cache_hit_rate == 0.2
    assert unit.recoveries == [150.0] and unit.recovery_median == 150.0
    assert unit.failing_now_since is None


def test_stats_command_json_and_since(repo: Repo) -> None:
    _chain(repo)
    proc = repo.gatekit("stats", "--chain", "main", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["runs"] == 6 and doc["verdicts"] == {"failed": 2, "passed": 4}
    by_gate = {g["gate"]: g for g in doc["gates"]}
    assert by_gate["unit"]["p95"] == 40.0 and by_gate["lint"]["p50"] == 3.0
    since = repo.gatekit("stats", "--chain", "main", "--since", "2026-11-01T10:05:00Z", "--json")
    doc = json.loads(since.stdout)
    assert doc["runs"] == 3  # the runs at +400, +500, +600
    assert {g["gate"]: g["ran"] for g in doc["gates"]} == {"lint": 3, "unit": 1}


def test_stats_command_table(repo: Repo) -> None:
    _chain(repo)
    proc = repo.gatekit("stats", "--chain", "main")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("chain main: 6 runs (2 failed, 4 passed)")
    unit = next(ln for ln in lines if ln.startswith("unit"))
    assert unit.split() == ["unit", "4", "20.0s", "40.0s", "25%", "50%", "20%", "150.0s"]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01"])
def test_stats_bad_since_is_a_clear_error(repo: Repo, bad: str) -> None:
    proc = repo.gatekit("stats", "--since", bad)
    assert proc.returncode == 2
    assert f"cannot read the date {bad!r}" in proc.stderr and "Traceback" not in proc.stderr
