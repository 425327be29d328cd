"""Which assets a Dagster execution step materializes and reads, from the run's own job definition.

The executor wrapper only sees step keys; this module maps a step to its asset keys (the run's selected subset),
their upstream keys, their static metadata (``dagster/table_name``...) and whether they are dbt assets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckKey, AssetKey, AssetsDefinition, JobDefinition

from floe_dbt_observe.integration import dbt_node_owners
from floe_definitions._compat import step_assets_def

if TYPE_CHECKING:
    from floe_definitions._compat import ExecutionPlan

_MAPPED_SUFFIX = re.compile(r"\[[^\]]*\]$")
_DBT_MANIFEST_KEY = "dagster_dbt/manifest"
_DBT_UNIQUE_ID_KEY = "dagster_dbt/unique_id"


@dataclass(frozen=True)
class StepAssets:
    """The assets one step writes and reads.

    Attributes:
        step_key: The Dagster step key.
        outputs: Asset keys the step materializes (in the run's selection).
        inputs: Upstream asset keys of ``outputs`` that the step does not itself produce.
        is_dbt: Whether the step's assets are dbt models (floe-dbt-observe gives those per-model lineage).
        metadata: Static definition metadata of every key in ``outputs`` and ``inputs``.
        kinds: Kinds of every key in ``outputs`` and ``inputs``.
        owners: Owners of the ``outputs`` (floe.yaml ``owners`` included), first seen first.
        tags: Tags of the ``outputs`` (floe.yaml ``tags`` included); the first output's value wins.
        checks: The asset checks the step evaluates (in the run's selection).
    """

    step_key: str
    outputs: tuple[AssetKey, ...] = ()
    inputs: tuple[AssetKey, ...] = ()
    is_dbt: bool = False
    metadata: Mapping[AssetKey, Mapping[str, Any]] = field(default_factory=dict)
    kinds: Mapping[AssetKey, frozenset[str]] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[AssetCheckKey, ...] = ()


def step_assets(job_def: JobDefinition, execution_plan: ExecutionPlan, step_key: str) -> StepAssets:
    """Return the assets of ``step_key`` in the plan's job.

    Args:
        job_def: The run's job (already subset to the run's selection).
        execution_plan: The plan being executed.
        step_key: The step, possibly a dynamic-mapped one (``op[key]``).

    Returns:
        The step's assets; an op step that is not an asset gets empty ``outputs``.
    """
    assets_def = _assets_def(job_def, execution_plan, step_key)
    if assets_def is None:
        return StepAssets(step_key=step_key)
    asset_layer = job_def.asset_layer
    outputs = tuple(sorted(assets_def.keys, key=lambda key: key.to_user_string()))
    upstream: set[AssetKey] = set()
    for key in outputs:
        if asset_layer.has(key):
            upstream.update(asset_layer.get(key).parent_keys)
        else:
            upstream.update(assets_def.asset_deps.get(key, ()))
    inputs = tuple(sorted(upstream - set(outputs), key=lambda key: key.to_user_string()))
    metadata: dict[AssetKey, Mapping[str, Any]] = {}
    kinds: dict[AssetKey, frozenset[str]] = {}
    for key in (*outputs, *inputs):
        if key in assets_def.specs_by_key:
            metadata[key] = assets_def.specs_by_key[key].metadata
            kinds[key] = frozenset(assets_def.specs_by_key[key].kinds)
        elif asset_layer.has(key):
            node = asset_layer.get(key)
            metadata[key] = node.metadata
            kinds[key] = frozenset(node.kinds)
    owners: dict[str, None] = {}
    tags: dict[str, str] = {}
    for key in outputs:
        spec = assets_def.specs_by_key.get(key)
        if spec is not None:
            owners.update(dict.fromkeys(spec.owners))
            for tag, value in spec.tags.items():
                tags.setdefault(tag, value)
    return StepAssets(
        step_key=step_key,
        outputs=outputs,
        inputs=inputs,
        is_dbt=is_dbt_assets(assets_def),
        metadata=metadata,
        kinds=kinds,
        owners=tuple(owners),
        tags=tags,
        checks=tuple(sorted(assets_def.check_keys, key=lambda key: (key.asset_key.to_user_string(), key.name))),
    )


def job_owners(job_def: JobDefinition) -> tuple[str, ...]:
    """Return the owners of the assets a job targets, for the Dagster run's ``ownership`` facet.

    Per asset (in key order): its Dagster owners (floe.yaml's ``owners`` included), then, for a dbt model, seed or
    snapshot, its dbt ``meta.owner`` (dagster-dbt does not make that a Dagster owner). Duplicates are dropped; an
    ops job has none.
    """
    asset_layer = job_def.asset_layer
    owners: dict[str, None] = {}
    for key in sorted(asset_layer.selected_asset_keys, key=lambda key: key.to_user_string()):
        if not asset_layer.has(key):
            continue
        node = asset_layer.get(key)
        owners.update(dict.fromkeys(node.owners))
        owners.update(dict.fromkeys(dbt_node_owners(_dbt_node(node.metadata))))
    return tuple(owners)


def _dbt_node(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the dbt manifest entry behind a dagster-dbt asset's metadata (empty for any other asset)."""
    wrapper = metadata.get(_DBT_MANIFEST_KEY)
    unique_id = metadata.get(_DBT_UNIQUE_ID_KEY)
    manifest = getattr(wrapper, "manifest", None)
    if not isinstance(manifest, Mapping) or not unique_id:
        return {}
    node = (manifest.get("nodes") or {}).get(str(getattr(unique_id, "value", unique_id)))
    return node if isinstance(node, Mapping) else {}


def is_dbt_assets(assets_def: AssetsDefinition) -> bool:
    """Return whether an assets definition holds dbt models (``kind: dbt`` on any of its specs)."""
    return any("dbt" in spec.kinds for spec in assets_def.specs)


def _assets_def(job_def: JobDefinition, execution_plan: ExecutionPlan, step_key: str) -> AssetsDefinition | None:
    for key in dict.fromkeys((step_key, _MAPPED_SUFFIX.sub("", step_key))):
        found = step_assets_def(job_def, execution_plan, key)
        if found is not None:
            return found
    return None
