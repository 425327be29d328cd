"""platform.yaml: where traces and lineage go, which dbt target, which executor, which instance.

The platform engineer's file. The same floe.yaml runs with any platform file; only infrastructure differs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from floe_config.base import FloeModel

DEFAULT_TRACES_DIR = ".floe/traces"
"""Where spans go when nothing else is configured, relative to floe.yaml's directory."""

DEFAULT_LINEAGE_DIR = ".floe/lineage"
"""Where lineage events go when nothing else is configured, relative to floe.yaml's directory."""


class _PlatformModel(FloeModel):
    # Built on first use: `floe-config validate` without a platform file never pays for these validators.
    model_config = ConfigDict(defer_build=True)


class OtlpTracing(_PlatformModel):
    """Export spans over OTLP (to a collector, Jaeger, Tempo, ...)."""

    type: Literal["otlp"]
    endpoint: str | None = None
    """Collector endpoint; when omitted, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (else the SDK's default). When set, it wins over those variables, and floe warns that they are ignored."""
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    """OTLP transport."""
    headers: dict[str, str] = Field(default={})
    """Extra headers, e.g. an API key (use ``${VAR}``)."""
    timeout_seconds: float = Field(default=10.0, gt=0)
    """Export timeout."""


class FileTracing(_PlatformModel):
    """Write spans as OTLP/JSON lines (the Collector's ``otlpjsonfile`` format) to ``<path>/<name>.jsonl``."""

    type: Literal["file"]
    path: str = DEFAULT_TRACES_DIR
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
    path: str = DEFAULT_LINEAGE_DIR
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
    """Where events go. When set, it wins over ``OPENLINEAGE_URL`` / ``OPENLINEAGE_CONFIG`` /
    ``OPENLINEAGE__TRANSPORT__*`` (floe warns that a set one is ignored); ``OPENLINEAGE_DISABLED=true`` still turns
    lineage off. When omitted: ``OPENLINEAGE_URL`` (HTTP), else ``OPENLINEAGE_CONFIG`` /
    ``OPENLINEAGE__TRANSPORT__*``, else JSON lines under ``.floe/lineage``."""
    namespace: str | None = None
    """OpenLineage job namespace of the Dagster runs, their steps and the dbt nodes. When not set here, the
    ``OPENLINEAGE_NAMESPACE`` environment variable (dbt-ol's setting) gives it, else ``floe``."""
    dbt_job_names: Literal["dbt_ol", "floe"] = "dbt_ol"
    """How dbt nodes' lineage jobs are named. ``dbt_ol``: as dbt-ol names them,
    ``<database>.<schema>.<project>.<model>`` (tests by their unique id), so a team that ran dbt-ol keeps its
    jobs' history. ``floe``: ``<project>.<node name>`` in ``namespace`` (``OPENLINEAGE_NAMESPACE`` is then not
    read), floe's names before this setting existed."""


class PlatformDbtConfig(_PlatformModel):
    """dbt connection settings that differ per environment."""

    profiles_dir: str | None = None
    """Directory holding profiles.yml, relative to the platform file's directory."""
    target: str | None = None
    """dbt target; overrides floe.yaml's."""
    invocation: Literal["subprocess", "in_process"] = "subprocess"
    """How a dbt step runs dbt: ``subprocess`` (a ``dbt`` process per step, as dagster-dbt) or ``in_process``
    (dbt's ``dbtRunner`` inside the step's process: no Python start-up and dbt imports per step; the same spans,
    lineage and cancellation; dbt invocations in one process run one at a time)."""
    spans: bool = False
    """dbt's own OpenTelemetry spans (dbt-core 1.12 and later; dbt's ``--snowflake-projects-otel``) in floe's trace:
    dbt's ``dbt.invocation`` span under the step's span, each of dbt's node spans under floe's span of that node,
    and dbt's hook spans. A dbt subprocess exports them to the same place as floe's spans (``tracing``). With an
    older dbt-core, floe refuses to load."""
    query_comment: bool = True
    """Put a W3C ``traceparent`` in dbt's query comment: every statement dbt sends for a node names that node's
    span (the step's span outside a node), so the warehouse's query history joins the trace. Only where the dbt
    project keeps dbt's default ``query-comment``; a project's own is left as written."""
    executable: str | None = None
    """The ``dbt`` executable steps run and parse with: a path (relative to the platform file's directory, ``~``
    expanded) or a command name looked up on ``PATH``. Default: the ``dbt`` beside this Python, then ``PATH``. Point it
    at dbt Fusion's ``dbt`` to run Fusion (``invocation: subprocess`` only: in-process runs are dbt-core's)."""


class InProcessExecutor(_PlatformModel):
    """Run every step in the run's own process."""

    type: Literal["in_process"]


class MultiprocessExecutor(_PlatformModel):
    """Run steps in subprocesses on this machine (Dagster's default)."""

    type: Literal["multiprocess"]
    max_concurrent: int | None = Field(default=None, gt=0)
    """At most this many steps at once; the number of CPUs when omitted."""
    start_method: Literal["spawn", "forkserver"] | None = None
    """How step processes start (Dagster's ``start_method``): ``forkserver`` forks each step from a server that
    imported ``preload_modules`` once and built the project (warm steps, the default where the platform has
    forkserver: Linux, macOS); ``spawn`` starts a fresh interpreter per step (the default on Windows)."""
    preload_modules: list[str] | None = None
    """With ``start_method: forkserver``: modules the server imports once, before forking steps (default: Dagster,
    dagster-dbt, dbt, the OpenTelemetry SDK, OpenLineage and floe, whose last module builds the project; a list
    without ``floe_definitions.execution.step_server_preload`` imports only what it names)."""

    @model_validator(mode="after")
    def _preload_needs_forkserver(self) -> MultiprocessExecutor:
        if self.preload_modules is not None and self.start_method != "forkserver":
            raise ValueError("preload_modules only applies with start_method: forkserver; add it or remove them")
        return self


class CeleryExecutor(_PlatformModel):
    """Dagster's Celery executor (``floe-definitions[celery]``)."""

    type: Literal["celery"]
    broker: str | None = None
    """Celery broker URL."""
    backend: str | None = None
    """Celery result backend URL."""
    on_worker_lost: Literal["fail", "redeliver"] = "fail"
    """A step whose worker process dies mid-step (SIGKILL, out of memory): ``fail`` (dagster-celery's default:
    Celery acknowledges a task when a worker takes it, so the task fails with ``WorkerLostError`` and the run
    fails; a worker lost whole, main process included, fails the step once it has not answered for
    ``worker_lost_timeout_seconds``) or ``redeliver`` (the task is acknowledged when it ends: a lost one goes back
    to the queue and a worker runs the step again, so steps must be safe to re-run)."""
    worker_lost_timeout_seconds: int = Field(default=60, gt=0)
    """With ``on_worker_lost: fail``: how long the worker that took a step may go without answering that it still
    runs it before the step fails as lost with that worker (killed whole, or its machine gone). A step waiting in
    the queue for a free worker is never failed."""
    visibility_timeout_seconds: int | None = Field(default=None, gt=0)
    """Redis broker, with ``on_worker_lost: redeliver``: how long a task taken by a worker lost whole stays
    unacknowledged before it is redelivered (Celery's default, 3600, when omitted). Set it above the longest
    step: a step still running after it is run a second time."""

    @model_validator(mode="after")
    def _visibility_timeout_needs_redeliver(self) -> CeleryExecutor:
        if self.visibility_timeout_seconds is not None and self.on_worker_lost != "redeliver":
            raise ValueError(
                "visibility_timeout_seconds only applies with on_worker_lost: redeliver; add it or remove it"
            )
        if "worker_lost_timeout_seconds" in self.model_fields_set and self.on_worker_lost != "fail":
            raise ValueError(
                "worker_lost_timeout_seconds only applies with on_worker_lost: fail (redeliver puts a lost worker's "
                "task back after visibility_timeout_seconds); remove it"
            )
        return self


class K8sResourceQuantities(_PlatformModel):
    """Kubernetes quantities for one container (``cpu: 500m``, ``memory: 1Gi``)."""

    cpu: str | int | float | None = None
    """CPU, e.g. ``500m`` or ``2``."""
    memory: str | int | None = None
    """Memory, e.g. ``512Mi`` or ``4Gi``."""


class K8sResources(_PlatformModel):
    """Resource requests and limits of each step's container."""

    requests: K8sResourceQuantities | None = None
    """What the scheduler reserves for a step."""
    limits: K8sResourceQuantities | None = None
    """What a step may use at most."""


class K8sExecutor(_PlatformModel):
    """Dagster's Kubernetes job executor (``floe-definitions[k8s]``)."""

    type: Literal["k8s"]
    job_namespace: str | None = None
    """Kubernetes namespace for step jobs."""
    image: str | None = None
    """Container image for step jobs; the run's image when omitted."""
    max_concurrent: int | None = Field(default=None, gt=0)
    """At most this many step jobs at once."""
    env_vars: list[str] = Field(default=[])
    """Environment of each step's container: ``NAME`` passes the run's value of ``NAME``, ``NAME=VALUE`` sets it."""
    resources: K8sResources | None = None
    """CPU and memory requests and limits of each step's container."""


ExecutorConfig = Annotated[
    InProcessExecutor | MultiprocessExecutor | CeleryExecutor | K8sExecutor,
    Field(discriminator="type"),
]
"""Which Dagster executor runs steps."""


class ExecutionConfig(_PlatformModel):
    """How runs execute."""

    executor: ExecutorConfig = Field(default_factory=lambda: MultiprocessExecutor(type="multiprocess"))
    """The Dagster executor."""


class TagConcurrencyLimit(_PlatformModel):
    """At most ``limit`` runs in progress with tag ``key`` (equal to ``value`` when given)."""

    key: str = Field(min_length=1)
    """Run tag key, e.g. ``dagster/backfill`` or ``team``."""
    value: str | None = None
    """Only runs whose tag has this value count; every value of the key when omitted."""
    limit: int = Field(ge=0)
    """Most runs in progress at once."""


class RunCoordinatorConfig(_PlatformModel):
    """Dagster's queued run coordinator: runs wait in a queue the daemon drains within these limits."""

    max_concurrent_runs: int = Field(default=10, ge=-1)
    """Most runs in progress at once (``-1``: no limit, ``0``: launch nothing)."""
    tag_concurrency_limits: list[TagConcurrencyLimit] = Field(default=[])
    """Per-tag limits on runs in progress."""


class RunMonitoringConfig(_PlatformModel):
    """The daemon's run monitoring: a run stuck starting or cancelling is failed after a timeout."""

    enabled: bool = True
    """Watch runs (on by default: a run whose worker died is failed instead of staying STARTING for ever)."""
    start_timeout_seconds: int = Field(default=180, gt=0)
    """A run still STARTING after this long is failed."""
    cancel_timeout_seconds: int = Field(default=180, gt=0)
    """A run still CANCELING after this long is marked canceled."""


class RunRetriesConfig(_PlatformModel):
    """Dagster's run retries: a failed run is launched again, by the daemon."""

    enabled: bool = False
    """Retry failed runs."""
    max_retries: int = Field(default=0, ge=0)
    """Retries per run (a run's ``dagster/max_retries`` tag overrides it)."""


class InstanceConfig(_PlatformModel):
    """The Dagster instance of a deployment, rendered into Dagster's own ``dagster.yaml`` (``floe instance``)."""

    storage: Literal["sqlite", "postgres"] = "sqlite"
    """``sqlite`` in ``sqlite_dir`` (default: ``DAGSTER_HOME``, itself ``.floe/dagster`` when unset) or ``postgres``."""
    sqlite_dir: str | None = None
    """Directory of the SQLite storage, relative to the platform file's directory; ``DAGSTER_HOME`` when omitted."""
    postgres_url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the environment variable holding the Postgres URL (the URL never sits in a file or a log)."""
    postgres_url: str | None = None
    """Postgres URL for ``postgres`` storage (prefer ``postgres_url_env``; written as is into ``dagster.yaml``)."""
    run_coordinator: RunCoordinatorConfig = Field(default_factory=RunCoordinatorConfig)
    """The queued run coordinator's limits."""
    run_monitoring: RunMonitoringConfig = Field(default_factory=RunMonitoringConfig)
    """Run monitoring (on by default)."""
    run_retries: RunRetriesConfig = Field(default_factory=RunRetriesConfig)
    """Run retries (off by default)."""
    compute_logs_dir: str | None = None
    """Where steps' stdout/stderr go, relative to the platform file's directory (default ``DAGSTER_HOME/storage``)."""
    telemetry: bool = False
    """Dagster's usage telemetry (off)."""
    run_launcher: Literal["warm", "default"] | None = None
    """How runs start: ``warm`` forks each run from a long-lived process per code location that has Dagster, dbt and
    the project loaded already (floe's run launcher); ``default`` is Dagster's (a fresh interpreter per run, started
    by the code server). When omitted: ``warm`` with ``sqlite`` storage (one machine), ``default`` with ``postgres``."""


class PlatformSpec(_PlatformModel):
    """A platform.yaml file: the infrastructure one environment provides."""

    environment: str = "local"
    """Environment name, added to every span as ``deployment.environment``."""
    tracing: TracingConfig | None = None
    """Where spans go. When set, it wins over ``OTEL_TRACES_EXPORTER`` and ``OTEL_EXPORTER_OTLP_*ENDPOINT`` (floe
    warns that a set one is ignored); ``OTEL_SDK_DISABLED=true`` and ``OTEL_TRACES_EXPORTER=none`` still turn spans
    off. When omitted: ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``, ``none``), else OTLP when an
    ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set, else OTLP/JSON lines under ``.floe/traces``."""
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    """Where OpenLineage events go and under which namespace."""
    dbt: PlatformDbtConfig = Field(default_factory=PlatformDbtConfig)
    """dbt settings for this environment."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    """How runs execute."""
    instance: InstanceConfig = Field(default_factory=InstanceConfig)
    """The Dagster instance: storage, run queue, monitoring, retries, compute logs."""
