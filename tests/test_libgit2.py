"""gatekit.git.libgit2: pygit2 imported without the CA bundle parsed and without Python's
ssl module, environment intact."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

PROBE = """
import json, os, sys
before = dict(os.environ)
from gatekit.git import libgit2
{setup}
libgit2.load()
ssl_by_load = "ssl" in sys.modules
import pygit2
import ssl
print(json.dumps({{
    "file": pygit2.settings.ssl_cert_file,
    "dir": pygit2.settings.ssl_cert_dir,
    "environ_kept": dict(os.environ) == before,
    "ssl_by_load": ssl_by_load,
    # gatekit's own HTTPS (the GitHub API) still trusts the system's CAs: the real ssl
    "python_cas": ssl.create_default_context().cert_store_stats()["x509_ca"],
}}))
"""


def _probe(env: dict[str, str], setup: str = "") -> dict[str, object]:
    code = PROBE.format(setup=setup)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
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
        "ssl_by_load": False,
        "python_cas": doc["python_cas"],
    }
    assert isinstance(doc["python_cas"], int) and doc["python_cas"] > 0


def test_the_stand_in_reports_what_ssl_reports() -> None:
    from gatekit.git import libgit2

    assert tuple(libgit2.verify_paths()) == tuple(ssl.get_default_verify_paths())
    assert libgit2.DefaultVerifyPaths._fields == ssl.DefaultVerifyPaths._fields


@pytest.mark.skipif(
    SYSTEM.cafile is None or SYSTEM.capath is None, reason="no CA file and dir here"
)
def test_a_pygit2_wanting_more_of_ssl_is_imported_with_the_real_one() -> None:
    # a stand-in without the names pygit2 takes: its import fails, and is done again
    setup = "libgit2.stand_in = lambda paths: __import__('types').ModuleType('ssl')"
    doc = _probe(dict(os.environ), setup)
    assert doc["file"] is None and doc["dir"] == SYSTEM.capath
    assert doc["environ_kept"] is True and doc["ssl_by_load"] is True


@pytest.mark.skipif(SYSTEM.cafile is None, reason="no CA file here")
def test_without_a_certificate_directory_pygit2_is_imported_as_usual() -> None:
    env = {**os.environ, SYSTEM.openssl_capath_env: "/nonexistent"}
    doc = _probe(env)
    assert doc["file"] == SYSTEM.cafile and doc["dir"] is None
    assert doc["environ_kept"] is True and doc["ssl_by_load"] is False
