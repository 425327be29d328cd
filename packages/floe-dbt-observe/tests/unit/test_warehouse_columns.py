"""The one ``information_schema.columns`` query floe sends to adapters other than DuckDB, and which adapters get it."""

from __future__ import annotations

from types import SimpleNamespace

from floe_dbt_observe.warehouse_columns import columns_reader, information_schema_query


def test_one_query_reads_every_relation_of_a_database_in_column_order() -> None:
    sql = information_schema_query("shop", [("shop", "Marts", "Orders"), ("shop", "staging", "stg_orders")])
    assert sql == (
        "select table_schema, table_name, column_name, data_type from shop.information_schema.columns"
        " where lower(table_schema) in ('marts', 'staging') and lower(table_name) in ('orders', 'stg_orders')"
        " order by table_schema, table_name, ordinal_position"
    )


def test_the_connections_own_database_is_read_without_a_prefix() -> None:
    sql = information_schema_query("shop", [("shop", "marts", "orders")], qualified=False)
    assert " from information_schema.columns " in sql


def test_odd_database_names_are_quoted_and_literals_escaped() -> None:
    sql = information_schema_query('my-db"x', [("my-db", "o'brien", "t")])
    assert ' from "my-db""x".information_schema.columns ' in sql
    assert "in ('o''brien')" in sql


def test_information_schema_adapters_get_a_reader_and_unknown_ones_none() -> None:
    credentials = SimpleNamespace(host="127.0.0.1", port=5432, database="db", schema="s")
    assert columns_reader("postgres", credentials) is not None
    assert columns_reader("snowflake", credentials) is not None
    assert columns_reader("bigquery", credentials) is None  # per-dataset INFORMATION_SCHEMA: declared columns
    assert columns_reader("postgres", None) is None
