"""floe's developer sessions: tests per package, config_only, lint, demo, bench.

Every session installs from the committed ``uv.lock`` (``uv sync --frozen``) into its own venv,
so what is tested here is what a user gets.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PACKAGES = ["floe-config", "floe-loaders", "floe-dbt-observe", "floe-definitions"]
TEST_TARGETS = [*PACKAGES, "demo"]


def _sync(session: nox.Session, *args: str) -> None:
    """Install from uv.lock into this session's venv, with bytecode compiled at install.

    ``--compile-bytecode``: where ``PYTHONDONTWRITEBYTECODE`` is set (CI images, these machines) no process
    writes ``__pycache__``, so without it every Python process (each run worker, step process, dbt) compiled
    dagster, dagster-dbt and dbt again (importing them took about 2.5x as long; bench/README.md, "Where a run's
    time goes").
    """
    session.run_install(
        "uv",
        "sync",
        "--frozen",
        "--no-default-groups",
        "--compile-bytecode",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        silent=True,
    )


@nox.session(python="3.11")
@nox.parametrize("package", TEST_TARGETS, ids=TEST_TARGETS)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's test suite in a venv holding only that package and its declared deps."""
    if package == "demo":
        _sync(session, "--package", "floe-demo", "--group", "test")
        test_dir = ROOT / "demo" / "tests"
    else:
        _sync(session, "--package", package, "--group", "test")
        test_dir = ROOT / "packages" / package / "tests"
    if not any(test_dir.rglob("test_*.py")):
        session.skip(f"{package}: no tests yet")
    session.run("pytest", str(test_dir), *session.posargs)


@nox.session(python="3.11")
def config_only(session: nox.Session) -> None:
    """Prove floe-config installs, tests and validates without Dagster, dbt, OTel or OpenLineage."""
    _sync(session, "--package", "floe-config", "--group", "test")
    session.run("pytest", str(ROOT / "packages" / "floe-config" / "tests"), *session.posargs)
    session.run("python", str(ROOT / "packages" / "floe-config" / "tests" / "check_import_boundary.py"))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Run ruff (check + format --check) and mypy --strict on every package's src."""
    _sync(session, "--all-packages", "--group", "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", *[str(p) for p in sorted((ROOT / "packages").glob("*/src"))])


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """Materialize the demo medallion pipeline on embedded defaults and print its observability summary."""
    _sync(session, "--package", "floe-demo")
    session.chdir(ROOT / "demo")
    session.run("python", "-m", "run_demo", *session.posargs, env={"PYTHONPATH": str(ROOT)})


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Run benchmarks; pass a name to run one (`nox -s bench -- load`)."""
    _sync(session, "--all-packages", "--group", "dev")
    session.run("python", str(ROOT / "bench" / "run.py"), *session.posargs, env={"PYTHONPATH": str(ROOT / "bench")})
