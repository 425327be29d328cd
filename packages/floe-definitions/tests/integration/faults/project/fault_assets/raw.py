"""``raw.numbers``: the numbers 1..10 written into the DuckDB file named by ``FLOE_TEST_WAREHOUSE``."""

import os

import duckdb
from dagster import MaterializeResult, asset


@asset(key=["raw", "numbers"], group_name="raw", kinds={"python", "duckdb"})
def numbers() -> MaterializeResult[None]:
    """Write the numbers 1..10."""
    with duckdb.connect(os.environ["FLOE_TEST_WAREHOUSE"]) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE OR REPLACE TABLE raw.numbers AS SELECT range AS n FROM range(1, 11)")
    return MaterializeResult(metadata={"dagster/row_count": 10})
