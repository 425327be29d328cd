"""The time window a Dagster run's partition covers: the ``nominalTime`` of its lineage runs.

Read from the run's tags (``dagster/partition``, or the ``dagster/asset_partition_range_*`` pair of a single-run
backfill) and the job's partitions definition; only time-window partitions (or a multi-partition with a time
dimension) have one.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import JobDefinition, MultiPartitionsDefinition, TimeWindowPartitionsDefinition

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_time_window(job_def: JobDefinition, tags: Mapping[str, str]) -> tuple[str, str | None] | None:
    """Return ``(start, end)`` in ISO 8601 of the run's partition(s), or None when it has no time partition.

    Args:
        job_def: The run's job.
        tags: The run's tags.

    Returns:
        The window's start (included) and end (excluded); a range spans from its first partition's start to its
        last partition's end.
    """
    first = tags.get(RANGE_START_TAG) or tags.get(PARTITION_TAG)
    last = tags.get(RANGE_END_TAG) or tags.get(PARTITION_TAG)
    if not first or not last:
        return None
    partitions_def = job_def.partitions_def
    if isinstance(partitions_def, MultiPartitionsDefinition) and not partitions_def.has_time_window_dimension:
        return None
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition | MultiPartitionsDefinition):
        return None
    start = partitions_def.time_window_for_partition_key(first).start
    end = partitions_def.time_window_for_partition_key(last).end
    return start.isoformat(), end.isoformat()
