"""The SDK side of span delivery counting: an exporter wrapper and an ended-span counter.

Application-layer code (floe-definitions owns the SDK provider): floe-dbt-observe depends on the OpenTelemetry
API only and never wraps, flushes or shuts down the SDK. ``tracing.build_tracer_provider`` calls
:func:`track_span_delivery`; ``span_delivery`` holds the counts and the bounded flushes and does not import this.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from floe_definitions.telemetry.span_delivery import SpanDelivery, register_span_delivery

_tokens = itertools.count(1)


class EndedSpanCounter(SpanProcessor):
    """Count every sampled span the provider ends (what a ``BatchSpanProcessor`` would queue).

    Args:
        delivery: Where the count goes.
    """

    def __init__(self, delivery: SpanDelivery) -> None:
        self._delivery = delivery

    def on_end(self, span: ReadableSpan) -> None:
        """Count ``span`` if it is sampled."""
        if span.context is not None and span.context.trace_flags.sampled:
            self._delivery.span_ended(span.context.trace_id)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Report success: nothing is held here.

        Without it, SDK releases older than opentelemetry-python PR 5179 (the 1.27 floor among them; the locked
        1.45.2 has the fix) answer ``None`` from the base class, and the provider, which flushes its processors in
        order and stops at the first falsy answer, never reached the batch processor added after this counter:
        ``provider.force_flush()`` exported nothing, and spans left only on the batch schedule or at shutdown.
        """
        return True


class DeliveryCountingExporter(SpanExporter):
    """Delegate to an exporter, recording each export's outcome and duration.

    Args:
        inner: The exporter that actually sends the spans.
        delivery: Where outcomes are recorded.
    """

    def __init__(self, inner: SpanExporter, delivery: SpanDelivery) -> None:
        self._inner = inner
        self._delivery = delivery

    @property
    def inner(self) -> SpanExporter:
        """The wrapped exporter."""
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans`` with the wrapped exporter; a raised error counts as a failed export and is re-raised."""
        token = next(_tokens)
        trace_ids = [span.context.trace_id if span.context is not None else 0 for span in spans]
        self._delivery.export_started(token)
        ok = False
        try:
            result = self._inner.export(spans)
            ok = result == SpanExportResult.SUCCESS
            return result
        finally:
            self._delivery.export_finished(token, trace_ids, ok=ok)

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return bool(self._inner.force_flush(timeout_millis))


def track_span_delivery(provider: SdkTracerProvider, exporter: SpanExporter) -> SpanExporter:
    """Count ``provider``'s spans and wrap ``exporter`` to record each export's outcome.

    Call it before adding the batch processor, and give the processor the returned exporter::

        provider.add_span_processor(BatchSpanProcessor(track_span_delivery(provider, exporter)))

    Args:
        provider: The SDK tracer provider whose ended spans are counted.
        exporter: The exporter the batch processor would use.

    Returns:
        An exporter delegating to ``exporter`` that records every export in the provider's :class:`SpanDelivery`.
    """
    delivery = register_span_delivery(provider)
    provider.add_span_processor(EndedSpanCounter(delivery))
    return DeliveryCountingExporter(exporter, delivery)
