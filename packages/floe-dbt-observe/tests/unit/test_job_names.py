"""dbt nodes' lineage job names: dbt-ol's by default, floe's ``<project>.<node name>`` on request."""

from __future__ import annotations

from typing import Any

import pytest

from floe_dbt_observe.lineage_context import LineageContext

MANIFEST: dict[str, Any] = {
    "metadata": {"project_name": "shop", "adapter_type": "postgres"},
    "nodes": {
        "model.shop.orders": {"name": "orders", "database": "dbt_test", "schema": "main"},
        "seed.shop.raw_orders": {"name": "raw_orders", "database": "dbt_test", "schema": "main"},
        "snapshot.shop.orders_snapshot": {"name": "orders_snapshot", "database": "dbt_test", "schema": "snapshots"},
        "test.shop.not_null_orders_id.5f2a1b": {"name": "not_null_orders_id", "database": "dbt_test", "schema": "main"},
    },
}


def _context(**options: Any) -> LineageContext:
    return LineageContext(
        manifest=MANIFEST,
        job_namespace="dbt",
        dataset_namespace_source="postgres://localhost:5432",
        parent=None,
        dbt_version="1.10.0",
        openlineage_version="1.54.0",
        target_path=None,
        project_dir=None,
        **options,
    )


@pytest.mark.parametrize(
    ("unique_id", "expected"),
    [
        # dbt-ol run: <database>.<schema>.<unique id without "model.">; dbt-ol build appends ".build.run"
        ("model.shop.orders", "dbt_test.main.shop.orders"),
        ("snapshot.shop.orders_snapshot", "dbt_test.snapshots.shop.orders_snapshot.snapshot"),
        ("test.shop.not_null_orders_id.5f2a1b", "test.shop.not_null_orders_id.5f2a1b"),  # dbt-ol: the unique id
        ("seed.shop.raw_orders", "dbt_test.main.shop.raw_orders"),  # dbt-ol emits no seed runs: a model's form
    ],
)
def test_job_names_are_dbt_ols_by_default(unique_id: str, expected: str) -> None:
    assert _context().job_name(unique_id) == expected


@pytest.mark.parametrize(
    ("unique_id", "expected"),
    [
        ("model.shop.orders", "shop.orders"),
        ("snapshot.shop.orders_snapshot", "shop.orders_snapshot"),
        ("test.shop.not_null_orders_id.5f2a1b", "shop.not_null_orders_id"),
    ],
)
def test_floe_job_names_are_project_dot_node(unique_id: str, expected: str) -> None:
    assert _context(job_names="floe").job_name(unique_id) == expected


def test_the_model_job_name_equals_dbt_ols_own() -> None:
    processor_module = pytest.importorskip("openlineage.common.provider.dbt.processor", reason="openlineage-dbt")
    processor = processor_module.DbtArtifactProcessor(producer="test", job_namespace="dbt")
    node = MANIFEST["nodes"]["model.shop.orders"]
    theirs = processor._format_dataset_name(node["database"], node["schema"], "shop.orders")  # dbt-ol run's name
    assert _context().job_name("model.shop.orders") == theirs
