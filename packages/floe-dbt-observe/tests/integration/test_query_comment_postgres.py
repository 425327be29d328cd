"""Every statement dbt sends for a node carries that node's span (W3C ``traceparent``) in dbt's query comment.

Real dbt-postgres builds on a fresh database of ``FLOE_TEST_POSTGRES_URL``'s server. Each model stores the text of
the statement building it as PostgreSQL's ``pg_stat_activity`` shows it (its own backend's row, read while the
statement runs), so the test reads exactly what the server saw, comment included. The provider's id generator
honours floe's span-id pin, as floe-definitions' does.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from pinning_ids import PinningIdGenerator

from floe_dbt_observe import DbtCliOptions, ObservabilityOptions, build_dbt_assets
from floe_dbt_observe.integration import ApplicationHooks

POSTGRES_URL_ENV = "FLOE_TEST_POSTGRES_URL"
SCHEMA = "traced"
STATEMENT_SQL = "select query as statement from pg_stat_activity where pid = pg_backend_pid()\n"
TRACEPARENT = re.compile(r'"traceparent": "00-([0-9a-f]{32})-([0-9a-f]{16})-01"')


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[tuple[Any, dict[str, Any]]]:
    """An admin connection and the server's connection settings; skips without a server."""
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set, so there is no PostgreSQL to build on")
    psycopg2 = pytest.importorskip("psycopg2", reason="dbt-postgres brings psycopg2; the test group installs it")
    parts = urlsplit(server)
    admin = psycopg2.connect(server)
    admin.autocommit = True
    try:
        yield (
            admin,
            {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": parts.username or "postgres",
                "password": parts.password or "",
            },
        )
    finally:
        admin.close()


def _database(admin: Any) -> str:
    name = f"dbtotel_query_comment_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    return name


def _project(root: Path, server: dict[str, Any], dbname: str, query_comment: str | None = None) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: traced\nversion: '1.0.0'\nprofile: traced\nconfig-version: 2\nmodel-paths: ['models']\n"
        "models:\n  traced:\n    +materialized: table\n"
        + (f"query-comment: {json.dumps(query_comment)}\n" if query_comment is not None else "")
    )
    (project / "profiles.yml").write_text(
        "traced:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
        f"      host: {server['host']}\n      port: {server['port']}\n      user: {server['user']}\n"
        f"      password: '{server['password']}'\n      dbname: {dbname}\n      schema: {SCHEMA}\n      threads: 2\n"
    )
    (project / "models" / "first_statement.sql").write_text(STATEMENT_SQL)
    (project / "models" / "second_statement.sql").write_text(
        "-- depends_on: {{ ref('first_statement') }}\n" + STATEMENT_SQL
    )
    return project


def _build(project: Path, invocation: str) -> tuple[dg.ExecuteInProcessResult, InMemorySpanExporter]:
    ids = PinningIdGenerator()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=ids)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    defs = build_dbt_assets(
        project,
        tracer_provider=provider,
        dbt=DbtCliOptions(invocation=invocation),  # type: ignore[arg-type]
        observability=ObservabilityOptions(warehouse_columns=False),
        hooks=ApplicationHooks(pin_span_id=ids.pin),
    )
    result = dg.materialize(defs, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return result, exporter


def _statements(admin: Any, server: dict[str, Any], dbname: str) -> dict[str, str]:
    import psycopg2

    connection = psycopg2.connect(dbname=dbname, **server)
    try:
        with connection.cursor() as cursor:
            found = {}
            for model in ("first_statement", "second_statement"):
                cursor.execute(f"select statement from {SCHEMA}.{model}")
                found[model] = cursor.fetchone()[0]
            return found
    finally:
        connection.close()
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{dbname}" with (force)')


@pytest.mark.parametrize("invocation", ["subprocess", "in_process"])
def test_each_models_statement_carries_its_span_in_the_query_comment(
    postgres_server: tuple[Any, dict[str, Any]], tmp_path: Path, invocation: str
) -> None:
    admin, server = postgres_server
    dbname = _database(admin)
    result, exporter = _build(_project(tmp_path, server, dbname), invocation)
    statements = _statements(admin, server, dbname)
    assert result.success
    spans = {span.name: span for span in exporter.get_finished_spans()}
    for model, statement in statements.items():
        span = spans[f"dbt.model {model}"]
        match = TRACEPARENT.search(statement)
        assert match is not None, statement
        assert match.groups() == (format_trace_id(span.context.trace_id), format_span_id(span.context.span_id))
        assert f'"node_id": "model.traced.{model}"' in statement  # dbt's own comment is kept around it
    assert statements["first_statement"] != statements["second_statement"]


def test_a_projects_own_query_comment_is_kept(postgres_server: tuple[Any, dict[str, Any]], tmp_path: Path) -> None:
    admin, server = postgres_server
    dbname = _database(admin)
    result, _ = _build(_project(tmp_path, server, dbname, query_comment="team shop"), "subprocess")
    statements = _statements(admin, server, dbname)
    assert result.success
    assert statements["first_statement"].startswith("/* team shop */")
    assert "traceparent" not in statements["first_statement"]
