"""Manual gates: exit 3 until approved; an approval is bound to the candidate tree."""

from __future__ import annotations

import json

from conftest import Repo

CONFIG = """\
version: 1
gates:
  - id: ok
    session: {run: ["python -c pass"]}
  - id: review
    type: manual
    instructions: "A maintainer reads the diff."
"""


def _outcomes(repo: Repo, *args: str) -> tuple[int, dict[str, str]]:
    out = repo.gatekit("check", "--staged", "--json", "--plain", *args)
    doc = json.loads(out.stdout)
    return out.returncode, {g["id"]: g["outcome"] for g in doc["gates"]}


def test_manual_gate_needs_an_approval_for_this_tree(repo: Repo) -> None:
    repo.write("validation.yaml", CONFIG)
    repo.write("a.txt", "one\n")
    repo.git("add", "-A")
    code, outcomes = _outcomes(repo)
    assert code == 3
    assert outcomes == {"ok": "passed", "review": "manual_pending"}

    approved = repo.gatekit("approve", "review", "-m", "looked fine")
    assert approved.returncode == 0, approved.stderr
    assert "approved review" in approved.stdout
    code, outcomes = _outcomes(repo)
    assert code == 0
    assert outcomes["review"] == "approved"

    repo.write("a.txt", "two\n")  # a new tree needs a new approval
    repo.git("add", "-A")
    code, outcomes = _outcomes(repo)
    assert code == 3
    assert outcomes["review"] == "manual_pending"


def test_approve_refuses_a_gate_that_is_not_manual(repo: Repo) -> None:
    repo.write("validation.yaml", CONFIG)
    out = repo.gatekit("approve", "reveiw")
    assert out.returncode == 2
    assert "did you mean 'review'" in out.stderr
    out = repo.gatekit("approve", "ok")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
