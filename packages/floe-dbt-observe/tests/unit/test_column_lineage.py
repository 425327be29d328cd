"""Column lineage through CTE chains, from manifest schemas only."""

from __future__ import annotations

from floe_dbt_observe.column_lineage import compute_column_lineage

SQL = """
with orders as (select * from "db"."main"."stg_orders"),
payments as (select * from "db"."main"."stg_payments"),
joined as (
    select o.customer_id, sum(p.amount) as revenue
    from orders o join payments p on p.order_id = o.order_id
    group by o.customer_id
)
select customer_id, revenue from joined
"""
PARTS = {"db.main.stg_orders": ("db", "main", "stg_orders"), "db.main.stg_payments": ("db", "main", "stg_payments")}
COLUMNS = {
    "db.main.stg_orders": {"order_id": "integer", "customer_id": "integer"},
    "db.main.stg_payments": {"order_id": "integer", "amount": "double"},
}


def test_lineage_follows_select_star_ctes_when_parent_columns_are_known() -> None:
    assert compute_column_lineage(SQL, "duckdb", COLUMNS, PARTS) == {
        "customer_id": [("db.main.stg_orders", "customer_id")],
        "revenue": [("db.main.stg_payments", "amount")],
    }


def test_unknown_parent_columns_give_no_guess() -> None:
    assert compute_column_lineage(SQL, "duckdb", {}, PARTS) == {}


def test_unparseable_sql_gives_nothing() -> None:
    assert compute_column_lineage("select from where (", "duckdb", COLUMNS, PARTS) == {}
