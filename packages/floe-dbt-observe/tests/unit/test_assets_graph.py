"""Asset keys, groups, dependencies, checks and splitting, from the parsed fixture manifest (no dbt run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dbt_harness import FIXTURE_ASSETS

from floe_dbt_observe import DbtAssetSettings, DefinitionOptions, FloeDbtTranslator, _compat, build_dbt_assets
from floe_dbt_observe.errors import EmptySelectionError, InvalidAssetSettingsError

GROUPS = {"staging": "silver", "marts": "gold"}


def _build(project: Path, **kwargs: Any) -> list[dg.AssetsDefinition]:
    kwargs.setdefault("translator", FloeDbtTranslator(folder_groups=GROUPS))
    return build_dbt_assets(project, **kwargs)


def _groups(defs: list[dg.AssetsDefinition]) -> dict[str, str]:
    return {key.to_user_string(): group for d in defs for key, group in d.group_names_by_key.items()}


def test_every_model_seed_and_snapshot_is_its_own_asset(parsed_project: Path) -> None:
    (definition,) = _build(parsed_project)
    assert {key.to_user_string() for key in definition.keys} == FIXTURE_ASSETS


def test_groups_come_from_meta_else_mapped_folder(parsed_project: Path) -> None:
    groups = _groups(_build(parsed_project))
    assert groups["stg_orders"] == "silver"
    assert groups["customer_orders"] == "gold"
    assert groups["country_revenue"] == "reporting"  # meta.dagster.group wins
    assert groups["country_codes"] == "seeds"


def test_sources_map_to_upstream_asset_keys(parsed_project: Path) -> None:
    (definition,) = _build(parsed_project)
    deps = {k.to_user_string(): {d.to_user_string() for d in v} for k, v in definition.asset_deps.items()}
    assert deps["stg_orders"] == {"bronze/raw_orders"}  # meta.dagster.asset_key
    assert deps["stg_customers"] == {"raw/customers"}  # dagster-dbt convention
    assert deps["customer_orders"] == {"stg_orders", "stg_payments", "stg_customers"}


def test_source_key_prefix_is_configurable(parsed_project: Path) -> None:
    translator = FloeDbtTranslator(folder_groups=GROUPS, source_key_prefix=["bronze"])
    (definition,) = _build(parsed_project, translator=translator)
    deps = {k.to_user_string(): {d.to_user_string() for d in v} for k, v in definition.asset_deps.items()}
    assert deps["stg_customers"] == {"bronze/customers"}


def test_dbt_tests_are_asset_checks(parsed_project: Path) -> None:
    (definition,) = _build(parsed_project)
    checks = {(c.asset_key.to_user_string(), c.name) for c in definition.check_keys}
    assert ("stg_orders", "unique_stg_orders_order_id") in checks
    assert ("customer_orders", "not_null_customer_orders_customer_id") in checks
    assert len(checks) == 8


def test_split_by_group_gives_one_definition_per_group_selecting_its_nodes(parsed_project: Path) -> None:
    defs = _build(parsed_project, definitions=DefinitionOptions(split_by="group"))
    by_name = {d.node_def.name: d for d in defs}
    assert set(by_name) == {
        "floe_fixture_dbt_silver",
        "floe_fixture_dbt_gold",
        "floe_fixture_dbt_reporting",
        "floe_fixture_dbt_seeds",
        "floe_fixture_dbt_snapshots",
    }
    gold = by_name["floe_fixture_dbt_gold"]
    assert {k.to_user_string() for k in gold.keys} == {"customer_orders"}
    assert gold.op.tags[_compat.dbt_metadata_keys().select] == "fqn:floe_fixture.marts.customer_orders"
    assert {c.name for c in gold.check_keys} == {
        "not_null_customer_orders_customer_id",
        "unique_customer_orders_customer_id",
    }


def test_chunks_never_exceed_the_limit(parsed_project: Path) -> None:
    defs = _build(parsed_project, definitions=DefinitionOptions(split_by="group", max_assets_per_definition=1))
    assert len(defs) == 8
    assert all(len(d.keys) == 1 for d in defs)


def test_small_projects_stay_in_one_definition_with_the_callers_selection(parsed_project: Path) -> None:
    (definition,) = _build(parsed_project, select="fqn:*", definitions=DefinitionOptions(max_assets_per_definition=100))
    assert definition.op.tags[_compat.dbt_metadata_keys().select] == "fqn:*"


def test_per_asset_settings_split_partitions_and_set_automation(parsed_project: Path) -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")
    eager = dg.AutomationCondition.eager()
    settings = {
        dg.AssetKey("stg_orders"): DbtAssetSettings(partitions_def=daily),
        dg.AssetKey("customer_orders"): DbtAssetSettings(automation_condition=eager),
    }
    defs = _build(parsed_project, definitions=DefinitionOptions(asset_settings=settings))
    assert len(defs) == 2
    (partitioned,) = [d for d in defs if d.partitions_def is not None]
    assert {k.to_user_string() for k in partitioned.keys} == {"stg_orders"}
    assert partitioned.backfill_policy == dg.BackfillPolicy.single_run()
    (other,) = [d for d in defs if d.partitions_def is None]
    assert other.automation_conditions_by_key[dg.AssetKey("customer_orders")] == eager


def test_settings_callable_receives_key_and_node(parsed_project: Path) -> None:
    seen: dict[str, str] = {}

    def settings(key: dg.AssetKey, node: Any) -> DbtAssetSettings | None:
        seen[key.to_user_string()] = node["resource_type"]
        return None

    _build(parsed_project, definitions=DefinitionOptions(asset_settings=settings))
    assert seen["country_codes"] == "seed"
    assert seen["stg_orders"] == "model"


def test_settings_for_unknown_assets_are_rejected(parsed_project: Path) -> None:
    with pytest.raises(InvalidAssetSettingsError, match="nope"):
        _build(parsed_project, definitions=DefinitionOptions(asset_settings={dg.AssetKey("nope"): DbtAssetSettings()}))


def test_empty_selection_is_an_error(parsed_project: Path) -> None:
    with pytest.raises(EmptySelectionError, match="tag:nothing"):
        _build(parsed_project, select="tag:nothing")


def test_definitions_load_with_the_assets(parsed_project: Path) -> None:
    defs = dg.Definitions(assets=_build(parsed_project, definitions=DefinitionOptions(split_by="group")))
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("customer_orders") in graph.get_all_asset_keys()
