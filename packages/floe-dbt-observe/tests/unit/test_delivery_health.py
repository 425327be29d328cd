"""Flushes wait for a healthy lineage backend and not for a failing or slow one.

The backends are real HTTP servers on 127.0.0.1 talked to by the OpenLineage client's own HTTP transport. No
assertion is on elapsed time: "did not wait" is shown by why the flush stopped (the backend's health, not the
generous flush timeout every close is given).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.transport import Transport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from floe_dbt_observe.delivery_health import DeliveryHealth, delivery_health
from floe_dbt_observe.lineage_emitter import LineageEmitter

GENEROUS_FLUSH_SECONDS = 60.0


def _event() -> Any:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    return RunEvent(
        eventType=RunState.START,
        eventTime="2024-01-01T00:00:00+00:00",
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="n", name="j"),
    )


def _http_client(url: str, timeout_seconds: float = 5.0) -> OpenLineageClient:
    config = HttpConfig.from_dict({"url": url, "timeout": timeout_seconds, "retry": {"total": 0}})
    return OpenLineageClient(transport=HttpTransport(config))


class _Gate(Transport):
    """Holds every send until released."""

    kind = "floe-test-gate"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Any] = []

    def emit(self, event: Any) -> None:
        self.release.wait(30)
        self.sent.append(event)


def test_a_healthy_backend_answering_after_300_ms_gets_every_event(http_endpoints_factory: Callable[..., Any]) -> None:
    endpoint = http_endpoints_factory(delay_seconds=0.3)
    emitter = LineageEmitter(_http_client(endpoint.url))
    events = [_event() for _ in range(6)]
    for event in events:
        emitter.submit(lambda event=event: event)
    report = emitter.close(GENEROUS_FLUSH_SECONDS)
    assert (report.sent, report.failed, report.pending, report.gave_up) == (6, 0, 0, None)
    received = {body["run"]["runId"] for body in endpoint.recorded.json_bodies()}
    assert received == {str(event.run.runId) for event in events}


def test_a_backend_not_answering_is_not_waited_for_and_its_events_are_counted(
    http_endpoints_factory: Callable[..., Any],
) -> None:
    endpoint = http_endpoints_factory(delay_seconds=10.0)
    emitter = LineageEmitter(_http_client(endpoint.url), health=DeliveryHealth(slow_send_seconds=0.2))
    for _ in range(4):
        emitter.submit(_event)
    report = emitter.close(GENEROUS_FLUSH_SECONDS)
    assert report.sent == 0
    assert report.problems == 4
    assert report.gave_up is not None
    assert "no answer within 0.2 s" in report.gave_up


def test_once_a_send_failed_no_emitter_of_the_client_waits(refused_url: str) -> None:
    client = _http_client(refused_url)
    first = LineageEmitter(client)
    first.submit(_event)
    assert first.close(GENEROUS_FLUSH_SECONDS).failed == 1  # connection refused: fails at once, nothing pending
    second = LineageEmitter(client)  # e.g. the next dbt step, or floe's run-end flush
    for _ in range(3):
        second.submit(_event)
    report = second.close(GENEROUS_FLUSH_SECONDS)
    assert report.problems == 3
    if report.pending:  # stopped early because the backend is known to fail, not because the timeout passed
        assert report.gave_up == "a send to the lineage backend failed"


def test_a_slow_send_in_one_emitter_stops_another_emitters_flush() -> None:
    gate = _Gate()
    client = OpenLineageClient(transport=gate)
    health = delivery_health(client)
    health.slow_send_seconds = 0.1
    busy = LineageEmitter(client)  # floe's executor, say: its send hangs on the backend
    busy.submit(_event)
    while not health.reason_not_to_wait():  # the send is in flight and soon older than 0.1 s
        time.sleep(0.02)
    step = LineageEmitter(client)  # a dbt step closing later: its event would queue behind a hanging backend
    step.submit(_event)
    report = step.close(GENEROUS_FLUSH_SECONDS)
    gate.release.set()
    assert report.gave_up is not None
    assert report.pending + report.failed + report.sent == 1
    busy.close(GENEROUS_FLUSH_SECONDS)


def test_a_quick_success_makes_a_failed_backend_healthy_again() -> None:
    health = DeliveryHealth(slow_send_seconds=5.0)
    health.send_started(1)
    health.send_finished(1, ok=False)
    assert not health.healthy
    health.send_started(1)
    health.send_finished(1, ok=True)
    assert health.healthy


def test_a_successful_but_slow_send_marks_the_backend_slow() -> None:
    health = DeliveryHealth(slow_send_seconds=0.01)
    health.send_started(1)
    time.sleep(0.05)
    health.send_finished(1, ok=True)
    reason = health.reason_not_to_wait()
    assert reason is not None
    assert reason.startswith("a send to the lineage backend took")


def test_emitters_of_one_client_share_one_health_record() -> None:
    client = OpenLineageClient(transport=_Gate())
    other = OpenLineageClient(transport=_Gate())
    assert delivery_health(client) is delivery_health(client)
    assert delivery_health(client) is not delivery_health(other)


def test_an_event_that_cannot_be_built_says_nothing_about_the_backend(
    http_endpoints_factory: Callable[..., Any],
) -> None:
    client = _http_client(http_endpoints_factory().url)

    def broken() -> Any:
        raise RuntimeError("bad facet")

    emitter = LineageEmitter(client)
    emitter.submit(broken)
    assert emitter.close(GENEROUS_FLUSH_SECONDS).failed == 1
    assert delivery_health(client).healthy


def test_events_left_when_the_flush_gives_up_are_discarded_not_sent_late() -> None:
    gate = _Gate()
    emitter = LineageEmitter(OpenLineageClient(transport=gate), health=DeliveryHealth(slow_send_seconds=60.0))
    for _ in range(3):
        emitter.submit(_event)
    report = emitter.close(0.0)
    assert report.pending == 3
    assert report.gave_up == "the flush timeout (0 s) passed"
    gate.release.set()
    worker = emitter._thread
    assert worker is not None
    worker.join(30)
    assert not worker.is_alive()  # an abandoned emitter's thread ends instead of talking to the backend for ever
    assert len(gate.sent) <= 1  # at most the send already in flight; the two queued behind it were dropped
