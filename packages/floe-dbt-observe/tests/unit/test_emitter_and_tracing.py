"""The bounded lineage emitter and the tracing helpers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.transport import Transport

from floe_dbt_observe.lineage_emitter import LineageEmitter
from floe_dbt_observe.tracing import dagster_run_span_context, dbt_time_ns, ns_to_iso, seconds_to_ns


class _Blocking(Transport):
    kind = "floe-test-blocking"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Any] = []

    def emit(self, event: Any) -> None:
        self.release.wait(10)
        self.sent.append(event)


class _Collect(Transport):
    kind = "floe-test-collect"

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def emit(self, event: Any) -> None:
        self.sent.append(event)


def _event() -> Any:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    return RunEvent(
        eventType=RunState.START,
        eventTime="2024-01-01T00:00:00+00:00",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="n", name="j"),
    )


def test_events_are_sent_in_order() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport))
    events = [_event() for _ in range(5)]
    for event in events:
        emitter.submit(lambda event=event: event)
    report = emitter.close(5.0)
    assert transport.sent == events
    assert (report.sent, report.failed, report.dropped, report.pending) == (5, 0, 0, 0)


def test_events_arriving_while_the_worker_idles_are_delivered() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport), poll_seconds=0.05, batch_size=1000)
    emitter.submit(_event)
    deadline = time.monotonic() + 10
    while not transport.sent and time.monotonic() < deadline:  # picked up by polling, no wake-up per event
        time.sleep(0.01)
    emitter.submit(_event)
    report = emitter.close(5.0)
    assert (report.sent, report.pending, len(transport.sent)) == (2, 0, 2)


def test_a_full_queue_drops_and_counts() -> None:
    transport = _Blocking()
    emitter = LineageEmitter(OpenLineageClient(transport=transport), max_queue=2)
    for _ in range(6):
        emitter.submit(_event)
    report = emitter.close(0.0)
    transport.release.set()
    assert report.dropped >= 3
    assert report.problems == report.dropped + report.pending + report.failed > 0


def test_factory_errors_are_counted_not_raised() -> None:
    emitter = LineageEmitter(OpenLineageClient(transport=_Collect()))

    def broken() -> Any:
        raise RuntimeError("bad facet")

    emitter.submit(broken)
    assert emitter.close(5.0).failed == 1


def test_submissions_after_close_are_dropped() -> None:
    emitter = LineageEmitter(OpenLineageClient(transport=_Collect()))
    emitter.close(0.1)
    emitter.submit(_event)
    assert emitter.close(0.1).dropped == 1


def test_dbt_naive_timestamps_are_utc() -> None:
    assert dbt_time_ns("1970-01-01T00:00:01.5") == 1_500_000_000
    assert dbt_time_ns("1970-01-01T00:00:01Z") == 1_000_000_000
    assert dbt_time_ns("") is None
    assert dbt_time_ns("None") is None


def test_float_seconds_become_ns_at_the_nearest_microsecond() -> None:
    # floe's one conversion: Dagster's stored event times (floats with sub-microsecond noise) and dbt's parsed
    # times. Truncating, as dbt_time_ns once did, gives ...123456 for the first value where rounding gives ...123457.
    assert seconds_to_ns(1_700_000_000.1234567) == 1_700_000_000_123_457_000
    assert seconds_to_ns(1_700_000_000.123456) == 1_700_000_000_123_456_000
    assert seconds_to_ns(1_700_000_000.0000004) == 1_700_000_000_000_000_000  # below what the float holds
    assert seconds_to_ns(0.0) == 0


def test_an_event_time_is_the_exact_microsecond_in_iso_8601_utc() -> None:
    text = ns_to_iso(1_700_000_000_123_456_789)
    assert text == "2023-11-14T22:13:20.123456+00:00"
    assert datetime.fromisoformat(text) == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)


def test_run_span_context_derives_the_trace_from_the_run_id() -> None:
    run_id = str(uuid.uuid4())
    context = dagster_run_span_context(run_id)
    assert context.trace_id == uuid.UUID(run_id).int
    assert context.span_id == dagster_run_span_context(run_id).span_id != 0
    assert context.is_remote


def _slow_event() -> Any:
    time.sleep(0.2)  # an event built late, like a COMPLETE held until dbt exited (warehouse read, column lineage)
    return _event()


def test_a_flush_while_progressing_waits_for_events_that_keep_being_built() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport))
    for _ in range(10):
        emitter.submit(_slow_event)
    report = emitter.close(1.0, while_progressing=True)  # 10 x 0.2 s > 1 s, but each event restarts the wait
    assert (report.sent, report.pending, report.gave_up) == (10, 0, None)
    assert len(transport.sent) == 10


def _event_built_in(seconds: float) -> Callable[[], Any]:
    def build() -> Any:
        time.sleep(seconds)  # local work (the warehouse read, column lineage) on a busy machine
        return _event()

    return build


def test_a_flush_while_progressing_does_not_count_an_events_build_against_the_backends_timeout() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport))
    emitter.submit(_event_built_in(1.0))
    report = emitter.close(0.2, while_progressing=True)  # one build of 1 s, a flush timeout of 0.2 s
    assert (report.sent, report.pending, report.gave_up) == (1, 0, None)
    assert len(transport.sent) == 1


def test_a_build_longer_than_its_cap_is_given_up_and_counted_as_pending() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport), max_build_seconds=0.2)
    emitter.submit(_event_built_in(3.0))
    report = emitter.close(0.1, while_progressing=True)
    assert report.pending == 1
    assert report.gave_up is not None
    assert "still being built" in report.gave_up


def test_a_plain_flush_still_stops_at_its_timeout() -> None:
    transport = _Collect()
    emitter = LineageEmitter(OpenLineageClient(transport=transport))
    for _ in range(6):
        emitter.submit(_slow_event)
    report = emitter.close(0.3)
    assert report.pending > 0
    assert report.gave_up is not None
