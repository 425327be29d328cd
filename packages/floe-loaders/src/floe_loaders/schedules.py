"""Build floe.yaml's schedules: cron + IANA timezone + enabled + description, partition-aware.

For a partitioned job, each tick requests partitions as of the tick's scheduled time (evaluated inside Dagster's
``partition_loading_context``, like ``build_schedule_from_partitioned_job``):

- ``latest``: time windows -> the latest complete window; static/dynamic -> the last key; multi with a time
  dimension -> the latest window crossed with every key of the other dimension; multi without -> the last key.
- ``all``: every key (static, dynamic, multi; for multi with a time dimension, every key of the other dimension
  with the latest window). ``all`` on a plain time-window job is refused at load: it would re-run history daily.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

import dagster as dg

from floe_config.integration import OrchestrationConfig, ScheduleConfig
from floe_loaders.discovery import JobObject
from floe_loaders.errors import DuplicateDefinitionError, ScheduleError
from floe_loaders.jobs import lookup_job
from floe_loaders.locations import Locate, config_path, default_locate

Selector = Literal["latest", "all"]


def build_schedules(
    orchestration: OrchestrationConfig,
    jobs: Mapping[str, JobObject],
    *,
    job_partitions: Mapping[str, dg.PartitionsDefinition] | None = None,
    existing_names: frozenset[str] = frozenset(),
    locate: Locate = default_locate,
) -> dict[str, dg.ScheduleDefinition]:
    """Build every schedule of ``orchestration.schedules``.

    Args:
        orchestration: floe.yaml's orchestration section.
        jobs: Every job by name (floe.yaml's and the modules').
        job_partitions: Job name -> partitions definition (defaults to each job's own ``partitions_def``).
        existing_names: Schedule names the asset modules define (a clash is an error).
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        Schedules by name.

    Raises:
        UnknownReferenceError: A schedule names an unknown job.
        ScheduleError: ``partition_selector: all`` on a time-window job.
        DuplicateDefinitionError: A schedule name is also defined in an asset module.
    """
    schedules: dict[str, dg.ScheduleDefinition] = {}
    for name, config in orchestration.schedules.items():
        path = config_path("orchestration", "schedules", name)
        if name in existing_names:
            raise DuplicateDefinitionError(
                path, f"schedule {name!r} is also defined in an asset module", "Rename one of them", locate=locate
            )
        job = lookup_job(config.job, jobs, path=config_path(path, "job"), locate=locate)
        partitions_def = (job_partitions or {}).get(config.job, job.partitions_def)
        schedules[name] = build_schedule(name, config, job, partitions_def, path=path, locate=locate)
    return schedules


def build_schedule(
    name: str,
    config: ScheduleConfig,
    job: JobObject,
    partitions_def: dg.PartitionsDefinition | None,
    *,
    path: str = "orchestration.schedules",
    locate: Locate = default_locate,
) -> dg.ScheduleDefinition:
    """Build one schedule.

    Args:
        name: Schedule name.
        config: The schedule entry.
        job: The job it runs.
        partitions_def: The job's partitions definition, if partitioned.
        path: Dotted floe.yaml path of the schedule.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The schedule.

    Raises:
        ScheduleError: ``partition_selector: all`` on a time-window job.
    """
    status = dg.DefaultScheduleStatus.RUNNING if config.enabled else dg.DefaultScheduleStatus.STOPPED
    if partitions_def is None:
        return dg.ScheduleDefinition(
            name=name,
            cron_schedule=config.cron_schedule,
            job=job,
            execution_timezone=config.timezone,
            default_status=status,
            description=config.description,
        )
    if config.partition_selector == "all" and isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        raise ScheduleError(
            config_path(path, "partition_selector"),
            f"schedule {name!r}: partition_selector 'all' on job {config.job!r}, whose partitions are time windows, "
            "would re-run every window on each tick",
            "Use partition_selector: latest (or a backfill for history)",
            locate=locate,
        )
    selector: Selector = config.partition_selector

    def _evaluate(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest | dg.SkipReason]:
        with dg.partition_loading_context(
            effective_dt=context.scheduled_execution_time,
            dynamic_partitions_store=context.instance if context.instance_ref is not None else None,
        ):
            keys = partition_keys_for_tick(partitions_def, selector)
        if not keys:
            yield dg.SkipReason(f"job {config.job!r} has no partition to run at this tick")
            return
        for key in keys:
            yield dg.RunRequest(partition_key=key, run_key=key)

    return dg.ScheduleDefinition(
        name=name,
        cron_schedule=config.cron_schedule,
        job=job,
        execution_fn=_evaluate,
        execution_timezone=config.timezone,
        default_status=status,
        description=config.description,
    )


def partition_keys_for_tick(partitions_def: dg.PartitionsDefinition, selector: Selector) -> list[str]:
    """Return the partition keys one tick requests (call inside ``partition_loading_context``).

    Args:
        partitions_def: The job's partitions definition.
        selector: ``latest`` or ``all``.

    Returns:
        Partition keys, possibly empty.
    """
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        time_dims = [
            dim
            for dim in partitions_def.partitions_defs
            if isinstance(dim.partitions_def, dg.TimeWindowPartitionsDefinition)
        ]
        if time_dims:
            latest = time_dims[0].partitions_def.get_last_partition_key()
            if latest is None:
                return []
            return list(partitions_def.get_multipartition_keys_with_dimension_value(time_dims[0].name, latest))
    keys = list(partitions_def.get_partition_keys())
    if selector == "all":
        return keys
    return keys[-1:]
