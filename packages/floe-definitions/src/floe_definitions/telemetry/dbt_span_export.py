"""How a dbt subprocess exports dbt's own spans: to the pipeline's span sink, as the step's process does.

floe-dbt-observe's ``floe-dbt`` launcher builds dbt's tracer provider from the spec :func:`dbt_span_export` returns
(``ApplicationHooks.dbt_span_export``) by calling :func:`build_provider` in the dbt process; its exporter goes:

- ``otlp``: the same collector, protocol, headers and timeout (an endpoint left to the ``OTEL_EXPORTER_OTLP_*``
  variables is resolved here, so the subprocess posts where the step does);
- ``file``: the same OTLP/JSON lines file; each export is one ``O_APPEND`` write of whole lines, so the step's
  process and dbt's append side by side;
- ``console``: standard error (dbt's standard output carries the JSON log lines dagster-dbt reads).

The spans carry the pipeline's resource (``service.name``, ``deployment.environment.name``, attributes).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from floe_definitions.telemetry.sinks import OTLP_ENDPOINT_VARS, span_sink

if TYPE_CHECKING:
    from floe_config import FloeSpec, PlatformSpec

FACTORY = f"{__name__}:build_provider"
"""What the launcher imports and calls with the spec's ``kwargs``."""
FLUSH_SECONDS = 5.0
"""Longest wait for dbt's spans when the dbt subprocess ends."""


def dbt_span_export(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    provider: TracerProvider,
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """Return the launcher's exporter spec for the pipeline's span sink, None when spans go nowhere.

    Args:
        spec: The pipeline.
        platform: The platform (``tracing``).
        base_dir: floe.yaml's directory.
        provider: The pipeline's tracer provider (its resource is dbt's spans' resource).
        environ: The environment the sink is decided with.
    """
    with warnings.catch_warnings():  # building the provider already warned about an overridden variable
        warnings.simplefilter("ignore")
        sink = span_sink(spec, platform, base_dir, environ)
    if sink.kind == "none":
        return None
    kwargs: dict[str, Any] = {"kind": sink.kind}
    if sink.kind == "file":
        kwargs["path"] = str(sink.path)
    elif sink.kind == "otlp":
        endpoint = sink.http_traces_url(environ) if sink.protocol != "grpc" else sink.endpoint
        if sink.protocol == "grpc" and endpoint is None:
            endpoint = next((environ[var] for var in OTLP_ENDPOINT_VARS if environ.get(var)), None)
        kwargs.update(protocol=sink.protocol, endpoint=endpoint, headers=dict(sink.headers), timeout=sink.timeout)
    kwargs["resource"] = {
        key: value for key, value in provider.resource.attributes.items() if isinstance(value, str | int | float)
    }
    return {"factory": FACTORY, "kwargs": kwargs, "flush_timeout_seconds": FLUSH_SECONDS}


def build_provider(kind: str, *, resource: Mapping[str, Any] | None = None, **exporter: Any) -> TracerProvider | None:
    """Return the tracer provider a dbt subprocess exports dbt's spans with (called by the ``floe-dbt`` launcher).

    Batched, as the step's own provider; never registered globally, and not shut down at exit (the launcher
    flushes it, bounded).
    """
    chosen = build_exporter(kind, **exporter)
    if chosen is None:
        return None
    provider = TracerProvider(resource=Resource.create(dict(resource or {})), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(chosen))
    return provider


def build_exporter(
    kind: str,
    *,
    path: str | None = None,
    protocol: str = "http/protobuf",
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> SpanExporter | None:
    """Return the exporter a dbt subprocess sends dbt's spans with (called by the ``floe-dbt`` launcher)."""
    if kind == "file" and path is not None:
        from floe_definitions.telemetry.otlp_json import OtlpJsonFileSpanExporter

        return OtlpJsonFileSpanExporter(Path(path))
    if kind == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    if kind == "otlp":
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            return GrpcExporter(endpoint=endpoint, headers=dict(headers or {}) or None, timeout=timeout)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(endpoint=endpoint, headers=dict(headers or {}) or None, timeout=timeout)
    return None
