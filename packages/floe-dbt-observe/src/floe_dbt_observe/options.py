"""The options of ``build_dbt_assets``, grouped by what they decide, and the hooks an application passes.

A user's options: :class:`DbtCliOptions` (how dbt runs), :class:`DefinitionOptions` (the shape of the asset
definitions) and :class:`ObservabilityOptions` (spans and lineage). An application that owns the executor and
the tracer provider (floe-definitions) adds :class:`ApplicationHooks`. Each is a frozen value that checks itself
when built, like dagster-dbt's ``DagsterDbtTranslatorSettings``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from floe_dbt_observe.errors import DbtObserveError

if TYPE_CHECKING:
    from dagster import AssetExecutionContext, BackfillPolicy, PartitionsDefinition, RetryPolicy
    from dagster_dbt import DbtCliResource

    from floe_dbt_observe.asset_settings import AssetSettingsSource

Observability = Literal["per_model", "job_level", "off"]
"""``per_model`` (a span and a lineage run per executed node), ``job_level`` (one of each per dbt invocation) or
``off`` (plain dagster-dbt streaming)."""
DbtInvocation = Literal["subprocess", "in_process"]
"""How a step runs dbt: dagster-dbt's ``dbt`` subprocess, or dbt's ``dbtRunner`` in the step's process."""
JobNames = Literal["dbt_ol", "floe"]
"""How dbt nodes' lineage jobs are named: dbt-ol's (``<database>.<schema>.<project>.<model>``) or floe's
``<project>.<node name>`` (see ``LineageContext.job_name``)."""
SplitBy = Literal["auto", "group", "none"]
"""How the selection is split into definitions: by group only above ``max_assets_per_definition`` assets
(``auto``), always by group, or only in chunks."""
PartitionVarsFn = Callable[["AssetExecutionContext"], Mapping[str, Any]]
"""Returns the dbt ``--vars`` for a step's partitions."""
SpanFlush = Callable[[int, float], "str | None"]
"""An application's end-of-step span flush: ``(trace_id, timeout_seconds) -> warning text or None``.

floe-dbt-observe depends on the OpenTelemetry API only and never flushes or shuts down a provider itself (as
OpenTelemetry's instrumentation libraries); the application that owns the SDK provider passes this hook in
``ApplicationHooks.span_flush``. It is called once at the end of each dbt step with the step span's trace id and
``flush_timeout_seconds``, and a returned text (e.g. ``3 span(s) not delivered ...``) is logged as the step's
warning beside undelivered lineage."""

PinSpanId = Callable[[int], AbstractContextManager[None]]
"""An application's span-id pin: ``with pin(span_id): tracer.start_span(...)`` gives the span that id.

floe names a dbt node's span in dbt's query comments and parents dbt's own node span on it before the span exists,
so the span must get the id floe computed (``dbt_trace.DbtTraceSettings.node_span_id``). The OpenTelemetry API
cannot ask for an id; the application's SDK id generator can (floe-definitions' ``RunIdGenerator``)."""

MAX_ASSETS_PER_DEFINITION = 10_000
"""Default assets per definition, whatever the ``output_keys_cache`` probe says: the asset graph's shape
(definitions, op names, step keys) never depends on a probe. Where the probe fails, the step's bookkeeping is
slower and one WARNING suggests a smaller ``max_assets_per_definition``."""

_OBSERVABILITY = ("per_model", "job_level", "off")
_DBT_INVOCATIONS = ("subprocess", "in_process")


@dataclass(frozen=True)
class DbtCliOptions:
    """How a step runs dbt.

    Attributes:
        profiles_dir: Directory of ``profiles.yml``; default the project directory.
        target: dbt target.
        resource: A ready ``DbtCliResource``; default one built from the options above with the environment's
            ``dbt`` executable.
        resource_key: Take the ``DbtCliResource`` from this Dagster resource key at run time instead.
        executable: Path of ``dbt``; default the one next to ``sys.executable``, then ``PATH``.
        build_args: Extra flags for ``dbt build`` (e.g. ``["--full-refresh"]``).
        partition_vars: Returns the ``--vars`` for a step's partitions; default ``dagster_partition_*`` vars.
        invocation: ``subprocess`` (default): dagster-dbt's ``dbt`` subprocess, whose JSON log lines the step
            reads. ``in_process``: dbt's ``dbtRunner`` in the step's own process (no Python start-up and dbt
            imports per step), its events through dbt's callbacks in the same shape; the same arguments, spans,
            lineage runs, Dagster events and interrupt behaviour (see ``dbt_in_process``). dbt's process-wide
            state makes in-process invocations run one at a time per process. Falls back to the subprocess, with
            one WARNING, where the ``dbt_in_process`` probe fails.
    """

    profiles_dir: str | os.PathLike[str] | None = None
    target: str | None = None
    resource: DbtCliResource | None = None
    resource_key: str | None = None
    executable: str | os.PathLike[str] | None = None
    build_args: Sequence[str] = ()
    partition_vars: PartitionVarsFn | None = None
    invocation: DbtInvocation = "subprocess"

    def __post_init__(self) -> None:
        """Reject an unknown invocation."""
        if self.invocation not in _DBT_INVOCATIONS:
            raise DbtObserveError(
                f"dbt_invocation must be one of {', '.join(_DBT_INVOCATIONS)}, got {self.invocation!r}; "
                "'subprocess' runs dbt as dagster-dbt does, 'in_process' with dbt's dbtRunner in the step's process"
            )


@dataclass(frozen=True)
class DefinitionOptions:
    """The shape of the asset definitions: partitions, policies, splitting and op settings.

    Attributes:
        partitions_def: Partitions of every asset (overridable per asset with ``asset_settings``). The partition
            key and time window reach dbt as ``--vars`` (see ``DbtCliOptions.partition_vars``).
        backfill_policy: Backfill policy; single-run by default for time partitions, as dagster-dbt.
        asset_settings: Per-asset partitions / backfill policy / automation condition, as a mapping
            ``AssetKey -> DbtAssetSettings`` or a callable ``(AssetKey, dbt node) -> DbtAssetSettings | None``.
        split_by: ``auto`` (split by group only above ``max_assets_per_definition`` assets), ``group`` or ``none``.
        max_assets_per_definition: Largest number of assets per definition. Default 10,000 on every Dagster
            (floe keeps Dagster's per-output bookkeeping linear where it can, see ``output_keys_cache``). Every
            definition run is its own dbt invocation (~10 s of dbt start-up each), so a full build is fastest
            with as few definitions as possible.
        name: Base name of the definitions' ops; default ``<dbt project>_dbt``.
        op_tags: Extra op tags.
        retry_policy: Retry policy of the ops.
        pool: Concurrency pool of the ops.
    """

    partitions_def: PartitionsDefinition | None = None
    backfill_policy: BackfillPolicy | None = None
    asset_settings: AssetSettingsSource | None = None
    split_by: SplitBy = "auto"
    max_assets_per_definition: int = MAX_ASSETS_PER_DEFINITION
    name: str | None = None
    op_tags: Mapping[str, Any] | None = None
    retry_policy: RetryPolicy | None = None
    pool: str | None = None

    def __post_init__(self) -> None:
        """Reject an empty definition size."""
        if self.max_assets_per_definition < 1:
            raise DbtObserveError(f"max_assets_per_definition must be >= 1, got {self.max_assets_per_definition}")


@dataclass(frozen=True)
class ObservabilityOptions:
    """What each step reports: spans and OpenLineage runs, their names and their delivery.

    Attributes:
        level: ``per_model`` (a span and a lineage run per executed node), ``job_level`` (one of each per dbt
            invocation) or ``off`` (plain dagster-dbt streaming).
        lineage_namespace: OpenLineage namespace of the dbt jobs; dbt-ol's is ``OPENLINEAGE_NAMESPACE`` (default
            ``dbt``), to keep a job's history when moving from dbt-ol.
        lineage_job_names: ``dbt_ol``: a node's job is named as dbt-ol names it
            (``<database>.<schema>.<project>.<model>``, tests by unique id; ``LineageContext.job_name``);
            ``floe``: ``<project>.<node name>``.
        parent_namespace: OpenLineage namespace of the Dagster job used in the parent-run facet; defaults to
            ``lineage_namespace``.
        dataset_namespace: Warehouse namespace; default derived from the dbt profile
            (``duckdb:///abs/file.duckdb``, ``postgres://host:port``, ...).
        column_lineage: Compute OpenLineage column lineage from the compiled SQL with sqlglot.
        warehouse_columns: Read the columns and types of every relation a step built (and of its parents) from
            the warehouse with one query once dbt has exited, for typed schema facets and column lineage; the
            COMPLETE events of models, seeds and snapshots are sent then. DuckDB, and the adapters whose
            databases carry ``information_schema.columns`` (Postgres, Redshift, Snowflake, Trino, Databricks,
            SQL Server); other adapters use schema.yml's declared columns.
        lineage_queue_size: Most lineage events buffered before new ones are dropped (and counted).
        flush_timeout_seconds: Longest wait for lineage delivery and span export at the end of a step.
        dbt_spans: dbt-core 1.12's own spans (``--snowflake-projects-otel``: ``dbt.invocation``, one per node and
            hook) in the step's trace: ``dbt.invocation`` under the step span, each dbt node span under floe's span
            of that node (``level="per_model"`` with ``ApplicationHooks.pin_span_id``; else under
            ``dbt.invocation``). In process they go to ``tracer_provider``; a dbt subprocess exports them with
            ``ApplicationHooks.dbt_span_export``. Ignored, with a warning per step, on dbt-core before 1.12.
        query_comment: Add a W3C ``traceparent`` to dbt's query comment, so every statement dbt sends carries its
            node's span (the step's span outside a node, or for every node without ``pin_span_id``). Only where the
            project keeps dbt's default ``query-comment``; a dbt executable other than this environment's dbt-core
            runs without it.
    """

    level: Observability = "per_model"
    lineage_namespace: str = "dbt"
    lineage_job_names: JobNames = "dbt_ol"
    parent_namespace: str | None = None
    dataset_namespace: str | None = None
    column_lineage: bool = True
    warehouse_columns: bool = True
    lineage_queue_size: int = 10_000
    flush_timeout_seconds: float = 2.0
    dbt_spans: bool = False
    query_comment: bool = True

    def __post_init__(self) -> None:
        """Reject an unknown level."""
        if self.level not in _OBSERVABILITY:
            raise DbtObserveError(f"observability must be one of {', '.join(_OBSERVABILITY)}, got {self.level!r}")


@dataclass(frozen=True)
class ApplicationHooks:
    """What an application that owns the executor and the tracer provider (floe-definitions) plugs in.

    Attributes:
        executor_step_spans: The executor opens one span per step with the ids of
            ``dagster_step_span_context(run_id, step_key, retry_number)`` (floe-definitions' executor does): dbt
            node spans become its children and no ``dbt.build`` span of its own is opened. Leave False with any
            other executor.
        span_flush: The application's end-of-step span flush, ``(trace_id, timeout_seconds) -> warning or None``:
            floe-dbt-observe never flushes a provider itself (floe-definitions passes its bounded, counting
            flush); a returned text is logged as the step's warning. None flushes nothing.
        pin_span_id: The application's span-id pin (see ``PinSpanId``): floe's node spans then carry the ids
            dbt's query comments name, and dbt's node spans hang under them. None: query comments name the step
            span, dbt's node spans hang under ``dbt.invocation``.
        dbt_span_export: How a dbt subprocess exports dbt's own spans (``dbt_launcher``): ``{"factory":
            "module:function", "kwargs": {...}}``, the factory (imported in the dbt process) returning an SDK
            ``TracerProvider`` with its exporter. None: a dbt subprocess exports none (dbt in process uses the step's
            tracer provider).
    """

    executor_step_spans: bool = False
    span_flush: SpanFlush | None = None
    pin_span_id: PinSpanId | None = None
    dbt_span_export: Mapping[str, Any] | None = None
