"""floe names each adapter's datasets in the namespace OpenLineage's dbt integration (dbt-ol) gives the same profile."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from openlineage.common.provider.dbt.processor import Adapter, DbtArtifactProcessor

from floe_dbt_observe import warehouse_namespace
from floe_dbt_observe.warehouse_namespace import namespace_from_credentials

PROFILES: list[tuple[str, dict[str, Any]]] = [
    ("postgres", {"host": "db.internal", "port": 5432}),
    ("redshift", {"host": "cluster.example", "port": 5439}),
    ("snowflake", {"account": "xy12345"}),
    ("snowflake", {"account": "xy12345.us-east-1"}),
    ("snowflake", {"account": "xy12345.east-us-2.azure"}),
    ("snowflake", {"account": "myorg-myaccount"}),
    ("bigquery", {}),
    ("trino", {"host": "trino.example", "port": 8080}),
    ("clickhouse", {"host": "ch.example", "port": 8123}),
    ("databricks", {"host": "adb-1.azuredatabricks.net"}),
    ("sqlserver", {"server": "sql.example", "port": 1433}),
    ("athena", {"region_name": "eu-west-1"}),
    ("spark", {"host": "spark.example", "method": "thrift"}),
    ("spark", {"host": "spark.example", "method": "http", "port": 8443}),
    ("duckdb", {"path": "/data/warehouse/dev.duckdb"}),
    ("duckdb", {"path": "shop.duckdb"}),  # relative: dbt-ol keeps it as written
    ("duckdb", {"path": "data/shop.duckdb"}),
    ("duckdb", {"path": ":memory:"}),
]


@pytest.mark.parametrize(("adapter", "profile"), PROFILES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(PROFILES)])
def test_namespace_equals_dbt_ols(adapter: str, profile: dict[str, Any]) -> None:
    theirs = DbtArtifactProcessor.extract_namespace(SimpleNamespace(adapter_type=Adapter(adapter)), profile)  # type: ignore[arg-type]
    assert namespace_from_credentials(adapter, SimpleNamespace(**profile)) == theirs


@pytest.mark.parametrize(("adapter", "profile"), PROFILES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(PROFILES)])
def test_namespace_equals_dbt_ols_without_the_naming_helpers_too(
    adapter: str, profile: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """openlineage-python before 1.36 has no ``openlineage.client.naming``: the written formulas give the same."""
    monkeypatch.setattr(warehouse_namespace, "naming_helpers", lambda: None)
    theirs = DbtArtifactProcessor.extract_namespace(SimpleNamespace(adapter_type=Adapter(adapter)), profile)  # type: ignore[arg-type]
    assert namespace_from_credentials(adapter, SimpleNamespace(**profile)) == theirs


_T = {"table": "orders"}
# (adapter, profile, naming helper, the helper's arguments for a table of that profile)
COVERED: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
    (
        "postgres",
        {"host": "db.internal", "port": 5432, "database": "shop", "schema": "marts"},
        "Postgres",
        {"host": "db.internal", "port": "5432", "database": "shop", "schema": "marts", **_T},
    ),
    (
        "trino",
        {"host": "trino.example", "port": 8080, "database": "hive", "schema": "marts"},
        "Trino",
        {"host": "trino.example", "port": "8080", "catalog": "hive", "schema": "marts", **_T},
    ),
    (
        "bigquery",
        {"database": "my-project", "schema": "marts"},
        "BigQuery",
        {"project_id": "my-project", "dataset_name": "marts", "table_name": "orders"},
    ),
    (
        "athena",
        {"region_name": "eu-west-1", "database": "awsdatacatalog", "schema": "marts"},
        "Athena",
        {"region_name": "eu-west-1", "catalog": "awsdatacatalog", "database": "marts", **_T},
    ),
    (
        "snowflake",
        {"account": "myorg-myaccount", "database": "SHOP", "schema": "MARTS"},
        "Snowflake",
        {"organization_name": "myorg", "account_name": "myaccount", "database": "SHOP", "schema": "MARTS", **_T},
    ),
]


@pytest.mark.parametrize(("adapter", "profile", "helper", "arguments"), COVERED, ids=[c[0] for c in COVERED])
def test_adapters_the_naming_helpers_cover_take_their_namespace_from_them_and_it_equals_dbt_ols(
    adapter: str, profile: dict[str, Any], helper: str, arguments: dict[str, str]
) -> None:
    naming = pytest.importorskip("openlineage.client.naming.dataset", reason="openlineage-python < 1.36")
    expected = getattr(naming, helper)(**arguments).get_namespace()
    assert warehouse_namespace.spec_namespace(adapter, SimpleNamespace(**profile)) == expected
    assert namespace_from_credentials(adapter, SimpleNamespace(**profile)) == expected
    theirs = DbtArtifactProcessor.extract_namespace(SimpleNamespace(adapter_type=Adapter(adapter)), profile)  # type: ignore[arg-type]
    assert expected == theirs


def test_the_naming_helpers_name_a_postgres_table_as_floe_does() -> None:
    naming = pytest.importorskip("openlineage.client.naming.dataset", reason="openlineage-python < 1.36")
    helper = naming.Postgres(host="db.internal", port="5432", database="shop", schema="marts", table="orders")
    credentials = SimpleNamespace(host="db.internal", port=5432, database="shop", schema="marts")
    assert helper.get_namespace() == "postgres://db.internal:5432"
    assert namespace_from_credentials("postgres", credentials) == helper.get_namespace()
    assert "shop.marts.orders" == helper.get_name()  # floe's name: the manifest's database.schema.identifier


@pytest.mark.parametrize(
    ("adapter", "profile"),
    [
        ("redshift", {"host": "cluster.abc.eu-west-1.redshift.amazonaws.com", "port": 5439}),  # helper: cluster id
        ("sqlserver", {"server": "sql.example", "port": 1433}),  # helper: sqlserver://, dbt-ol: mssql://
        ("snowflake", {"account": "xy12345.us-east-1"}),  # a legacy locator the helper cannot express
        ("duckdb", {"path": "/data/dev.duckdb"}),  # not in the naming spec
    ],
)
def test_where_the_helpers_differ_from_dbt_ol_dbt_ols_name_is_kept(adapter: str, profile: dict[str, Any]) -> None:
    assert warehouse_namespace.spec_namespace(adapter, SimpleNamespace(**profile)) is None
    theirs = DbtArtifactProcessor.extract_namespace(SimpleNamespace(adapter_type=Adapter(adapter)), profile)  # type: ignore[arg-type]
    assert namespace_from_credentials(adapter, SimpleNamespace(**profile)) == theirs
