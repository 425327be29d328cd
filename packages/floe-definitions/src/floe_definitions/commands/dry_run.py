"""Load a project without writing anything: ``floe check``, ``floe list`` and ``floe backfill --dry-run``.

Loading a project builds its telemetry, and the file sinks (the defaults) create ``.floe/traces`` and
``.floe/lineage`` beside floe.yaml. Commands that only read the project load it with sinks that discard
everything instead, and check separately that the configured sinks that can fail (OTLP, HTTP lineage, whose
settings and API keys come from the platform file and the environment) can be built.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openlineage.client.transport import Transport
from openlineage.client.transport.noop import NoopConfig, NoopTransport
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.project_files import DEFAULT_DAGSTER_HOME, dagster_home
from floe_definitions.telemetry.sinks import TelemetryOverrideWarning, lineage_sink, span_sink


class DiscardingSpanExporter(SpanExporter):
    """A span exporter that drops every span (nothing is exported while only reading a project)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Drop the spans."""
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is held (the SDK's base class answers ``None``, which a flush reads as a failure)."""
        return True


def dry_run_telemetry() -> dict[str, Any]:
    """Return ``load_project`` keyword arguments that keep the project's telemetry from touching the disk."""
    transport: Transport = NoopTransport(NoopConfig())
    return {"span_exporter": DiscardingSpanExporter(), "lineage_transport": transport}


def check_configured_sinks(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    locate: Callable[[str], str] | None = None,
) -> list[TelemetryOverrideWarning]:
    """Build the configured span exporter and lineage transport where building can fail, and discard them.

    The sinks are those :mod:`floe_definitions.telemetry.sinks` chooses. File and ``none`` sinks cannot fail to
    build and are skipped (building a file sink creates its folder); the others are built as a run builds them.

    Args:
        spec: The pipeline.
        platform: The platform.
        base_dir: floe.yaml's directory.
        environ: The environment; ``os.environ`` when omitted.
        locate: Dotted platform-file key -> ``file:line:column``.

    Returns:
        The standard variables the platform file overrides (a run warns about each), for ``floe check`` to report.

    Raises:
        TelemetryConfigError: A configured sink cannot be built (e.g. its API key variable is unset).
    """
    from floe_definitions.telemetry.lineage_client import build_lineage_client
    from floe_definitions.telemetry.tracing import build_tracer_provider

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TelemetryOverrideWarning)
        spans = span_sink(spec, platform, base_dir, environ, locate=locate)
        lineage = lineage_sink(spec, platform, base_dir, environ, locate=locate)
    overrides = [w.message for w in caught if isinstance(w.message, TelemetryOverrideWarning)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TelemetryOverrideWarning)
        if spans.kind not in ("file", "none"):
            provider = build_tracer_provider(spec, platform, base_dir, env=environ)
            if provider is not None:
                provider.shutdown()
        if lineage.kind not in ("file", "none"):
            build_lineage_client(spec, platform, base_dir, env=environ)
    return overrides


def describe_instance(base_dir: Path, platform: PlatformSpec, environ: Mapping[str, str] | None = None) -> str:
    """Name the Dagster instance a command would open, without opening (or creating) it.

    Returns:
        E.g. ``DAGSTER_HOME /srv/shop/.floe/dagster (SQLite storage, default; not created yet)``.
    """
    env = os.environ if environ is None else environ
    home = dagster_home(base_dir, env)
    source = "DAGSTER_HOME" if env.get("DAGSTER_HOME") else f"default {DEFAULT_DAGSTER_HOME} beside floe.yaml"
    config = home / "dagster.yaml"
    if config.is_file():
        storage = f"configured by {config}"
    elif platform.instance.storage == "postgres":
        storage = "Postgres storage from the platform file"
    else:
        storage = "SQLite storage"
    state = "" if home.is_dir() else "; not created yet"
    return f"{home} ({source}, {storage}{state})"
