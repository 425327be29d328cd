from __future__ import annotations

import dagster as dg
import pytest

from floe_config.asset_patterns import MultiRunBackfill, OnCronCondition
from floe_config.floe_spec import OrchestrationConfig
from floe_loaders.asset_settings import resolve_asset_settings


def _orchestration(assets: dict) -> OrchestrationConfig:
    return OrchestrationConfig.model_validate({"assets": assets})


def test_no_matching_pattern_gives_empty_settings() -> None:
    settings = resolve_asset_settings("bronze/raw_orders", _orchestration({"gold/*": {"group_name": "gold"}}))
    assert settings.is_empty
    assert settings.matched_patterns == ()


def test_single_star_stays_within_one_segment() -> None:
    orchestration = _orchestration({"gold/*": {"group_name": "gold"}})
    assert resolve_asset_settings("gold/revenue", orchestration).group_name == "gold"
    assert resolve_asset_settings("gold/marts/revenue", orchestration).is_empty


def test_double_star_crosses_segments() -> None:
    orchestration = _orchestration({"gold/**": {"group_name": "gold"}})
    assert resolve_asset_settings("gold/marts/revenue", orchestration).group_name == "gold"


def test_question_mark_and_character_class() -> None:
    orchestration = _orchestration({"raw_?/[ab]*": {"owners": ["team:x"]}})
    assert resolve_asset_settings("raw_1/alpha", orchestration).owners == ("team:x",)
    assert resolve_asset_settings("raw_1/gamma", orchestration).is_empty


def test_accepts_asset_key_objects_and_path_lists() -> None:
    orchestration = _orchestration({"gold/*": {"group_name": "gold"}})
    assert resolve_asset_settings(dg.AssetKey(["gold", "x"]), orchestration).key == "gold/x"
    assert resolve_asset_settings(["gold", "x"], orchestration).group_name == "gold"


def test_fewer_wildcards_win_per_field() -> None:
    orchestration = _orchestration(
        {
            "gold/weekly_*": {"automation_condition": {"type": "on_cron", "cron_schedule": "0 9 * * 1"}},
            "**": {"automation_condition": "eager", "owners": ["team:data"]},
        }
    )
    settings = resolve_asset_settings("gold/weekly_revenue", orchestration)
    assert isinstance(settings.automation_condition, OnCronCondition)
    assert settings.sources["automation_condition"] == "gold/weekly_*"
    # a field only the general pattern sets still comes from it
    assert settings.owners == ("team:data",)
    assert settings.sources["owners"] == "**"


def test_longer_literal_prefix_wins_at_equal_wildcards() -> None:
    orchestration = _orchestration(
        {
            "gold/weekly_*": {"group_name": "weekly"},
            "gold/*": {"group_name": "gold"},
        }
    )
    settings = resolve_asset_settings("gold/weekly_revenue", orchestration)
    assert settings.group_name == "weekly"
    assert settings.matched_patterns == ("gold/*", "gold/weekly_*")


def test_exact_key_beats_every_glob() -> None:
    orchestration = _orchestration(
        {
            "bronze/raw_orders": {"partitions": "daily"},
            "bronze/raw_*": {"partitions": "hourly"},
        }
    )
    assert resolve_asset_settings("bronze/raw_orders", orchestration).partitions == "daily"


def test_ties_go_to_the_later_entry() -> None:
    orchestration = _orchestration(
        {
            "gold/*": {"description": "first"},
            "*/revenue": {"description": "third"},
        }
    )
    # 'gold/*' and '*/revenue' both have one wildcard; 'gold/' is the longer literal prefix
    assert resolve_asset_settings("gold/revenue", orchestration).description == "first"
    # 'gold/*' and 'gold/*e': one wildcard and the same literal prefix each -> the later entry wins
    later = _orchestration({"gold/*": {"description": "first"}, "gold/*e": {"description": "later"}})
    assert resolve_asset_settings("gold/revenue", later).description == "later"
    reversed_order = _orchestration({"gold/*e": {"description": "later"}, "gold/*": {"description": "first"}})
    assert resolve_asset_settings("gold/revenue", reversed_order).description == "first"


def test_tags_merge_per_tag_key_with_most_specific_winning() -> None:
    orchestration = _orchestration(
        {
            "**": {"tags": {"team": "data", "tier": "any"}},
            "gold/*": {"tags": {"tier": "gold"}},
        }
    )
    settings = resolve_asset_settings("gold/revenue", orchestration)
    assert dict(settings.tags) == {"team": "data", "tier": "gold"}
    assert settings.sources["tags.team"] == "**"
    assert settings.sources["tags.tier"] == "gold/*"


def test_backfill_policy_and_sources_reported() -> None:
    orchestration = _orchestration(
        {"bronze/*": {"partitions": "daily", "backfill_policy": {"type": "multi_run", "max_partitions_per_run": 10}}}
    )
    settings = resolve_asset_settings("bronze/raw_orders", orchestration)
    assert settings.backfill_policy == MultiRunBackfill(type="multi_run", max_partitions_per_run=10)
    assert settings.sources == {"partitions": "bronze/*", "backfill_policy": "bronze/*"}


def test_resolution_is_pure_and_repeatable() -> None:
    orchestration = _orchestration({"gold/*": {"group_name": "gold", "kinds": ["dbt"]}})
    first = resolve_asset_settings("gold/a", orchestration)
    assert resolve_asset_settings("gold/a", orchestration) == first
    assert orchestration.assets["gold/*"].kinds == ["dbt"]


@pytest.mark.parametrize("key", ["gold/re.venue", "gold/re+venue"])
def test_regex_metacharacters_in_patterns_are_literal(key: str) -> None:
    orchestration = _orchestration({key: {"group_name": "exact"}})
    assert resolve_asset_settings(key, orchestration).group_name == "exact"
    assert resolve_asset_settings("gold/reXvenue", orchestration).is_empty
