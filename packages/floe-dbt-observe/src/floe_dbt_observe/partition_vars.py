"""dbt ``--vars`` describing the partition(s) a Dagster step materializes.

Keys: ``dagster_partition_key`` (single partition), ``dagster_partition_key_start`` /
``dagster_partition_key_end`` (a range, e.g. a single-run backfill), ``dagster_partition_start``
/ ``dagster_partition_end`` (ISO time window for time partitions), and
``dagster_partition_<dimension>`` for each dimension of a multi-partition key.
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetExecutionContext,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
)


def partition_vars(context: AssetExecutionContext) -> dict[str, Any]:
    """Return the dbt vars for the step's partitions (empty when unpartitioned)."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return {}
    result: dict[str, Any] = {}
    key_range = context.partition_key_range
    if key_range.start == key_range.end:
        key = context.partition_key
        result["dagster_partition_key"] = str(key)
        if isinstance(key, MultiPartitionKey):
            for dimension, value in key.keys_by_dimension.items():
                result[f"dagster_partition_{dimension}"] = value
    else:
        result["dagster_partition_key_start"] = str(key_range.start)
        result["dagster_partition_key_end"] = str(key_range.end)
    window = partition_time_window(context)
    if window is not None:
        result["dagster_partition_start"] = window.start.isoformat()
        result["dagster_partition_end"] = window.end.isoformat()
    return result


def partition_time_window(context: AssetExecutionContext) -> TimeWindow | None:
    """Return the time window of the step's partition(s), or None when the step has no time partition."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return None
    partitions_def = context.assets_def.partitions_def
    has_time = isinstance(partitions_def, TimeWindowPartitionsDefinition) or (
        isinstance(partitions_def, MultiPartitionsDefinition) and partitions_def.has_time_window_dimension
    )
    return context.partition_time_window if has_time else None
