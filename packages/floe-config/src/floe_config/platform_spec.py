"""platform.yaml: where traces and lineage go, which dbt target, which executor, which instance.

The platform engineer's file. The same floe.yaml runs with any platform file; only infrastructure differs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from floe_config.base import FloeModel


class _PlatformModel(FloeModel):
    # Built on first use: `floe-config validate` without a platform file never pays for these validators.
    model_config = ConfigDict(defer_build=True)


class OtlpTracing(_PlatformModel):
    """Export spans over OTLP (to a collector, Jaeger, Tempo, ...)."""

    type: Literal["otlp"]
    endpoint: str | None = None
    """Collector endpoint; the standard ``OTEL_EXPORTER_OTLP_*`` variables apply when omitted."""
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    """OTLP transport."""
    headers: dict[str, str] = Field(default={})
    """Extra headers, e.g. an API key (use ``${VAR}``)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """Export timeout."""


class FileTracing(_PlatformModel):
    """Write spans as JSON lines to a directory."""

    type: Literal["file"]
    path: str = ".floe/traces"
    """Directory, relative to floe.yaml's directory."""


class ConsoleTracing(_PlatformModel):
    """Print spans to standard output."""

    type: Literal["console"]


class NoTracing(_PlatformModel):
    """Emit no spans."""

    type: Literal["none"]


TracingConfig = Annotated[OtlpTracing | FileTracing | ConsoleTracing | NoTracing, Field(discriminator="type")]
"""Where spans go."""


class HttpLineage(_PlatformModel):
    """Send OpenLineage events over HTTP (Marquez and compatible)."""

    type: Literal["http"]
    url: str = Field(min_length=1)
    """Base URL, e.g. ``http://marquez:5000``."""
    endpoint: str = "api/v1/lineage"
    """Path under the URL."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself never sits in the file)."""
    timeout_seconds: float = Field(default=5.0, gt=0)
    """Request timeout."""


class FileLineage(_PlatformModel):
    """Append OpenLineage events to files in a directory."""

    type: Literal["file"]
    path: str = ".floe/lineage"
    """Directory, relative to floe.yaml's directory."""


class ConsoleLineage(_PlatformModel):
    """Log OpenLineage events."""

    type: Literal["console"]


class NoLineage(_PlatformModel):
    """Emit no lineage."""

    type: Literal["none"]


LineageTransportConfig = Annotated[HttpLineage | FileLineage | ConsoleLineage | NoLineage, Field(discriminator="type")]
"""Where OpenLineage events go."""


class LineageConfig(_PlatformModel):
    """OpenLineage transport and namespace."""

    transport: LineageTransportConfig | None = None
    """Where events go; when omitted: ``OPENLINEAGE_URL`` / ``OPENLINEAGE_CONFIG``, else ``.floe/lineage`` files."""
    namespace: str = "floe"
    """OpenLineage job namespace."""


class PlatformDbtConfig(_PlatformModel):
    """dbt connection settings that differ per environment."""

    profiles_dir: str | None = None
    """Directory holding profiles.yml, relative to the platform file's directory."""
    target: str | None = None
    """dbt target; overrides floe.yaml's."""


class InProcessExecutor(_PlatformModel):
    """Run every step in the run's own process."""

    type: Literal["in_process"]


class MultiprocessExecutor(_PlatformModel):
    """Run steps in subprocesses on this machine (Dagster's default)."""

    type: Literal["multiprocess"]
    max_concurrent: int | None = Field(default=None, gt=0)
    """At most this many steps at once; the number of CPUs when omitted."""


class CeleryExecutor(_PlatformModel):
    """Dagster's Celery executor (``floe-definitions[celery]``)."""

    type: Literal["celery"]
    broker: str | None = None
    """Celery broker URL."""
    backend: str | None = None
    """Celery result backend URL."""


class K8sExecutor(_PlatformModel):
    """Dagster's Kubernetes job executor (``floe-definitions[k8s]``)."""

    type: Literal["k8s"]
    job_namespace: str | None = None
    """Kubernetes namespace for step jobs."""
    image: str | None = None
    """Container image for step jobs; the run's image when omitted."""
    max_concurrent: int | None = Field(default=None, gt=0)
    """At most this many step jobs at once."""


ExecutorConfig = Annotated[
    InProcessExecutor | MultiprocessExecutor | CeleryExecutor | K8sExecutor,
    Field(discriminator="type"),
]
"""Which Dagster executor runs steps."""


class ExecutionConfig(_PlatformModel):
    """How runs execute."""

    executor: ExecutorConfig = Field(default_factory=lambda: MultiprocessExecutor(type="multiprocess"))
    """The Dagster executor."""


class InstanceConfig(_PlatformModel):
    """Dagster instance storage."""

    storage: Literal["sqlite", "postgres"] = "sqlite"
    """``sqlite`` under ``DAGSTER_HOME`` (default ``.floe/dagster``) or ``postgres``."""
    postgres_url: str | None = None
    """Postgres URL for ``postgres`` storage (use ``${VAR}``)."""


class PlatformSpec(_PlatformModel):
    """A platform.yaml file: the infrastructure one environment provides."""

    environment: str = "local"
    """Environment name, added to every span as ``deployment.environment``."""
    tracing: TracingConfig | None = None
    """Where spans go; OTLP when ``OTEL_EXPORTER_OTLP_*`` is set, else JSON lines under ``.floe/traces``."""
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    """Where OpenLineage events go and under which namespace."""
    dbt: PlatformDbtConfig = Field(default_factory=PlatformDbtConfig)
    """dbt settings for this environment."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    """How runs execute."""
    instance: InstanceConfig = Field(default_factory=InstanceConfig)
    """Dagster instance storage."""
