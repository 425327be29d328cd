"""``build_dbt_assets``: every dbt model, seed and snapshot as its own Dagster asset, observed per node."""

# no `from __future__ import annotations`: Dagster inspects the compute function's context annotation at runtime

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    PartitionsDefinition,
    RetryPolicy,
    TimeWindowPartitionsDefinition,
    multi_asset,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    DAGSTER_DBT_UNIQUE_ID_METADATA_KEY,
    build_dbt_specs,
)
from opentelemetry.trace import TracerProvider

from floe_dbt_observe.asset_settings import AssetSettingsSource, settings_resolver
from floe_dbt_observe.dbt_executable import find_dbt_executable
from floe_dbt_observe.dbt_resource import build_dbt_resource
from floe_dbt_observe.dbt_runner import (
    DbtInvocation,
    DbtStepRunner,
    JobNames,
    Observability,
    PartitionVarsFn,
    RunnerConfig,
    SpanFlush,
)
from floe_dbt_observe.errors import DbtObserveError, EmptySelectionError
from floe_dbt_observe.manifest import check_project_dir, load_or_parse_manifest
from floe_dbt_observe.output_keys_cache import cached_output_asset_keys
from floe_dbt_observe.partition_vars import partition_vars as default_partition_vars
from floe_dbt_observe.splitting import ResolvedSpec, SplitBy, split_specs
from floe_dbt_observe.translator import FloeDbtTranslator

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

_OBSERVABILITY = ("per_model", "job_level", "off")
_DBT_INVOCATIONS = ("subprocess", "in_process")
MAX_ASSETS_PER_DEFINITION = 10_000
"""Default assets per definition, whatever the ``output_keys_cache`` probe says: the asset graph's shape
(definitions, op names, step keys) never depends on a probe. Where the probe fails, the step's bookkeeping is
slower and one WARNING suggests a smaller ``max_assets_per_definition``."""


def _safe_name(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"dbt_{cleaned}"


def build_dbt_assets(
    project_dir: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    select: str = "fqn:*",
    exclude: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    backfill_policy: BackfillPolicy | None = None,
    observability: Observability = "per_model",
    tracer_provider: TracerProvider | None = None,
    lineage: "OpenLineageClient | None" = None,
    lineage_namespace: str = "dbt",
    lineage_job_names: JobNames = "dbt_ol",
    parent_namespace: str | None = None,
    dataset_namespace: str | None = None,
    translator: DagsterDbtTranslator | None = None,
    name: str | None = None,
    asset_settings: AssetSettingsSource | None = None,
    dbt: DbtCliResource | None = None,
    dbt_resource_key: str | None = None,
    dbt_executable: str | os.PathLike[str] | None = None,
    build_args: Sequence[str] = (),
    partition_vars: PartitionVarsFn | None = None,
    split_by: SplitBy = "auto",
    max_assets_per_definition: int | None = None,
    column_lineage: bool = True,
    warehouse_columns: bool = True,
    lineage_queue_size: int = 10_000,
    flush_timeout_seconds: float = 2.0,
    op_tags: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    pool: str | None = None,
    executor_step_spans: bool = False,
    span_flush: SpanFlush | None = None,
    dbt_invocation: DbtInvocation = "subprocess",
) -> list[AssetsDefinition]:
    """Build Dagster assets for a dbt project, each dbt node observed with its own span and lineage run.

    Every selected dbt model, seed and snapshot becomes its own asset (dependencies from the
    manifest, tests as asset checks, sources as upstream asset keys). Always returns a list: one
    ``AssetsDefinition`` for small projects, several when the selection is split (by group, then in
    chunks of ``max_assets_per_definition``) or when assets need different partitions or backfill
    policies. Pass the whole list to ``Definitions(assets=...)``.

    Args:
        project_dir: The dbt project directory (holding ``dbt_project.yml``).
        manifest: A manifest dict or path; default ``<project_dir>/target/manifest.json``, produced
            with ``dbt parse --project-dir <absolute project_dir>`` when missing.
        profiles_dir: Directory of ``profiles.yml``; default the project directory.
        target: dbt target.
        select: dbt selection of the nodes to load.
        exclude: dbt exclusion.
        partitions_def: Partitions of every asset (overridable per asset with ``asset_settings``).
            The partition key and time window reach dbt as ``--vars`` (see ``partition_vars``).
        backfill_policy: Backfill policy; single-run by default for time partitions, as dagster-dbt.
        observability: ``per_model`` (a span and a lineage run per executed node), ``job_level``
            (one of each per dbt invocation) or ``off`` (plain dagster-dbt streaming).
        tracer_provider: OpenTelemetry tracer provider; None uses the global one (a no-op without an SDK).
        lineage: OpenLineage client; None emits no lineage.
        lineage_namespace: OpenLineage namespace of the dbt jobs; dbt-ol's is ``OPENLINEAGE_NAMESPACE`` (default
            ``dbt``), to keep a job's history when moving from dbt-ol.
        lineage_job_names: ``dbt_ol``: a node's job is named as dbt-ol names it
            (``<database>.<schema>.<project>.<model>``, tests by unique id; ``LineageContext.job_name``);
            ``floe``: ``<project>.<node name>``.
        parent_namespace: OpenLineage namespace of the Dagster job used in the parent-run facet;
            defaults to ``lineage_namespace``.
        dataset_namespace: Warehouse namespace; default derived from the dbt profile
            (``duckdb:///abs/file.duckdb``, ``postgres://host:port``, ...).
        translator: dagster-dbt translator; default ``FloeDbtTranslator()`` (folder groups).
        name: Base name of the definitions' ops; default ``<dbt project>_dbt``.
        asset_settings: Per-asset partitions / backfill policy / automation condition, as a mapping
            ``AssetKey -> DbtAssetSettings`` or a callable ``(AssetKey, dbt node) -> DbtAssetSettings | None``.
        dbt: A ready ``DbtCliResource``; default one built from the arguments above with the
            environment's ``dbt`` executable.
        dbt_resource_key: Take the ``DbtCliResource`` from this Dagster resource key at run time instead.
        dbt_executable: Path of ``dbt``; default the one next to ``sys.executable``, then ``PATH``.
        build_args: Extra flags for ``dbt build`` (e.g. ``["--full-refresh"]``).
        partition_vars: Returns the ``--vars`` for a step's partitions; default ``dagster_partition_*`` vars.
        split_by: ``auto`` (split by group only above ``max_assets_per_definition`` assets), ``group`` or ``none``.
        max_assets_per_definition: Largest number of assets per definition. Default 10,000 on every Dagster
            (floe keeps Dagster's per-output bookkeeping linear where it can, see ``output_keys_cache``).
            Every definition run is its own dbt invocation (~10 s of dbt start-up each), so a full
            build is fastest with as few definitions as possible.
        column_lineage: Compute OpenLineage column lineage from the compiled SQL with sqlglot.
        warehouse_columns: Read the columns and types of every relation a step built (and of its parents) from
            the warehouse with one query once dbt has exited, for typed schema facets and column lineage; the
            COMPLETE events of models, seeds and snapshots are sent then. DuckDB, and the adapters whose
            databases carry ``information_schema.columns`` (Postgres, Redshift, Snowflake, Trino, Databricks,
            SQL Server); other adapters use schema.yml's declared columns.
        lineage_queue_size: Most lineage events buffered before new ones are dropped (and counted).
        flush_timeout_seconds: Longest wait for lineage delivery and span export at the end of a step.
        op_tags: Extra op tags.
        retry_policy: Retry policy of the ops.
        pool: Concurrency pool of the ops.
        executor_step_spans: The executor opens one span per step with the ids of
            ``dagster_step_span_context(run_id, step_key, retry_number)`` (floe-definitions' executor does):
            dbt node spans become its children and no ``dbt.build`` span of its own is opened. Leave False
            with any other executor.
        span_flush: The application's end-of-step span flush, ``(trace_id, timeout_seconds) -> warning or None``:
            floe-dbt-observe never flushes a provider itself (floe-definitions passes its bounded, counting
            flush); a returned text is logged as the step's warning. None flushes nothing.
        dbt_invocation: How a step runs dbt. ``subprocess`` (default): dagster-dbt's ``dbt`` subprocess, whose JSON
            log lines the step reads. ``in_process``: dbt's ``dbtRunner`` in the step's own process (no Python
            start-up and dbt imports per step), its events through dbt's callbacks in the same shape; the same
            arguments, spans, lineage runs, Dagster events and interrupt behaviour (see ``dbt_in_process``). dbt's
            process-wide state makes in-process invocations run one at a time per process. Falls back to the
            subprocess, with one WARNING, where the ``dbt_in_process`` probe fails.

    Returns:
        The dbt assets definitions.

    Raises:
        DbtObserveError: The project, manifest, executable, selection or settings are unusable.
    """
    if observability not in _OBSERVABILITY:
        raise DbtObserveError(f"observability must be one of {', '.join(_OBSERVABILITY)}, got {observability!r}")
    if dbt_invocation not in _DBT_INVOCATIONS:
        raise DbtObserveError(
            f"dbt_invocation must be one of {', '.join(_DBT_INVOCATIONS)}, got {dbt_invocation!r}; "
            "'subprocess' runs dbt as dagster-dbt does, 'in_process' with dbt's dbtRunner in the step's process"
        )
    if max_assets_per_definition is None:
        max_assets_per_definition = MAX_ASSETS_PER_DEFINITION
    if max_assets_per_definition < 1:
        raise DbtObserveError(f"max_assets_per_definition must be >= 1, got {max_assets_per_definition}")
    project_path = Path(project_dir).absolute()
    profiles_path = Path(profiles_dir).absolute() if profiles_dir is not None else None
    check_project_dir(project_path, manifest is not None)
    if dbt is None and dbt_resource_key is None:
        dbt = build_dbt_resource(
            project_path,
            profiles_dir=profiles_path,
            target=target,
            dbt_executable=os.fspath(dbt_executable) if dbt_executable is not None else None,
        )
    executable = dbt.dbt_executable if dbt is not None else find_dbt_executable(dbt_executable)
    manifest_dict, _ = load_or_parse_manifest(
        project_path,
        manifest=Path(manifest) if isinstance(manifest, str | os.PathLike) else manifest,
        dbt_executable=executable,
        profiles_dir=profiles_path,
        target=target,
    )
    translator = translator or FloeDbtTranslator()
    specs, check_specs = build_dbt_specs(
        translator=translator,
        manifest=manifest_dict,
        select=select,
        exclude=exclude or "",
        selector="",
        io_manager_key=None,
        project=None,
    )
    if not specs:
        raise EmptySelectionError(
            f"dbt selection select={select!r} exclude={exclude!r} matches no model, seed or snapshot in "
            f"{project_path}; check the selection with `dbt ls --select {select}`"
        )
    keys = {spec.key for spec in specs}
    resolve = settings_resolver(asset_settings, keys)
    nodes = manifest_dict["nodes"]
    resolved: list[ResolvedSpec] = []
    asset_keys: dict[str, str] = {}
    for spec in specs:
        unique_id = str(spec.metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY])
        asset_keys[unique_id] = spec.key.to_user_string()
        settings = resolve(spec.key, nodes.get(unique_id, {}))
        part_partitions = settings.partitions_def if settings and settings.partitions_def else partitions_def
        policy = settings.backfill_policy if settings and settings.backfill_policy else backfill_policy
        if policy is None and isinstance(part_partitions, TimeWindowPartitionsDefinition):
            policy = BackfillPolicy.single_run()
        resolved.append(
            ResolvedSpec(
                spec=spec,
                unique_id=unique_id,
                partitions_def=part_partitions,
                backfill_policy=policy,
                automation_condition=settings.automation_condition if settings else None,
            )
        )
    parts = split_specs(
        resolved,
        check_specs,
        manifest_dict,
        split_by=split_by,
        max_assets_per_definition=max_assets_per_definition,
        select=select,
    )
    runner = DbtStepRunner(
        RunnerConfig(
            dbt=dbt,
            dbt_resource_key=dbt_resource_key,
            project_dir=project_path,
            build_args=("build", *build_args),
            partition_vars=partition_vars or default_partition_vars,
            observability=observability,
            tracer_provider=tracer_provider,
            lineage=lineage,
            lineage_namespace=lineage_namespace,
            job_names=lineage_job_names,
            parent_namespace=parent_namespace or lineage_namespace,
            dataset_namespace=dataset_namespace,
            column_lineage=column_lineage,
            warehouse_columns=warehouse_columns,
            max_queue=lineage_queue_size,
            flush_timeout_seconds=flush_timeout_seconds,
            asset_keys=asset_keys,
            executor_step_spans=executor_step_spans,
            span_flush=span_flush,
            dbt_invocation=dbt_invocation,
        )
    )
    base = _safe_name(name or f"{manifest_dict.get('metadata', {}).get('project_name') or 'dbt'}_dbt")
    definitions: list[AssetsDefinition] = []
    used: set[str] = set()
    for index, part in enumerate(parts):
        op_name = base
        if len(parts) > 1:
            op_name = _safe_name(f"{base}_{part.group}") if part.group else f"{base}_{index}"
            if op_name in used:
                op_name = f"{op_name}_{index}"
        used.add(op_name)
        definitions.append(
            _definition(
                runner,
                op_name=op_name,
                part_specs=part.specs,
                part_checks=part.check_specs,
                partitions_def=part.partitions_def,
                backfill_policy=part.backfill_policy,
                op_tags={
                    DAGSTER_DBT_SELECT_METADATA_KEY: part.select,
                    **({DAGSTER_DBT_EXCLUDE_METADATA_KEY: exclude} if exclude else {}),
                    **(op_tags or {}),
                },
                required_resource_keys={dbt_resource_key} if dbt_resource_key else set(),
                retry_policy=retry_policy,
                pool=pool,
            )
        )
    return definitions


def _definition(
    runner: DbtStepRunner,
    *,
    op_name: str,
    part_specs: Sequence[Any],
    part_checks: Sequence[Any],
    partitions_def: PartitionsDefinition | None,
    backfill_policy: BackfillPolicy | None,
    op_tags: Mapping[str, Any],
    required_resource_keys: set[str],
    retry_policy: RetryPolicy | None,
    pool: str | None,
) -> AssetsDefinition:
    @multi_asset(
        name=op_name,
        specs=list(part_specs),
        check_specs=list(part_checks),
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=backfill_policy if partitions_def is not None else None,
        op_tags=dict(op_tags),
        required_resource_keys=required_resource_keys,
        retry_policy=retry_policy,
        pool=pool,
        allow_arbitrary_check_specs=True,
    )
    def _dbt_assets(context: AssetExecutionContext) -> Iterator[Any]:
        with cached_output_asset_keys(context):
            yield from runner.run(context)

    return _dbt_assets
