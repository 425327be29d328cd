"""What a lost step stored before it was lost, and the lineage events that end the dbt node runs it left open.

A step lost with its process (a Celery worker killed whole) reports nothing more; the run worker reads what the
step's last attempt stored in the run's event log (from its last ``STEP_START``: materializations, check
evaluations, observations). :mod:`floe_definitions.execution.celery_worker_watch` hands those events to Dagster as
the task's result; for a dbt step, :func:`lost_dbt_step_events` turns them, with the step's derived node run ids,
into the terminal events of the node runs the step had no time to end (floe-dbt-observe's ``lost_step_events``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckKey, AssetCheckSeverity, DagsterEvent, DagsterEventType, EventLogEntry

from floe_dbt_observe.integration import (
    OPENLINEAGE_RUN_ID_KEY,
    DbtStepLineage,
    LostStep,
    NodeRecord,
    ParentRun,
    StepAttempt,
    lost_step_events,
    ns_to_iso,
    run_created,
)

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from floe_definitions.execution.step_assets import StepAssets

logger = logging.getLogger(__name__)

STORED_STEP_EVENTS = frozenset(
    {
        DagsterEventType.STEP_START,
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_OBSERVATION,
        DagsterEventType.ASSET_CHECK_EVALUATION,
    }
)
"""The events a lost step stored that its result carries: what floe's observer and Dagster's plan read."""
_DBT_UNIQUE_ID_KEY = "dagster_dbt/unique_id"


def stored_step_entries(instance: Any, run_id: str, step_key: str) -> list[EventLogEntry]:
    """Return the entries the step's last attempt stored (from its last ``STEP_START`` on), oldest first.

    Args:
        instance: The run's ``DagsterInstance``.
        run_id: The Dagster run id.
        step_key: The step.
    """
    try:
        records = instance.get_records_for_run(run_id, of_type=set(STORED_STEP_EVENTS))
    except Exception:  # the failure is what matters: without these the step is reported without its start
        logger.warning("floe: cannot read the lost step %s's events from the instance", step_key, exc_info=True)
        return []
    entries = [
        record.event_log_entry
        for record in records.records
        if record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.step_key == step_key
    ]
    starts = [
        index
        for index, entry in enumerate(entries)
        if entry.dagster_event is not None and entry.dagster_event.event_type == DagsterEventType.STEP_START
    ]
    return entries[starts[-1] :] if starts else []


def stored_step_events(instance: Any, run_id: str, step_key: str) -> list[DagsterEvent]:
    """Return the events of :func:`stored_step_entries`."""
    return [entry.dagster_event for entry in stored_step_entries(instance, run_id, step_key) if entry.dagster_event]


def lost_dbt_step_events(
    lineage: DbtStepLineage,
    instance: Any,
    step: StepAssets,
    *,
    attempt: int,
    parent: ParentRun,
    message: str,
    at_ns: int,
    nominal_time: tuple[str, str | None] | None = None,
) -> list[RunEvent]:
    """Return the events ending the dbt node runs of a lost step attempt (see the module docstring).

    Args:
        lineage: How the code location's dbt steps name their lineage runs.
        instance: The run's ``DagsterInstance`` (the step's stored events; the run's creation time).
        step: The lost step's assets and checks.
        attempt: The lost attempt (0 for the first).
        parent: The Dagster run's lineage run.
        message: Why the step was lost (naming the worker).
        at_ns: When the step was judged lost.
        nominal_time: The run's partition window, or None.
    """
    asset_keys = {
        str(getattr(unique_id, "value", unique_id)): key.to_user_string()
        for key in step.outputs
        if (unique_id := step.metadata.get(key, {}).get(_DBT_UNIQUE_ID_KEY))
    }
    records = [
        record
        for entry in stored_step_entries(instance, parent.run_id, step.step_key)
        if (record := _node_record(entry)) is not None
    ]
    lost = LostStep(
        attempt=StepAttempt(parent.run_id, step.step_key, attempt, run_created(instance, parent.run_id)),
        parent=parent,
        asset_keys=asset_keys,
        check_names=frozenset(_check_name(key) for key in step.checks),
        records=records,
        message=message,
        event_time=ns_to_iso(at_ns),
        nominal_time=nominal_time,
    )
    return lost_step_events(lineage, lost)


def _check_name(key: AssetCheckKey) -> tuple[str, str]:
    return key.asset_key.to_user_string(), key.name


def _node_record(entry: EventLogEntry) -> NodeRecord | None:
    """Return the node run a stored event records (its ``floe/openlineage_run_id``), or None."""
    event = entry.dagster_event
    if event is None:
        return None
    metadata: Mapping[str, Any] = {}
    data = event.event_specific_data
    if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
        metadata = event.step_materialization_data.materialization.metadata
    elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
        metadata = getattr(data, "metadata", None) or {}
    elif event.event_type == DagsterEventType.ASSET_OBSERVATION:
        metadata = getattr(getattr(data, "asset_observation", None), "metadata", None) or {}
    run_id = metadata.get(OPENLINEAGE_RUN_ID_KEY)
    run_id = getattr(run_id, "value", run_id)
    if not run_id:
        return None
    failed_check = (
        event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
        and getattr(data, "passed", True) is False
        and getattr(data, "severity", None) == AssetCheckSeverity.ERROR
    )
    return NodeRecord(
        run_id=str(run_id),
        materialized=event.event_type == DagsterEventType.ASSET_MATERIALIZATION,
        event_time=ns_to_iso(int(entry.timestamp * 1e9)),
        failed_check=failed_check,
    )
