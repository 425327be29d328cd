from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from floe_config.floe_spec import OrchestrationConfig
from floe_loaders import load_asset_modules
from floe_loaders.asset_patterns import apply_asset_patterns
from floe_loaders.errors import AssetPatternError
from floe_loaders.partitions import build_partitions

MODULES = [".shop_assets.bronze", ".shop_assets.silver_gold"]
DAILY = {"type": "daily", "start": "2024-01-01", "end": "2024-12-31"}


def _apply(sample_dir: Path, assets: dict, partitions: dict | None = None, locate=None):
    orchestration = OrchestrationConfig.model_validate(
        {"asset_modules": MODULES, "partitions": partitions or {"daily": DAILY}, "assets": assets}
    )
    loaded = load_asset_modules(MODULES, sample_dir)
    kwargs = {"locate": locate} if locate else {}
    mapped, warnings = apply_asset_patterns(
        list(loaded.assets), orchestration, build_partitions(orchestration), **kwargs
    )
    return mapped, warnings


def _spec(assets, key: str) -> dg.AssetSpec:
    wanted = dg.AssetKey(key.split("/"))
    for obj in assets:
        if isinstance(obj, dg.AssetsDefinition) and wanted in obj.keys:
            return obj.specs_by_key[wanted]
        if isinstance(obj, dg.AssetSpec) and obj.key == wanted:
            return obj
    raise AssertionError(key)


def _def(assets, key: str) -> dg.AssetsDefinition:
    wanted = dg.AssetKey(key.split("/"))
    return next(o for o in assets if isinstance(o, dg.AssetsDefinition) and wanted in o.keys)


def test_partitions_pattern_makes_a_materializable_partitioned_asset(sample_dir: Path, instance) -> None:
    mapped, warnings = _apply(sample_dir, {"bronze/raw_orders": {"partitions": "daily"}})
    assert warnings == []
    raw_orders = _def(mapped, "bronze/raw_orders")
    assert isinstance(raw_orders.partitions_def, dg.DailyPartitionsDefinition)
    result = dg.materialize([raw_orders], partition_key="2024-03-05", instance=instance)
    assert result.success
    assert instance.get_materialized_partitions(dg.AssetKey(["bronze", "raw_orders"])) == {"2024-03-05"}


def test_automation_conditions_from_patterns(sample_dir: Path) -> None:
    mapped, _ = _apply(
        sample_dir,
        {
            "gold/*": {"automation_condition": "eager"},
            "gold/weekly_*": {"automation_condition": {"type": "on_cron", "cron_schedule": "0 9 * * 1"}},
            "silver/customers": {"automation_condition": {"type": "on_missing"}},
        },
    )
    assert _spec(mapped, "gold/revenue").automation_condition == dg.AutomationCondition.eager()
    assert _spec(mapped, "gold/weekly_revenue").automation_condition == dg.AutomationCondition.on_cron(
        "0 9 * * 1", "UTC"
    )
    assert _spec(mapped, "silver/customers").automation_condition == dg.AutomationCondition.on_missing()
    assert _spec(mapped, "silver/orders").automation_condition is None


def test_descriptive_fields_replace_or_merge_with_the_assets_own(sample_dir: Path) -> None:
    mapped, _ = _apply(
        sample_dir,
        {
            "bronze/*": {
                "group_name": "landing",
                "kinds": ["csv"],
                "tags": {"pii": "yes"},
                "owners": ["team:ops", "team:data"],
                "description": "Landed data.",
            },
            "external/*": {"group_name": "erp"},
        },
    )
    spec = _spec(mapped, "bronze/raw_orders")
    assert spec.group_name == "landing"
    assert spec.description == "Landed data."
    assert spec.kinds == {"python", "duckdb", "csv"}
    assert spec.tags["layer"] == "bronze"
    assert spec.tags["pii"] == "yes"
    assert spec.owners == ["team:data", "ana@example.com", "team:ops"]
    assert spec.metadata == {"source": "shop", "rows_expected": 3}
    assert _spec(mapped, "external/erp_orders").group_name == "erp"


def test_backfill_policy_is_set_on_the_assets_definition(sample_dir: Path) -> None:
    mapped, _ = _apply(
        sample_dir,
        {
            "bronze/raw_orders": {
                "partitions": "daily",
                "backfill_policy": {"type": "multi_run", "max_partitions_per_run": 7},
            },
            "silver/*": {"backfill_policy": {"type": "single_run"}},
        },
    )
    assert _def(mapped, "bronze/raw_orders").backfill_policy == dg.BackfillPolicy.multi_run(7)
    assert _def(mapped, "silver/orders").backfill_policy == dg.BackfillPolicy.single_run()


def test_untouched_assets_are_the_same_objects(sample_dir: Path) -> None:
    loaded = load_asset_modules(MODULES, sample_dir)
    mapped, _ = _apply(sample_dir, {"gold/*": {"group_name": "g"}})
    untouched = _def(mapped, "bronze/raw_orders")
    assert untouched is next(
        o
        for o in loaded.assets
        if isinstance(o, dg.AssetsDefinition) and dg.AssetKey(["bronze", "raw_orders"]) in o.keys
    )


def test_pattern_matching_nothing_is_a_located_warning(sample_dir: Path, locate) -> None:
    _, warnings = _apply(sample_dir, {"platinum/*": {"group_name": "p"}, "gold/*": {"group_name": "g"}}, locate=locate)
    assert [w.path for w in warnings] == ["orchestration.assets.platinum/*"]
    assert warnings[0].location == locate("orchestration.assets.platinum/*")
    assert "matches no asset" in str(warnings[0])


def test_pattern_matching_nothing_suggests_the_key_meant(sample_dir: Path) -> None:
    _, warnings = _apply(sample_dir, {"bronze/raw_orderz": {"group_name": "b"}})
    assert [w.path for w in warnings] == ["orchestration.assets.bronze/raw_orderz"]
    assert "asset pattern 'bronze/raw_orderz' matches no asset (did you mean 'bronze/raw_orders'?)" in str(warnings[0])


def test_unknown_partitions_name_is_an_error(sample_dir: Path) -> None:
    with pytest.raises(AssetPatternError, match="unknown partitions 'dayly'") as info:
        _apply(sample_dir, {"bronze/*": {"partitions": "dayly"}})
    assert info.value.path == "orchestration.assets.bronze/*.partitions"


def test_multi_asset_keys_with_different_partitions_is_an_error(sample_dir: Path) -> None:
    with pytest.raises(AssetPatternError, match="one multi-asset"):
        _apply(sample_dir, {"silver/orders": {"partitions": "daily"}})


def test_multi_asset_keys_with_the_same_partitions_materialize(sample_dir: Path, instance) -> None:
    mapped, _ = _apply(sample_dir, {"silver/*": {"partitions": "daily"}})
    silver = _def(mapped, "silver/orders")
    assert silver.partitions_def == dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-12-31")
    assert dg.materialize([silver], partition_key="2024-02-01", instance=instance).success
