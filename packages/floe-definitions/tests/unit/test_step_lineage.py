from __future__ import annotations

from dagster import AssetKey, MetadataValue
from openlineage.client.event_v2 import RunState

from floe_dbt_observe.integration import ParentRun
from floe_definitions.execution.step_lineage import DatasetNaming, lineage_job_name, step_event

NAMING = DatasetNaming(pipeline="shop", table_namespaces={"duckdb": "duckdb://warehouse"})
KEY = AssetKey(["bronze", "raw_orders"])


def test_asset_without_table_is_named_by_key_in_the_pipeline_namespace() -> None:
    assert NAMING.dataset(KEY, {}) == ("dagster://shop", "bronze/raw_orders")


def test_reported_table_with_storage_kind_uses_the_warehouse_namespace() -> None:
    metadata = {
        "dagster/table_name": MetadataValue.text("warehouse.bronze.raw_orders"),
        "dagster/storage_kind": "duckdb",
    }
    assert NAMING.dataset(KEY, metadata) == ("duckdb://warehouse", "warehouse.bronze.raw_orders")


def test_asset_kind_stands_in_for_a_missing_storage_kind() -> None:
    metadata = {"dagster/table_name": "warehouse.bronze.raw_orders"}
    assert NAMING.dataset(KEY, metadata, {"python", "duckdb"}) == ("duckdb://warehouse", "warehouse.bronze.raw_orders")


def test_job_name_is_pipeline_and_key_path_for_single_asset_steps() -> None:
    assert lineage_job_name("shop", "bronze__raw_orders", [KEY]) == "shop.bronze.raw_orders"
    assert lineage_job_name("shop", "multi", [KEY, AssetKey("x")]) == "shop.multi"


def test_fail_event_carries_error_and_parent_facets() -> None:
    event = step_event(
        RunState.FAIL,
        run_id="01900000-0000-7000-8000-000000000000",
        job_name="shop.bronze.raw_orders",
        parent=ParentRun(run_id="6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", job_name="seed", namespace="floe"),
        inputs=[("dagster://shop", "bronze/raw_customers")],
        outputs=[("duckdb://warehouse", "warehouse.bronze.raw_orders")],
        error=("ValueError: boom", "Traceback ..."),
    )
    assert event.run.facets["errorMessage"].message == "ValueError: boom"
    assert event.run.facets["parent"].run.runId == "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    assert [d.name for d in event.inputs] == ["bronze/raw_customers"]
