"""Warehouse truth beyond DuckDB: the jaffle-shaped project built on PostgreSQL (dbt-postgres).

The same project and hand-checked mappings as ``test_warehouse_truth.py``, on a fresh database of the server
``FLOE_TEST_POSTGRES_URL`` names (``.ci/run`` starts one with ``.ci/postgres.sh``). The columns are read through
the dbt adapter's own connection manager with one ``information_schema.columns`` query per step, and datasets are
named as OpenLineage's naming spec says for Postgres: namespace ``postgres://host:port``, name
``database.schema.table``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dbt_harness import DbtRun
from jaffle_expectations import (
    CUSTOMERS_COLUMNS,
    EXPECTED_DATASET_LINEAGE,
    EXPECTED_EVENTS_PER_TYPE,
    EXPECTED_LINEAGE,
    MODELS,
    build_jaffle,
    column_lineage,
    complete_event,
    dataset_lineage,
    events_per_node_type,
    schema_fields,
    table_name,
)

from floe_test_support.openlineage_conformance import validate_events
from floe_test_support.postgres import PostgresServer

SCHEMA = "jaffle"
SEEDS = ("raw_customers", "raw_orders", "raw_payments")


@pytest.fixture(scope="module")
def postgres_database(postgres_server: PostgresServer) -> Iterator[dict[str, Any]]:
    """A fresh database on ``FLOE_TEST_POSTGRES_URL``'s server, dropped afterwards; skips without a server."""
    pytest.importorskip("psycopg2", reason="dbt-postgres brings psycopg2; the test group installs it")
    with postgres_server.fresh_database("floe_jaffle") as database:
        yield {
            "host": database.host,
            "port": database.port,
            "user": database.user,
            "password": database.password,
            "dbname": database.name,
        }


@pytest.fixture(scope="module")
def postgres_run(
    postgres_database: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    """One floe build of the jaffle-shaped project (3 seeds, 5 models, 20 tests) on PostgreSQL."""
    db = postgres_database
    profiles = (
        "jaffle_fixture:\n"
        "  target: dev\n"
        "  outputs:\n"
        "    dev:\n"
        "      type: postgres\n"
        f"      host: {db['host']}\n"
        f"      port: {db['port']}\n"
        f"      user: {db['user']}\n"
        f"      password: '{db['password']}'\n"
        f"      dbname: {db['dbname']}\n"
        f"      schema: {SCHEMA}\n"
        "      threads: 2\n"
    )
    root = tmp_path_factory.mktemp("jaffle_postgres")
    # the DuckDB path is unused: this profile does not read it
    return build_jaffle(root, root / "unused.duckdb", session_monkeypatch, profiles=profiles)


def test_the_build_succeeds_and_every_event_validates_against_the_official_schemas(postgres_run: DbtRun) -> None:
    assert postgres_run.result.success
    counted, facets = validate_events(postgres_run.events)
    print(f"postgres: {counted} events, {facets} facets valid")
    assert counted == len(postgres_run.events) == sum(EXPECTED_EVENTS_PER_TYPE.values())


def test_each_node_type_gets_exactly_a_start_and_a_complete_per_node(postgres_run: DbtRun) -> None:
    assert events_per_node_type(postgres_run.events) == EXPECTED_EVENTS_PER_TYPE


def test_the_warehouse_was_read_without_a_warning(postgres_run: DbtRun) -> None:
    assert postgres_run.warnings == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("node", [*SEEDS, *MODELS])
def test_every_seed_and_model_gets_a_typed_schema_from_the_warehouse(postgres_run: DbtRun, node: str) -> None:
    fields = schema_fields(postgres_run, node)
    assert fields
    assert all(field.get("type") for field in fields), fields
    if node in EXPECTED_LINEAGE:  # a model's columns are the ones its hand-checked lineage lists, no more
        assert {field["name"] for field in fields} == set(EXPECTED_LINEAGE[node])


def test_a_seed_declaring_no_columns_gets_postgres_types(postgres_run: DbtRun) -> None:
    fields = schema_fields(postgres_run, "raw_orders")
    assert [(f["name"], f["type"]) for f in fields] == [
        ("id", "integer"),
        ("user_id", "integer"),
        ("order_date", "date"),
        ("status", "text"),
    ]


def test_model_schema_is_the_tables_columns_in_order_with_schema_yml_descriptions(postgres_run: DbtRun) -> None:
    fields = schema_fields(postgres_run, "customers")
    assert [f["name"] for f in fields] == CUSTOMERS_COLUMNS  # all 7, in table order
    by_name = {f["name"]: f for f in fields}
    assert (by_name["customer_id"]["type"], by_name["customer_id"]["description"]) == ("integer", "Primary key")
    assert by_name["first_order"]["type"] == "date"
    assert by_name["number_of_orders"]["type"] == "bigint"  # count()


@pytest.mark.parametrize("model", MODELS)
def test_every_model_gets_the_hand_checked_column_lineage(postgres_run: DbtRun, model: str) -> None:
    assert column_lineage(postgres_run, model) == EXPECTED_LINEAGE[model]


@pytest.mark.parametrize("model", ["customers", "orders"])
def test_joins_and_group_by_are_dataset_level_indirect_lineage(postgres_run: DbtRun, model: str) -> None:
    assert dataset_lineage(postgres_run, model) == EXPECTED_DATASET_LINEAGE[model]


def test_datasets_are_named_as_the_openlineage_naming_spec_says_for_postgres(
    postgres_run: DbtRun, postgres_database: dict[str, Any]
) -> None:
    namespace = f"postgres://{postgres_database['host']}:{postgres_database['port']}"
    tables = {*SEEDS, *MODELS}
    seen: set[str] = set()
    for event in postgres_run.events:
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            assert dataset["namespace"] == namespace
            assert dataset["name"] == f"{postgres_database['dbname']}.{SCHEMA}.{table_name(dataset['name'])}"
            assert dataset["facets"]["dataSource"]["uri"] == namespace
            seen.add(table_name(dataset["name"]))
    assert seen == tables


def test_the_naming_helper_gives_the_same_identity_where_the_client_has_it(
    postgres_run: DbtRun, postgres_database: dict[str, Any]
) -> None:
    naming = pytest.importorskip("openlineage.client.naming.dataset", reason="openlineage-python < 1.36")
    output = complete_event(postgres_run, "orders")["outputs"][0]
    helper = naming.Postgres(
        host=postgres_database["host"],
        port=str(postgres_database["port"]),
        database=postgres_database["dbname"],
        schema=SCHEMA,
        table="orders",
    )
    assert (output["namespace"], output["name"]) == (helper.get_namespace(), helper.get_name())
