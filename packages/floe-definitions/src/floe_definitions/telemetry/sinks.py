"""The one rule deciding where a pipeline's spans and lineage events go: platform.yaml or the standard variables.

Spans, first match wins:

1. ``observability.traces: false`` in floe.yaml, ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``:
   no spans (switching telemetry off always wins).
2. ``tracing`` in platform.yaml: the platform file decides, as an OpenTelemetry configuration file does. An
   ``otlp`` entry without ``endpoint`` uses ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``.
   A standard variable the platform file overrides (an endpoint, or an ``OTEL_TRACES_EXPORTER`` naming another
   exporter) is not ignored silently: floe warns once, naming the variable and the platform file's key.
3. ``OTEL_TRACES_EXPORTER``: ``console`` prints spans, ``otlp`` exports over OTLP (endpoint, protocol, headers
   from the ``OTEL_EXPORTER_OTLP_*`` variables, or the SDK's default ``localhost:4318``).
4. ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: OTLP to that endpoint.
5. Otherwise OTLP/JSON lines under ``.floe/traces/`` beside floe.yaml.

Lineage, first match wins:

1. ``observability.lineage: false`` or ``OPENLINEAGE_DISABLED=true``: no events.
2. ``lineage.transport`` in platform.yaml; ``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG`` or
   ``OPENLINEAGE__TRANSPORT__*`` set beside it get a warning naming the variable and the key.
3. ``OPENLINEAGE_URL``: HTTP to it (``OPENLINEAGE_ENDPOINT``, ``OPENLINEAGE_API_KEY`` apply).
4. ``OPENLINEAGE_CONFIG`` or ``OPENLINEAGE__TRANSPORT__*``: the OpenLineage client's own resolution of them.
5. Otherwise JSON lines under ``.floe/lineage/`` beside floe.yaml.

:func:`span_sink` and :func:`lineage_sink` apply the rule; the tracer provider, the lineage client, the sink checks
of ``floe check`` and every message saying where telemetry went read their answer.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from floe_config import FloeSpec, PlatformSpec
from floe_config.integration import (
    DEFAULT_LINEAGE_DIR,
    DEFAULT_TRACES_DIR,
    FileLineage,
    FileTracing,
    HttpLineage,
    OtlpTracing,
)
from floe_definitions.errors import TelemetryConfigError

if TYPE_CHECKING:
    from floe_loaders.integration import Locate

OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
"""The standard trace endpoint variables, the more specific first (as the SDK reads them)."""
OTLP_TRACES_PATH = "/v1/traces"
"""The OTLP/HTTP path of traces under a collector's base URL."""
OTLP_PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
TRACES_EXPORTER_VAR = "OTEL_TRACES_EXPORTER"
SDK_DISABLED_VAR = "OTEL_SDK_DISABLED"
LINEAGE_VARS = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")
LINEAGE_DISABLED_VAR = "OPENLINEAGE_DISABLED"
LINEAGE_DYNAMIC_PREFIX = "OPENLINEAGE__TRANSPORT__"
_SUPPORTED_EXPORTERS = ("otlp", "console", "none")


class TelemetryOverrideWarning(UserWarning):
    """A standard ``OTEL_*`` / ``OPENLINEAGE_*`` variable is set, but platform.yaml decides where telemetry goes.

    Attributes:
        variable: The ignored variable.
        location: ``file:line:column`` of the platform file's key (or ``platform.yaml``).
        key: The platform file's key that wins (``tracing`` or ``lineage.transport``).
    """

    def __init__(self, message: str, *, variable: str = "", location: str = "", key: str = "") -> None:
        """Keep the message and where it points."""
        super().__init__(message)
        self.variable = variable
        self.location = location
        self.key = key


@dataclass(frozen=True)
class SpanSink:
    """Where spans go.

    Attributes:
        kind: ``none``, ``file`` (OTLP/JSON lines), ``console`` or ``otlp``.
        decided_by: What chose it: ``platform.yaml tracing``, a variable's name, ``observability.traces`` or
            ``default``.
        path: The file (``file``).
        endpoint: The platform's endpoint (``otlp``); None: the exporter reads the standard variables.
        protocol: ``http/protobuf`` or ``grpc`` (``otlp``).
        headers: Extra headers from the platform file (``otlp``).
        timeout: Export timeout from the platform file (``otlp``); None: the exporter's own.
    """

    kind: Literal["none", "file", "console", "otlp"]
    decided_by: str
    path: Path | None = None
    endpoint: str | None = None
    protocol: str = "http/protobuf"
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None

    def describe(self, environ: Mapping[str, str] | None = None) -> str:
        """Say where spans go, for messages."""
        env = os.environ if environ is None else environ
        if self.path is not None:
            return os.fspath(self.path)
        if self.kind == "otlp":
            endpoint = self.endpoint or next((env[v] for v in OTLP_ENDPOINT_VARS if env.get(v)), None)
            return f"the OTLP collector {endpoint or '(the SDK default, localhost:4318)'}"
        return f"tracing '{self.kind}' ({self.decided_by})"

    def http_traces_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Return the OTLP/HTTP URL spans are posted to, as the SDK's exporter resolves it.

        The platform's endpoint (``/v1/traces`` added to a bare host), else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
        as written, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` with ``/v1/traces``; None when spans do not go over OTLP
        or no endpoint is set (the SDK's default).
        """
        env = os.environ if environ is None else environ
        if self.kind != "otlp":
            return None
        if self.endpoint:
            return http_traces_url(self.endpoint)
        traces_var, generic_var = OTLP_ENDPOINT_VARS
        if env.get(traces_var):
            return env[traces_var]
        if env.get(generic_var):
            return env[generic_var].rstrip("/") + OTLP_TRACES_PATH
        return None


@dataclass(frozen=True)
class LineageSink:
    """Where lineage events go.

    Attributes:
        kind: ``none``, ``file``, ``console``, ``http`` or ``client`` (the client resolves ``OPENLINEAGE_CONFIG``
            / ``OPENLINEAGE__TRANSPORT__*`` itself).
        decided_by: What chose it (as :attr:`SpanSink.decided_by`).
        path: The file (``file``).
        url: The backend (``http``).
        endpoint: The API path (``http``).
        timeout: Seconds per request (``http``).
        api_key_env: The variable holding the API key (``http``), or None.
    """

    kind: Literal["none", "file", "console", "http", "client"]
    decided_by: str
    path: Path | None = None
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    timeout: float = 5.0
    api_key_env: str | None = None

    def describe(self, environ: Mapping[str, str] | None = None) -> str:
        """Say where lineage events go, for messages."""
        env = os.environ if environ is None else environ
        if self.path is not None:
            return os.fspath(self.path)
        if self.kind == "http":
            return f"the OpenLineage backend {self.url}"
        if self.kind == "client":
            return f"the transport of {env.get('OPENLINEAGE_CONFIG') or 'OPENLINEAGE__TRANSPORT__*'}"
        return f"lineage transport '{self.kind}' ({self.decided_by})"

    @property
    def http_url(self) -> str | None:
        """Return the URL events are posted to (``http``: the backend's URL and API path), else None."""
        if self.kind != "http" or self.url is None:
            return None
        return self.url.rstrip("/") + "/" + self.endpoint.lstrip("/")


def http_traces_url(endpoint: str) -> str:
    """Append ``/v1/traces`` to a bare collector URL (no path), as the SDK does for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    if urlsplit(endpoint).path.strip("/") == "":
        return endpoint.rstrip("/") + OTLP_TRACES_PATH
    return endpoint


def traces_file(spec: FloeSpec, base_dir: Path, directory: str = DEFAULT_TRACES_DIR) -> Path:
    """Return the OTLP/JSON lines file spans of ``spec`` are appended to under ``directory``.

    Args:
        spec: The pipeline.
        base_dir: floe.yaml's directory; a relative ``directory`` is resolved against it.
        directory: The traces directory.

    Returns:
        ``<directory>/<pipeline name>.jsonl``.
    """
    return _resolve(base_dir, directory) / f"{spec.name}.jsonl"


def lineage_file(spec: FloeSpec, base_dir: Path, directory: str = DEFAULT_LINEAGE_DIR) -> Path:
    """Return the JSON-lines file lineage events of ``spec`` are appended to under ``directory``.

    Args:
        spec: The pipeline.
        base_dir: floe.yaml's directory; a relative ``directory`` is resolved against it.
        directory: The lineage directory.

    Returns:
        ``<directory>/<pipeline name>.jsonl``.
    """
    return _resolve(base_dir, directory) / f"{spec.name}.jsonl"


def span_sink(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    locate: Locate | None = None,
) -> SpanSink:
    """Decide where the pipeline's spans go (the rule in this module's docstring).

    Args:
        spec: The pipeline (name, ``observability.traces``).
        platform: The platform (``tracing``).
        base_dir: floe.yaml's directory.
        environ: Environment with the standard variables; ``os.environ`` when omitted.
        locate: Dotted platform-file key -> ``file:line:column``, for warnings.

    Returns:
        The sink.

    Raises:
        TelemetryConfigError: ``OTEL_TRACES_EXPORTER`` names an exporter floe does not support.
    """
    env = os.environ if environ is None else environ
    if not spec.observability.traces:
        return SpanSink("none", "observability.traces")
    if env.get(SDK_DISABLED_VAR, "").strip().lower() == "true":
        return SpanSink("none", SDK_DISABLED_VAR)
    exporter = _traces_exporter(env)
    if exporter == "none":
        return SpanSink("none", TRACES_EXPORTER_VAR)
    tracing = platform.tracing
    if tracing is not None:
        where = _where(locate, "tracing")
        if exporter is not None and exporter != tracing.type:
            _warn(TRACES_EXPORTER_VAR, env[TRACES_EXPORTER_VAR], where, f"tracing type '{tracing.type}'")
        endpoint_var = next((var for var in OTLP_ENDPOINT_VARS if env.get(var)), None)
        overridden = not isinstance(tracing, OtlpTracing) or tracing.endpoint not in (None, env.get(endpoint_var or ""))
        if endpoint_var is not None and overridden:
            _warn(endpoint_var, env[endpoint_var], where, _tracing_summary(tracing))
        if isinstance(tracing, FileTracing):
            return SpanSink("file", "platform.yaml tracing", path=traces_file(spec, base_dir, tracing.path))
        if isinstance(tracing, OtlpTracing):
            return SpanSink(
                "otlp",
                "platform.yaml tracing",
                endpoint=tracing.endpoint,
                protocol=tracing.protocol,
                headers=tuple(sorted(tracing.headers.items())),
                timeout=tracing.timeout_seconds,
            )
        return SpanSink(tracing.type, "platform.yaml tracing")
    protocol = next((env[var] for var in OTLP_PROTOCOL_VARS if env.get(var)), "http/protobuf")
    if exporter == "console":
        return SpanSink("console", TRACES_EXPORTER_VAR)
    if exporter == "otlp":
        return SpanSink("otlp", TRACES_EXPORTER_VAR, protocol=protocol)
    endpoint_var = next((var for var in OTLP_ENDPOINT_VARS if env.get(var)), None)
    if endpoint_var is not None:
        return SpanSink("otlp", endpoint_var, protocol=protocol)
    return SpanSink("file", "default", path=traces_file(spec, base_dir))


def lineage_sink(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    locate: Locate | None = None,
) -> LineageSink:
    """Decide where the pipeline's lineage events go (the rule in this module's docstring).

    Args:
        spec: The pipeline (name, ``observability.lineage``).
        platform: The platform (``lineage.transport``).
        base_dir: floe.yaml's directory.
        environ: Environment with the standard variables; ``os.environ`` when omitted.
        locate: Dotted platform-file key -> ``file:line:column``, for warnings.

    Returns:
        The sink.
    """
    env = os.environ if environ is None else environ
    if not spec.observability.lineage:
        return LineageSink("none", "observability.lineage")
    if env.get(LINEAGE_DISABLED_VAR, "").strip().lower() == "true":
        return LineageSink("none", LINEAGE_DISABLED_VAR)
    dynamic = sorted(key for key in env if key.startswith(LINEAGE_DYNAMIC_PREFIX))
    transport = platform.lineage.transport
    if transport is not None:
        where = _where(locate, "lineage.transport")
        summary = f"lineage transport '{transport.type}'" + (
            f" {transport.url}" if isinstance(transport, HttpLineage) else ""
        )
        for var in (*LINEAGE_VARS, *dynamic[:1]):
            value = env.get(var)
            same_url = var == "OPENLINEAGE_URL" and isinstance(transport, HttpLineage) and transport.url == value
            if not value or same_url:
                continue
            _warn(var, value, where, summary)
        if isinstance(transport, FileLineage):
            path = lineage_file(spec, base_dir, transport.path)
            return LineageSink("file", "platform.yaml lineage.transport", path=path)
        if isinstance(transport, HttpLineage):
            return LineageSink(
                "http",
                "platform.yaml lineage.transport",
                url=transport.url,
                endpoint=transport.endpoint,
                timeout=transport.timeout_seconds,
                api_key_env=transport.api_key_env,
            )
        return LineageSink(transport.type, "platform.yaml lineage.transport")
    if env.get("OPENLINEAGE_URL"):
        return LineageSink(
            "http",
            "OPENLINEAGE_URL",
            url=env["OPENLINEAGE_URL"],
            endpoint=env.get("OPENLINEAGE_ENDPOINT") or "api/v1/lineage",
            api_key_env="OPENLINEAGE_API_KEY" if env.get("OPENLINEAGE_API_KEY") else None,
        )
    if env.get("OPENLINEAGE_CONFIG") or dynamic:
        return LineageSink("client", "OPENLINEAGE_CONFIG" if env.get("OPENLINEAGE_CONFIG") else dynamic[0])
    return LineageSink("file", "default", path=lineage_file(spec, base_dir))


def _traces_exporter(env: Mapping[str, str]) -> str | None:
    raw = env.get(TRACES_EXPORTER_VAR, "").strip().lower()
    if not raw:
        return None
    if raw not in _SUPPORTED_EXPORTERS:
        raise TelemetryConfigError(
            f"{raw!r} is not supported; set it to one of {', '.join(_SUPPORTED_EXPORTERS)} (one exporter), or unset it",
            location="environment",
            key=TRACES_EXPORTER_VAR,
        )
    return raw


def _tracing_summary(tracing: object) -> str:
    kind = getattr(tracing, "type", "?")
    endpoint = getattr(tracing, "endpoint", None)
    return f"tracing type '{kind}'" + (f" {endpoint}" if endpoint else "")


def _where(locate: Locate | None, key: str) -> tuple[str, str]:
    if locate is None:
        return "platform.yaml", key
    try:
        return locate(key), key
    except Exception:  # a locator that cannot place the key still leaves the key named
        return "platform.yaml", key


def _warn(variable: str, value: str, where: tuple[str, str], decided: str) -> None:
    location, key = where
    message = (
        f"{variable}={value} is set but ignored: {location}: {key} says {decided}, and the platform file wins over "
        f"the standard variables. Remove that key from the platform file to use {variable}, or unset {variable}."
    )
    warnings.warn(TelemetryOverrideWarning(message, variable=variable, location=location, key=key), stacklevel=3)


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (base_dir / candidate)
