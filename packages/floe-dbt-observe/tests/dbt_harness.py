"""Test harness: capture transports, DuckDB warehouses, project copies and one-call dbt runs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from packaging.version import Version

from floe_dbt_observe import DbtCliOptions, FloeDbtTranslator, build_dbt_assets
from floe_test_support.openlineage_conformance import validate_events

FIXTURE_PROJECT = Path(__file__).parent / "dbt_project"
DUCKDB_ENV = "FLOE_FIXTURE_DUCKDB_PATH"
FOLDER_GROUPS = {"staging": "silver", "marts": "gold"}
FIXTURE_ASSETS = frozenset(
    {
        "stg_orders",
        "stg_customers",
        "stg_payments",
        "stg_countries",
        "customer_orders",
        "country_revenue",
        "country_codes",
        "orders_snapshot",
    }
)
"""The fixture project's assets (its models, seed and snapshot), as user strings: what a whole build materializes."""
DBT_INVOCATION_ENV = "FLOE_TEST_DBT_INVOCATION"
"""How the harness's runs start dbt when a test does not say: ``subprocess`` (default) or ``in_process``; set it to
run the whole per-node suite with dbt's ``dbtRunner`` in the test process."""


class ListTransport(Transport):
    """Keep every emitted OpenLineage event as its JSON dict."""

    kind = "floe-test-list"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: Any) -> None:
        self.events.append(json.loads(Serde.to_json(event)))


class RaisingTransport(Transport):
    """A lineage backend that is down: every emit raises."""

    kind = "floe-test-raising"

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, event: Any) -> None:
        self.calls += 1
        raise ConnectionError("lineage backend down")


class SleepingTransport(Transport):
    """A lineage backend that answers after 5 seconds."""

    kind = "floe-test-sleeping"

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self.calls = 0

    def emit(self, event: Any) -> None:
        self.calls += 1
        time.sleep(self.seconds)


REPARSE_NOTICE = "dbt parsed the whole project again"
"""What floe-dbt-observe's message says when dbt could not reuse its saved partial parse."""


def make_warehouse(path: Path) -> Path:
    """Create the raw tables the fixture project's sources read."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema raw")
        con.execute(
            "create table raw.orders as select * from (values "
            "(1, 1, '2024-01-01', 'done'), (2, 1, '2024-01-02', 'done'), (3, 2, '2024-01-02', 'open'), "
            "(4, 2, '2024-01-03', 'done')) t(id, customer, ordered_at, status)"
        )
        con.execute(
            "create table raw.customers as select * from "
            "(values (1, 'Ann', 'FR'), (2, 'Bob', 'DE')) t(id, name, country)"
        )
        con.execute(
            "create table raw.payments as select * from (values (1, 1, 1000), (2, 2, 550), (3, 3, 700), (4, 4, 120)) "
            "t(id, order_id, amount_cents)"
        )
    finally:
        con.close()
    return path


def copy_project(destination: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """Copy the fixture project (without build artifacts) and optionally edit the copy."""
    shutil.copytree(FIXTURE_PROJECT, destination, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    if edit is not None:
        edit(destination)
    return destination


def break_payments(project: Path) -> None:
    """Make ``stg_payments`` select a column the warehouse does not have."""
    (project / "models" / "staging" / "stg_payments.sql").write_text(
        "select id as payment_id, order_id, amount_cents / 100.0 as amount from {{ source('raw', 'payments') }}\n"
        "where no_such_column > 0\n"
    )


def add_failing_test(project: Path) -> None:
    """Add an ``accepted_values`` test on ``customer_orders.order_count`` that fails."""
    path = project / "models" / "marts" / "_marts.yml"
    values = "values: [0, 1, 10, 100, 1000, 10000]\n"
    # dbt 1.10 takes a generic test's arguments under `arguments:` (and warns without it); dbt 1.8/1.9 do not know it
    if Version(version("dbt-core")) >= Version("1.10"):
        arguments = "              arguments:\n                " + values
    else:
        arguments = "              " + values
    text = path.read_text().replace(
        "      - name: order_count\n",
        "      - name: order_count\n        data_tests:\n          - accepted_values:\n" + arguments,
    )
    path.write_text(text)


@dataclass
class DbtRun:
    """One real materialization of dbt assets and everything it emitted."""

    project_dir: Path
    warehouse: Path
    defs: list[dg.AssetsDefinition]
    result: dg.ExecuteInProcessResult
    instance: dg.DagsterInstance
    spans: list[ReadableSpan]
    events: list[dict[str, Any]]
    seconds: float
    transport: Transport

    def materialized(self) -> list[str]:
        """The asset keys the run materialized, as user strings, in the order of their events."""
        return [event.asset_key.to_user_string() for event in self.result.get_asset_materialization_events()]

    def logs(self) -> list[str]:
        return [entry.user_message for entry in self.instance.all_logs(self.result.run_id)]

    def node_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name.startswith("dbt.") and not span.name.startswith("dbt.build")]

    def step_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name.startswith("dbt.build")]

    def events_for(self, node_name: str) -> list[dict[str, Any]]:
        """Events of the node named ``node_name``: dbt-ol's job names end with it, a test's holds it before its hash."""
        return [
            event
            for event in self.events
            if event["job"]["name"].endswith("." + node_name) or f".{node_name}." in event["job"]["name"]
        ]


def run_dbt(
    project_dir: Path,
    warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    transport: Transport | None = None,
    selection: Any = None,
    partition_key: str | None = None,
    **build_kwargs: Any,
) -> DbtRun:
    """Build the project's assets with in-memory span and lineage capture, then materialize them."""
    monkeypatch.setenv(DUCKDB_ENV, str(warehouse))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    transport = transport if transport is not None else ListTransport()
    build_kwargs.setdefault("translator", FloeDbtTranslator(folder_groups=FOLDER_GROUPS))
    build_kwargs.setdefault("dbt", DbtCliOptions(invocation=os.environ.get(DBT_INVOCATION_ENV, "subprocess")))
    defs = build_dbt_assets(
        project_dir, tracer_provider=provider, lineage=OpenLineageClient(transport=transport), **build_kwargs
    )
    instance = dg.DagsterInstance.ephemeral()
    started = time.monotonic()
    result = dg.materialize(
        defs, instance=instance, raise_on_error=False, selection=selection, partition_key=partition_key
    )
    seconds = time.monotonic() - started
    provider.force_flush()
    events = list(getattr(transport, "events", []))
    if events:  # every event any test captures conforms to the official schemas
        validate_events(events)
    return DbtRun(
        project_dir=project_dir,
        warehouse=warehouse,
        defs=defs,
        result=result,
        instance=instance,
        spans=list(exporter.get_finished_spans()),
        events=events,
        seconds=seconds,
        transport=transport,
    )


class captured_warnings:
    """Collect the WARNING messages ``floe_dbt_observe`` logs in the block (module-scoped fixtures have no caplog)."""

    def __enter__(self) -> list[str]:
        self.records: list[str] = []
        self.handler = logging.Handler(logging.WARNING)
        self.handler.emit = lambda record: self.records.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("floe_dbt_observe").addHandler(self.handler)
        return self.records

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("floe_dbt_observe").removeHandler(self.handler)
