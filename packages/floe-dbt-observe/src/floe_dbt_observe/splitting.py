"""Split the selected dbt assets into several ``AssetsDefinition``s.

Dagster's per-output bookkeeping grows faster than quadratically with the number of outputs of
one definition, so large projects are cut along groups (then in chunks of at most
``max_assets_per_definition``); assets needing different partitions or backfill policies are
always separated. Each part selects exactly its own nodes when run whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec, AutomationCondition, BackfillPolicy, PartitionsDefinition

from floe_dbt_observe.options import SplitBy


@dataclass
class AssetPart:
    """One future ``AssetsDefinition``: its specs, checks, partitions and dbt selection."""

    group: str | None
    partitions_def: PartitionsDefinition | None
    backfill_policy: BackfillPolicy | None
    specs: list[AssetSpec] = field(default_factory=list)
    unique_ids: list[str] = field(default_factory=list)
    check_specs: list[AssetCheckSpec] = field(default_factory=list)
    select: str = ""


@dataclass(frozen=True)
class ResolvedSpec:
    """A spec with its dbt unique id and resolved per-asset settings."""

    spec: AssetSpec
    unique_id: str
    partitions_def: PartitionsDefinition | None
    backfill_policy: BackfillPolicy | None
    automation_condition: AutomationCondition[Any] | None


def _index_of(items: list[Any], value: Any) -> int:
    for index, item in enumerate(items):
        if item is value or item == value:
            return index
    items.append(value)
    return len(items) - 1


def split_specs(
    resolved: Sequence[ResolvedSpec],
    check_specs: Sequence[AssetCheckSpec],
    manifest: Mapping[str, Any],
    *,
    split_by: SplitBy,
    max_assets_per_definition: int,
    select: str,
) -> list[AssetPart]:
    """Group specs into parts and give each part the dbt selection of exactly its nodes.

    Args:
        resolved: Selected specs with their settings, in manifest order.
        check_specs: Asset checks of the selection.
        manifest: The dbt manifest.
        split_by: ``none`` keeps one part per settings combination; ``group`` splits by group and
            chunk size; ``auto`` does ``group`` only when the selection exceeds the chunk size.
        max_assets_per_definition: Largest part when splitting.
        select: The caller's dbt selection, used as is when there is one part.

    Returns:
        Parts in a stable order.
    """
    by_group = split_by == "group" or (split_by == "auto" and len(resolved) > max_assets_per_definition)
    partitions: list[Any] = []
    policies: list[Any] = []
    buckets: dict[tuple[str | None, int, int], list[ResolvedSpec]] = {}
    for item in resolved:
        group = item.spec.group_name if by_group else None
        key = (group, _index_of(partitions, item.partitions_def), _index_of(policies, item.backfill_policy))
        buckets.setdefault(key, []).append(item)
    parts: list[AssetPart] = []
    for (group, partitions_index, policy_index), items in buckets.items():
        size = max_assets_per_definition if by_group else len(items)
        for start in range(0, len(items), max(size, 1)):
            chunk = items[start : start + max(size, 1)]
            part = AssetPart(
                group=group,
                partitions_def=partitions[partitions_index],
                backfill_policy=policies[policy_index],
            )
            for item in chunk:
                spec = item.spec
                if item.automation_condition is not None:
                    spec = spec.replace_attributes(automation_condition=item.automation_condition)
                part.specs.append(spec)
                part.unique_ids.append(item.unique_id)
            parts.append(part)
    owner: dict[AssetKey, int] = {}
    for index, part in enumerate(parts):
        for spec in part.specs:
            owner[spec.key] = index
    for check in check_specs:
        found = owner.get(check.asset_key)
        if found is not None:
            index = found
        else:
            # checks on sources go with the first part that reads the source
            index = next(
                (
                    i
                    for i, part in enumerate(parts)
                    if any(check.asset_key in {d.asset_key for d in s.deps} for s in part.specs)
                ),
                0,
            )
        if parts:
            parts[index].check_specs.append(check)
    if len(parts) == 1:
        parts[0].select = select
    else:
        nodes = manifest.get("nodes", {})
        for part in parts:
            part.select = " ".join("fqn:" + ".".join(nodes[uid]["fqn"]) for uid in part.unique_ids)
    return parts
