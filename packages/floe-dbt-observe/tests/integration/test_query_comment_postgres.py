"""Every statement dbt sends for a node carries that node's span (W3C ``traceparent``) in dbt's query comment.

Real dbt-postgres builds on a fresh database of ``FLOE_TEST_POSTGRES_URL``'s server (``floe_test_support.postgres``).
Each model stores the text of the statement building it as PostgreSQL's ``pg_stat_activity`` shows it (its own
backend's row, read while the statement runs), so the test reads exactly what the server saw, comment included.
The provider's id generator honours floe's span-id pin, as floe-definitions' does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from pinning_ids import PinningIdGenerator

from floe_dbt_observe import DbtCliOptions, ObservabilityOptions, build_dbt_assets
from floe_dbt_observe.integration import ApplicationHooks
from floe_test_support.postgres import PostgresDatabase, PostgresServer

SCHEMA = "traced"
STATEMENT_SQL = "select query as statement from pg_stat_activity where pid = pg_backend_pid()\n"
TRACEPARENT = re.compile(r'"traceparent": "00-([0-9a-f]{32})-([0-9a-f]{16})-01"')


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A fresh database on ``FLOE_TEST_POSTGRES_URL``'s server, dropped afterwards; skips without a server."""
    pytest.importorskip("psycopg2", reason="dbt-postgres brings psycopg2; the test group installs it")
    with postgres_server.fresh_database("floe_query_comment") as fresh:
        yield fresh


def _project(root: Path, database: PostgresDatabase, query_comment: str | None = None) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: traced\nversion: '1.0.0'\nprofile: traced\nconfig-version: 2\nmodel-paths: ['models']\n"
        "models:\n  traced:\n    +materialized: table\n"
        + (f"query-comment: {json.dumps(query_comment)}\n" if query_comment is not None else "")
    )
    (project / "profiles.yml").write_text(
        "traced:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
        f"      host: {database.host}\n      port: {database.port}\n      user: {database.user}\n"
        f"      password: '{database.password}'\n      dbname: {database.name}\n"
        f"      schema: {SCHEMA}\n      threads: 2\n"
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


def _statements(database: PostgresDatabase) -> dict[str, str]:
    import psycopg2

    connection = psycopg2.connect(
        host=database.host, port=database.port, user=database.user, password=database.password, dbname=database.name
    )
    try:
        with connection.cursor() as cursor:
            found = {}
            for model in ("first_statement", "second_statement"):
                cursor.execute(f"select statement from {SCHEMA}.{model}")
                found[model] = cursor.fetchone()[0]
            return found
    finally:
        connection.close()


@pytest.mark.parametrize("invocation", ["subprocess", "in_process"])
def test_each_models_statement_carries_its_span_in_the_query_comment(
    database: PostgresDatabase, tmp_path: Path, invocation: str
) -> None:
    result, exporter = _build(_project(tmp_path, database), invocation)
    statements = _statements(database)
    assert result.success
    spans = {span.name: span for span in exporter.get_finished_spans()}
    for model, statement in statements.items():
        span = spans[f"dbt.model {model}"]
        match = TRACEPARENT.search(statement)
        assert match is not None, statement
        assert match.groups() == (format_trace_id(span.context.trace_id), format_span_id(span.context.span_id))
        assert f'"node_id": "model.traced.{model}"' in statement  # dbt's own comment is kept around it
    assert statements["first_statement"] != statements["second_statement"]


def test_a_projects_own_query_comment_is_kept(database: PostgresDatabase, tmp_path: Path) -> None:
    result, _ = _build(_project(tmp_path, database, query_comment="team shop"), "subprocess")
    statements = _statements(database)
    assert result.success
    assert statements["first_statement"].startswith("/* team shop */")
    assert "traceparent" not in statements["first_statement"]
