"""Launch a configured backfill as Dagster's own asset backfill (``PartitionBackfill``) on an instance.

The range is checked against the job's partitions definition before anything is written to the instance. The
backfill daemon then splits the partitions into runs by the assets' backfill policy; ``build_orchestration``
gives each asset of a backfilled job ``BackfillPolicy.multi_run(batch_size)`` unless a pattern or the asset
itself already sets a policy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from floe_config.integration import BackfillConfig, OrchestrationConfig
from floe_loaders import _compat
from floe_loaders.errors import BackfillError, UnknownReferenceError
from floe_loaders.locations import Locate, config_path, default_locate

BACKFILL_NAME_TAG = "floe/backfill"
"""Tag carrying the floe.yaml backfill name on the backfill and its runs."""


def backfill_partition_keys(
    partitions_def: dg.PartitionsDefinition,
    start: str,
    end: str,
    *,
    instance: dg.DagsterInstance | None = None,
    path: str = "orchestration.backfills",
    locate: Locate = default_locate,
) -> list[str]:
    """Return the partition keys from ``start`` to ``end`` inclusive, or fail if the range is not in the definition.

    Args:
        partitions_def: The job's partitions definition.
        start: First key.
        end: Last key (inclusive).
        instance: Instance for dynamic partitions.
        path: Dotted floe.yaml path of the backfill entry.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The keys in order.

    Raises:
        BackfillError: A bound is not a partition key, or start comes after end.
    """
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        keys = list(partitions_def.get_partition_keys())
    index = {key: position for position, key in enumerate(keys)}
    bounds = (keys[0], keys[-1]) if keys else ("none", "none")
    for field, key in (("start", start), ("end", end)):
        if key not in index:
            raise BackfillError(
                config_path(path, "partition_range", field),
                f"{field} {key!r} is not a partition of the job (its partitions run from {bounds[0]!r} to "
                f"{bounds[1]!r})",
                "Pick keys inside the partitions definition, written in its key format",
                locate=locate,
            )
    if index[start] > index[end]:
        raise BackfillError(
            config_path(path, "partition_range"),
            f"start {start!r} comes after end {end!r}",
            "Swap the bounds",
            locate=locate,
        )
    return keys[index[start] : index[end] + 1]


@dataclass(frozen=True)
class ResolvedBackfill:
    """A configured backfill resolved against the code location: its entry, job and partition keys.

    Attributes:
        config: The ``orchestration.backfills`` entry.
        job: Its job.
        partition_keys: Every partition of its range, in order.
    """

    config: BackfillConfig
    job: dg.JobDefinition
    partition_keys: list[str]


def resolve_backfill(
    defs: dg.Definitions,
    name: str,
    orchestration: OrchestrationConfig,
    *,
    instance: dg.DagsterInstance | None = None,
    locate: Locate = default_locate,
) -> ResolvedBackfill:
    """Find a configured backfill's entry and job, and the partition keys of its range.

    Args:
        defs: The code location's definitions (holding the backfill's job).
        name: Name of an ``orchestration.backfills`` entry.
        orchestration: floe.yaml's orchestration section.
        instance: The instance (dynamic partitions are read from it); None for static and time partitions.
        locate: Dotted floe.yaml path -> location prefix.

    Raises:
        UnknownReferenceError: No backfill or job of that name.
        BackfillError: The job is not partitioned, or the range is outside its partitions.
    """
    config = orchestration.backfills.get(name)
    if config is None:
        raise UnknownReferenceError(
            config_path("orchestration", "backfills", name),
            f"unknown backfill {name!r} (known: {', '.join(sorted(orchestration.backfills)) or 'none'})",
            "Name an entry of orchestration.backfills",
            locate=locate,
        )
    path = config_path("orchestration", "backfills", name)
    try:
        job = defs.resolve_job_def(config.job)
    except Exception as exc:
        raise UnknownReferenceError(
            config_path(path, "job"), f"unknown job {config.job!r}: {exc}", "Name a batch job", locate=locate
        ) from exc
    partitions_def = job.partitions_def
    if partitions_def is None:
        raise BackfillError(
            config_path(path, "job"),
            f"job {config.job!r} is not partitioned, so it has nothing to backfill",
            "Backfill a job whose assets have partitions (set them with an asset pattern)",
            locate=locate,
        )
    keys = backfill_partition_keys(
        partitions_def,
        config.partition_range.start,
        config.partition_range.end,
        instance=instance,
        path=path,
        locate=locate,
    )
    return ResolvedBackfill(config, job, keys)


def launch_backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    name: str,
    orchestration: OrchestrationConfig,
    *,
    tags: Mapping[str, str] | None = None,
    locate: Locate = default_locate,
) -> str:
    """Create the configured backfill on ``instance``; Dagster's backfill daemon then runs it.

    Args:
        defs: The code location's definitions (holding the backfill's job).
        instance: The Dagster instance.
        name: Name of an ``orchestration.backfills`` entry.
        orchestration: floe.yaml's orchestration section.
        tags: Extra tags for the backfill and its runs.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The backfill id.

    Raises:
        UnknownReferenceError: No backfill or job of that name.
        BackfillError: The job is not partitioned, or the range is outside its partitions.
    """
    resolved = resolve_backfill(defs, name, orchestration, instance=instance, locate=locate)
    config, job, keys = resolved.config, resolved.job, resolved.partition_keys
    path = config_path("orchestration", "backfills", name)
    if not _compat.asset_backfill_available():
        raise BackfillError(
            path,
            "this Dagster has no asset-backfill API floe can call (capability asset_backfill)",
            f"Launch it with `dagster job backfill -j {config.job}`, or use a Dagster version floe supports",
            locate=locate,
        )
    asset_graph = defs.resolve_asset_graph()
    selected = sorted(job.asset_layer.selected_asset_keys)
    backfill = _compat.new_asset_backfill(
        asset_graph=asset_graph,
        partition_names=keys,
        asset_selection=selected,
        backfill_timestamp=time.time(),
        tags={**config.tags, **(tags or {}), BACKFILL_NAME_TAG: name},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=name,
        description=config.description,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return str(backfill.backfill_id)
