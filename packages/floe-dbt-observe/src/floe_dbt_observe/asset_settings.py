"""Per-asset settings (partitions, backfill policy, automation condition) resolved by asset key.

Callers such as floe-definitions resolve their own patterns and hand a mapping or a callable;
assets with different partitions or backfill policies land in different ``AssetsDefinition``s,
because one Dagster op runs one partitions definition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from dagster import AssetKey, AutomationCondition, BackfillPolicy, PartitionsDefinition

from floe_dbt_observe.errors import InvalidAssetSettingsError


@dataclass(frozen=True)
class DbtAssetSettings:
    """Settings for one dbt asset; None fields fall back to ``build_dbt_assets``'s arguments.

    Attributes:
        partitions_def: Partitions of the asset.
        backfill_policy: Backfill policy of the asset's definition.
        automation_condition: Declarative automation condition of the asset.
    """

    partitions_def: PartitionsDefinition | None = None
    backfill_policy: BackfillPolicy | None = None
    automation_condition: AutomationCondition[Any] | None = None


AssetSettingsSource: TypeAlias = (
    Mapping[AssetKey, DbtAssetSettings] | Callable[[AssetKey, Mapping[str, Any]], DbtAssetSettings | None]
)
"""A mapping asset key -> settings, or a callable (asset key, dbt node) -> settings or None."""


def settings_resolver(
    source: AssetSettingsSource | None, known_keys: set[AssetKey]
) -> Callable[[AssetKey, Mapping[str, Any]], DbtAssetSettings | None]:
    """Return a callable resolving settings for an asset key, validating a mapping's keys.

    Raises:
        InvalidAssetSettingsError: A mapping names an asset the selection does not contain,
            or a value is not a ``DbtAssetSettings``.
    """
    if source is None:
        return lambda _key, _node: None
    if isinstance(source, Mapping):
        unknown = sorted(key.to_user_string() for key in source if key not in known_keys)
        if unknown:
            raise InvalidAssetSettingsError(
                f"asset_settings names asset(s) not in the dbt selection: {', '.join(unknown)}; "
                "check the keys against the dbt assets' keys"
            )
        for key, value in source.items():
            if not isinstance(value, DbtAssetSettings):
                raise InvalidAssetSettingsError(
                    f"asset_settings[{key.to_user_string()}] must be a DbtAssetSettings, got {type(value).__name__}"
                )
        mapping = dict(source)
        return lambda key, _node: mapping.get(key)
    if not callable(source):
        raise InvalidAssetSettingsError(f"asset_settings must be a mapping or a callable, got {type(source).__name__}")
    return source
