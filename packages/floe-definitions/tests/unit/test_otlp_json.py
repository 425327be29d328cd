"""The OTLP/JSON trace file: span times read back with floe's one ns-to-ISO formatter."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from floe_dbt_observe.tracing import ns_to_iso
from floe_definitions.telemetry.otlp_json import OtlpJsonFileSpanExporter
from otlp_spans import read_spans

START_NS = 1_700_000_000_123_456_789  # a float of seconds rounds this to ...123457; the lineage events say ...123456
END_NS = 1_700_000_001_999_999_999


def test_span_times_read_back_equal_the_lineage_event_times(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileSpanExporter(path)))
    provider.get_tracer("test").start_span("model.shop.orders", start_time=START_NS).end(end_time=END_NS)
    provider.shutdown()

    (span,) = read_spans(path)

    assert span["start_time"] == ns_to_iso(START_NS) == "2023-11-14T22:13:20.123456+00:00"
    assert span["end_time"] == ns_to_iso(END_NS) == "2023-11-14T22:13:21.999999+00:00"
