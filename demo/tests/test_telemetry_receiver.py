"""The demo's local receiver: real OTLP/HTTP and OpenLineage HTTP clients send to it, and it relays to the user's."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from demo.run_demo import receiver_environment, relaying_receiver, standard_sinks, wants_receiver
from demo.telemetry_receiver import TelemetryReceiver
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from floe_test_support.http_endpoints import Endpoint


def test_the_receiver_records_spans_and_events_and_relays_them_to_the_standard_endpoints(
    http_endpoint: Endpoint,
) -> None:
    url = http_endpoint.url  # the user's own collector / Marquez
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OPENLINEAGE_URL": url, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert wants_receiver(standard_sinks(environ))
    assert not wants_receiver(standard_sinks({"OTEL_TRACES_EXPORTER": "console"}))
    with relaying_receiver(standard_sinks(environ)).running() as receiver:
        env = receiver_environment(environ, receiver.url)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == env["OPENLINEAGE_URL"] == receiver.url
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")))
        provider.get_tracer("t").start_span("step", attributes={"dagster.run_id": "r1"}).end()
        provider.shutdown()
        client = OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict({"url": receiver.url})))
        event = RunEvent(
            eventType=RunState.START,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=str(uuid4())),
            job=Job(namespace="floe", name="shop.raw_orders"),
            producer="https://example.invalid/floe-test",
        )
        client.emit(event)
        receiver.wait_until_quiet(quiet_seconds=0.2)
        spans, events = receiver.spans, receiver.events
    assert [(span["name"], span["attributes"], span["resource"]["attributes"]["service.name"]) for span in spans] == [
        ("step", {"dagster.run_id": "r1"}, "shop")
    ]
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [("START", "shop.raw_orders")]
    assert sorted(path for path, _, _ in http_endpoint.recorded.requests) == ["/api/v1/lineage", "/v1/traces"]
    assert receiver.received.relay_errors == []


def test_without_relay_the_receiver_still_answers_and_records() -> None:
    with TelemetryReceiver().running() as receiver:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")))
        provider.get_tracer("t").start_span("alone").end()
        provider.shutdown()
        assert [span["name"] for span in receiver.spans] == ["alone"]


def test_no_receiver_for_telemetry_floe_does_not_send_over_the_network() -> None:
    """The demo reads the standard variables by floe's rule: switching spans off wins over an endpoint."""
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    assert not wants_receiver(standard_sinks(environ))
    assert not wants_receiver(
        standard_sinks({**environ, "OPENLINEAGE_URL": "http://x", "OPENLINEAGE_DISABLED": "true"})
    )


def test_the_receiver_relays_to_the_urls_floe_sends_to() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom/traces",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318",
        "OPENLINEAGE_URL": "http://marquez:5000/",
        "OPENLINEAGE_ENDPOINT": "/api/v2/lineage",
    }
    sinks = standard_sinks(environ)
    assert sinks.spans is not None
    assert sinks.lineage is not None
    assert sinks.spans.http_traces_url(environ) == "http://collector:4318/custom/traces"
    assert sinks.lineage.http_url == "http://marquez:5000/api/v2/lineage"
