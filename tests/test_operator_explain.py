"""gatekit explain: per failed gate the phase, exit code, class, command, last lines and
next action; failure signatures recorded and counted along the chain."""

from __future__ import annotations

import pytest
from check_support import check, check_json, gate, gate_of, write_config
from conftest import Repo
from operator_support import explain_json, gate_in

from gatekit.operator.actions import next_action
from gatekit.operator.signature import normalise, signature

FLAKY = (
    "import os, sys, time\n"
    "bad = open('flag').read().strip() == 'bad'\n"
    "print(f'checked at {time.time()} pid {os.getpid()} obj 0x{id(bad):x}')\n"
    "if bad:\n"
    "    print('AssertionError: flag is bad')\n"
    "    sys.exit(3)\n"
)


@pytest.mark.slow
def test_explain_names_the_failure_and_counts_its_signature(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("flag", FLAKY, cache=False),
            {"id": "review", "type": "manual", "instructions": "A maintainer reads it."},
        ],
    )
    repo.write("flag", "bad\n")
    repo.commit("bad")
    signatures = []
    for _ in range(3):
        _, doc = check_json(repo, expect=1)
        signatures.append(gate_of(doc, "flag")["signature"])
    assert signatures[0] and len(set(signatures)) == 1  # times, pids, addresses normalised

    ex = explain_json(repo)
    flag = gate_in(ex, "flag")
    assert flag["outcome"] == "failed" and flag["exit_code"] == 3
    assert flag["failure_class"] == "deterministic" and flag["phase"] == "running"
    assert flag["command"] and "-c" in flag["command"]
    assert "AssertionError: flag is bad" in flag["last_lines"]
    assert flag["action"] == "fix the code" and flag["next_command"] == "gatekit check --gate flag"
    assert flag["seen_before"]["count"] == 2 and flag["seen_before"]["since"]
    assert flag["seen_before"]["last_passed_checkpoint"] is None
    review = gate_in(ex, "review")
    assert (
        review["action"] == "approve: manual"
        and review["next_command"] == "gatekit approve review --worktree"
    )
    assert ex["pending_manual"] == [
        {"gate": "review", "approve": "gatekit approve review --worktree"}
    ]

    repo.write("flag", "good\n")
    repo.commit("good")
    assert check(repo).returncode == 3  # passes; the manual gate waits
    passed_at = repo.git("rev-parse", "refs/gatekit/checkpoints/main").strip()
    repo.write("flag", "bad\n")
    repo.commit("bad again")
    check(repo)
    flag = gate_in(explain_json(repo, "flag"), "flag")
    assert flag["seen_before"]["count"] == 3
    assert flag["seen_before"]["last_passed_checkpoint"] == passed_at
    text = repo.gatekit("explain")
    assert "seen 3 time(s) before since" in text.stdout
    assert f"last passed at checkpoint {passed_at[:12]}" in text.stdout
    assert "gatekit approve review --worktree" in text.stdout
    status = repo.gatekit("status", "--all")
    assert "pending manual gate review: gatekit approve review --worktree" in status.stdout


def test_explain_of_an_unknown_gate_or_run_is_a_clear_error(repo: Repo) -> None:
    write_config(repo, [gate("ok", "print('ok')")])
    repo.commit("config")
    nothing = repo.gatekit("explain")
    assert nothing.returncode == 2 and "no gatekit run" in nothing.stderr
    assert check(repo).returncode == 0
    proc = repo.gatekit("explain", "okk")
    assert proc.returncode == 2 and "did you mean 'ok'" in proc.stderr
    ex = explain_json(repo)
    assert ex["gates"] == [] and ex["verdict"] == "passed"


def test_signatures_ignore_noise_but_not_the_error() -> None:
    a = ["=== gatekit: attempt 1 of gate g ===", "took 12.5s at 0xdeadbeef00", "E: x is 3"]
    b = ["=== gatekit: attempt 2 of gate g ===", "took 99s at 0x1234567890", "E: x is 4"]
    assert signature("g", "pytest -q", a) == signature("g", "pytest -q", b)
    assert signature("g", "pytest -q", a) != signature("g", "pytest -q", ["E: y"])
    assert signature("g", "pytest", a, ["t::a"]) != signature("g", "pytest", a, ["t::b"])
    assert normalise("/tmp/pytest-3/x.py:12") == "<tmp>"


@pytest.mark.parametrize(
    ("outcome", "kw", "action", "setting"),
    [
        ("failed", {"failure_class": "deterministic"}, "fix the code", None),
        ("failed", {"failure_class": "transient"}, "rerun: transient", "retries.transient"),
        ("timed_out", {"failure_class": "timeout"}, "raise the timeout", "timeout"),
        (
            "stopped",
            {"code": "WATCHDOG_STUCK", "setting": "watchdog"},
            "raise the timeout",
            "watchdog",
        ),
        ("stopped", {"code": "STOPPED_BY_OPERATOR"}, "rerun: stopped", None),
        (
            "failed",
            {"code": "LIMIT_MEMORY", "failure_class": "deterministic"},
            "raise the limit",
            "limits.memory",
        ),
        ("failed", {"code": "LIMIT_PROCESSES"}, "raise the limit", "limits.processes"),
        ("crashed", {"code": "OWNER_DIED"}, "rerun: crashed", None),
        ("manual_pending", {}, "approve: manual", None),
        ("error", {"failure_class": "environment"}, "edit validation.yaml", None),
        (
            "error",
            {"reason": "nox gate but the candidate has no noxfile.py"},
            "edit validation.yaml",
            None,
        ),
        ("failed", {"fix_tree": True}, "apply fixes", None),
        (
            "failed",
            {"reason": "changed tracked files of the candidate: a.py (declare `fix: true` ...)"},
            "declare fix: true",
            "fix",
        ),
    ],
)
def test_next_actions(
    outcome: str, kw: dict[str, object], action: str, setting: str | None
) -> None:
    got = next_action("g", outcome, **kw)  # type: ignore[arg-type]
    assert got.action == action and got.setting == setting


@pytest.mark.parametrize("argv", [["status"], ["status", "--all", "--json"], ["unlock"]])
def test_operator_commands_import_nothing_heavy(repo: Repo, argv: list[str]) -> None:
    """status and unlock answer while a check runs: no pygit2, pydantic, yaml, ..."""
    import subprocess
    import sys

    heavy = ("pygit2", "pydantic", "nox", "yaml", "jsonschema", "detect_secrets", "junitparser")
    code = (
        "import sys\n"
        "from gatekit.cli import main\n"
        f"rc = main({argv!r})\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[] 0"
