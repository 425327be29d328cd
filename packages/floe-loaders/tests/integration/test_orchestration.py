from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from floe_loaders import build_orchestration
from floe_loaders.asset_settings import resolve_asset_settings
from floe_loaders.errors import DuplicateDefinitionError

DAILY = {"type": "daily", "start": "2024-01-01", "end": "2024-12-31"}


@dg.multi_asset(specs=[dg.AssetSpec(["gold", "dbt_orders"], kinds={"dbt"}), dg.AssetSpec(["gold", "dbt_customers"])])
def dbt_like_assets():
    yield dg.MaterializeResult(asset_key=["gold", "dbt_orders"])
    yield dg.MaterializeResult(asset_key=["gold", "dbt_customers"])


def test_full_orchestration_builds_valid_definitions(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        partitions={"daily": DAILY},
        assets={"bronze/raw_orders": {"partitions": "daily"}, "gold/*": {"group_name": "gold"}},
        jobs={
            "seed_bronze": {"type": "batch", "selection": ['key:"bronze/raw_orders"']},
            "transform": {"type": "batch", "selection": ["group:silver", "group:gold"]},
            "maintenance": {
                "type": "ops",
                "target_function": ".shop_assets.ops:vacuum",
                "args": {"retention_days": 30},
            },
        },
        schedules={"nightly": {"job": "transform", "cron_schedule": "0 6 * * *", "timezone": "Europe/Paris"}},
        sensors={"on_bronze": {"type": "asset_sensor", "job": "transform", "watched_assets": ["bronze/raw_orders"]}},
        backfills={"history": {"job": "seed_bronze", "partition_range": {"start": "2024-01-01", "end": "2024-01-31"}}},
    )
    objects = build_orchestration(spec, sample_dir, extra_assets=[dbt_like_assets])
    defs = dg.Definitions(**objects.definitions_args())
    dg.Definitions.validate_loadable(defs)
    assert {s.name for s in objects.schedules} == {"nightly", "hand_schedule"}
    assert {s.name for s in objects.sensors} == {"on_bronze", "hand_sensor"}
    assert objects.warnings == ()
    result = defs.resolve_job_def("transform").execute_in_process(instance=instance)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"gold/dbt_orders", "gold/dbt_customers", "silver/orders"} <= materialized


def test_extra_assets_receive_patterns(make_spec, sample_dir: Path) -> None:
    spec = make_spec(assets={"gold/dbt_*": {"owners": ["team:analytics"]}})
    objects = build_orchestration(spec, sample_dir, extra_assets=[dbt_like_assets])
    mapped = next(
        a
        for a in objects.assets
        if isinstance(a, dg.AssetsDefinition) and dg.AssetKey(["gold", "dbt_orders"]) in a.keys
    )
    assert mapped.specs_by_key[dg.AssetKey(["gold", "dbt_orders"])].owners == ["team:analytics"]
    # the same resolution is available to the dbt builder before it builds
    assert resolve_asset_settings("gold/dbt_orders", spec.orchestration).owners == ("team:analytics",)


def test_automation_condition_plus_schedule_warns_and_keeps_both(make_spec, sample_dir: Path, locate) -> None:
    spec = make_spec(
        assets={"gold/*": {"automation_condition": "eager"}},
        jobs={"transform": {"type": "batch", "selection": ["group:gold"]}},
        schedules={"nightly": {"job": "transform", "cron_schedule": "0 6 * * *"}},
    )
    objects = build_orchestration(spec, sample_dir, locate=locate)
    [warning] = objects.warnings
    assert warning.path == "orchestration.schedules.nightly"
    assert warning.location == locate("orchestration.schedules.nightly")
    assert "gold/revenue" in warning.message
    assert "automation condition decides" in warning.message
    defs = dg.Definitions(**objects.definitions_args())
    assert defs.resolve_schedule_def("nightly") is not None
    revenue = defs.resolve_assets_def(dg.AssetKey(["gold", "revenue"]))
    assert revenue.specs_by_key[dg.AssetKey(["gold", "revenue"])].automation_condition is not None


def test_warnings_are_structured_and_printable(make_spec, sample_dir: Path) -> None:
    objects = build_orchestration(make_spec(assets={"nothing/*": {"group_name": "x"}}), sample_dir)
    [warning] = objects.warnings
    assert str(warning) == (
        "floe.yaml: orchestration.assets.nothing/*: asset pattern 'nothing/*' matches no asset; check the key "
        "(written a/b/c; '*' stays within one segment, '**' crosses segments)"
    )


def test_extra_asset_clashing_with_module_asset_is_an_error(make_spec, sample_dir: Path) -> None:
    @dg.asset(key=["gold", "revenue"])
    def clash() -> None:
        return None

    with pytest.raises(
        DuplicateDefinitionError, match=r"'gold/revenue' is defined in module 'shop_assets\.silver_gold"
    ):
        build_orchestration(make_spec(), sample_dir, extra_assets=[clash])


def test_backfill_batch_size_yields_to_an_explicit_policy_with_a_warning(make_spec, sample_dir: Path) -> None:
    spec = make_spec(
        partitions={"daily": DAILY},
        assets={"bronze/*": {"partitions": "daily", "backfill_policy": {"type": "single_run"}}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        backfills={
            "b": {"job": "seed", "partition_range": {"start": "2024-01-01", "end": "2024-01-31"}, "batch_size": 5}
        },
    )
    objects = build_orchestration(spec, sample_dir)
    assert [w.path for w in objects.warnings] == ["orchestration.backfills.b.batch_size"] * 2
    raw = next(
        a
        for a in objects.assets
        if isinstance(a, dg.AssetsDefinition) and dg.AssetKey(["bronze", "raw_orders"]) in a.keys
    )
    assert raw.backfill_policy == dg.BackfillPolicy.single_run()
