"""Limits and cost through ``gatekit check``: the config, the plan, the real shadow, the
record (--json, the git note, ``gatekit show``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from check_support import check, check_json, explain, gate, gate_of, run_dir_of, write_config
from conftest import Repo

from gatekit.run import cgroup

# what holds a gate's memory and process limits on this machine (tests/test_run_cgroup.py
# tests the cgroup layer itself; tests/test_run_limits.py the rlimits without one)
_LAYOUT = cgroup.layout()
HELD_BY = _LAYOUT.kind if _LAYOUT is not None else "rlimit"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

FILL = """
import os, time
for i in range(60):
    where = os.environ['TMPDIR'] if i % 2 else 'out'
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, f'f{i}'), 'wb') as f:
        f.write(b'x' * 2**20)
    time.sleep(0.03)
"""


def _shadow_files(repo: Repo) -> set[str]:
    out: set[str] = set()
    for slot in (repo.path / ".git" / "gatekit" / "shadows").iterdir():
        out.update(str(p.relative_to(slot)) for p in slot.rglob("*") if ".git" not in p.parts)
    return out


@pytest.mark.parametrize("isolation", ["overlay", "exclusive"])
def test_disk_breach_fails_the_gate_and_its_files_are_gone(repo: Repo, isolation: str) -> None:
    """In its own overlay view (the default where the kernel allows it) and in the shared
    shadow (exclusive mode), the gate's files are gone afterwards."""
    write_config(repo, [gate("fill", FILL, limits={"disk": "20M"})])
    repo.commit("config")
    env = {"GATEKIT_ISOLATION": isolation}
    proc, doc = check_json(repo, "--rev", "HEAD", env=env, expect=1)
    g = gate_of(doc, "fill")
    assert g["outcome"] == "failed"
    assert g["code"] == "LIMIT_DISK", g["reason"]
    assert "over limits.disk (20.0 MiB)" in g["reason"]
    assert g["limits_enforced"] == HELD_BY
    assert not any(f.startswith("out") for f in _shadow_files(repo)), _shadow_files(repo)
    run_dir = run_dir_of(proc)
    assert list((run_dir / "sandbox" / "fill" / "tmp").iterdir()) == []
    runbook = (run_dir / "reports" / "fill.md").read_text()
    assert "raise limits.disk or write less" in runbook


def test_cost_in_json_note_and_show(repo: Repo) -> None:
    code = "import time; x = bytearray(90 * 2**20); open('w.bin', 'wb').write(b'y' * 2**20); time.sleep(0.3)"
    write_config(repo, [gate("a", code), gate("b", "print('hi')")])
    repo.commit("config")
    _, doc = check_json(repo, "--rev", "HEAD", expect=0)
    for gid in ("a", "b"):
        cost = gate_of(doc, gid)["cost"]
        assert cost["wall"] > 0
        assert cost["cpu_user"] is not None and cost["cpu_system"] is not None
        assert gate_of(doc, gid)["attempts"][0]["cost"] == cost  # one attempt: its cost
    assert gate_of(doc, "a")["cost"]["peak_memory"] > 90 * 2**20
    assert gate_of(doc, "a")["cost"]["bytes_written"] >= 2**20
    total = doc["cost"]
    assert total["wall"] == pytest.approx(sum(gate_of(doc, g)["cost"]["wall"] for g in "ab"))
    # the git note carries the same record
    shown = repo.gatekit("show", doc["checkpoint"], "--json")
    assert shown.returncode == 0, explain(shown)
    record = json.loads(shown.stdout)["records"][-1]
    assert record["cost"] == total
    assert gate_of(record, "a")["cost"] == gate_of(doc, "a")["cost"]
    text = repo.gatekit("show", doc["checkpoint"])
    assert text.returncode == 0, explain(text)
    assert "cost       wall " in text.stdout
    assert "    cost: wall " in text.stdout and "peak memory " in text.stdout
    assert f"(limits: {HELD_BY})" in text.stdout  # gatekit's default limits
    table = check(repo, "--rev", "HEAD", "--no-cache", "--no-record")
    assert "\nspent: wall " in table.stdout + table.stderr, explain(table)


def test_builtin_gate_cost_has_cpu_but_no_memory(repo: Repo) -> None:
    write_config(repo, [{"id": "keys", "builtin": "private-keys"}])
    repo.commit("config")
    _, doc = check_json(repo, "--rev", "HEAD", expect=0)
    cost = gate_of(doc, "keys")["cost"]
    assert cost["cpu_user"] is not None and cost["peak_memory"] is None
    assert gate_of(doc, "keys")["limits_enforced"] is None


def test_plan_shows_limits_defaults_and_merges_them_per_limit(repo: Repo) -> None:
    repo.write(
        "policy.yaml",
        json.dumps({"version": 1, "defaults": {"limits": {"memory": "1G", "processes": 50}}}),
    )
    write_config(
        repo,
        [
            gate("a", "pass"),
            gate("b", "pass", limits={"cpu": "90s", "open_files": 256}),
            gate("c", "pass", limits=dict.fromkeys(["memory", "disk", "processes"], "unlimited")),
        ],
        extends="policy.yaml",
        defaults={"limits": {"memory": "2G"}},
    )
    proc = repo.gatekit("plan", "--json")
    assert proc.returncode == 0, explain(proc)
    gates = {g["id"]: g["limits"] for g in json.loads(proc.stdout)["gates"]}
    assert gates["a"] == {
        "memory": 2 * 2**30,
        "cpu": None,
        "cores": None,
        "disk": 20 * 2**30,  # gatekit's default: neither file sets one
        "processes": 50,
        "open_files": None,
    }
    assert gates["b"]["cpu"] == 90.0 and gates["b"]["open_files"] == 256
    assert set(gates["c"].values()) == {None}  # unlimited lifts the defaults' limits
    text = repo.gatekit("plan")
    assert (
        f"limits: memory 2.0 GiB, disk 20.0 GiB, processes 50 (enforced by {HELD_BY})"
        in text.stdout
    )


def test_a_bad_limit_names_file_line_and_col(repo: Repo) -> None:
    write_config(repo, [gate("a", "pass", limits={"memory": "lots"})])
    proc = check(repo, "--rev", "HEAD")
    assert proc.returncode == 2, explain(proc)
    assert "Traceback" not in proc.stderr
    line = next(x for x in proc.stderr.splitlines() if "limits.memory" in x)
    assert line.startswith("validation.yaml:")
    assert "gates[0].limits.memory: cannot read 'lots' as a size" in line


def test_default_policy_declares_protective_limits() -> None:
    from gatekit.config.sizes import parse_size

    root = Path(__file__).resolve().parents[1]
    import yaml

    doc = yaml.safe_load((root / "policies" / "default.yaml").read_text())
    lim = doc["defaults"]["limits"]
    assert parse_size(lim["memory"]) >= 2**30
    assert lim["processes"] >= 256
