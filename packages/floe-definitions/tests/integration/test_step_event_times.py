"""Step event times read back from a real instance, as the observer does for Celery and Kubernetes runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    EventLogRecord,
    asset,
    instance_for_test,
    materialize,
)

from floe_dbt_observe.tracing import seconds_to_ns
from floe_definitions.execution.step_event_times import STEP_EVENT_TYPES, RecordedStepTimes


@asset
def upstream() -> int:
    return 1


@asset
def downstream(upstream: int) -> int:
    return upstream + 1


@pytest.fixture
def ran(tmp_path: Path) -> Iterator[tuple[DagsterInstance, str]]:
    """A real two-step run on a fresh SQLite instance: its id, with the instance still open."""
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = materialize([upstream, downstream], instance=instance)
        assert result.success
        yield instance, result.run_id


def _step_records(instance: DagsterInstance, run_id: str) -> list[EventLogRecord]:
    return list(instance.get_records_for_run(run_id, of_type=set(STEP_EVENT_TYPES)).records)


def _event(record: EventLogRecord) -> DagsterEvent:
    event = record.event_log_entry.dagster_event
    assert event is not None
    return event


def test_each_step_event_gets_the_time_its_process_stored_with_it(ran: tuple[DagsterInstance, str]) -> None:
    instance, run_id = ran
    records = _step_records(instance, run_id)
    assert [_event(r).event_type for r in records].count(DagsterEventType.STEP_START) == 2
    times = RecordedStepTimes(instance, run_id)
    for record in records:
        assert times.time_ns(_event(record)) == seconds_to_ns(record.event_log_entry.timestamp)


def test_a_redelivered_steps_start_is_matched_to_its_own_process_not_to_the_lost_one(
    ran: tuple[DagsterInstance, str],
) -> None:
    """A Celery step killed and redelivered stored two STEP_STARTs; the run worker sees only the second one."""
    instance, run_id = ran
    (start, *_) = [_event(r) for r in _step_records(instance, run_id) if _event(r).is_step_start]
    redelivered = start._replace(pid=(start.pid or 0) + 1)
    instance.report_dagster_event(redelivered, run_id, timestamp=1_700_000_000.25)
    times = RecordedStepTimes(instance, run_id)
    assert times.time_ns(redelivered) == 1_700_000_000_250_000_000


def test_an_event_without_a_record_or_not_a_step_event_has_no_time(ran: tuple[DagsterInstance, str]) -> None:
    instance, run_id = ran
    (start, *_) = [_event(r) for r in _step_records(instance, run_id) if _event(r).is_step_start]
    times = RecordedStepTimes(instance, run_id)
    assert times.time_ns(start._replace(step_key="no_such_step")) is None
    assert times.time_ns(start._replace(event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value)) is None
    assert times.time_ns(start) is not None
    assert times.time_ns(start) is None  # one record, already matched: a second STEP_START has none of its own


def test_a_failing_event_log_gives_no_time_and_one_warning_never_an_error(
    ran: tuple[DagsterInstance, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance, run_id = ran
    (start, *_) = [_event(r) for r in _step_records(instance, run_id) if _event(r).is_step_start]
    (shard,) = tmp_path.rglob(f"{run_id}.db")  # the run's SQLite event log, corrupted: every query fails
    shard.write_bytes(b"this is not a database" * 100)
    times = RecordedStepTimes(instance, run_id)
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        assert times.time_ns(start) is None
        assert times.time_ns(start._replace(event_type_value=DagsterEventType.STEP_SUCCESS.value)) is None
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("floe_definitions")]
    assert len(warnings) == 1
    assert f"cannot read step event times of run {run_id}" in warnings[0]
