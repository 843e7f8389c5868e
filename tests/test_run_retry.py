"""Retries by failure class, through real gates with a counter file."""

from __future__ import annotations

import random
from pathlib import Path

from run_helpers import gate, plan, py, retries, run

from gatekit.results import Outcome
from gatekit.run.retry import backoff_delay


def _fails_first(counter: Path, times: int, code: int, message: str = "") -> str:
    """Exit ``code`` on the first ``times`` runs, then pass; counts runs in ``counter``."""
    return py(
        f"import pathlib, sys; p = pathlib.Path({str(counter)!r}); "
        "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); "
        f"print({message!r}) if n < {times} else None; sys.exit({code} if n < {times} else 0)"
    )


def _runs(counter: Path) -> int:
    return int(counter.read_text())


def test_transient_exit_code_is_retried_then_passes(tmp_path: Path) -> None:
    c = tmp_path / "count"
    g = gate("net", _fails_first(c, 2, 75), retry=retries(transient=3, exit_codes=[75]))
    res, run_dir = run(plan(g), tmp_path)
    r = res["net"]
    assert r.outcome is Outcome.PASSED and not r.flaky
    assert [(a.outcome, a.failure_class) for a in r.attempts] == [
        (Outcome.FAILED, "transient"),
        (Outcome.FAILED, "transient"),
        (Outcome.PASSED, None),
    ]
    assert _runs(c) == 3
    assert "retry-wait" in (run_dir / "events.jsonl").read_text()


def test_transient_output_pattern_is_retried(tmp_path: Path) -> None:
    c = tmp_path / "count"
    g = gate(
        "net",
        _fails_first(c, 1, 1, "Connection reset by peer"),
        retry=retries(transient=1, patterns=[r"Connection reset"]),
    )
    res, _ = run(plan(g), tmp_path)
    assert res["net"].outcome is Outcome.PASSED
    assert res["net"].attempts[0].failure_class == "transient"


def test_transient_budget_runs_out(tmp_path: Path) -> None:
    c = tmp_path / "count"
    res, run_dir = run(
        plan(gate("net", _fails_first(c, 9, 75), retry=retries(transient=2, exit_codes=[75]))),
        tmp_path,
    )
    assert res["net"].outcome is Outcome.FAILED and len(res["net"].attempts) == 3
    assert "transient" in (run_dir / "reports/net.md").read_text()


def test_deterministic_failure_is_not_retried(tmp_path: Path) -> None:
    c = tmp_path / "count"
    g = gate(
        "unit",
        _fails_first(c, 1, 1),
        retry=retries(transient=3, exit_codes=[75], patterns=["timeout"]),
    )
    res, _ = run(plan(g), tmp_path)
    assert res["unit"].outcome is Outcome.FAILED
    assert (
        len(res["unit"].attempts) == 1 and res["unit"].attempts[0].failure_class == "deterministic"
    )
    assert _runs(c) == 1


def test_flaky_retry_records_a_pass_after_a_fail_as_flaky(tmp_path: Path) -> None:
    c = tmp_path / "count"
    res, _ = run(plan(gate("unit", _fails_first(c, 1, 1), retry=retries(flaky=1))), tmp_path)
    r = res["unit"]
    assert r.outcome is Outcome.PASSED and r.flaky
    assert [a.outcome for a in r.attempts] == [Outcome.FAILED, Outcome.PASSED]
    assert "flaky" in r.reason


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = retries(backoff=5)
    rng = random.Random(1)
    for n, base in ((1, 5), (2, 10), (3, 20), (4, 40)):
        for _ in range(50):
            d = backoff_delay(policy, n, rng)
            assert base * 0.75 <= d <= base * 1.25
    assert all(backoff_delay(policy, 10, rng) <= 120 for _ in range(50))
