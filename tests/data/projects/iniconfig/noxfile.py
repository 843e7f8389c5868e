import nox

nox.options.default_venv_backend = "uv|virtualenv"


@nox.session
def tests(session):
    session.install(".", "pytest")
    session.run("pytest", "-q", "testing")
