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
    TimeWindowPartitionsDefinition,
    multi_asset,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource
from opentelemetry.trace import TracerProvider

from floe_dbt_observe import _compat
from floe_dbt_observe.asset_settings import settings_resolver
from floe_dbt_observe.dbt_engine import refuse_in_process_fusion
from floe_dbt_observe.dbt_executable import find_dbt_executable
from floe_dbt_observe.dbt_resource import build_dbt_resource
from floe_dbt_observe.dbt_runner import DbtStepRunner, RunnerConfig
from floe_dbt_observe.errors import EmptySelectionError
from floe_dbt_observe.manifest import check_project_dir, load_or_parse_manifest
from floe_dbt_observe.options import ApplicationHooks, DbtCliOptions, DefinitionOptions, ObservabilityOptions
from floe_dbt_observe.output_keys_cache import cached_output_asset_keys
from floe_dbt_observe.partition_vars import partition_vars as default_partition_vars
from floe_dbt_observe.splitting import AssetPart, ResolvedSpec, split_specs
from floe_dbt_observe.translator import FloeDbtTranslator

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient


def _safe_name(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"dbt_{cleaned}"


def build_dbt_assets(
    project_dir: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    select: str = "fqn:*",
    exclude: str | None = None,
    translator: DagsterDbtTranslator | None = None,
    tracer_provider: TracerProvider | None = None,
    lineage: "OpenLineageClient | None" = None,
    dbt: DbtCliOptions | None = None,
    definitions: DefinitionOptions | None = None,
    observability: ObservabilityOptions | None = None,
    hooks: ApplicationHooks | None = None,
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
        select: dbt selection of the nodes to load.
        exclude: dbt exclusion.
        translator: dagster-dbt translator; default ``FloeDbtTranslator()`` (folder groups).
        tracer_provider: OpenTelemetry tracer provider; None uses the global one (a no-op without an SDK).
        lineage: OpenLineage client; None emits no lineage.
        dbt: How a step runs dbt (profiles, target, resource, executable, build flags, partition vars, invocation).
        definitions: The definitions' shape (partitions, backfill policy, per-asset settings, splitting, op
            name, tags, retry policy, pool).
        observability: Spans and lineage (level, namespaces, job names, column lineage, warehouse columns,
            delivery).
        hooks: What an application owning the executor and the tracer provider plugs in (floe-definitions).

    Returns:
        The dbt assets definitions.

    Raises:
        DbtObserveError: The project, manifest, executable, selection or settings are unusable (an in-process
            invocation with a dbt Fusion executable included: Fusion runs only as a subprocess).
    """
    dbt = dbt or DbtCliOptions()
    definitions = definitions or DefinitionOptions()
    project_path = Path(project_dir).absolute()
    check_project_dir(project_path, manifest is not None)
    resource = _dbt_resource(project_path, dbt)
    if dbt.invocation == "in_process" and resource is not None:
        refuse_in_process_fusion(resource.dbt_executable)
    manifest_dict = _load_manifest(project_path, manifest, dbt, resource)
    specs, check_specs = _selected_specs(project_path, manifest_dict, translator, select, exclude)
    resolved, asset_keys = _resolve_settings(specs, manifest_dict, definitions)
    parts = split_specs(
        resolved,
        check_specs,
        manifest_dict,
        split_by=definitions.split_by,
        max_assets_per_definition=definitions.max_assets_per_definition,
        select=select,
    )
    runner = DbtStepRunner(
        _runner_config(
            project_path,
            resource,
            dbt,
            observability or ObservabilityOptions(),
            hooks or ApplicationHooks(),
            tracer_provider=tracer_provider,
            lineage=lineage,
            asset_keys=asset_keys,
        )
    )
    project_name = manifest_dict.get("metadata", {}).get("project_name") or "dbt"
    base = _safe_name(definitions.name or f"{project_name}_dbt")
    return [
        _definition(
            runner,
            op_name=op_name,
            part=part,
            exclude=exclude,
            options=definitions,
            required_resource_keys={dbt.resource_key} if dbt.resource_key else set(),
        )
        for op_name, part in zip(_op_names(base, parts), parts, strict=True)
    ]


def _dbt_resource(project_dir: Path, dbt: DbtCliOptions) -> DbtCliResource | None:
    """Return the ``DbtCliResource`` steps run with: the given one, one built here, or None (a resource key)."""
    if dbt.resource is not None or dbt.resource_key is not None:
        return dbt.resource
    return build_dbt_resource(
        project_dir,
        profiles_dir=_absolute(dbt.profiles_dir),
        target=dbt.target,
        dbt_executable=os.fspath(dbt.executable) if dbt.executable is not None else None,
    )


def _load_manifest(
    project_dir: Path,
    manifest: str | os.PathLike[str] | Mapping[str, Any] | None,
    dbt: DbtCliOptions,
    resource: DbtCliResource | None,
) -> dict[str, Any]:
    """Return the validated manifest, parsing the project with the steps' ``dbt`` when none exists."""
    executable = resource.dbt_executable if resource is not None else find_dbt_executable(dbt.executable)
    manifest_dict, _ = load_or_parse_manifest(
        project_dir,
        manifest=Path(manifest) if isinstance(manifest, str | os.PathLike) else manifest,
        dbt_executable=executable,
        profiles_dir=_absolute(dbt.profiles_dir),
        target=dbt.target,
    )
    return manifest_dict


def _selected_specs(
    project_dir: Path,
    manifest: Mapping[str, Any],
    translator: DagsterDbtTranslator | None,
    select: str,
    exclude: str | None,
) -> tuple[Sequence[Any], Sequence[Any]]:
    """Return dagster-dbt's asset and check specs of the selection.

    Raises:
        EmptySelectionError: The selection matches no model, seed or snapshot.
    """
    specs, check_specs = _compat.dbt_specs(
        translator=translator or FloeDbtTranslator(), manifest=manifest, select=select, exclude=exclude or ""
    )
    if not specs:
        raise EmptySelectionError(
            f"dbt selection select={select!r} exclude={exclude!r} matches no model, seed or snapshot in "
            f"{project_dir}; check the selection with `dbt ls --select {select}`"
        )
    return specs, check_specs


def _resolve_settings(
    specs: Sequence[Any], manifest: Mapping[str, Any], options: DefinitionOptions
) -> tuple[list[ResolvedSpec], dict[str, str]]:
    """Return each spec with its partitions, backfill policy and automation condition, and unique id -> key."""
    resolve = settings_resolver(options.asset_settings, {spec.key for spec in specs})
    unique_id_key = _compat.dbt_metadata_keys().unique_id
    nodes = manifest["nodes"]
    resolved: list[ResolvedSpec] = []
    asset_keys: dict[str, str] = {}
    for spec in specs:
        unique_id = str(spec.metadata[unique_id_key])
        asset_keys[unique_id] = spec.key.to_user_string()
        settings = resolve(spec.key, nodes.get(unique_id, {}))
        partitions_def = settings.partitions_def if settings and settings.partitions_def else options.partitions_def
        policy = settings.backfill_policy if settings and settings.backfill_policy else options.backfill_policy
        if policy is None and isinstance(partitions_def, TimeWindowPartitionsDefinition):
            policy = BackfillPolicy.single_run()
        resolved.append(
            ResolvedSpec(
                spec=spec,
                unique_id=unique_id,
                partitions_def=partitions_def,
                backfill_policy=policy,
                automation_condition=settings.automation_condition if settings else None,
            )
        )
    return resolved, asset_keys


def _runner_config(
    project_dir: Path,
    resource: DbtCliResource | None,
    dbt: DbtCliOptions,
    observability: ObservabilityOptions,
    hooks: ApplicationHooks,
    *,
    tracer_provider: TracerProvider | None,
    lineage: "OpenLineageClient | None",
    asset_keys: Mapping[str, str],
) -> RunnerConfig:
    """Return what every step of these definitions runs with."""
    return RunnerConfig(
        dbt=resource,
        dbt_resource_key=dbt.resource_key,
        project_dir=project_dir,
        build_args=("build", *dbt.build_args),
        partition_vars=dbt.partition_vars or default_partition_vars,
        observability=observability.level,
        tracer_provider=tracer_provider,
        lineage=lineage,
        lineage_namespace=observability.lineage_namespace,
        job_names=observability.lineage_job_names,
        parent_namespace=observability.parent_namespace or observability.lineage_namespace,
        dataset_namespace=observability.dataset_namespace,
        column_lineage=observability.column_lineage,
        warehouse_columns=observability.warehouse_columns,
        max_queue=observability.lineage_queue_size,
        flush_timeout_seconds=observability.flush_timeout_seconds,
        asset_keys=asset_keys,
        executor_step_spans=hooks.executor_step_spans,
        span_flush=hooks.span_flush,
        dbt_invocation=dbt.invocation,
        dbt_spans=observability.dbt_spans,
        query_comment=observability.query_comment,
        pin_span_id=hooks.pin_span_id,
        dbt_span_export=hooks.dbt_span_export,
    )


def _op_names(base: str, parts: Sequence[AssetPart]) -> list[str]:
    """Name each part's op: ``base`` alone, else ``base_<group>`` or ``base_<index>``, never twice the same."""
    if len(parts) == 1:
        return [base]
    names: list[str] = []
    for index, part in enumerate(parts):
        op_name = _safe_name(f"{base}_{part.group}") if part.group else f"{base}_{index}"
        names.append(f"{op_name}_{index}" if op_name in names else op_name)
    return names


def _absolute(path: str | os.PathLike[str] | None) -> Path | None:
    return Path(path).absolute() if path is not None else None


def _definition(
    runner: DbtStepRunner,
    *,
    op_name: str,
    part: AssetPart,
    exclude: str | None,
    options: DefinitionOptions,
    required_resource_keys: set[str],
) -> AssetsDefinition:
    metadata_keys = _compat.dbt_metadata_keys()

    @multi_asset(
        name=op_name,
        specs=list(part.specs),
        check_specs=list(part.check_specs),
        can_subset=True,
        partitions_def=part.partitions_def,
        backfill_policy=part.backfill_policy if part.partitions_def is not None else None,
        op_tags={
            metadata_keys.select: part.select,
            **({metadata_keys.exclude: exclude} if exclude else {}),
            **(options.op_tags or {}),
        },
        required_resource_keys=required_resource_keys,
        retry_policy=options.retry_policy,
        pool=options.pool,
        allow_arbitrary_check_specs=True,
    )
    def _dbt_assets(context: AssetExecutionContext) -> Iterator[Any]:
        with cached_output_asset_keys(context):
            yield from runner.run(context)

    return _dbt_assets
