"""floe's developer sessions: tests (per package, workspace), tests_lowest, tests_newest, config_only, lint, demo,
bench.

Every session but ``tests_lowest`` and ``tests_newest`` installs from the committed ``uv.lock`` (``uv sync
--frozen``) into its own venv, so what is tested here is what a user gets. ``tests_lowest`` resolves each package's
direct dependencies at their declared floors instead (uv's lowest-direct resolution), and ``tests_newest`` every
dependency at the newest release its range allows, both without reading or touching ``uv.lock``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PACKAGES = ["floe-config", "floe-loaders", "floe-dbt-observe", "floe-definitions"]
TEST_TARGETS = [*PACKAGES, "demo", "workspace"]
"""``workspace``: the policy tests over every package at once (tests/policy), in a venv holding all of them."""
# Suites whose tests mostly wait on subprocesses (dbt, Dagster's run workers, `floe dev`, daemons) run on two or three
# pytest-xdist workers, a test module per worker (module-scoped fixtures such as one demo run stay shared).
PARALLEL = {
    "floe-definitions": ["-n", "3", "--dist", "loadfile"],
    "demo": ["-n", "2", "--dist", "loadfile"],
}


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


FUSION_WHEEL = "dbt==2.0.0rc196"
"""dbt Fusion (the ``dbt`` 2.0 pre-release wheel, a native binary) that floe-dbt-observe's Fusion tests run; the same
release as ``tests/fusion_harness.py`` and the recorded logs in ``tests/data/dbt-fusion``."""
FUSION_TESTED = ("floe-dbt-observe", "floe-definitions")
"""The suites with real-Fusion tests (they skip, saying why, without ``FLOE_TEST_FUSION_DBT``)."""


def _fusion_env(session: nox.Session) -> dict[str, str]:
    """Install dbt Fusion into a venv of its own beside the session's and name its ``dbt`` for the tests.

    Fusion's wheel installs a ``dbt`` that would replace dbt-core's in the session's venv, hence a venv of its own.
    Where the wheel does not install (no such release for this platform), nothing is set and the real-Fusion tests
    skip, saying so; the recorded-log tests still run.
    """
    location = Path(f"{session.virtualenv.location}-fusion")
    try:
        session.run_install("uv", "venv", "--quiet", "--allow-existing", "--python", "3.11", str(location), silent=True)
        session.run_install(
            "uv",
            "pip",
            "install",
            "--quiet",
            "--prerelease=allow",
            "--python",
            str(location / "bin" / "python"),
            FUSION_WHEEL,
            silent=True,
        )
    except CommandFailed:
        session.warn(f"{FUSION_WHEEL} did not install: the real dbt Fusion tests will skip")
        return {}
    return {"FLOE_TEST_FUSION_DBT": str(location / "bin" / "dbt")}


@nox.session(python="3.11")
@nox.parametrize("package", TEST_TARGETS, ids=TEST_TARGETS)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's test suite in a venv holding only it and its deps (workspace: tests/ with every package)."""
    if package == "demo":
        _sync(session, "--package", "floe-demo", "--group", "test")
        test_dir = ROOT / "demo" / "tests"
    elif package == "workspace":
        _sync(session, "--all-packages", "--group", "dev")
        test_dir = ROOT / "tests"
    else:
        _sync(session, "--package", package, "--group", "test")
        test_dir = ROOT / "packages" / package / "tests"
    if not any(test_dir.rglob("test_*.py")):
        session.skip(f"{package}: no tests yet")
    env = _fusion_env(session) if package in FUSION_TESTED else {}
    session.run("pytest", str(test_dir), *PARALLEL.get(package, []), *session.posargs, env=env)
    if package == "floe-config":
        # this venv holds floe-config alone: prove `floe-config validate` imports no Dagster, dbt, OTel or OpenLineage
        session.run("python", str(ROOT / "packages" / "floe-config" / "tests" / "check_import_boundary.py"))


# Each package's sibling workspace packages, installed editable so the floors of their direct dependencies hold too.
# floe-test-support (the shared test fixtures, never published) is installed editable beside the suites that use it.
WORKSPACE_DEPS = {
    "floe-config": [],
    "floe-loaders": ["floe-config", "floe-test-support"],
    "floe-dbt-observe": ["floe-test-support"],
    "floe-definitions": ["floe-config", "floe-loaders", "floe-dbt-observe", "floe-test-support"],
}
# The floor subset: everything that imports and calls the pinned libraries (Dagster definitions, a real dbt build
# through dagster-dbt, the OTel and OpenLineage clients, the compat probes), without the suites' slowest
# end-to-end and daemon runs, so that the four sessions take a few minutes on 2 cores beside the locked suites.
LOWEST_SUBSETS = {
    "floe-config": ["tests/unit"],
    "floe-loaders": ["tests"],
    "floe-dbt-observe": ["tests/unit", "tests/integration/test_per_model_observability.py"],
    "floe-definitions": [
        "tests/unit",
        "tests/integration/test_facade.py",
        "tests/integration/test_observed_executor.py",
    ],
}
# Tests of what the lock decides, not of compatibility: the committed JSON schemas are pydantic's rendering at the
# locked version (pydantic 2.9 writes a one-value Literal as ``enum`` where the locked one writes ``const``).
LOWEST_DESELECT = {
    "floe-config": ["test_committed_schema_is_not_stale", "test_committed_platform_schema_is_not_stale"],
}
# Test modules that cannot even be imported at the floors, for a test dependency's sake, not floe's: the dbt-ol
# reference floe's dataset namespaces are compared against (openlineage-dbt 1.54) needs a newer openlineage-python
# than floe's floor (it imports facets that 1.31 lacks); floe's own namespace code runs in the per-model dbt build.
LOWEST_IGNORE = {
    "floe-dbt-observe": ["tests/unit/test_dataset_namespace_like_dbt_ol.py"],
}
# Extra constraints for a package's floor resolution (lowest-direct keeps transitive dependencies at their newest);
# none needed since dbt-core's floor became 1.9 (README: "Tested versions").
LOWEST_CONSTRAINTS: dict[str, list[str]] = {}
# Printed by tests_lowest and tests_newest: the versions that decide what "floor" and "newest" mean in the README's
# matrix.
REPORTED_VERSIONS = (
    "dagster",
    "dagster-dbt",
    "dbt-core",
    "dbt-duckdb",
    "pydantic",
    "pydantic-settings",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "openlineage-python",
)


# Left out of every resolution, as of the locked environments (the root pyproject's `exclude-dependencies`, which
# says why): dbt-core 1.12's experimental parser cannot be built without GitHub.
EXCLUDED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["exclude-dependencies"]


def _resolve_into_venv(session: nox.Session, package: str, resolution: str) -> list[str]:
    """Resolve ``package`` (with its workspace siblings and test group) by ``resolution``, ignoring ``uv.lock``, and
    make the session's venv hold exactly that; return the resolved ``name==version`` lines of ``REPORTED_VERSIONS``.
    """
    package_dir = ROOT / "packages" / package
    tmp = Path(session.create_tmp())
    inputs, requirements = tmp / f"{resolution}.in", tmp / f"{resolution}.txt"
    inputs.write_text("".join(f"-e {ROOT / 'packages' / name}\n" for name in [*WORKSPACE_DEPS[package], package]))
    constraints = tmp / f"{resolution}-constraints.txt"
    constraints.write_text("".join(f"{line}\n" for line in LOWEST_CONSTRAINTS.get(package, [])))
    excludes = tmp / "excludes.txt"
    excludes.write_text("".join(f"{name}\n" for name in EXCLUDED))
    # an earlier output file would be read as preferences (a reused venv's tmp keeps it): resolve afresh
    requirements.unlink(missing_ok=True)
    env = {"VIRTUAL_ENV": session.virtualenv.location}
    # compile, then sync: the venv holds exactly this resolution even when nox reuses it (uv.lock is not read)
    session.run_install(
        "uv",
        "pip",
        "compile",
        "--quiet",
        "--resolution",
        resolution,
        "--python",
        str(Path(session.virtualenv.location) / "bin" / "python"),
        "--group",
        f"{package_dir / 'pyproject.toml'}:test",
        "--constraint",
        str(constraints),
        "--excludes",
        str(excludes),
        "--output-file",
        str(requirements),
        str(inputs),
        env=env,
        silent=True,
    )
    session.run_install("uv", "pip", "sync", "--quiet", str(requirements), env=env, silent=True)
    return [line for line in requirements.read_text().splitlines() if line.split("==")[0] in REPORTED_VERSIONS]


def _run_floor_subset(session: nox.Session, package: str, ignore: list[str]) -> None:
    """Run ``package``'s floor subset (``LOWEST_SUBSETS``) without the lock-decided tests (``LOWEST_DESELECT``)."""
    package_dir = ROOT / "packages" / package
    names = LOWEST_DESELECT.get(package, [])
    deselect = ["-k", " and ".join(f"not {name}" for name in names)] if names else []
    targets = [str(package_dir / target) for target in LOWEST_SUBSETS[package]]
    ignored = [f"--ignore={package_dir / path}" for path in ignore]
    session.run("pytest", *targets, *ignored, *deselect, *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests_lowest(session: nox.Session, package: str) -> None:
    """Run one package's floor subset with its direct dependencies at their declared floors (lowest-direct)."""
    pinned = _resolve_into_venv(session, package, "lowest-direct")
    session.log(f"{package} at its floors: {', '.join(pinned)}")
    _run_floor_subset(session, package, LOWEST_IGNORE.get(package, []))


@nox.session(python="3.11")
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests_newest(session: nox.Session, package: str) -> None:
    """Run one package's floor subset with every dependency at the newest release its range allows (not the lock)."""
    pinned = _resolve_into_venv(session, package, "highest")
    session.log(f"{package} at the newest its ranges allow: {', '.join(pinned)}")
    _run_floor_subset(session, package, [])


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
    # the test groups bring dagster-celery and the Redis client (the `celery` benchmark)
    _sync(session, "--all-packages", "--group", "dev", "--group", "test")
    session.run("python", str(ROOT / "bench" / "run.py"), *session.posargs, env={"PYTHONPATH": str(ROOT / "bench")})
