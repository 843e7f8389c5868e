"""The secrets built-in: planted secrets found, only added lines, baseline, exclusions, no leaks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from builtin_support import all_text_under, b64ish, corpus, hexish, plant, staged_ctx
from conftest import Repo

from gatekit.builtins import BuiltinContext, known_builtins, run_builtin
from gatekit.builtins.secrets import secret_values_for_masking
from gatekit.builtins.secrets_baseline import write_baseline
from gatekit.errors import UnsafePathError, UsageError
from gatekit.reports.junit import write_junit_xml
from gatekit.reports.masking import mask_secrets
from gatekit.reports.sarif import write_sarif
from gatekit.results import GateResult, Outcome


def found(outcome: object) -> set[tuple[str, int, str]]:
    return {(f.path, f.line or 0, f.rule) for f in outcome.findings}  # type: ignore[attr-defined]


def test_every_planted_secret_is_found_and_no_value_leaks(repo: Repo, tmp_path: Path) -> None:
    files, values, expected = corpus()
    plant(repo, files)
    ctx = staged_ctx(repo)
    outcome = run_builtin("secrets", ctx)
    assert not outcome.passed
    missing = expected - found(outcome)
    assert not missing, f"planted secrets not found: {sorted(missing)}"
    # Everything gatekit could write about the gate: no value anywhere.
    gate = GateResult(
        id="secrets", outcome=Outcome.FAILED, reason="secrets found", findings=outcome.findings
    )
    out = tmp_path / "out"
    write_sarif(out / "report.sarif", [gate])
    write_junit_xml(out / "junit.xml", [gate], out)
    (out / "record.json").write_text(gate.model_dump_json())
    (out / "gate.log").write_text(outcome.log)
    (out / "repr.txt").write_text(repr(outcome) + str(outcome))
    written = all_text_under(out)
    for name, value in values.items():
        assert value not in written, f"{name} leaked"
    assert "PRIVATE KEY-----\n" not in written
    # The values are handed out for masking only, and masking removes them.
    masked = mask_secrets("log: " + " ".join(values.values()), outcome.secret_values)
    for name in ("aws_id", "aws_secret", "hex_token", "github", "pw_yaml", "pw_ini", "pw_json"):
        assert values[name] not in masked, name


def test_only_lines_added_against_the_base_are_reported(repo: Repo) -> None:
    old = "Pq7" + "wK2mX9zL"
    repo.write("conf/app.ini", f"[a]\npassword = {old}\nname = x\n")
    repo.commit("existing secret")
    new = "Vb3" + "nH8rT5yQ"
    repo.write("conf/app.ini", f"[a]\npassword = {old}\nname = y\n\n[b]\npassword = {new}\n")
    outcome = run_builtin("secrets", staged_ctx(repo))
    assert found(outcome) == {("conf/app.ini", 6, "secrets/secret-keyword")}
    # Values of the whole changed file still come back for masking.
    assert {old, new} <= set(outcome.secret_values)


def test_unchanged_candidate_passes(repo: Repo) -> None:
    repo.write("conf/app.ini", "[a]\npassword = " + "Pq7" + "wK2mX9zL\n")
    repo.commit("existing secret")
    outcome = run_builtin("secrets", staged_ctx(repo))
    assert outcome.passed and not outcome.findings


def test_baseline_known_secrets_are_not_reported_new_ones_are(repo: Repo) -> None:
    files, _values, _expected = corpus()
    plant(repo, {"app/settings.py": files["app/settings.py"]})
    repo.commit("secret")
    import pygit2

    report = write_baseline(pygit2.Repository(str(repo.path)), repo.path)
    assert report.secrets >= 2 and report.files == 1
    text = (repo.path / ".secrets.baseline").read_text()
    assert str(repo.path) not in text
    # Move the file's lines around (known secrets now on added lines) and add a new one.
    new = "ghp" + "_" + b64ish("new", 36)
    repo.write("app/settings.py", "# moved\n" + files["app/settings.py"] + f'NEW = "{new}"\n')
    outcome = run_builtin("secrets", staged_ctx(repo))
    rules = found(outcome)
    assert ("app/settings.py", 5, "secrets/github-token") in rules
    assert all(line == 5 for _p, line, _r in rules), rules
    assert "baseline .secrets.baseline" in outcome.log


def test_explicit_baseline_must_exist(repo: Repo) -> None:
    repo.write("a.txt", "x\n")
    with pytest.raises(UsageError, match="baseline"):
        run_builtin("secrets", staged_ctx(repo, {"baseline": "missing.baseline"}))


def test_fixtures_are_excluded_only_when_listed(repo: Repo) -> None:
    secret = "Lm4" + "tY7uI2oP"
    for path in ("tests/fixtures/creds.ini", "tests/fixtures/more.ini", "src/real.ini"):
        repo.write(path, f"[x]\npassword = {secret}\n")
    # Default: nothing excluded, directories included.
    assert {p for p, _l, _r in found(run_builtin("secrets", staged_ctx(repo)))} == {
        "tests/fixtures/creds.ini",
        "tests/fixtures/more.ini",
        "src/real.ini",
    }
    outcome = run_builtin(
        "secrets", staged_ctx(repo, {"exclude": ["tests/fixtures/creds.ini", "tests/**/more.*"]})
    )
    assert {p for p, _l, _r in found(outcome)} == {"src/real.ini"}
    assert "tests/fixtures/creds.ini: excluded by option 'exclude'" in outcome.log


def test_symlink_out_of_the_root_is_not_followed(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.ini"
    outside.write_text("[x]\npassword = " + "Qw9" + "eR4tY7uI\n")
    os.symlink(outside, repo.path / "link.ini")
    outcome = run_builtin("secrets", staged_ctx(repo))
    assert outcome.passed
    assert "link.ini: symlink pointing outside the repository, not followed" in outcome.log


def test_paths_escaping_the_root_are_refused(repo: Repo) -> None:
    ctx = staged_ctx(repo, paths=("../etc/passwd",))
    with pytest.raises(UnsafePathError):
        run_builtin("secrets", ctx)


def test_values_for_masking(repo: Repo) -> None:
    token = hexish("mask", 40)
    repo.write("a.py", f'TOKEN = "{token}"\n')
    values = secret_values_for_masking(staged_ctx(repo))
    assert token in values
    assert mask_secrets(f"curl -H 'x: {token}' ok", values) == "curl -H 'x: ***' ok"


def test_registry_and_errors(repo: Repo) -> None:
    assert {
        "secrets",
        "conflict-markers",
        "large-files",
        "parse-yaml",
        "parse-json",
        "parse-toml",
        "private-keys",
        "case-conflicts",
    } == set(known_builtins())
    ctx = staged_ctx(repo)
    with pytest.raises(UsageError) as exc:
        run_builtin("secret", ctx)
    assert "did you mean 'secrets'" in exc.value.render()
    with pytest.raises(UsageError, match="no option 'max_kb'"):
        run_builtin("secrets", BuiltinContext(**{**ctx.__dict__, "options": {"max_kb": 1}}))


def test_baseline_command(repo: Repo) -> None:
    files, values, _expected = corpus()
    plant(repo, files)
    repo.commit("secrets")
    first = repo.gatekit("secrets", "baseline")
    assert first.returncode == 0, first.stderr
    assert "wrote .secrets.baseline" in first.stdout
    again = repo.gatekit("secrets", "baseline")
    assert again.returncode == 2 and "--update" in again.stderr
    update = repo.gatekit("secrets", "baseline", "--update")
    assert update.returncode == 0, update.stderr
    data = json.loads((repo.path / ".secrets.baseline").read_text())
    assert set(data["results"]) >= {"app/settings.py", "keys/id_rsa"}
    everything = (
        first.stdout + first.stderr + again.stdout + again.stderr + update.stdout + update.stderr
    )
    everything += (repo.path / ".secrets.baseline").read_text()
    for name, value in values.items():
        assert value not in everything, name
