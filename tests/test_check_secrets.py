"""Planted secrets through ``gatekit check`` (issue 6, "what it must show"): every planted
secret is reported with file and line, and no secret value appears in anything gatekit
wrote: the run directory, the notes, the checkpoint commits, JUnit, SARIF, gate logs,
stdout and stderr, even when a gate prints the secret-bearing files to its log.

The secret strings are generated at run time (seeded, random) from pieces, so this file
holds none of them.
"""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

from check_support import check, explain, gate, run_dir_of, write_config
from conftest import Repo

DASH = "-" * 5


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def planted(seed: int) -> tuple[dict[str, str], dict[str, str], set[tuple[str, int]], list[str]]:
    """(files, secret values by name, expected (path, line), PEM body lines)."""
    rng = random.Random(seed)
    upper_digits = string.ascii_uppercase + "234567"
    alnum = string.ascii_letters + string.digits
    values = {
        "aws_id": "AK" + "IA" + _rand(rng, upper_digits, 16),
        "aws_secret": _rand(rng, alnum + "/+", 40),
        "hex": _rand(rng, "0123456789abcdef", 48),
        "b64": base64.b64encode(rng.randbytes(33)).decode(),
        "env_pw": _rand(rng, alnum, 6) + "9x" + _rand(rng, alnum, 6),
        "yaml_pw": _rand(rng, alnum, 7) + "7Q" + _rand(rng, alnum, 7),
    }
    body = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(4)]
    kind = "RSA " + "PRI" + "VATE KEY"
    pem = "\n".join([f"{DASH}BEGIN {kind}{DASH}", *body, f"{DASH}END {kind}{DASH}"]) + "\n"
    v = values
    files = {
        "app/aws.py": (
            "import os\n\n"
            f'aws_access_key_id = "{v["aws_id"]}"\n'
            f'aws_secret_access_key = "{v["aws_secret"]}"\n'
        ),
        "app/tokens.py": f'# tokens\nSESSION_SALT = "{v["hex"]}"\nBLOB = "{v["b64"]}"\n',
        ".env": f'APP_NAME=demo\nDB_PASSWORD="{v["env_pw"]}"\n',
        "config/service.yaml": f"service:\n  name: demo\n  db:\n    password: {v['yaml_pw']}\n",
        "keys/deploy.pem": pem,
    }
    expected = {
        ("app/aws.py", 3),
        ("app/aws.py", 4),
        ("app/tokens.py", 2),
        ("app/tokens.py", 3),
        (".env", 2),
        ("config/service.yaml", 4),
        ("keys/deploy.pem", 1),
    }
    return files, values, expected, body


def _git_text(repo: Repo, *args: str) -> str:
    return repo.git(*args, check=False)


def everything_gatekit_wrote(repo: Repo, outputs: list[Path], streams: list[str]) -> dict[str, str]:
    """name -> text of each artefact: run dirs, gatekit's state (shadows excluded: they are
    checkouts of the user's own files), notes, checkpoint commits, reports, stdout/stderr."""
    texts: dict[str, str] = {}
    state = repo.path / ".git" / "gatekit"
    for p in sorted(state.rglob("*")):
        rel = p.relative_to(state)
        if rel.parts[0] == "shadows" or not p.is_file():
            continue
        texts[f".git/gatekit/{rel}"] = p.read_bytes().decode("utf-8", "replace")
    for line in _git_text(repo, "notes", "--ref=gatekit", "list").splitlines():
        note, annotated = line.split()
        texts[f"note {annotated}"] = _git_text(repo, "cat-file", "-p", note)
    texts["checkpoint messages"] = _git_text(
        repo, "log", "--format=%B", "--glob=refs/gatekit/checkpoints/*"
    )
    for p in outputs:
        texts[str(p)] = p.read_text(encoding="utf-8", errors="replace")
    for i, s in enumerate(streams):
        texts[f"stream {i}"] = s
    return texts


def test_planted_secrets_are_reported_and_never_written(repo: Repo) -> None:
    files, values, expected, pem_body = planted(seed=20261122)
    printed = sorted(files)
    cat = (
        "import sys\n"
        f"for p in {printed!r}:\n"
        "    sys.stdout.write('== ' + p + '\\n' + open(p).read())\n"
    )
    repo.write(".gitignore", "out/\n")
    write_config(repo, [gate("cat", cat)], extends="gatekit:default")
    repo.commit("config")
    for rel, text in files.items():
        repo.write(rel, text)

    proc = check(repo, "--worktree", "--json", "--junit-xml", "out/j.xml", "--sarif", "out/s.sarif")
    assert proc.returncode == 1, explain(proc)
    doc = json.loads(proc.stdout)
    by_id = {g["id"]: g for g in doc["gates"]}
    assert by_id["cat"]["outcome"] == "passed"
    assert by_id["secrets"]["outcome"] == "failed"
    found = {(f["path"], f["line"]) for f in by_id["secrets"]["findings"]}
    missing = expected - found
    assert not missing, f"planted secrets not reported: {sorted(missing)}; found {sorted(found)}"
    assert by_id["private-keys"]["outcome"] == "failed"
    assert ("keys/deploy.pem", 1) in {
        (f["path"], f["line"]) for f in by_id["private-keys"]["findings"]
    }

    # the reports name the findings too
    sarif = json.loads((repo.path / "out" / "s.sarif").read_text())
    sarif_hits = {
        (
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for run in sarif["runs"]
        for res in run["results"]
        for loc in res["locations"]
    }
    assert expected <= sarif_hits
    junit = (repo.path / "out" / "j.xml").read_text()
    assert "<failure" in junit and "secrets" in junit

    # the cat gate really printed the files (masked): its log exists and names them
    run_dir = run_dir_of(proc)
    cat_log = (run_dir / by_id["cat"]["log"]).read_text()
    assert "== app/aws.py" in cat_log and "== .env" in cat_log
    assert "APP_NAME=demo" in cat_log  # not everything is masked, only secrets

    secrets = dict(values)
    secrets.update({f"pem_body_{i}": line for i, line in enumerate(pem_body)})
    texts = everything_gatekit_wrote(
        repo,
        [repo.path / "out" / "j.xml", repo.path / "out" / "s.sarif"],
        [proc.stdout, proc.stderr],
    )
    assert any(k.startswith("note ") for k in texts) and any("/logs/" in k for k in texts)
    leaks = sorted(
        f"{name} in {where}"
        for name, value in secrets.items()
        for where, text in texts.items()
        if value in text
    )
    assert not leaks, "secret values written by gatekit:\n" + "\n".join(leaks)


def test_secrets_in_a_staged_change_and_show_log(repo: Repo) -> None:
    """Same corpus, staged, default policy: the findings; `gatekit log`/`show` leak nothing."""
    files, values, expected, pem_body = planted(seed=7)
    for rel, text in files.items():
        repo.write(rel, text)
    repo.git("add", "-A")
    proc = check(repo, "--staged", "--json")
    assert proc.returncode == 1, explain(proc)
    doc = json.loads(proc.stdout)
    secrets_gate = next(g for g in doc["gates"] if g["id"] == "secrets")
    found = {(f["path"], f["line"]) for f in secrets_gate["findings"]}
    assert expected <= found
    log = repo.gatekit("log", "--json")
    show = repo.gatekit("show", doc["checkpoint"])
    assert log.returncode == 0 and show.returncode == 0, log.stderr + show.stderr
    texts = everything_gatekit_wrote(
        repo, [], [proc.stdout, proc.stderr, log.stdout, log.stderr, show.stdout, show.stderr]
    )
    all_values = {**values, **{f"pem_body_{i}": line for i, line in enumerate(pem_body)}}
    leaks = sorted(f"{n} in {w}" for n, v in all_values.items() for w, t in texts.items() if v in t)
    assert not leaks, "\n".join(leaks)
