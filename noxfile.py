"""nox sessions. They run in the current environment (TensorFlow is large: one install is enough)."""

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    session.run("bash", "scripts/setup.sh", external=True)
    session.run(".venv/bin/python", "-m", "pytest", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.run("ruff", "check", "modelport", "fixtures", "tests", "benchmarks", external=True)


@nox.session
def demo(session: nox.Session) -> None:
    session.run("bash", "scripts/setup.sh", external=True)
    session.run(".venv/bin/python", "-m", "fixtures.demo", *session.posargs, external=True)
