"""Build floe.yaml's sensors: ``file_watcher``, ``asset_sensor``, ``run_status`` and ``custom``.

``poll_interval_seconds`` becomes Dagster's ``minimum_interval_seconds``; ``enabled`` the default status.
The asset sensor is a plain sensor over the instance's materialization records with a cursor of the last
storage id handled per watched asset: ``any`` requests a run when one watched asset has a new materialization,
``all`` only once every one of them has (since the last request). Its first evaluation only starts watching:
what materialized before the sensor ran (``floe dev`` starting on an existing instance) requests nothing. For a
partitioned target job it requests the partitions that materialized (``all``: those that materialized for every
watched asset). For an unpartitioned target job, one run per tick at most, and only for the newest partition of
a time-partitioned watched asset (a partition at least as new as the newest one seen materialized or the asset's
newest partition now, whichever is older): a backfill of older partitions does not start a full run of the
target per batch, even on an instance that has no newer data yet.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetRecordsFilter

from floe_config.integration import AssetSensor, CustomSensor, FileWatcherSensor, OrchestrationConfig, RunStatusSensor
from floe_loaders.discovery import JobObject
from floe_loaders.errors import DuplicateDefinitionError, UnknownReferenceError
from floe_loaders.file_watcher import build_file_watcher_sensor
from floe_loaders.jobs import lookup_job
from floe_loaders.locations import Locate, config_path, default_locate
from floe_loaders.ops_jobs import FILE_PATH_ARG
from floe_loaders.target_functions import import_target_function

_FETCH_LIMIT = 1000
_STATUSES = {
    "SUCCESS": dg.DagsterRunStatus.SUCCESS,
    "FAILURE": dg.DagsterRunStatus.FAILURE,
    "CANCELED": dg.DagsterRunStatus.CANCELED,
}


def build_sensors(
    orchestration: OrchestrationConfig,
    jobs: Mapping[str, JobObject],
    asset_keys: Collection[dg.AssetKey],
    base_dir: Path,
    *,
    job_partitions: Mapping[str, dg.PartitionsDefinition] | None = None,
    ops_op_names: Mapping[str, str] | None = None,
    existing_names: frozenset[str] = frozenset(),
    locate: Locate = default_locate,
) -> dict[str, dg.SensorDefinition]:
    """Build every sensor of ``orchestration.sensors``.

    Args:
        orchestration: floe.yaml's orchestration section.
        jobs: Every job by name.
        asset_keys: Every asset key (watched assets must exist).
        base_dir: The directory holding floe.yaml (relative watch paths, relative target functions).
        job_partitions: Job name -> partitions definition.
        ops_op_names: Ops job name -> its op name; file watchers pass ``file_path`` to these as run config.
        existing_names: Sensor names the asset modules define (a clash is an error).
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        Sensors by name.

    Raises:
        UnknownReferenceError: A sensor names an unknown job or asset.
        TargetFunctionError: A custom sensor's function is outside the import boundary or missing.
        DuplicateDefinitionError: A sensor name is also defined in an asset module.
    """
    sensors: dict[str, dg.SensorDefinition] = {}
    partitions = dict(job_partitions or {})
    op_names = dict(ops_op_names or {})
    for name, config in orchestration.sensors.items():
        path = config_path("orchestration", "sensors", name)
        if name in existing_names:
            raise DuplicateDefinitionError(
                path, f"sensor {name!r} is also defined in an asset module", "Rename one of them", locate=locate
            )
        job = lookup_job(config.job, jobs, path=config_path(path, "job"), locate=locate)
        status = dg.DefaultSensorStatus.RUNNING if config.enabled else dg.DefaultSensorStatus.STOPPED
        if isinstance(config, FileWatcherSensor):
            op_name = op_names.get(config.job)
            sensors[name] = build_file_watcher_sensor(
                name,
                config.path,
                job=job,
                pattern=config.pattern,
                recursive=config.recursive,
                base_dir=base_dir,
                minimum_interval_seconds=config.poll_interval_seconds,
                enabled=config.enabled,
                description=config.description,
                run_config_for_file=_ops_file_config(op_name) if op_name else None,
            )
        elif isinstance(config, AssetSensor):
            watched = _watched_keys(config, asset_keys, path=path, locate=locate)
            sensors[name] = build_asset_sensor(
                name, config, job, watched, partitions.get(config.job, job.partitions_def), status
            )
        elif isinstance(config, RunStatusSensor):
            watched_jobs = [
                lookup_job(watched, jobs, path=config_path(path, "watched_jobs", index), locate=locate)
                for index, watched in enumerate(config.watched_jobs)
            ]
            sensors[name] = build_run_status_sensor(name, config, job, watched_jobs, status)
        else:
            function = import_target_function(
                config.target_function, orchestration, base_dir, entry_path=path, locate=locate
            )
            sensors[name] = build_custom_sensor(name, config, job, function, status)
    return sensors


def _ops_file_config(op_name: str) -> Any:
    def run_config(file_path: str) -> Mapping[str, Any]:
        return {"ops": {op_name: {"config": {FILE_PATH_ARG: file_path}}}}

    return run_config


def _watched_keys(
    config: AssetSensor, asset_keys: Collection[dg.AssetKey], *, path: str, locate: Locate
) -> list[dg.AssetKey]:
    known = set(asset_keys)
    keys = []
    for index, text in enumerate(config.watched_assets):
        key = dg.AssetKey(text.split("/"))
        if key not in known:
            raise UnknownReferenceError(
                config_path(path, "watched_assets", index),
                f"watched asset {text!r} does not exist",
                "Write an existing asset key as a/b/c (`floe list` shows them)",
                locate=locate,
            )
        keys.append(key)
    return keys


def build_asset_sensor(
    name: str,
    config: AssetSensor,
    job: JobObject,
    watched: list[dg.AssetKey],
    partitions_def: dg.PartitionsDefinition | None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """Build a sensor requesting ``job`` when watched assets materialize (``trigger`` any/all).

    Args:
        name: Sensor name.
        config: The asset sensor entry.
        job: The job to request.
        watched: The watched asset keys (already checked to exist).
        partitions_def: The job's partitions definition, if partitioned.
        default_status: RUNNING or STOPPED.

    Returns:
        The sensor.
    """
    trigger = config.trigger

    def _evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not context.cursor:
            return _start_watching(context, watched)
        stored = json.loads(context.cursor)
        cursor: dict[str, int] = {k: v for k, v in stored.items() if k != _NEWEST and isinstance(v, int)}
        newest: dict[str, str] = dict(stored.get(_NEWEST, {}))
        new_ids: dict[str, list[int]] = {}
        new_partitions: dict[str, set[str]] = {}
        for key in watched:
            text = key.to_user_string()
            records = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key, after_storage_id=cursor.get(text)),
                limit=_FETCH_LIMIT,
                ascending=True,
            ).records
            if not records:
                continue
            partitions = {record.partition_key for record in records if record.partition_key}
            if partitions_def is None:
                time_partitions = _time_partitions(context, key)
                if time_partitions is not None and partitions:
                    window_of, newest_now = time_partitions
                    latest = max(partitions, key=window_of)
                    floors = [window_of(k) for k in (newest.get(text), newest_now) if k is not None]
                    if floors and window_of(latest) < min(floors):
                        # Only older partitions (a backfill): advance the cursor, request nothing.
                        cursor[text] = records[-1].storage_id
                        continue
                    newest[text] = latest
            new_ids[text] = [record.storage_id for record in records]
            new_partitions[text] = partitions
        fired = bool(new_ids) if trigger == "any" else len(new_ids) == len(watched)
        if not fired:
            waiting = sorted({k.to_user_string() for k in watched} - set(new_ids))
            return dg.SensorResult(
                skip_reason=dg.SkipReason(
                    f"waiting for materializations of {', '.join(waiting)} (of their newest partition, when "
                    "time-partitioned)"
                ),
                cursor=json.dumps({**cursor, _NEWEST: newest}),
            )
        next_cursor: dict[str, Any] = {**cursor, **{text: ids[-1] for text, ids in new_ids.items()}, _NEWEST: newest}
        stamp = ",".join(f"{text}={ids[-1]}" for text, ids in sorted(new_ids.items()))
        tags = {"floe/triggered_by_assets": ",".join(sorted(new_ids))}
        if partitions_def is None:
            requests = [dg.RunRequest(run_key=f"{name}:{stamp}", tags=tags)]
        else:
            sets = list(new_partitions.values())
            chosen = set.union(*sets) if trigger == "any" else set.intersection(*sets)
            valid = [key for key in sorted(chosen) if partitions_def.has_partition_key(key)]
            if not valid:
                return dg.SensorResult(
                    skip_reason=dg.SkipReason("new materializations carry no partition of the target job"),
                    cursor=json.dumps(next_cursor),
                )
            requests = [dg.RunRequest(run_key=f"{name}:{stamp}:{key}", partition_key=key, tags=tags) for key in valid]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(next_cursor))

    return dg.SensorDefinition(
        name=name,
        evaluation_fn=_evaluate,
        job=job,
        minimum_interval_seconds=config.poll_interval_seconds,
        description=config.description
        or f"Runs {config.job} when {config.trigger} of {', '.join(config.watched_assets)} materialize",
        default_status=default_status,
    )


_NEWEST = "__newest_partition__"
"""Cursor entry: watched asset -> the newest time partition seen materialized (unpartitioned target jobs)."""


def _start_watching(context: dg.SensorEvaluationContext, watched: list[dg.AssetKey]) -> dg.SensorResult:
    """First evaluation: remember the latest materialization of each watched asset and request nothing."""
    cursor: dict[str, Any] = {}
    newest: dict[str, str] = {}
    for key in watched:
        text = key.to_user_string()
        latest = context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key), limit=1, ascending=False
        ).records
        if latest:
            cursor[text] = latest[0].storage_id
        time_partitions = _time_partitions(context, key)
        if time_partitions is not None:
            materialized = context.instance.get_materialized_partitions(key)
            if materialized:
                newest[text] = max(materialized, key=time_partitions[0])
    cursor[_NEWEST] = newest
    return dg.SensorResult(
        skip_reason=dg.SkipReason("started watching: materializations from now on request runs"),
        cursor=json.dumps(cursor),
    )


def _time_partitions(context: dg.SensorEvaluationContext, key: dg.AssetKey) -> tuple[Any, str | None] | None:
    """For a time-partitioned asset: (partition key -> window start, its newest partition now); else None."""
    try:
        partitions_def = context.repository_def.asset_graph.get(key).partitions_def if context.repository_def else None
    except (KeyError, dg.DagsterInvariantViolationError):
        return None
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return None
    time_partitions = partitions_def

    def window_of(partition_key: str) -> Any:
        return time_partitions.time_window_for_partition_key(partition_key).start

    return window_of, time_partitions.get_last_partition_key()


def build_run_status_sensor(
    name: str,
    config: RunStatusSensor,
    job: JobObject,
    watched_jobs: list[JobObject],
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """Build a sensor requesting ``job`` when a watched job's run reaches ``status``.

    Args:
        name: Sensor name.
        config: The run-status sensor entry.
        job: The job to request.
        watched_jobs: The watched jobs.
        default_status: RUNNING or STOPPED.

    Returns:
        The sensor.
    """

    @dg.run_status_sensor(
        run_status=_STATUSES[config.status],
        name=name,
        monitored_jobs=watched_jobs,
        request_job=job,
        minimum_interval_seconds=config.poll_interval_seconds,
        default_status=default_status,
        description=config.description
        or f"Runs {config.job} when {', '.join(config.watched_jobs)} reach {config.status}",
    )
    def _on_status(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        run = context.dagster_run
        return dg.RunRequest(
            run_key=f"{name}:{run.run_id}",
            tags={"floe/triggered_by_run": run.run_id, "floe/triggered_by_job": run.job_name},
        )

    return _on_status


def build_custom_sensor(
    name: str,
    config: CustomSensor,
    job: JobObject,
    function: Any,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """Build a sensor calling ``function(context, **args)``.

    The function may return run requests (one or a list), a ``SensorResult``, a ``SkipReason``, a bool (True:
    one run request; False: skip) or None (skip).

    Args:
        name: Sensor name.
        config: The custom sensor entry.
        job: The job to request.
        function: The target function (already checked against the import boundary).
        default_status: RUNNING or STOPPED.

    Returns:
        The sensor.
    """
    args = dict(config.args)
    reference = config.target_function

    def _evaluate(context: dg.SensorEvaluationContext) -> Any:
        result = function(context, **args)
        if result is True:
            return [dg.RunRequest()]
        if result is False or result is None:
            return dg.SkipReason(f"{reference} returned {result!r}")
        return result

    return dg.SensorDefinition(
        name=name,
        evaluation_fn=_evaluate,
        job=job,
        minimum_interval_seconds=config.poll_interval_seconds,
        description=config.description or f"Calls {reference}",
        default_status=default_status,
    )
