"""Helpers for built-in and report tests: a candidate context from a real repository.

Secret-looking strings are assembled at run time from pieces so that these
sources do not trip secret scanners themselves.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path

import pygit2
from conftest import Repo

from gatekit.builtins import BuiltinContext
from gatekit.config.models import OptionValue


def staged_ctx(
    r: Repo, options: Mapping[str, OptionValue] | None = None, paths: tuple[str, ...] | None = None
) -> BuiltinContext:
    """Stage everything; the candidate is the index, the worktree stands in for the shadow."""
    r.git("add", "-A")
    repo = pygit2.Repository(str(r.path))
    tree = str(repo.index.write_tree())
    base = None if repo.head_is_unborn else str(repo.head.target)
    if paths is None:
        if base is None:
            out = r.git("ls-files")
        else:
            out = r.git("diff", "--cached", "--name-only", "--no-renames", "HEAD")
        paths = tuple(sorted(p for p in out.splitlines() if p))
    return BuiltinContext(
        root=r.path, paths=paths, options=dict(options or {}), repo=repo, base=base, tree=tree
    )


def hexish(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def b64ish(seed: str, n: int) -> str:
    raw = base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()
    return raw.replace("+", "q").replace("/", "Z")[:n]


def pem_block(kind: str = "RSA") -> str:
    dash = "-" * 5
    head = f"{dash}BEGIN {kind} " + "PRIVATE" + f" KEY{dash}"
    tail = f"{dash}END {kind} " + "PRIVATE" + f" KEY{dash}"
    return "\n".join([head, b64ish("k1", 64), b64ish("k2", 64), tail]) + "\n"


def corpus() -> tuple[dict[str, str], dict[str, str], set[tuple[str, int, str]]]:
    """(files, secret values by name, expected (path, line, rule)) of the planted secrets."""
    values = {
        "aws_id": "AKIA" + "ZX3Q7HB2" + "K9PLM4TD",
        "aws_secret": b64ish("aws", 40),
        "hex_token": hexish("hex", 40),
        "github": "ghp" + "_" + b64ish("gh", 36),
        "pw_yaml": "Zq8" + "vL2mP9xR",
        "pw_ini": "Xk4tR7" + "qLw2zN",
        "pw_json": "Hn5" + "pQ8wE3rT",
        "pw_env": "Mb7" + "yU4kD1sW",
    }
    v = values
    files = {
        "app/settings.py": f'DEBUG = True\nAWS_ACCESS_KEY_ID = "{v["aws_id"]}"\nAWS_SECRET_ACCESS_KEY = "{v["aws_secret"]}"\n',
        "app/tokens.py": f'import os\n\nAPI_TOKEN = "{v["hex_token"]}"\nGITHUB = "{v["github"]}"\n',
        "deploy/config.yaml": f'database:\n  host: db.internal\n  password: "{v["pw_yaml"]}"\n',
        "deploy/db.ini": f"[db]\nuser = app\npassword = {v['pw_ini']}\n",
        "deploy/creds.json": '{\n  "user": "svc",\n  "password": "' + v["pw_json"] + '"\n}\n',
        "deploy/app.env": f'export DB_PASSWORD="{v["pw_env"]}"\n',
        "keys/id_rsa": pem_block(),
    }
    expected = {
        ("app/settings.py", 2, "secrets/aws-access-key"),
        ("app/settings.py", 3, "secrets/secret-keyword"),
        ("app/tokens.py", 3, "secrets/hex-high-entropy-string"),
        ("app/tokens.py", 4, "secrets/github-token"),
        ("deploy/config.yaml", 3, "secrets/secret-keyword"),
        ("deploy/db.ini", 3, "secrets/secret-keyword"),
        ("deploy/creds.json", 3, "secrets/secret-keyword"),
        ("deploy/app.env", 1, "secrets/secret-keyword"),
        ("keys/id_rsa", 1, "secrets/private-key"),
    }
    return files, values, expected


def plant(r: Repo, files: Mapping[str, str]) -> None:
    for path, content in files.items():
        r.write(path, content)


def all_text_under(path: Path) -> str:
    chunks = []
    for p in sorted(path.rglob("*")):
        if p.is_file():
            chunks.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)
