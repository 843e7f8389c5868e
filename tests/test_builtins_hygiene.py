"""Hygiene built-ins: each with a positive and a negative case and exact file:line findings."""

from __future__ import annotations

import os
from pathlib import Path

from builtin_support import pem_block, staged_ctx
from conftest import Repo

from gatekit.builtins import BuiltinOutcome, run_builtin


def where(outcome: BuiltinOutcome) -> list[tuple[str, int | None]]:
    return [(f.path, f.line) for f in outcome.findings]


def test_conflict_markers(repo: Repo) -> None:
    repo.write(
        "src/a.py",
        "x = 1\n" + "<" * 7 + " HEAD\ny = 2\n" + "=" * 7 + "\ny = 3\n" + ">" * 7 + " topic\n",
    )
    repo.write("docs/title.rst", "Title\n" + "=" * 7 + "\n\ntext\n")  # an underline, not a conflict
    repo.write("bin/blob.dat", b"\0" + b"<" * 7 + b" HEAD\n")
    outcome = run_builtin("conflict-markers", staged_ctx(repo))
    assert not outcome.passed
    assert where(outcome) == [("src/a.py", 2), ("src/a.py", 4), ("src/a.py", 6)]
    assert "src/a.py:2: conflict-markers:" in outcome.log


def test_conflict_markers_clean(repo: Repo) -> None:
    repo.write("src/a.py", "x = '<<<<<<< not at line start'\n")
    assert run_builtin("conflict-markers", staged_ctx(repo)).passed


def test_large_files(repo: Repo) -> None:
    repo.write("big.bin", b"x" * 3000)
    repo.write("small.txt", "ok\n")
    outcome = run_builtin("large-files", staged_ctx(repo, {"max_kb": 2}))
    assert where(outcome) == [("big.bin", None)]
    assert "over the limit of 2 KB" in outcome.findings[0].message
    assert run_builtin("large-files", staged_ctx(repo)).passed  # default 500 KB


def test_parse_yaml(repo: Repo) -> None:
    repo.write("ok.yaml", "a: 1\n---\nb: !Ref thing\n")
    repo.write("bad.yml", "a: 1\nb: [1, 2\nc: 3\n")
    repo.write("bad.txt", "a: [\n")  # not YAML by name: not examined
    outcome = run_builtin("parse-yaml", staged_ctx(repo))
    assert len(outcome.findings) == 1
    finding = outcome.findings[0]
    assert (finding.path, finding.line) == ("bad.yml", 3)
    assert finding.message.startswith("invalid YAML:")


def test_parse_yaml_clean(repo: Repo) -> None:
    repo.write("conf/x.yaml", "a: [1, 2]\n")
    assert run_builtin("parse-yaml", staged_ctx(repo)).passed


def test_parse_json(repo: Repo) -> None:
    repo.write("ok.json", '{"a": [1, 2]}\n')
    repo.write("data/bad.json", '{\n  "a": 1,\n  "b": ,\n}\n')
    outcome = run_builtin("parse-json", staged_ctx(repo))
    assert where(outcome) == [("data/bad.json", 3)]
    repo.write("data/bad.json", "{}\n")
    assert run_builtin("parse-json", staged_ctx(repo)).passed


def test_parse_toml(repo: Repo) -> None:
    repo.write("ok.toml", "[a]\nb = 1\n")
    repo.write("bad.toml", "[a]\nb = 1\nc = = 2\n")
    outcome = run_builtin("parse-toml", staged_ctx(repo))
    assert where(outcome) == [("bad.toml", 3)]
    repo.write("bad.toml", "[a]\nc = 2\n")
    assert run_builtin("parse-toml", staged_ctx(repo)).passed


def test_private_keys(repo: Repo) -> None:
    repo.write("deploy/key.pem", "# deploy key\n" + pem_block("EC"))
    repo.write("deploy/ssh", pem_block("OPENSSH"))
    repo.write("docs/readme.md", "Keep your private key safe.\n")
    outcome = run_builtin("private-keys", staged_ctx(repo))
    assert where(outcome) == [("deploy/key.pem", 2), ("deploy/ssh", 1)]
    assert outcome.findings[0].message == "EC private key block"
    assert all("BEGIN" not in f.message for f in outcome.findings)


def test_private_keys_clean(repo: Repo) -> None:
    repo.write("a.txt", "public key only: ssh-ed25519 AAAA\n")
    assert run_builtin("private-keys", staged_ctx(repo)).passed


def test_case_conflicts(repo: Repo) -> None:
    repo.write("Docs/guide.md", "x\n")
    repo.commit("docs")
    repo.write("docs/other.md", "y\n")  # a directory differing by case
    repo.write("readme.md", "z\n")  # README.md exists in the fixture
    outcome = run_builtin("case-conflicts", staged_ctx(repo))
    assert where(outcome) == [("docs", None), ("readme.md", None)]
    assert "differs only by case from README.md" in outcome.findings[1].message


def test_case_conflicts_untouched_is_not_reported(repo: Repo) -> None:
    repo.write("readme.md", "z\n")
    repo.commit("clash already there")
    repo.write("other.txt", "unrelated\n")
    assert run_builtin("case-conflicts", staged_ctx(repo)).passed


def test_only_the_given_paths_are_examined(repo: Repo) -> None:
    repo.write("a.json", "{bad\n")
    repo.write("b.json", "{}\n")
    ctx = staged_ctx(repo, paths=("b.json",))
    outcome = run_builtin("parse-json", ctx)
    assert outcome.passed and "checked 1 file(s)" in outcome.log


def test_exclude_option_and_deleted_files(repo: Repo) -> None:
    repo.write("fixtures/bad.json", "{bad\n")
    repo.write("gone.json", "{}\n")
    repo.commit("x")
    (repo.path / "gone.json").unlink()
    repo.write("fixtures/bad.json", "{still bad\n")
    outcome = run_builtin("parse-json", staged_ctx(repo, {"exclude": ["fixtures/*.json"]}))
    assert outcome.passed
    assert "fixtures/bad.json: excluded" in outcome.log


def test_symlinks_out_of_the_root_are_not_followed(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{bad\n")
    os.symlink(outside, repo.path / "link.json")
    outcome = run_builtin("parse-json", staged_ctx(repo))
    assert outcome.passed
    assert "link.json: symlink pointing outside the repository, not followed" in outcome.log
