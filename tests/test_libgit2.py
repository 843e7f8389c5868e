"""gatekit.git.libgit2: pygit2 imported without the CA bundle parsed, environment intact."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

PROBE = """
import json, os, ssl, sys
before = dict(os.environ)
from gatekit.git import libgit2
libgit2.load()
import pygit2
print(json.dumps({
    "file": pygit2.settings.ssl_cert_file,
    "dir": pygit2.settings.ssl_cert_dir,
    "environ_kept": dict(os.environ) == before,
    # gatekit's own HTTPS (the GitHub API) still trusts the system's CAs
    "python_cas": ssl.create_default_context().cert_store_stats()["x509_ca"],
}))
"""


def _probe(env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    doc = json.loads(out.stdout)
    assert isinstance(doc, dict)
    return doc


SYSTEM = ssl.get_default_verify_paths()


@pytest.mark.skipif(
    SYSTEM.cafile is None or SYSTEM.capath is None, reason="no CA file and dir here"
)
def test_libgit2_gets_the_certificate_directory_only_and_the_environment_is_kept() -> None:
    doc = _probe(dict(os.environ))
    assert doc == {
        "file": None,
        "dir": SYSTEM.capath,
        "environ_kept": True,
        "python_cas": doc["python_cas"],
    }
    assert isinstance(doc["python_cas"], int) and doc["python_cas"] > 0


@pytest.mark.skipif(SYSTEM.cafile is None, reason="no CA file here")
def test_without_a_certificate_directory_pygit2_is_imported_as_usual() -> None:
    env = {**os.environ, SYSTEM.openssl_capath_env: "/nonexistent"}
    doc = _probe(env)
    assert doc["file"] == SYSTEM.cafile and doc["dir"] is None
    assert doc["environ_kept"] is True
