"""OpenLineage's own dbt compatibility scenario, ``csv_to_postgres``, run through floe on PostgreSQL.

The suite runs ``dbt-ol seed`` then ``dbt-ol run`` on its dbt project and checks the events against expected ones
(``openlineage_compatibility_suite.py`` says how, and where this test differs: floe's fuller schema and column
lineage). Here floe's ``build_dbt_assets`` builds the same project, unchanged, with a real OpenLineage client, on the
server ``FLOE_TEST_POSTGRES_URL`` names (``.ci/run`` starts one with ``.ci/postgres.sh``), in the database
``dbt_test`` and the schema ``main`` that the expected events name.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from dbt_harness import DbtRun, run_dbt
from openlineage_compatibility_suite import RUNNER_DIR, rejected_by_url_rule, suite_results, suite_tests

from floe_test_support.postgres import PostgresServer

DATABASE = "dbt_test"
"""The database the expected events name (``dbt_test.main.stg_orders``); created for this module, then dropped."""
LOCK_KEY = 0x0F10E0C0
"""A PostgreSQL advisory lock: two runs of this module on one server take turns on ``dbt_test``."""


@pytest.fixture(scope="module")
def suite_database(session_monkeypatch: pytest.MonkeyPatch, postgres_server: PostgresServer) -> Iterator[str]:
    """Create ``dbt_test`` on the test server and point the suite's profiles.yml at it; yield the namespace."""
    psycopg2 = pytest.importorskip("psycopg2", reason="dbt-postgres brings psycopg2; the test group installs it")
    server = postgres_server.url
    parts = urlsplit(server)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    admin = psycopg2.connect(server)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
            cursor.execute(f'drop database if exists "{DATABASE}" with (force)')
            cursor.execute(f'create database "{DATABASE}"')
        # the suite's profiles.yml reads these (its defaults are its CI's server)
        for name, value in {
            "DBT_POSTGRES_HOST": host,
            "DBT_POSTGRES_PORT": str(port),
            "DBT_POSTGRES_USER": parts.username or "postgres",
            "DBT_POSTGRES_PASSWORD": parts.password or "",
            "DBT_POSTGRES_DB": DATABASE,
            "DBT_POSTGRES_SCHEMA": "main",
        }.items():
            session_monkeypatch.setenv(name, value)
        yield f"postgres://{host}:{port}"
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{DATABASE}" with (force)')
            cursor.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        admin.close()


@pytest.fixture(scope="module")
def suite_run(
    suite_database: str, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    """One floe build of the suite's dbt project's seeds and models, jobs in dbt-ol's namespace ``dbt``.

    Without dbt's tests, as the suite (``dbt seed``, then ``dbt run``): its schema.yml declares the seeds' tables as
    sources too, and ``dbt build`` would run those sources' tests before the seeds exist.
    """
    project = tmp_path_factory.mktemp("openlineage_compatibility") / "runner"
    shutil.copytree(RUNNER_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    # the DuckDB path run_dbt sets is unused: this profile does not read it
    return run_dbt(
        project, project.parent / "unused.duckdb", session_monkeypatch, translator=None, exclude="resource_type:test"
    )


@pytest.fixture(scope="module")
def results(suite_run: DbtRun, suite_database: str) -> dict[str, list[str]]:
    assert suite_run.result.success
    found = suite_results(suite_run.events, suite_database)
    for name, errors in found.items():
        print(f"{name}: {'PASS' if not errors else 'FAIL ' + '; '.join(errors)}")
    return found


def test_the_suite_has_its_15_tests() -> None:
    assert len(suite_tests()) == 15


@pytest.mark.parametrize("name", [str(test["name"]) for test in suite_tests()])
def test_every_content_check_of_the_suite_passes_on_floes_events(results: dict[str, list[str]], name: str) -> None:
    assert results[name] == []


def test_the_suites_syntax_check_rejects_only_floes_own_facets_and_only_by_their_url(suite_run: DbtRun) -> None:
    # floe's own facets validate against the schemas floe ships (run_dbt checks every event with
    # openlineage_conformance); the suite knows a custom facet only by a `defs/RunFacet`-style URL (UPSTREAM.md)
    assert rejected_by_url_rule(suite_run.events) == {"floe_dbt_node", "floe_trace"}


def test_the_expected_facets_are_on_the_start_event_too(suite_run: DbtRun) -> None:
    starts: dict[str, dict[str, Any]] = {
        event["job"]["name"]: event for event in suite_run.events if event["eventType"] == "START"
    }
    start = starts["dbt_test.main.openlineage_compatibility_test.customer_analytics"]
    assert {"dbt_version", "dbt_run"} <= set(start["run"]["facets"])
    assert "dbt_node" in start["job"]["facets"]
