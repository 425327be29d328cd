from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, ExecuteInProcessResult, TableSchema
from demo.assets import bronze, synthetic
from demo.assets.warehouse import DEFAULT_WAREHOUSE, DEMO_DIR, WAREHOUSE_ENV, warehouse_path

MaterializeBronze = Callable[..., ExecuteInProcessResult]
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _rows(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _count(warehouse: Path, sql: str) -> int:
    (value,) = _rows(warehouse, sql)[0]
    assert isinstance(value, int)
    return value


def test_bronze_asset_keys_groups_and_kinds() -> None:
    assets = [bronze.raw_customers, bronze.raw_products, bronze.raw_orders, bronze.raw_order_items]
    keys = {asset.key for asset in assets}
    assert keys == {
        AssetKey(["bronze", name]) for name in ("raw_customers", "raw_products", "raw_orders", "raw_order_items")
    }
    for asset in assets:
        spec = next(iter(asset.specs))
        assert spec.group_name == "bronze"
        assert spec.kinds == {"python", "duckdb"}
    assert bronze.raw_orders.partitions_def == bronze.daily_partitions
    assert bronze.raw_order_items.partitions_def == bronze.daily_partitions
    assert bronze.raw_customers.partitions_def is None
    assert bronze.raw_products.partitions_def is None


def test_materializing_a_partition_writes_every_bronze_table(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    result = materialize_bronze("2024-01-05")

    assert result.success
    assert warehouse.exists()
    row_counts = {
        event.materialization.asset_key.path[-1]: event.materialization.metadata["dagster/row_count"].value
        for event in result.get_asset_materialization_events()
    }
    expected = {
        "raw_customers": synthetic.CUSTOMER_COUNT,
        "raw_products": synthetic.PRODUCT_COUNT,
        "raw_orders": len(synthetic.orders(date(2024, 1, 5))),
        "raw_order_items": len(synthetic.order_items(date(2024, 1, 5))),
    }
    assert row_counts == expected
    for table, count in expected.items():
        assert _count(warehouse, f"SELECT count(*) FROM bronze.{table}") == count
    low, high = synthetic.ORDERS_PER_DAY
    assert low <= expected["raw_orders"] <= high
    assert expected["raw_order_items"] >= expected["raw_orders"]


def test_materialization_metadata_names_the_table_and_its_columns(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    result = materialize_bronze("2024-01-05")

    materializations = [event.materialization for event in result.get_asset_materialization_events()]
    events = {materialization.asset_key.path[-1]: materialization for materialization in materializations}
    orders = events["raw_orders"]
    assert orders.partition == "2024-01-05"
    assert orders.metadata["dagster/table_name"].value == "warehouse.bronze.raw_orders"
    assert orders.metadata["dagster/partition_row_count"].value == orders.metadata["dagster/row_count"].value
    assert orders.metadata["warehouse"].value == str(warehouse)
    schema = orders.metadata["dagster/column_schema"].value
    assert isinstance(schema, TableSchema)
    columns = [column.name for column in schema.columns]
    assert columns == [column.name for column in synthetic.RAW_ORDERS.columns]
    assert "dagster/partition_row_count" not in events["raw_customers"].metadata


def test_rematerializing_a_partition_gives_identical_rows_without_duplicates(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    queries = [
        f"SELECT * FROM {t.qualified_name} ORDER BY 1"
        for t in (synthetic.RAW_CUSTOMERS, synthetic.RAW_PRODUCTS, synthetic.RAW_ORDERS, synthetic.RAW_ORDER_ITEMS)
    ]

    materialize_bronze("2024-01-05")
    first = [_rows(warehouse, sql) for sql in queries]
    materialize_bronze("2024-01-05")
    second = [_rows(warehouse, sql) for sql in queries]

    assert first == second
    assert _count(warehouse, "SELECT count(*) - count(DISTINCT order_id) FROM bronze.raw_orders") == 0
    assert _count(warehouse, "SELECT count(*) - count(DISTINCT order_item_id) FROM bronze.raw_order_items") == 0


def test_rematerializing_one_partition_leaves_the_others_untouched(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    materialize_bronze("2024-01-01")
    materialize_bronze("2024-01-02")
    per_day_sql = "SELECT order_date, count(*) FROM bronze.raw_orders GROUP BY 1 ORDER BY 1"
    before = _rows(warehouse, per_day_sql)

    materialize_bronze("2024-01-01")

    assert _rows(warehouse, per_day_sql) == before
    assert [day for day, _ in before] == [date(2024, 1, 1), date(2024, 1, 2)]


def test_a_partition_range_run_writes_each_day_of_the_range(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    result = materialize_bronze(tags={RANGE_START_TAG: "2024-02-01", RANGE_END_TAG: "2024-02-03"})

    assert result.success
    days = [day for (day,) in _rows(warehouse, "SELECT DISTINCT order_date FROM bronze.raw_orders ORDER BY 1")]
    expected_days = [date(2024, 2, 1), date(2024, 2, 2), date(2024, 2, 3)]
    assert days == expected_days
    expected_items = sum(len(synthetic.order_items(day)) for day in expected_days)
    assert _count(warehouse, "SELECT count(*) FROM bronze.raw_order_items") == expected_items


def test_raw_orders_and_items_reference_existing_rows(warehouse: Path, materialize_bronze: MaterializeBronze) -> None:
    materialize_bronze("2024-01-05")

    orphans = """
        SELECT
            (SELECT count(*) FROM bronze.raw_orders o ANTI JOIN bronze.raw_customers c USING (customer_id)),
            (SELECT count(*) FROM bronze.raw_order_items i ANTI JOIN bronze.raw_orders o USING (order_id)),
            (SELECT count(*) FROM bronze.raw_order_items i ANTI JOIN bronze.raw_products p USING (product_id)),
            (SELECT count(*) FROM bronze.raw_orders o ANTI JOIN bronze.raw_order_items i USING (order_id))
    """
    assert _rows(warehouse, orphans) == [(0, 0, 0, 0)]


def test_generators_are_deterministic_per_day() -> None:
    day = date(2024, 3, 1)

    assert synthetic.orders(day) == synthetic.orders(day)
    assert synthetic.order_items(day) == synthetic.order_items(day)
    assert synthetic.customers() == synthetic.customers()
    assert synthetic.orders(day) != synthetic.orders(date(2024, 3, 2))
    assert all(order[2] == day for order in synthetic.orders(day))


def test_warehouse_defaults_to_demo_floe_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WAREHOUSE_ENV, raising=False)

    assert warehouse_path() == DEFAULT_WAREHOUSE == DEMO_DIR / ".floe" / "warehouse.duckdb"


def test_warehouse_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(WAREHOUSE_ENV, str(tmp_path / "w.duckdb"))

    assert warehouse_path() == tmp_path / "w.duckdb"


def test_relative_warehouse_path_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAREHOUSE_ENV, "relative/warehouse.duckdb")

    with pytest.raises(ValueError, match="absolute path"):
        warehouse_path()
