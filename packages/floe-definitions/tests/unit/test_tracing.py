from __future__ import annotations

import contextlib
import gc
import os
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.telemetry.otlp_json import OtlpJsonFileSpanExporter
from floe_definitions.telemetry.span_delivery import flush_spans, shutdown_spans
from floe_definitions.telemetry.tracing import build_tracer_provider, traces_file
from floe_test_support.grpc_collector import GrpcCollectorFactory, span_names
from otlp_spans import read_spans

GENEROUS_FLUSH_SECONDS = 60.0


def _spec(**observability: object) -> FloeSpec:
    return FloeSpec.model_validate(
        {"name": "shop", "version": "1.2.3", "observability": {"attributes": {"team": "data"}, **observability}}
    )


def _platform(**fields: object) -> PlatformSpec:
    return PlatformSpec.model_validate({"environment": "ci", **fields})


def test_traces_false_builds_no_provider(tmp_path: Path) -> None:
    assert build_tracer_provider(_spec(traces=False), _platform(), tmp_path, env={}) is None


def test_platform_tracing_none_builds_no_provider(tmp_path: Path) -> None:
    assert build_tracer_provider(_spec(), _platform(tracing={"type": "none"}), tmp_path, env={}) is None


def test_default_writes_json_lines_under_dot_floe_traces(tmp_path: Path) -> None:
    provider = build_tracer_provider(_spec(), _platform(), tmp_path, env={})
    assert provider is not None
    provider.get_tracer("t").start_span("hello").end()
    provider.force_flush()
    path = tmp_path / ".floe" / "traces" / "shop.jsonl"
    assert traces_file(_spec(), tmp_path) == path
    assert [span["name"] for span in read_spans(path)] == ["hello"]
    provider.shutdown()


def test_resource_carries_service_environment_name_and_attributes(tmp_path: Path) -> None:
    provider = build_tracer_provider(_spec(), _platform(), tmp_path, env={})
    assert provider is not None
    attributes = provider.resource.attributes
    assert attributes["service.name"] == "shop"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["deployment.environment.name"] == "ci"
    assert "deployment.environment" not in attributes  # deprecated by OpenTelemetry's semantic conventions
    assert attributes["team"] == "data"
    provider.shutdown()


def test_file_tracing_path_is_relative_to_floe_yaml_dir(tmp_path: Path) -> None:
    provider = build_tracer_provider(
        _spec(), _platform(tracing={"type": "file", "path": "out/spans"}), tmp_path, env={}
    )
    assert provider is not None
    provider.get_tracer("t").start_span("x").end()
    provider.force_flush()
    assert (tmp_path / "out" / "spans" / "shop.jsonl").read_text().count("\n") == 1
    provider.shutdown()


def test_otlp_http_from_platform_posts_to_v1_traces(tmp_path: Path, http_endpoint: Any) -> None:
    platform = _platform(tracing={"type": "otlp", "endpoint": http_endpoint.url, "headers": {"x-api-key": "k"}})
    provider = build_tracer_provider(_spec(), platform, tmp_path, env={})
    assert provider is not None
    provider.get_tracer("t").start_span("over-the-wire").end()
    provider.force_flush()
    assert http_endpoint.recorded.event.wait(10)
    path, headers, body = http_endpoint.recorded.requests[0]
    assert path == "/v1/traces"
    assert headers["x-api-key"] == "k"
    assert b"over-the-wire" in body
    assert not (tmp_path / ".floe").exists()
    provider.shutdown()


def test_otlp_from_standard_env_vars(tmp_path: Path, http_endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_endpoint.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    provider = build_tracer_provider(_spec(), _platform(), tmp_path)
    assert provider is not None
    provider.get_tracer("t").start_span("from-env").end()
    provider.force_flush()
    assert http_endpoint.recorded.event.wait(10)
    assert http_endpoint.recorded.requests[0][0] == "/v1/traces"
    provider.shutdown()


def test_otlp_grpc_reaches_a_local_grpc_collector(tmp_path: Path, grpc_collector_factory: GrpcCollectorFactory) -> None:
    collector = grpc_collector_factory()
    platform = _platform(tracing={"type": "otlp", "protocol": "grpc", "endpoint": collector.url})
    provider = build_tracer_provider(_spec(), platform, tmp_path, env={})
    assert provider is not None
    provider.get_tracer("t").start_span("grpc-span").end()
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert span_names(collector.recorded) == ["grpc-span"]


@contextlib.contextmanager
def _silent_collector() -> Iterator[str]:
    """A port on 127.0.0.1 that accepts connections (kernel backlog) and never answers: a collector hung for good."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def _otlp_provider(tmp_path: Path, url: str) -> Any:
    """floe's provider for an OTLP/HTTP collector at ``url`` with the default (10 s) export timeout."""
    provider = build_tracer_provider(_spec(), _platform(tracing={"type": "otlp", "endpoint": url}), tmp_path, env={})
    assert provider is not None
    return provider


def _assert_not_waited_for_and_counted(provider: Any) -> None:
    tracer = provider.get_tracer("t")
    for name in ("a", "b"):
        tracer.start_span(name).end()
    first = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    # Stopped by the collector's health (an export failed or has been in flight over 1 s), not by the timeout; or,
    # with an SDK whose OTLP exporter raises at once on a refused connection (1.28), ended by that failure.
    if first.completed:
        assert first.failed == 2
    else:
        assert first.gave_up is not None
        assert first.gave_up.startswith("a send to the span collector")
    assert (first.ended, first.exported) == (2, 0)
    assert "2 span(s) not delivered" in (first.problem() or "")
    tracer.start_span("c").end()
    second = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert second.gave_up is not None
    assert second.gave_up.startswith("a send to the span collector")
    assert "3 span(s) not delivered" in (second.problem() or "")
    # The process exit does not wait for the collector either (the SDK's own handler would, up to 30 s).
    assert not shutdown_spans(provider, GENEROUS_FLUSH_SECONDS)


def test_otlp_collector_down_is_not_waited_for_and_undelivered_spans_are_counted(
    tmp_path: Path, refused_url: str
) -> None:
    _assert_not_waited_for_and_counted(_otlp_provider(tmp_path, refused_url))


def test_otlp_collector_that_never_answers_is_not_waited_for(tmp_path: Path) -> None:
    with _silent_collector() as url:
        _assert_not_waited_for_and_counted(_otlp_provider(tmp_path, url))


def test_otlp_live_collector_gets_every_span_and_no_warning(tmp_path: Path, http_endpoint: Any) -> None:
    provider = _otlp_provider(tmp_path, http_endpoint.url)
    tracer = provider.get_tracer("t")
    for name in ("a", "b", "c"):
        tracer.start_span(name).end()
    report = flush_spans(provider, GENEROUS_FLUSH_SECONDS)
    assert report.completed
    assert (report.ended, report.exported, report.failed) == (3, 3, 0)
    assert report.problem() is None
    assert shutdown_spans(provider, GENEROUS_FLUSH_SECONDS)


def _open_paths() -> set[str]:
    """The files this process holds open (Linux /proc)."""
    found = set()
    for descriptor in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.add(os.path.realpath(f"/proc/self/fd/{descriptor}"))
    return found


def test_the_trace_file_is_not_held_open_between_exports(tmp_path: Path) -> None:
    provider = build_tracer_provider(_spec(), _platform(), tmp_path, env={})
    assert provider is not None
    path = tmp_path / ".floe" / "traces" / "shop.jsonl"
    provider.get_tracer("t").start_span("hello").end()
    assert provider.force_flush()
    assert [span["name"] for span in read_spans(path)] == ["hello"]
    assert os.path.realpath(path) not in _open_paths()
    provider.shutdown()


def test_a_file_exporter_never_shut_down_leaves_no_unclosed_file(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "shop.jsonl"
    provider = SdkTracerProvider(shutdown_on_exit=False)  # no exit handler keeps it alive: collected below
    exporter = OtlpJsonFileSpanExporter(path)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span("hello").end()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        del provider, exporter
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [span["name"] for span in read_spans(path)] == ["hello"]


def test_a_shut_down_file_exporter_writes_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "shop.jsonl"
    exporter = OtlpJsonFileSpanExporter(path)
    provider = SdkTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span("before").end()
    provider.shutdown()
    assert exporter.export([]) == SpanExportResult.FAILURE
    assert [span["name"] for span in read_spans(path)] == ["before"]
