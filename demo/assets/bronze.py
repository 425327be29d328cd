"""Bronze assets: deterministic synthetic raw e-commerce data written into the DuckDB warehouse.

Four assets in group ``bronze`` with keys ``bronze/raw_customers``, ``bronze/raw_products``, ``bronze/raw_orders``
and ``bronze/raw_order_items``; each writes the table of the same name in the warehouse's ``bronze`` schema, which
the dbt source ``bronze`` reads. Orders and order items are daily-partitioned: a run replaces exactly its
partitions (delete, then insert, in one transaction), so re-running a partition is idempotent.

No ``from __future__ import annotations`` here: Dagster checks the ``context`` annotation against the real class.
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
from dagster import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from . import synthetic
from .synthetic import RAW_CUSTOMERS, RAW_ORDER_ITEMS, RAW_ORDERS, RAW_PRODUCTS, RawTable
from .warehouse import connect, warehouse_path

daily_partitions = DailyPartitionsDefinition(start_date="2024-01-01")
"""One partition per order day, from 2024-01-01."""

_KINDS = {"python", "duckdb"}
_INSERT_CHUNK = 500


def _create_table(con: duckdb.DuckDBPyConnection, table: RawTable, *, replace: bool) -> None:
    """Create ``table`` in the ``bronze`` schema (replacing it when ``replace``)."""
    columns = ", ".join(f"{column.name} {column.type}" for column in table.columns)
    verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
    con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
    con.execute(f"{verb} {table.qualified_name} ({columns})")


def _insert(con: duckdb.DuckDBPyConnection, table: RawTable, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert ``rows`` with multi-row ``VALUES`` statements (much faster than ``executemany`` in DuckDB)."""
    placeholder = "(" + ", ".join("?" for _ in table.columns) + ")"
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        values = ", ".join(placeholder for _ in chunk)
        con.execute(f"INSERT INTO {table.qualified_name} VALUES {values}", [v for row in chunk for v in row])


def _result(
    con: duckdb.DuckDBPyConnection, table: RawTable, *, partition_row_count: int | None = None
) -> MaterializeResult[None]:
    """Describe the table just written: row counts, fully qualified name, column schema, warehouse file."""
    fetched = con.execute(f"SELECT current_database(), count(*) FROM {table.qualified_name}").fetchone()
    assert fetched is not None  # an aggregate always returns one row
    database, row_count = str(fetched[0]), int(fetched[1])
    metadata: dict[str, MetadataValue[Any]] = {
        "dagster/table_name": MetadataValue.text(f"{database}.{table.qualified_name}"),
        "dagster/row_count": MetadataValue.int(row_count),
        "dagster/column_schema": MetadataValue.table_schema(
            TableSchema(columns=[TableColumn(c.name, c.type.lower(), description=c.description) for c in table.columns])
        ),
        "warehouse": MetadataValue.path(str(warehouse_path())),
    }
    if partition_row_count is not None:
        metadata["dagster/partition_row_count"] = MetadataValue.int(partition_row_count)
    return MaterializeResult(metadata=metadata)


def _replace_table(table: RawTable, rows: Sequence[tuple[object, ...]]) -> MaterializeResult[None]:
    """Rewrite an unpartitioned table with ``rows`` in one transaction."""
    with connect() as con:
        con.begin()
        _create_table(con, table, replace=True)
        _insert(con, table, rows)
        con.commit()
        return _result(con, table)


def _replace_partitions(
    context: AssetExecutionContext, table: RawTable, rows_for_day: dict[date, Sequence[tuple[object, ...]]]
) -> MaterializeResult[None]:
    """Replace the rows of each day in ``rows_for_day`` (delete, then insert) in one transaction."""
    with connect() as con:
        _create_table(con, table, replace=False)
        con.begin()
        written = 0
        for day, rows in rows_for_day.items():
            con.execute(f"DELETE FROM {table.qualified_name} WHERE order_date = ?", [day])
            _insert(con, table, rows)
            written += len(rows)
        con.commit()
        context.log.info(f"{table.qualified_name}: wrote {written} rows for {len(rows_for_day)} partition(s)")
        return _result(con, table, partition_row_count=written)


def _partition_days(context: AssetExecutionContext) -> list[date]:
    """Return the days this run materializes: one partition, or each one of a partition range (backfills)."""
    return [date.fromisoformat(key) for key in context.partition_keys]


@asset(
    key_prefix=["bronze"],
    name="raw_customers",
    group_name="bronze",
    kinds=_KINDS,
    description=RAW_CUSTOMERS.description,
)
def raw_customers() -> MaterializeResult[None]:
    """Write the fixed set of synthetic customers to ``bronze.raw_customers``."""
    return _replace_table(RAW_CUSTOMERS, synthetic.customers())


@asset(
    key_prefix=["bronze"],
    name="raw_products",
    group_name="bronze",
    kinds=_KINDS,
    description=RAW_PRODUCTS.description,
)
def raw_products() -> MaterializeResult[None]:
    """Write the synthetic product catalogue to ``bronze.raw_products``."""
    return _replace_table(RAW_PRODUCTS, synthetic.products())


@asset(
    key_prefix=["bronze"],
    name="raw_orders",
    group_name="bronze",
    kinds=_KINDS,
    description=RAW_ORDERS.description,
    partitions_def=daily_partitions,
    deps=[raw_customers],
)
def raw_orders(context: AssetExecutionContext) -> MaterializeResult[None]:
    """Replace this run's daily partitions of ``bronze.raw_orders``."""
    return _replace_partitions(context, RAW_ORDERS, {day: synthetic.orders(day) for day in _partition_days(context)})


@asset(
    key_prefix=["bronze"],
    name="raw_order_items",
    group_name="bronze",
    kinds=_KINDS,
    description=RAW_ORDER_ITEMS.description,
    partitions_def=daily_partitions,
    deps=[raw_orders, raw_products],
)
def raw_order_items(context: AssetExecutionContext) -> MaterializeResult[None]:
    """Replace this run's daily partitions of ``bronze.raw_order_items``."""
    return _replace_partitions(
        context, RAW_ORDER_ITEMS, {day: synthetic.order_items(day) for day in _partition_days(context)}
    )
