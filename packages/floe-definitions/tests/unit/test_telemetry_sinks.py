"""The one rule between platform.yaml's sinks and the standard OTEL_* / OPENLINEAGE_* variables, and OTLP/JSON files."""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from openlineage.client.transport.http import HttpTransport
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.commands.checks import check_floe_yaml
from floe_definitions.errors import TelemetryConfigError
from floe_definitions.telemetry.lineage_client import build_lineage_client
from floe_definitions.telemetry.sinks import TelemetryOverrideWarning, lineage_sink, span_sink
from floe_definitions.telemetry.tracing import _configured_exporter, build_tracer_provider
from otlp_spans import read_spans

FILE_SINKS: dict[str, Any] = {
    "tracing": {"type": "file", "path": ".floe/traces"},
    "lineage": {"transport": {"type": "file", "path": ".floe/lineage"}},
}


def _spec() -> FloeSpec:
    return FloeSpec.model_validate({"name": "shop", "version": "1.0.0"})


def _platform(**fields: Any) -> PlatformSpec:
    return PlatformSpec.model_validate({"environment": "ci", **fields})


def _locate(key: str) -> str:
    return {"tracing": "platform/local.yaml:5:1", "lineage.transport": "platform/local.yaml:7:3"}[key]


def test_platform_file_sink_wins_over_an_endpoint_variable_with_a_warning_naming_both(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OPENLINEAGE_URL": "http://127.0.0.1:5000"}
    platform = _platform(**FILE_SINKS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spans = span_sink(_spec(), platform, tmp_path, env, locate=_locate)
        lineage = lineage_sink(_spec(), platform, tmp_path, env, locate=_locate)
    assert {w.category for w in caught} == {TelemetryOverrideWarning}
    assert (spans.kind, spans.path) == ("file", tmp_path / ".floe" / "traces" / "shop.jsonl")
    assert (lineage.kind, lineage.path) == ("file", tmp_path / ".floe" / "lineage" / "shop.jsonl")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" in messages[0]
    assert "platform/local.yaml:5:1: tracing says tracing type 'file'" in messages[0]
    assert "OPENLINEAGE_URL=http://127.0.0.1:5000" in messages[1]
    assert "platform/local.yaml:7:3: lineage.transport" in messages[1]


def test_standard_variables_decide_when_the_platform_file_leaves_the_sinks_unset(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OPENLINEAGE_URL": "http://127.0.0.1:5000"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spans = span_sink(_spec(), _platform(), tmp_path, env)
        lineage = lineage_sink(_spec(), _platform(), tmp_path, env)
    assert (spans.kind, spans.decided_by, spans.endpoint) == ("otlp", "OTEL_EXPORTER_OTLP_ENDPOINT", None)
    assert spans.describe(env) == "the OTLP collector http://127.0.0.1:4318"
    assert (lineage.kind, lineage.url) == ("http", "http://127.0.0.1:5000")
    client = build_lineage_client(_spec(), _platform(), tmp_path, env=env)
    assert client is not None
    assert isinstance(client.transport, HttpTransport)


def test_an_otlp_platform_entry_without_endpoint_uses_the_variable_without_warning(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sink = span_sink(_spec(), _platform(tracing={"type": "otlp"}), tmp_path, env)
    assert (sink.kind, sink.endpoint) == ("otlp", None)


def test_nothing_set_writes_files_under_dot_floe(tmp_path: Path) -> None:
    assert span_sink(_spec(), _platform(), tmp_path, {}).path == tmp_path / ".floe" / "traces" / "shop.jsonl"
    assert lineage_sink(_spec(), _platform(), tmp_path, {}).path == tmp_path / ".floe" / "lineage" / "shop.jsonl"


@pytest.mark.parametrize("platform_fields", [{}, FILE_SINKS], ids=["no-platform-sink", "platform-file-sink"])
def test_otel_traces_exporter_none_and_sdk_disabled_turn_spans_off_over_everything(
    tmp_path: Path, platform_fields: dict[str, Any]
) -> None:
    platform = _platform(**platform_fields)
    assert build_tracer_provider(_spec(), platform, tmp_path, env={"OTEL_TRACES_EXPORTER": "none"}) is None
    assert build_tracer_provider(_spec(), platform, tmp_path, env={"OTEL_SDK_DISABLED": "true"}) is None
    assert build_lineage_client(_spec(), platform, tmp_path, env={"OPENLINEAGE_DISABLED": "true"}) is None
    assert not (tmp_path / ".floe").exists()


def test_otel_traces_exporter_console_and_otlp_choose_the_exporter(tmp_path: Path) -> None:
    console = span_sink(_spec(), _platform(), tmp_path, {"OTEL_TRACES_EXPORTER": "console"})
    assert console.kind == "console"
    otlp = span_sink(_spec(), _platform(), tmp_path, {"OTEL_TRACES_EXPORTER": "otlp"})
    assert (otlp.kind, otlp.decided_by) == ("otlp", "OTEL_TRACES_EXPORTER")
    assert isinstance(_configured_exporter(console, _spec()), ConsoleSpanExporter)
    assert isinstance(_configured_exporter(otlp, _spec()), OTLPSpanExporter)
    assert not (tmp_path / ".floe").exists()


def test_otel_traces_exporter_naming_another_exporter_than_the_platform_warns(tmp_path: Path) -> None:
    with pytest.warns(TelemetryOverrideWarning, match="OTEL_TRACES_EXPORTER=console is set but ignored"):
        sink = span_sink(_spec(), _platform(**FILE_SINKS), tmp_path, {"OTEL_TRACES_EXPORTER": "console"})
    assert sink.kind == "file"


def test_an_unsupported_otel_traces_exporter_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(TelemetryConfigError) as raised:
        span_sink(_spec(), _platform(), tmp_path, {"OTEL_TRACES_EXPORTER": "zipkin"})
    assert raised.value.located_message.startswith(
        "environment: OTEL_TRACES_EXPORTER: 'zipkin' is not supported; set it to one of otlp, console, none"
    )


def test_file_traces_are_otlp_json_export_requests_a_collector_reads(tmp_path: Path) -> None:
    provider = build_tracer_provider(_spec(), _platform(), tmp_path, env={})
    assert provider is not None
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("parent"):
        provider.get_tracer("t").start_span("child", attributes={"rows": 3, "tags": ["a", "b"]}).end()
    provider.force_flush()
    line = (tmp_path / ".floe" / "traces" / "shop.jsonl").read_text().splitlines()[0]
    document = json.loads(line)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32
    assert len(span["spanId"]) == 16
    int(span["traceId"], 16)  # hex, as OTLP/JSON requires (protobuf's own mapping would give base64)
    # Back to protobuf: the same request the OTLP exporters send for these spans.
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for item in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
    parsed = json_format.ParseDict(document, ExportTraceServiceRequest())
    assert parsed == encode_spans(memory.get_finished_spans())
    records = read_spans(tmp_path / ".floe" / "traces" / "shop.jsonl")
    by_name = {record["name"]: record for record in records}
    assert by_name["child"]["parent_id"] == by_name["parent"]["context"]["span_id"]
    assert by_name["child"]["attributes"] == {"rows": 3, "tags": ["a", "b"]}
    assert by_name["child"]["resource"]["attributes"]["service.name"] == "shop"
    provider.shutdown()


def test_floe_check_reports_each_overridden_variable_at_the_platform_key(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text('name: shop\nversion: "1.0.0"\n')
    platform = tmp_path / "platform.yaml"
    platform.write_text(
        "environment: local\ntracing: {type: file}\nlineage:\n  transport: {type: file, path: .floe/lineage}\n"
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OPENLINEAGE_URL": "http://127.0.0.1:5000"}
    report = check_floe_yaml(tmp_path / "floe.yaml", platform=platform, environ=env, dry=True)
    warned = {
        (Path(issue.location).name, issue.key): issue.message for issue in report.issues if issue.severity == "warning"
    }
    assert report.ok
    assert set(warned) == {("platform.yaml:2:1", "tracing"), ("platform.yaml:4:3", "lineage.transport")}
    assert warned[("platform.yaml:2:1", "tracing")].startswith("OTEL_EXPORTER_OTLP_ENDPOINT is set but ignored")
    assert "OPENLINEAGE_URL" in warned[("platform.yaml:4:3", "lineage.transport")]
    assert not (tmp_path / ".floe").exists()
