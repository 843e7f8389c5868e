"""gatekit's own sessions: tests, lint, typecheck, bench (and schemas)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "uv|virtualenv"


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite, slow tests included (as in CI)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-n", "4", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "gatekit", "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "gatekit", "tests", "bench", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("mypy", "--strict", "-p", "gatekit")


@nox.session
def schemas(session: nox.Session) -> None:
    """Regenerate schemas/*.json from the models."""
    session.install("-e", ".")
    session.run("python", "-m", "gatekit.schemagen")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against git and pre-commit, in the same run; prints medians and ratios."""
    session.install("-e", ".[test]")
    quick = ["--quick"] if "quick" in session.posargs else []
    scripts = ("startup", "shadow", "overhead", "notes", "secrets", "isolation", "github")
    more = ("envs", "localgate", "limits", "runstatus", "report", "scale", "coldci", "precommit")
    for script in (*scripts, *more):
        extra = ["--daemon"] if script in ("overhead", "precommit") else []
        session.run("python", f"bench/{script}.py", *quick, *extra)
