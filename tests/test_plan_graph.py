"""gatekit plan --format dot|mermaid: the needs graph with each gate's decision and reason."""

from __future__ import annotations

import re
import shutil
import subprocess

from check_support import gate, write_config
from conftest import Repo


def _config(repo: Repo) -> None:
    write_config(
        repo,
        [
            gate("lint", "pass"),
            gate("unit", "pass", needs=["lint"]),
            {
                "id": "e2e",
                "type": "conditional",
                "when": {"changed": ["web/**"]},
                "needs": ["unit"],
                **gate("e2e", "pass"),
            },
            {"id": "review", "type": "manual", "instructions": 'say "yes"'},
            gate("docs", "pass", required=False),
        ],
    )
    repo.commit("config")


def test_dot_is_valid_graphviz_with_decisions_and_reasons(repo: Repo) -> None:
    _config(repo)
    proc = repo.gatekit("plan", "--format", "dot", "--changed", "src/a.py")
    assert proc.returncode == 0, proc.stderr
    dot = proc.stdout
    assert re.search(r'"lint" -> "unit";', dot) and re.search(r'"unit" -> "e2e";', dot)
    assert '"e2e [skip]\\n' in dot and "no changed path matches" in dot
    assert '"review [manual]\\n' in dot and "shape=hexagon" in dot
    assert '"docs [run, optional]\\n' in dot
    exe = shutil.which("dot")
    assert exe, "Graphviz 'dot' is missing: apt-get install graphviz (.ci/run installs it)"
    svg = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, check=False)
    assert svg.returncode == 0, svg.stderr
    for text in ("lint [run]", "e2e [skip]", "review [manual]"):
        assert text in svg.stdout
    # same config and context: byte-identical graph
    assert repo.gatekit("plan", "--format", "dot", "--changed", "src/a.py").stdout == dot


def test_mermaid_flowchart(repo: Repo) -> None:
    _config(repo)
    proc = repo.gatekit("plan", "--format", "mermaid", "--changed", "web/index.html")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "flowchart LR"
    nodes = dict(re.findall(r'^  (g\d+)[({]+"([^"]*)"', proc.stdout, re.MULTILINE))
    by_id = {label.split(" ", 1)[0]: node for node, label in nodes.items()}
    assert set(by_id) == {"lint", "unit", "e2e", "review", "docs"}
    assert nodes[by_id["e2e"]].startswith("e2e [run]<br/>")  # web/** changed: it runs
    assert f"  {by_id['lint']} --> {by_id['unit']}" in lines
    assert f"  {by_id['unit']} --> {by_id['e2e']}" in lines
    assert nodes[by_id["review"]].startswith("review [manual]")
    assert f"  class {by_id['review']} manual" in lines
    assert "say #quot;yes#quot;" in nodes[by_id["review"]]  # a quote cannot end the label


def test_format_json_is_the_canonical_plan(repo: Repo) -> None:
    _config(repo)
    a = repo.gatekit("plan", "--format", "json", "--changed", "x")
    b = repo.gatekit("plan", "--json", "--changed", "x")
    assert a.returncode == 0 and a.stdout == b.stdout
