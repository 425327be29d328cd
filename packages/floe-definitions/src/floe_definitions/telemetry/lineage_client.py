"""The OpenLineage client a floe pipeline emits its lineage runs with.

Where events go is decided by :func:`floe_definitions.telemetry.sinks.lineage_sink` (platform.yaml's
``lineage.transport``, then ``OPENLINEAGE_URL`` / ``OPENLINEAGE_CONFIG`` / ``OPENLINEAGE__TRANSPORT__*``, else JSON
lines under ``.floe/lineage/``; ``OPENLINEAGE_DISABLED=true`` turns it off). Only the client's own transports are
used; an HTTP transport's API key is read from the named environment variable.
Emission happens on background threads (floe's executor and floe-dbt-observe queue events to a daemon thread),
so a slow or dead HTTP endpoint never holds a step up or delays a process's exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openlineage.client import OpenLineageClient
from openlineage.client.transport import Transport
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from floe_config import FloeSpec, PlatformSpec
from floe_definitions import _compat
from floe_definitions.errors import TelemetryConfigError
from floe_definitions.telemetry.sinks import LineageSink, lineage_sink
from floe_definitions.telemetry.sinks import lineage_file as lineage_file

if TYPE_CHECKING:
    from floe_loaders.integration import Locate

# One retry: events are sent from a background thread, and once a send has failed or been slow no flush of the
# process waits for the backend (floe_dbt_observe.delivery_health.DeliveryHealth), so retries never hold a run up.
_RETRY = {"total": 1, "connect": 1, "read": 1, "backoff_factor": 0.2}


class _FloeLineageClient(OpenLineageClient):
    """The standard client, minus its habit of writing ``OPENLINEAGE__*`` aliases into ``os.environ``.

    floe resolves ``OPENLINEAGE_URL`` itself (below), so the aliasing is not needed, and library code must not
    change the process environment.
    """

    def _alias_env_vars(self) -> None:  # the hook probed by _compat.openlineage_alias_hook_available
        return None


DEFAULT_LINEAGE_NAMESPACE = "floe"
OPENLINEAGE_NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
"""dbt-ol's job namespace setting (default ``dbt`` there); floe reads it when platform.yaml names no namespace."""


def lineage_namespace(platform: PlatformSpec, env: Mapping[str, str] | None = None) -> str:
    """Return the OpenLineage job namespace of the project's runs, steps and dbt nodes.

    platform.yaml ``lineage.namespace`` when written there; else ``OPENLINEAGE_NAMESPACE`` (the setting dbt-ol
    reads, so dbt jobs keep the namespace they had under dbt-ol), unless ``lineage.dbt_job_names: floe`` keeps
    floe's old names; else ``floe``.

    Args:
        platform: The platform spec.
        env: Environment to read ``OPENLINEAGE_NAMESPACE`` from; ``os.environ`` when omitted.
    """
    settings = platform.lineage
    if settings.namespace:
        return settings.namespace
    environ = os.environ if env is None else env
    from_env = environ.get(OPENLINEAGE_NAMESPACE_ENV) if settings.dbt_job_names == "dbt_ol" else None
    return from_env or DEFAULT_LINEAGE_NAMESPACE


def build_lineage_client(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
    locate: Locate | None = None,
) -> OpenLineageClient | None:
    """Build the OpenLineage client for a pipeline, or ``None`` when lineage is off.

    Args:
        spec: The pipeline (its ``observability.lineage`` switch and name).
        platform: Where events go (``lineage.transport``).
        base_dir: floe.yaml's directory; relative paths resolve against it.
        env: Environment to read ``OPENLINEAGE_*`` and the API key variable from; ``os.environ`` when omitted.
        transport: Use this transport instead of the configured one (tests pass an in-memory transport).
        locate: Dotted platform-file key -> ``file:line:column``, for the warning about an overridden variable.

    Returns:
        The client, or ``None`` when ``observability.lineage`` is false or the transport is ``none``.

    Raises:
        TelemetryConfigError: The configured transport cannot be built (e.g. its API key variable is unset).
    """
    if not spec.observability.lineage:
        return None
    _compat.openlineage_alias_hook_available()  # warns once if the override below no longer applies
    environ = os.environ if env is None else env
    if transport is not None:
        return _FloeLineageClient(transport=transport)
    sink = lineage_sink(spec, platform, base_dir, environ, locate=locate)
    if sink.kind == "none":
        return None
    if sink.kind == "client":
        return _FloeLineageClient()  # the client resolves OPENLINEAGE_CONFIG / OPENLINEAGE__TRANSPORT__* itself
    if sink.kind == "console":
        return _FloeLineageClient(transport=ConsoleTransport(ConsoleConfig()))
    if sink.kind == "file":
        assert sink.path is not None
        return _FloeLineageClient(transport=_file_transport(sink.path))
    return _FloeLineageClient(transport=_http_transport(sink, environ))


def _file_transport(path: Path) -> FileTransport:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _http_transport(sink: LineageSink, environ: Mapping[str, str]) -> HttpTransport:
    assert sink.url is not None
    api_key: str | None = None
    if sink.api_key_env:
        api_key = environ.get(sink.api_key_env)
        if not api_key:
            raise TelemetryConfigError(
                f"environment variable {sink.api_key_env!r} (the lineage API key) is not set; set it or remove "
                "api_key_env",
                key="lineage.transport.api_key_env",
            )
    return _http(sink.url, sink.endpoint, sink.timeout, api_key)


def _http(url: str, endpoint: str, timeout: float, api_key: str | None) -> HttpTransport:
    params: dict[str, Any] = {"url": url, "endpoint": endpoint, "timeout": timeout, "retry": _RETRY}
    if api_key:
        params["auth"] = {"type": "api_key", "apiKey": api_key}
    try:
        return HttpTransport(HttpConfig.from_dict(params))
    except ValueError as exc:
        raise TelemetryConfigError(f"invalid lineage URL {url!r}: {exc}", key="lineage.transport.url") from exc
