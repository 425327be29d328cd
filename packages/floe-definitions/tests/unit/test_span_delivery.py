"""Span flushes are bounded, skip a failing or slow exporter, and count what was not delivered.

Real SDK objects throughout: a ``TracerProvider`` with a ``BatchSpanProcessor`` around exporters that really
export (in memory), really fail, really raise, or really block until released. No assertion is on elapsed time:
"did not wait" is shown by why the flush stopped (the exporter's health, not the generous timeout it was given).
The OTLP wire (closed port, slow collector; HTTP, and gRPC in the fault tests) is covered in floe-definitions'
``test_tracing.py`` and its fault tests, where the OTLP exporters are dependencies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from floe_definitions.telemetry.span_delivery import (
    MAX_COUNTED_TRACES,
    SpanDelivery,
    SpanFlushReport,
    flush_spans,
    span_delivery,
)
from floe_definitions.telemetry.span_export import EndedSpanCounter, track_span_delivery

GENEROUS_FLUSH_SECONDS = 60.0


class _Failing(SpanExporter):
    """Answers every export with FAILURE (what the OTLP exporter returns once its retries are exhausted)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.FAILURE


class _Raising(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector went away")


class _Gate(SpanExporter):
    """Holds every export until released, then succeeds (a collector that answers late)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(GENEROUS_FLUSH_SECONDS)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    """Providers built by a test; shut down (without waiting for a blocked exporter) at teardown."""
    built: list[TracerProvider] = []
    yield built
    for provider in built:
        provider.shutdown()


def _provider(providers: list[TracerProvider], exporter: SpanExporter, *, tracked: bool = True) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    chosen = track_span_delivery(provider, exporter) if tracked else exporter
    # A long schedule delay and a batch as large as the queue: only the flushes under test export (with the
    # default batch of 512, the worker exports as soon as 512 spans are queued, racing the assertions).
    provider.add_span_processor(
        BatchSpanProcessor(chosen, schedule_delay_millis=600_000, max_queue_size=4096, max_export_batch_size=4096)
    )
    providers.append(provider)
    return provider


def _end_spans(provider: TracerProvider, count: int) -> None:
    tracer = provider.get_tracer("test")
    for index in range(count):
        tracer.start_span(f"span-{index}").end()


def test_healthy_exporter_gets_every_span_and_no_warning(providers: list[TracerProvider]) -> None:
    exporter = InMemorySpanExporter()
    provider = _provider(providers, exporter)
    _end_spans(provider, 3)

    report = flush_spans(provider, GENEROUS_FLUSH_SECONDS)

    assert report == SpanFlushReport(completed=True, gave_up=None, ended=3, exported=3, failed=0)
    assert report.problem() is None
    assert len(exporter.get_finished_spans()) == 3


def test_the_span_counter_lets_the_providers_own_flush_reach_the_batch_processor(
    providers: list[TracerProvider],
) -> None:
    # The SDK flushes processors in order and stops at the first falsy answer; before opentelemetry-python PR 5179
    # the base SpanProcessor answered None, so a counter that did not answer True kept every flush from exporting.
    assert EndedSpanCounter(SpanDelivery()).force_flush() is True
    exporter = InMemorySpanExporter()
    provider = _provider(providers, exporter)
    _end_spans(provider, 2)

    assert provider.force_flush()

    assert len(exporter.get_finished_spans()) == 2


def test_failed_export_is_counted_and_later_flushes_do_not_wait(providers: list[TracerProvider]) -> None:
    provider = _provider(providers, _Failing())
    _end_spans(provider, 2)
    first = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert (first.ended, first.exported, first.failed) == (2, 0, 2)
    # Completed (SDK 1.45 exports in the flushing thread), or stopped by the failure it saw before the batch
    # processor's worker thread (which exports in older SDKs) reported the flush done: never by the timeout.
    assert first.completed or first.gave_up == "a send to the span collector failed"
    assert (first.problem() or "").startswith("2 span(s) not delivered (failed=2, still queued=0")

    # A later flush is not even started: the SDK's force_flush would block on the failing exporter.
    _end_spans(provider, 1)
    second = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert not second.completed
    assert second.gave_up == "a send to the span collector failed"
    assert (second.undelivered, second.failed, second.queued) == (3, 2, 1)
    assert "3 span(s) not delivered (failed=2, still queued=1" in (second.problem() or "")


def test_raising_exporter_counts_as_failed(providers: list[TracerProvider]) -> None:
    provider = _provider(providers, _Raising())
    _end_spans(provider, 2)
    report = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert (report.ended, report.exported, report.failed) == (2, 0, 2)
    delivery = span_delivery(provider)
    assert delivery is not None
    assert not delivery.health.healthy


def test_export_in_flight_too_long_stops_the_wait_before_the_timeout(providers: list[TracerProvider]) -> None:
    gate = _Gate()
    provider = _provider(providers, gate)
    _end_spans(provider, 2)
    try:
        report = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    finally:
        gate.release.set()
    assert not report.completed
    assert report.gave_up == "a send to the span collector got no answer within 1 s"
    assert (report.ended, report.exported, report.failed, report.queued) == (2, 0, 0, 2)
    assert "2 span(s) not delivered (failed=0, still queued=2" in (report.problem() or "")


def test_quick_successful_export_heals(providers: list[TracerProvider]) -> None:
    gate = _Gate()
    provider = _provider(providers, gate)
    _end_spans(provider, 1)
    assert flush_spans(provider, GENEROUS_FLUSH_SECONDS).gave_up is not None  # the export is held: unhealthy
    gate.release.set()  # the held export now succeeds, but late: still unhealthy
    delivery = span_delivery(provider)
    assert delivery is not None
    _end_spans(provider, 1)
    provider.force_flush()  # what the batch processor's worker does on its schedule: a quick success
    assert delivery.health.healthy

    _end_spans(provider, 2)
    report = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert report == SpanFlushReport(completed=True, gave_up=None, ended=4, exported=4, failed=0)
    assert report.problem() is None
    assert len(gate.exported) == 4


def test_untracked_provider_gets_a_bounded_flush_without_counts(providers: list[TracerProvider]) -> None:
    gate = _Gate()
    provider = _provider(providers, gate, tracked=False)
    _end_spans(provider, 1)
    try:
        report = flush_spans(provider, 0.2)
    finally:
        gate.release.set()
    assert span_delivery(provider) is None
    assert not report.completed
    assert not report.counted
    assert report.gave_up == "the flush timeout (0.2 s) passed"
    assert report.problem() == (
        "span export did not finish within the flush, not waited for: the flush timeout (0.2 s) passed"
    )


def test_no_provider_is_a_completed_flush() -> None:
    assert flush_spans(None, 1.0) == SpanFlushReport(completed=True)


def test_counts_are_kept_per_trace_so_a_run_reports_its_own_spans(providers: list[TracerProvider]) -> None:
    provider = _provider(providers, _Failing())
    tracer = provider.get_tracer("test")
    first_run = tracer.start_span("first run")
    first_run.end()
    with trace.use_span(tracer.start_span("second run"), end_on_exit=True) as second_run:
        for name in ("model a", "model b"):
            tracer.start_span(name).end()  # children: the second run's trace
    second_trace = second_run.get_span_context().trace_id

    of_second = flush_spans(provider, GENEROUS_FLUSH_SECONDS, trace_id=second_trace)
    assert (of_second.ended, of_second.exported, of_second.failed, of_second.trace_id) == (3, 0, 3, second_trace)
    assert (of_second.problem() or "").startswith(
        f"3 span(s) not delivered (failed=3, still queued=0; ended=3, exported=0 in trace {second_trace:032x}"
    )
    of_first = flush_spans(provider, GENEROUS_FLUSH_SECONDS, trace_id=first_run.get_span_context().trace_id)
    assert (of_first.ended, of_first.failed) == (1, 1)
    of_process = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert (of_process.ended, of_process.failed, of_process.trace_id) == (4, 4, None)
    assert "ended=4, exported=0 in this process" in (of_process.problem() or "")
    assert flush_spans(provider, GENEROUS_FLUSH_SECONDS, trace_id=12345).ended == 0  # a trace never seen


def test_only_the_latest_traces_keep_counts(providers: list[TracerProvider]) -> None:
    provider = _provider(providers, InMemorySpanExporter())
    tracer = provider.get_tracer("test")
    spans = [tracer.start_span(f"run {index}") for index in range(MAX_COUNTED_TRACES + 1)]
    for span in spans:
        span.end()
    oldest, newest = (span.get_span_context().trace_id for span in (spans[0], spans[-1]))
    delivery = span_delivery(provider)
    assert delivery is not None
    assert delivery.counts(oldest) == (0, 0, 0)  # dropped: counts stay bounded in a long-lived process
    assert delivery.counts(newest) == (1, 0, 0)
    assert delivery.counts() == (MAX_COUNTED_TRACES + 1, 0, 0)


def test_span_delivery_does_not_import_span_export() -> None:
    # span_export holds the SDK side and imports span_delivery: the other direction would be an import cycle
    import ast
    from pathlib import Path

    import floe_definitions.telemetry.span_delivery

    tree = ast.parse(Path(floe_definitions.telemetry.span_delivery.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "floe_definitions.telemetry.span_export" not in imported
