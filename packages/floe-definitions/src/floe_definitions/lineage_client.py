"""The OpenLineage client a floe pipeline emits its lineage runs with.

Where events go, in order: ``observability.lineage: false`` in floe.yaml -> no client; ``lineage.transport`` in
platform.yaml (``http`` with the API key read from the named environment variable, ``file``, ``console``,
``none``); the standard ``OPENLINEAGE_URL`` / ``OPENLINEAGE_CONFIG`` / ``OPENLINEAGE__TRANSPORT__*`` variables;
else a file transport appending JSON lines under ``.floe/lineage/``. Only the client's own transports are used.
Emission happens on background threads (floe's executor and floe-dbt-observe queue events to a daemon thread),
so a slow or dead HTTP endpoint never holds a step up or delays a process's exit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.transport import Transport
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from floe_config import FloeSpec, PlatformSpec
from floe_config.platform_spec import FileLineage, HttpLineage
from floe_definitions import _compat
from floe_definitions.errors import TelemetryConfigError

DEFAULT_LINEAGE_DIR = ".floe/lineage"
"""Where lineage events go when nothing else is configured, relative to floe.yaml's directory."""

_STANDARD_VARS = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")
_DYNAMIC_PREFIX = "OPENLINEAGE__TRANSPORT__"
# One retry: events are sent from a background thread, and once a send has failed or been slow no flush of the
# process waits for the backend (floe_dbt_observe.DeliveryHealth), so retries never hold a run up.
_RETRY = {"total": 1, "connect": 1, "read": 1, "backoff_factor": 0.2}


class _FloeLineageClient(OpenLineageClient):
    """The standard client, minus its habit of writing ``OPENLINEAGE__*`` aliases into ``os.environ``.

    floe resolves ``OPENLINEAGE_URL`` itself (below), so the aliasing is not needed, and library code must not
    change the process environment.
    """

    def _alias_env_vars(self) -> None:  # the hook probed by _compat.openlineage_alias_hook_available
        return None


def lineage_file(spec: FloeSpec, base_dir: Path, directory: str = DEFAULT_LINEAGE_DIR) -> Path:
    """Return the JSON-lines file lineage events of ``spec`` are appended to under ``directory``.

    Args:
        spec: The pipeline.
        base_dir: floe.yaml's directory; a relative ``directory`` is resolved against it.
        directory: The lineage directory.

    Returns:
        ``<directory>/<pipeline name>.jsonl``.
    """
    candidate = Path(directory).expanduser()
    root = candidate if candidate.is_absolute() else base_dir / candidate
    return root / f"{spec.name}.jsonl"


def build_lineage_client(
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
) -> OpenLineageClient | None:
    """Build the OpenLineage client for a pipeline, or ``None`` when lineage is off.

    Args:
        spec: The pipeline (its ``observability.lineage`` switch and name).
        platform: Where events go (``lineage.transport``).
        base_dir: floe.yaml's directory; relative paths resolve against it.
        env: Environment to read ``OPENLINEAGE_*`` and the API key variable from; ``os.environ`` when omitted.
        transport: Use this transport instead of the configured one (tests pass an in-memory transport).

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
    configured = platform.lineage.transport
    if configured is None:
        if environ.get("OPENLINEAGE_URL"):
            return _FloeLineageClient(transport=_http_transport_from_env(environ))
        if any(environ.get(var) for var in _STANDARD_VARS) or any(k.startswith(_DYNAMIC_PREFIX) for k in environ):
            return _FloeLineageClient()  # the client resolves OPENLINEAGE_CONFIG / OPENLINEAGE__TRANSPORT__* itself
        return _FloeLineageClient(transport=_file_transport(lineage_file(spec, base_dir)))
    if configured.type == "none":
        return None
    if configured.type == "console":
        return _FloeLineageClient(transport=ConsoleTransport(ConsoleConfig()))
    if isinstance(configured, FileLineage):
        return _FloeLineageClient(transport=_file_transport(lineage_file(spec, base_dir, configured.path)))
    assert isinstance(configured, HttpLineage)
    return _FloeLineageClient(transport=_http_transport(configured, environ))


def _file_transport(path: Path) -> FileTransport:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _http_transport(config: HttpLineage, environ: Mapping[str, str]) -> HttpTransport:
    api_key: str | None = None
    if config.api_key_env:
        api_key = environ.get(config.api_key_env)
        if not api_key:
            raise TelemetryConfigError(
                f"environment variable {config.api_key_env!r} (the lineage API key) is not set; set it or remove "
                "api_key_env",
                key="lineage.transport.api_key_env",
            )
    return _http(config.url, config.endpoint, config.timeout_seconds, api_key)


def _http_transport_from_env(environ: Mapping[str, str]) -> HttpTransport:
    return _http(
        environ["OPENLINEAGE_URL"],
        environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
        5.0,
        environ.get("OPENLINEAGE_API_KEY") or None,
    )


def _http(url: str, endpoint: str, timeout: float, api_key: str | None) -> HttpTransport:
    params: dict[str, Any] = {"url": url, "endpoint": endpoint, "timeout": timeout, "retry": _RETRY}
    if api_key:
        params["auth"] = {"type": "api_key", "apiKey": api_key}
    try:
        return HttpTransport(HttpConfig.from_dict(params))
    except ValueError as exc:
        raise TelemetryConfigError(f"invalid lineage URL {url!r}: {exc}", key="lineage.transport.url") from exc
