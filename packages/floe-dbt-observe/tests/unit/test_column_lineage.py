"""Column lineage through CTE chains: per-column mappings with their transformations, dataset-level INDIRECT."""

from __future__ import annotations

from floe_dbt_observe.column_lineage import SourceColumn, compute_column_lineage

SQL = """
with orders as (select * from "db"."main"."stg_orders"),
payments as (select * from "db"."main"."stg_payments"),
joined as (
    select o.customer_id, sum(p.amount) as revenue, md5(o.email) as email_hash
    from orders o join payments p on p.order_id = o.order_id
    where o.status = 'done'
    group by o.customer_id, o.email
)
select customer_id, revenue, email_hash from joined
"""
PARTS = {"db.main.stg_orders": ("db", "main", "stg_orders"), "db.main.stg_payments": ("db", "main", "stg_payments")}
COLUMNS = {
    "db.main.stg_orders": {"order_id": "integer", "customer_id": "integer", "email": "varchar", "status": "varchar"},
    "db.main.stg_payments": {"order_id": "integer", "amount": "double"},
}
ORDERS, PAYMENTS = "db.main.stg_orders", "db.main.stg_payments"


def test_lineage_follows_select_star_ctes_with_transformation_types() -> None:
    assert compute_column_lineage(SQL, "duckdb", COLUMNS, PARTS).fields == {
        "customer_id": [SourceColumn(ORDERS, "customer_id", "DIRECT", "IDENTITY")],
        "revenue": [SourceColumn(PAYMENTS, "amount", "DIRECT", "AGGREGATION")],
        "email_hash": [SourceColumn(ORDERS, "email", "DIRECT", "TRANSFORMATION", masking=True)],
    }


def test_joins_filters_and_group_by_are_dataset_level_indirect_lineage() -> None:
    assert compute_column_lineage(SQL, "duckdb", COLUMNS, PARTS).dataset == sorted(
        [
            SourceColumn(ORDERS, "customer_id", "INDIRECT", "GROUP_BY"),
            SourceColumn(ORDERS, "email", "INDIRECT", "GROUP_BY"),
            SourceColumn(ORDERS, "order_id", "INDIRECT", "JOIN"),
            SourceColumn(PAYMENTS, "order_id", "INDIRECT", "JOIN"),
            SourceColumn(ORDERS, "status", "INDIRECT", "FILTER"),
        ]
    )


def test_a_column_read_only_by_a_case_condition_is_indirect_conditional() -> None:
    sql = 'select sum(case when kind = \'a\' then amount else 0 end) as a_amount from "db"."main"."stg_payments"'
    columns = {PAYMENTS: {"kind": "varchar", "amount": "double"}}
    assert compute_column_lineage(sql, "duckdb", columns, PARTS).fields == {
        "a_amount": [
            SourceColumn(PAYMENTS, "amount", "DIRECT", "AGGREGATION"),
            SourceColumn(PAYMENTS, "kind", "INDIRECT", "CONDITIONAL"),
        ]
    }


def test_unknown_parent_columns_give_no_guess_and_say_why() -> None:
    result = compute_column_lineage(SQL, "duckdb", {}, PARTS)
    assert result.fields == {}
    assert result.error is not None


def test_unparseable_sql_gives_nothing_and_says_why() -> None:
    result = compute_column_lineage("select from where (", "duckdb", COLUMNS, PARTS)
    assert result.fields == {}
    assert result.error
