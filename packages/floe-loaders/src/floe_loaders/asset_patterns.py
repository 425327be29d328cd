"""Apply floe.yaml's asset patterns to assets through Dagster's own spec-mapping APIs.

Per asset key the settings come from ``resolve_asset_settings``. Spec-level fields (partitions, automation
condition, group, description, and kinds/tags/owners merged into the asset's own) go through
``AssetsDefinition.map_asset_specs`` with ``AssetSpec.replace_attributes`` / ``merge_attributes``; in Dagster
1.13 ``replace_specs_on_asset`` accepts a new ``partitions_def`` on the specs of an executable asset as long as
every spec of one ``AssetsDefinition`` ends up with the same one. The backfill policy lives on the
``AssetsDefinition`` rather than its specs, so it goes through
``AssetsDefinition.with_attributes(backfill_policy=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from floe_config.integration import (
    AutomationConditionConfig,
    BackfillPolicyConfig,
    MultiRunBackfill,
    NamedCondition,
    OnCronCondition,
    OrchestrationConfig,
    did_you_mean,
)
from floe_loaders.asset_settings import (
    ResolvedAssetSettings,
    asset_key_string,
    compile_patterns,
    resolve_with_patterns,
)
from floe_loaders.discovery import AssetObject, asset_keys_of
from floe_loaders.errors import AssetPatternError
from floe_loaders.locations import LoaderWarning, Locate, config_path, default_locate, make_warning
from floe_loaders.partitions import partitions_name


def build_automation_condition(config: AutomationConditionConfig) -> dg.AutomationCondition[Any]:
    """Turn an automation condition config into Dagster's condition.

    Args:
        config: ``eager``, ``on_missing`` or an on_cron mapping.

    Returns:
        ``AutomationCondition.eager()``, ``.on_missing()`` or ``.on_cron(cron, timezone)``.
    """
    if isinstance(config, OnCronCondition):
        return dg.AutomationCondition.on_cron(config.cron_schedule, config.cron_timezone)
    name = config.type if isinstance(config, NamedCondition) else config
    if name == "eager":
        return dg.AutomationCondition.eager()
    return dg.AutomationCondition.on_missing()


def build_backfill_policy(config: BackfillPolicyConfig) -> dg.BackfillPolicy:
    """Turn a backfill policy config into Dagster's policy.

    Args:
        config: ``single_run`` or ``multi_run``.

    Returns:
        The backfill policy.
    """
    if isinstance(config, MultiRunBackfill):
        return dg.BackfillPolicy.multi_run(config.max_partitions_per_run)
    return dg.BackfillPolicy.single_run()


def apply_asset_patterns(
    assets: Sequence[AssetObject],
    orchestration: OrchestrationConfig,
    partitions: Mapping[str, dg.PartitionsDefinition],
    *,
    locate: Locate = default_locate,
) -> tuple[list[AssetObject], list[LoaderWarning]]:
    """Apply every matching asset pattern to the assets.

    Source assets are matched (they count as a match) but left unchanged: a ``SourceAsset`` has no spec to map;
    declare external assets as ``AssetSpec`` to have patterns apply.

    Args:
        assets: Assets, multi-assets, asset specs and source assets.
        orchestration: floe.yaml's orchestration section.
        partitions: ``build_partitions(orchestration)``.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The mapped assets (same order) and warnings (patterns matching no asset).

    Raises:
        AssetPatternError: A pattern names unknown partitions, or gives the keys of one multi-asset different
            partitions or backfill policies, or Dagster rejects the mapped spec.
    """
    compiled = compile_patterns(orchestration.assets)
    matched: set[str] = set()
    result: list[AssetObject] = []
    for obj in assets:
        settings = {
            key: resolve_with_patterns(asset_key_string(key), orchestration.assets, compiled)
            for key in asset_keys_of(obj)
        }
        for resolved in settings.values():
            matched.update(resolved.matched_patterns)
        if all(resolved.is_empty for resolved in settings.values()) or isinstance(obj, dg.SourceAsset):
            result.append(obj)
            continue
        result.append(_apply(obj, settings, partitions, locate))
    known_keys = sorted({asset_key_string(key) for obj in assets for key in asset_keys_of(obj)})
    warnings = [
        make_warning(
            config_path("orchestration", "assets", pattern),
            f"asset pattern {pattern!r} matches no asset{did_you_mean(pattern, known_keys)}; check the key "
            "(written a/b/c; '*' stays within one segment, '**' crosses segments)",
            locate,
        )
        for pattern in orchestration.assets
        if pattern not in matched
    ]
    return result, warnings


def _apply(
    obj: dg.AssetsDefinition | dg.AssetSpec,
    settings: Mapping[dg.AssetKey, ResolvedAssetSettings],
    partitions: Mapping[str, dg.PartitionsDefinition],
    locate: Locate,
) -> AssetObject:
    if isinstance(obj, dg.AssetSpec):
        return _map_spec(obj, settings[obj.key], partitions, locate)
    _check_uniform(obj, settings, partitions, locate)
    first_pattern = next(p for s in settings.values() for p in s.sources.values())
    try:
        mapped = obj.map_asset_specs(lambda spec: _map_spec(spec, settings[spec.key], partitions, locate))
        policies = {
            s.backfill_policy: s.sources["backfill_policy"] for s in settings.values() if s.backfill_policy is not None
        }
        if policies:
            mapped = mapped.with_attributes(backfill_policy=build_backfill_policy(next(iter(policies))))
    except AssetPatternError:
        raise
    except Exception as exc:
        raise AssetPatternError(
            config_path("orchestration", "assets", first_pattern),
            f"Dagster rejects the settings for {', '.join(k.to_user_string() for k in obj.keys)}: {exc}",
            "Change the pattern's settings (Dagster allows at most 3 kinds per asset, for instance)",
            locate=locate,
        ) from exc
    return mapped


def _map_spec(
    spec: dg.AssetSpec,
    settings: ResolvedAssetSettings,
    partitions: Mapping[str, dg.PartitionsDefinition],
    locate: Locate,
) -> dg.AssetSpec:
    replace: dict[str, object] = {}
    if settings.partitions is not None:
        replace["partitions_def"] = _lookup_partitions(settings, partitions, locate)
    if settings.automation_condition is not None:
        replace["automation_condition"] = build_automation_condition(settings.automation_condition)
    if settings.group_name is not None:
        replace["group_name"] = settings.group_name
    if settings.description is not None:
        replace["description"] = settings.description
    merge: dict[str, object] = {}
    if settings.tags:
        merge["tags"] = dict(settings.tags)
    if settings.kinds is not None:
        merge["kinds"] = set(settings.kinds)
    if settings.owners is not None:
        merge["owners"] = [owner for owner in settings.owners if owner not in spec.owners]
    try:
        mapped = spec.replace_attributes(**replace) if replace else spec  # type: ignore[arg-type]
        return mapped.merge_attributes(**merge) if merge else mapped  # type: ignore[arg-type]
    except Exception as exc:
        pattern = next(iter(settings.sources.values()))
        raise AssetPatternError(
            config_path("orchestration", "assets", pattern),
            f"Dagster rejects the settings for asset {settings.key!r}: {exc}",
            "Change the pattern's settings (Dagster allows at most 3 kinds per asset, for instance)",
            locate=locate,
        ) from exc


def _lookup_partitions(
    settings: ResolvedAssetSettings, partitions: Mapping[str, dg.PartitionsDefinition], locate: Locate
) -> dg.PartitionsDefinition:
    assert settings.partitions is not None
    found = partitions.get(settings.partitions)
    if found is None:
        pattern = settings.sources["partitions"]
        known = ", ".join(sorted(partitions)) or "none defined"
        raise AssetPatternError(
            config_path("orchestration", "assets", pattern, "partitions"),
            f"unknown partitions {settings.partitions!r} (known: {known})",
            "Use a name defined under orchestration.partitions",
            locate=locate,
        )
    return found


def _check_uniform(
    obj: dg.AssetsDefinition,
    settings: Mapping[dg.AssetKey, ResolvedAssetSettings],
    partitions: Mapping[str, dg.PartitionsDefinition],
    locate: Locate,
) -> None:
    """One AssetsDefinition has one partitions definition and one backfill policy: patterns must agree."""
    if len(settings) < 2:
        return
    effective: dict[dg.AssetKey, dg.PartitionsDefinition | None] = {}
    for key, resolved in settings.items():
        if resolved.partitions is not None:
            effective[key] = _lookup_partitions(resolved, partitions, locate)
        else:
            effective[key] = obj.specs_by_key[key].partitions_def
    unique: list[dg.PartitionsDefinition | None] = []
    for candidate in effective.values():
        if not any(candidate == seen for seen in unique):
            unique.append(candidate)
    if len(unique) > 1:
        pattern = next(s.sources["partitions"] for s in settings.values() if s.partitions is not None)
        detail = "; ".join(
            f"{key.to_user_string()} -> {partitions_name(p, dict(partitions))}" for key, p in effective.items()
        )
        raise AssetPatternError(
            config_path("orchestration", "assets", pattern, "partitions"),
            f"the assets of one multi-asset would get different partitions ({detail})",
            "Dagster needs one partitions definition per multi-asset: make the patterns give all its keys the "
            "same partitions, or split the multi-asset",
            locate=locate,
        )
    policies = {s.backfill_policy for s in settings.values()}
    if len(policies) > 1:
        pattern = next(s.sources["backfill_policy"] for s in settings.values() if s.backfill_policy is not None)
        raise AssetPatternError(
            config_path("orchestration", "assets", pattern, "backfill_policy"),
            f"the assets of one multi-asset ({', '.join(k.to_user_string() for k in settings)}) would get "
            "different backfill policies",
            "Dagster has one backfill policy per multi-asset: give all its keys the same policy",
            locate=locate,
        )
