import nox

nox.options.default_venv_backend = "uv|virtualenv"


@nox.session
def tests(session):
    session.install(".", "-r", "requirements-test.txt")
    session.run("pytest", "-q")
