"""The OpenTelemetry SDK tracer provider a floe pipeline exports its spans with.

Where spans go is decided by :func:`floe_definitions.telemetry.sinks.span_sink` (platform.yaml's ``tracing``,
then ``OTEL_TRACES_EXPORTER`` and the ``OTEL_EXPORTER_OTLP_*`` endpoints, else OTLP/JSON lines under
``.floe/traces/``). Only the SDK's own exporters and the OTLP encoder are used; spans are batched on a background
thread so exporting never blocks a step, and a failing exporter is logged by the SDK, never raised.
The chosen exporter is wrapped by ``span_export.track_span_delivery``: flushes (``flush_spans``) wait at
most their timeout and not at all for a failing or slow collector, and undelivered spans are counted.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.errors import TelemetryConfigError
from floe_definitions.telemetry.otlp_json import OtlpJsonFileSpanExporter
from floe_definitions.telemetry.run_trace import RunIdGenerator
from floe_definitions.telemetry.sinks import SpanSink, http_traces_url, span_sink
from floe_definitions.telemetry.sinks import traces_file as traces_file
from floe_definitions.telemetry.span_delivery import flush_spans, shutdown_spans
from floe_definitions.telemetry.span_export import track_span_delivery

if TYPE_CHECKING:
    from floe_loaders.integration import Locate

logger = logging.getLogger(__name__)

EXIT_FLUSH_SECONDS = 5.0
"""Longest wait for a healthy collector when a process exits (a failing or slow one is not waited for)."""


def build_resource(spec: FloeSpec, platform: PlatformSpec) -> Resource:
    """Return the resource every span of the pipeline carries.

    Args:
        spec: The pipeline; ``name`` becomes ``service.name``, ``observability.attributes`` are added.
        platform: The platform; ``environment`` becomes ``deployment.environment.name`` (the current
            semantic convention; the deprecated ``deployment.environment`` is not set).

    Returns:
        The SDK resource, merged with ``OTEL_RESOURCE_ATTRIBUTES`` by the SDK.
    """
    return Resource.create(
        {
            **spec.observability.attributes,
            "service.name": spec.name,
            "service.version": spec.version,
            "deployment.environment.name": platform.environment,
        }
    )


def build_tracer_provider(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    exporter: SpanExporter | None = None,
    locate: Locate | None = None,
) -> TracerProvider | None:
    """Build the tracer provider for a pipeline, or ``None`` when tracing is off.

    Args:
        spec: The pipeline (its name, attributes and ``observability.traces`` switch).
        platform: Where spans go (``tracing``) and the environment name.
        base_dir: floe.yaml's directory; relative paths resolve against it.
        env: Environment to read ``OTEL_EXPORTER_OTLP_*`` from; ``os.environ`` when omitted.
        exporter: Use this exporter instead of the configured one (tests pass an ``InMemorySpanExporter``).
        locate: Dotted platform-file key -> ``file:line:column``, for the warning about an overridden variable.

    Returns:
        An SDK ``TracerProvider`` whose id generator gives each Dagster run span its run-derived ids, or
        ``None`` when ``observability.traces`` is false or the platform says ``tracing: {type: none}``.

    Raises:
        TelemetryConfigError: The configured exporter cannot be built (e.g. an unknown OTLP protocol, or an
            ``OTEL_TRACES_EXPORTER`` floe does not support).
    """
    if not spec.observability.traces:
        return None
    if exporter is not None:
        chosen: SpanExporter | None = exporter
    else:
        chosen = _configured_exporter(span_sink(spec, platform, base_dir, env, locate=locate), spec)
    if chosen is None:
        return None
    # The SDK's exit handler would wait up to 30 s (then the exporter's own timeout) for a dead collector.
    provider = TracerProvider(
        resource=build_resource(spec, platform), id_generator=RunIdGenerator(), shutdown_on_exit=False
    )
    atexit.register(shutdown_spans, provider, EXIT_FLUSH_SECONDS)
    # Counts ended / exported / failed spans and tracks the collector's health, so flushes are bounded (the SDK's
    # force_flush ignores its timeout) and skip a failing or slow collector, and warnings can count what was lost.
    provider.add_span_processor(BatchSpanProcessor(track_span_delivery(provider, chosen)))
    # multiprocessing children started by fork/forkserver leave through os._exit, which skips atexit; flush
    # the batch there too (bounded) so spans of step subprocesses are not lost to a healthy collector.
    multiprocessing.util.Finalize(None, partial(flush_spans, provider, EXIT_FLUSH_SECONDS), exitpriority=10)
    return provider


def _configured_exporter(sink: SpanSink, spec: FloeSpec) -> SpanExporter | None:
    if sink.kind == "none":
        return None
    if sink.kind == "console":
        return ConsoleSpanExporter(service_name=spec.name)
    if sink.kind == "file":
        assert sink.path is not None
        return OtlpJsonFileSpanExporter(sink.path)
    # endpoint None: the exporters read the endpoint, headers, timeout and TLS settings from the OTEL_* variables.
    headers = dict(sink.headers) or None
    return _otlp_exporter(sink.protocol, endpoint=sink.endpoint, headers=headers, timeout=sink.timeout)


def _otlp_exporter(
    protocol: str, *, endpoint: str | None, headers: dict[str, str] | None, timeout: float | None
) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, headers=headers, timeout=timeout)
    if protocol in ("http/protobuf", "http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(
            endpoint=http_traces_url(endpoint) if endpoint is not None else None, headers=headers, timeout=timeout
        )
    raise TelemetryConfigError(
        f"unsupported OTLP protocol {protocol!r}; use 'http/protobuf' or 'grpc'",
        key="tracing.protocol",
    )
