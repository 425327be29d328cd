from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
from dagster_dbt import DagsterDbtTranslator
from demo.assets import bronze, synthetic

STAGING = {"stg_customers", "stg_orders", "stg_products", "stg_order_items"}
MARTS = {"customer_orders", "revenue_by_product"}


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def test_dbt_build_succeeds_with_every_test_passing(dbt_build: Any) -> None:
    assert dbt_build.process.returncode == 0, dbt_build.process.stdout[-4000:] + dbt_build.process.stderr[-4000:]
    results = dbt_build.run_results()["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    models = {uid for uid in statuses if uid.startswith("model.")}
    tests = {uid for uid in statuses if uid.startswith("test.")}
    assert len(models) == 6
    assert len(tests) >= 40
    assert {statuses[uid] for uid in models} == {"success"}
    assert {statuses[uid] for uid in tests} == {"pass"}


def test_every_model_exists_in_its_medallion_schema(dbt_build: Any) -> None:
    with duckdb.connect(str(dbt_build.warehouse), read_only=True) as con:
        relations = {
            (schema, name): kind
            for schema, name, kind in con.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_schema IN ('silver', 'gold')"
            ).fetchall()
        }

    assert relations == {
        **{("silver", name): "VIEW" for name in STAGING},
        **{("gold", name): "BASE TABLE" for name in MARTS},
    }


def test_documented_columns_and_types_match_the_warehouse(dbt_build: Any) -> None:
    with duckdb.connect(str(dbt_build.warehouse), read_only=True) as con:
        actual = {
            (schema, table, column): data_type.lower()
            for schema, table, column, data_type in con.execute(
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema IN ('silver', 'gold')"
            ).fetchall()
        }

    documented = {
        (model["schema"], name, column): spec["data_type"].replace(" ", "").lower()
        for name, model in _models(dbt_build.manifest()).items()
        for column, spec in model["columns"].items()
    }
    assert documented == actual
    for model in _models(dbt_build.manifest()).values():
        assert model["description"]
        assert all(column["description"] for column in model["columns"].values())


def test_gold_revenue_matches_the_bronze_data(dbt_build: Any) -> None:
    days = [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    revenue_orders = {
        order[0] for day in days for order in synthetic.orders(day) if order[4].lower() not in {"cancelled", "returned"}
    }
    expected = sum(
        (item[3] * item[4] for day in days for item in synthetic.order_items(day) if item[1] in revenue_orders),
        Decimal(0),
    )

    with duckdb.connect(str(dbt_build.warehouse), read_only=True) as con:
        by_product = con.execute("SELECT sum(revenue) FROM gold.revenue_by_product").fetchone()
        by_customer = con.execute("SELECT sum(lifetime_value), count(*) FROM gold.customer_orders").fetchone()

    assert by_product is not None
    assert by_customer is not None
    assert by_product[0] == expected
    assert by_customer == (expected, synthetic.CUSTOMER_COUNT)


def test_dbt_sources_map_to_the_bronze_asset_keys(dbt_build: Any) -> None:
    translator = DagsterDbtTranslator()
    sources = {
        source["name"]: translator.get_asset_key(source)
        for source in dbt_build.manifest()["sources"].values()
        if source["source_name"] == "bronze"
    }

    assert sources == {
        "raw_customers": bronze.raw_customers.key,
        "raw_products": bronze.raw_products.key,
        "raw_orders": bronze.raw_orders.key,
        "raw_order_items": bronze.raw_order_items.key,
    }


def test_models_get_silver_and_gold_asset_keys_and_groups(dbt_build: Any) -> None:
    translator = DagsterDbtTranslator()
    models = _models(dbt_build.manifest())

    assert {translator.get_asset_key(m).to_user_string(): translator.get_group_name(m) for m in models.values()} == {
        **{f"silver/{name}": "silver" for name in STAGING},
        **{f"gold/{name}": "gold" for name in MARTS},
    }
