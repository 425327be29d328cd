"""floe names each adapter's datasets in the namespace OpenLineage's dbt integration (dbt-ol) gives the same profile."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from openlineage.common.provider.dbt.processor import Adapter, DbtArtifactProcessor

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
]


@pytest.mark.parametrize(("adapter", "profile"), PROFILES, ids=[f"{a}-{i}" for i, (a, _) in enumerate(PROFILES)])
def test_namespace_equals_dbt_ols(adapter: str, profile: dict[str, Any]) -> None:
    theirs = DbtArtifactProcessor.extract_namespace(SimpleNamespace(adapter_type=Adapter(adapter)), profile)  # type: ignore[arg-type]
    assert namespace_from_credentials(adapter, SimpleNamespace(**profile)) == theirs
