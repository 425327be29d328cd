"""Build the OpenLineage facets of a dbt node's lineage events: dataset, job and run facets.

Facets follow what OpenLineage's own dbt integration (``dbt-ol``) emits per node -- job type, SQL, parent run,
``dbt_version``, ``dbt_run``, ``dbt_node``, error message, schema, data source, documentation, output statistics,
data-quality assertions -- plus processing engine, source code location, column lineage and floe's trace link.
Each builder reads a ``LineageContext`` through its methods only; what does not change during an invocation is
built once through ``LineageContext.built_once``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attr
from openlineage.client.event_v2 import RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    sql_job,
)

from floe_dbt_observe.column_lineage import (
    ColumnLineage,
    SourceColumn,
    compute_column_lineage,
    relation_key,
    sqlglot_dialect,
)
from floe_dbt_observe.facets import (
    FLOE_PRODUCER,
    DbtNodeJobFacet,
    DbtNodeRunFacet,
    DbtRunRunFacet,
    DbtVersionRunFacet,
    OtelTraceRunFacet,
)
from floe_dbt_observe.lineage_context import LineageContext, NodeOutcome
from floe_dbt_observe.standard_facets import (
    dagster_tags,
    dbt_node_owners,
    dbt_tags,
    job_tags_facet,
    nominal_time_facet,
    ownership_facet,
)
from floe_dbt_observe.warehouse_columns import merged_schema

logger = logging.getLogger(__name__)

JOB_TYPES: Mapping[str, str] = {"model": "MODEL", "seed": "SEED", "snapshot": "SNAPSHOT", "test": "TEST"}


# --- dataset facets -------------------------------------------------------------------------------------------------


def dataset_facets(ctx: LineageContext, unique_id: str) -> dict[str, DatasetFacet]:
    """Return the dataset facets of a relation: data source, schema, documentation (built once per run)."""
    # a copy: callers add per-event facets (column lineage)
    return dict(ctx.built_once("dataset", unique_id, lambda: _dataset_facets(ctx, unique_id)))


def _dataset_facets(ctx: LineageContext, unique_id: str) -> dict[str, DatasetFacet]:
    node = ctx.node(unique_id)
    facets: dict[str, DatasetFacet] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=ctx.dataset_namespace, uri=ctx.dataset_namespace, producer=FLOE_PRODUCER
        )
    }
    schema = _schema_facet(ctx.warehouse_columns_of(unique_id), node.get("columns") or {})
    if schema is not None:
        facets["schema"] = schema
    if node.get("description"):
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=str(node["description"]), producer=FLOE_PRODUCER
        )
    return facets


def _schema_facet(
    warehouse: Mapping[str, str] | None, declared: Mapping[str, Any]
) -> schema_dataset.SchemaDatasetFacet | None:
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, description=description)
        for name, type_, description in merged_schema(warehouse, declared)
    ]
    return schema_dataset.SchemaDatasetFacet(fields=fields, producer=FLOE_PRODUCER) if fields else None


def output_statistics_facet(
    outcome: NodeOutcome | None,
) -> output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet | None:
    """Return the ``outputStatistics`` facet of a finished node whose adapter reported the rows it wrote."""
    if outcome is None or outcome.rows_affected is None or outcome.rows_affected < 0:
        return None
    return output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=outcome.rows_affected, producer=FLOE_PRODUCER
    )


def data_quality_facet(
    ctx: LineageContext, unique_id: str, outcome: NodeOutcome | None
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet | None:
    """Return a finished test's ``dataQualityAssertions`` facet (its one assertion, passed or not), else None."""
    if outcome is None or outcome.status not in ("pass", "fail", "warn", "error"):
        return None
    node = ctx.node(unique_id)
    metadata = node.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name") or node.get("column_name")
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=str(metadata.get("name") or node.get("name") or unique_id),
                success=outcome.status == "pass",
                column=str(column) if column else None,
                **_known_fields(
                    data_quality_assertions_dataset.Assertion,
                    severity=str((node.get("config") or {}).get("severity") or "error").lower(),
                    name=str(node.get("name") or unique_id),
                ),
            )
        ],
        producer=FLOE_PRODUCER,
    )


# --- job facets -----------------------------------------------------------------------------------------------------


def job_facets(ctx: LineageContext, unique_id: str, with_sql: bool) -> dict[str, JobFacet]:
    """Return a node's job facets: those built once per run, and its SQL once it has run (``with_sql``)."""
    facets: dict[str, JobFacet] = dict(ctx.built_once("job", unique_id, lambda: _static_job_facets(ctx, unique_id)))
    if with_sql:
        sql = compiled_sql(ctx, unique_id) or executed_sql(ctx, unique_id)
        if sql:
            dialect = sqlglot_dialect(ctx.adapter_type)
            optional = _known_fields(sql_job.SQLJobFacet, dialect=dialect)
            facets["sql"] = sql_job.SQLJobFacet(query=sql, producer=FLOE_PRODUCER, **optional)
    return facets


def _known_fields(facet_class: type[Any], **optional: Any) -> dict[str, Any]:
    """Keep the optional fields ``facet_class`` has in the installed openlineage-python.

    Newer client releases add optional facet fields (``SQLJobFacet.dialect``, ``Assertion.severity`` and ``name``)
    that openlineage-python 1.31, floe's floor, does not take; events built there simply lack them.
    """
    names = attr.fields_dict(facet_class)
    return {key: value for key, value in optional.items() if key in names}


def _static_job_facets(ctx: LineageContext, unique_id: str) -> dict[str, JobFacet]:
    node = ctx.node(unique_id)
    resource_type = str(node.get("resource_type") or unique_id.split(".", 1)[0])
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH",
            integration="DBT",
            jobType=JOB_TYPES.get(resource_type, resource_type.upper()),
            producer=FLOE_PRODUCER,
        ),
        "dbt_node": DbtNodeJobFacet(
            original_file_path=_text(node.get("original_file_path")),
            database=_text(node.get("database")),
            schema=_text(node.get("schema")),
            alias=_text(node.get("alias")),
            unique_id=_text(node.get("unique_id")) or unique_id,
            test_type=("generic" if node.get("test_metadata") else "singular") if resource_type == "test" else None,
            producer=FLOE_PRODUCER,
        ),
    }
    if node.get("description"):
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=str(node["description"]), producer=FLOE_PRODUCER
        )
    owners = [*ctx.asset_owners.get(unique_id, ()), *dbt_node_owners(node)]
    target = ctx.tested_node(unique_id) if resource_type == "test" else None
    if target is not None:  # a test has no owners of its own in Dagster; whoever owns the tested model owns it
        owners += [*ctx.asset_owners.get(target, ()), *dbt_node_owners(ctx.node(target))]
    ownership = ownership_facet(owners)
    if ownership is not None:
        facets["ownership"] = ownership
    node_tags = [str(tag) for tag in node.get("tags") or ()]
    asset_tags = {k: v for k, v in ctx.asset_tags.get(unique_id, {}).items() if k not in node_tags}
    tags = job_tags_facet([*dbt_tags(node_tags), *dagster_tags(asset_tags)])
    if tags is not None:
        facets["tags"] = tags
    original = node.get("original_file_path")
    if original and ctx.project_dir is not None:
        path = (ctx.project_dir / str(original)).absolute()
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=path.as_uri(), path=str(original), producer=FLOE_PRODUCER
        )
    return facets


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def compiled_sql(ctx: LineageContext, unique_id: str) -> str | None:
    """Return the node's compiled SQL from this invocation's target path, or the manifest's.

    Read once the node has run (its terminal event) and kept: the SQL facet and column lineage share it.
    """
    return ctx.built_once("sql", unique_id, lambda: _read_compiled_sql(ctx, unique_id))


def _read_compiled_sql(ctx: LineageContext, unique_id: str) -> str | None:
    node = ctx.node(unique_id)
    path = dbt_write_path(node, ctx.target_path, "compiled")
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            pass
    code = node.get("compiled_code")
    return str(code) if code else None


def executed_sql(ctx: LineageContext, unique_id: str) -> str | None:
    """Return the SQL dbt ran for a node that dbt writes no compiled file for (a snapshot), else None."""
    path = dbt_write_path(ctx.node(unique_id), ctx.target_path, "run")
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def dbt_write_path(node: Mapping[str, Any], target_path: Path | None, subdirectory: str) -> Path | None:
    """Return where dbt writes a node's ``compiled`` or ``run`` SQL, by dbt's own rule.

    A file holding one node (a model) is written to ``<subdirectory>/<package>/<original_file_path>``; a file
    holding many (generic tests in a schema.yml, snapshots in a .yml) to ``.../<original_file_path>/<path>``,
    where ``path`` is the node's own file path from the manifest -- hashed for long test names
    (``accepted_values_orders_<hash>.sql``), so it is never rebuilt from the node's name.

    Args:
        node: The node's manifest entry.
        target_path: This invocation's target path.
        subdirectory: ``compiled`` or ``run``.

    Returns:
        The path, or None when the manifest entry or the target path does not say.
    """
    original, own, package = node.get("original_file_path"), node.get("path"), node.get("package_name")
    if target_path is None or not original or not package:
        return None
    relative = Path(str(original))
    if own and Path(str(own)).name != relative.name:
        relative = relative / str(own)
    return target_path / subdirectory / str(package) / relative


# --- run facets -----------------------------------------------------------------------------------------------------


def run_facets(
    ctx: LineageContext, unique_id: str, outcome: NodeOutcome | None, invocation_id: str | None = None
) -> dict[str, RunFacet]:
    """Return a node run's facets: the invocation's own (built once), ``dbt_run``, and what the outcome says."""
    facets: dict[str, RunFacet] = dict(ctx.built_once("run", "", lambda: _static_run_facets(ctx)))
    invocation_id = outcome.invocation_id if outcome is not None and outcome.invocation_id else invocation_id
    if invocation_id:
        facets["dbt_run"] = _dbt_run_facet(ctx, invocation_id)
    if outcome is None:
        return facets
    if outcome.trace_id and outcome.span_id:
        facets["floe_trace"] = OtelTraceRunFacet(
            traceId=outcome.trace_id, spanId=outcome.span_id, producer=FLOE_PRODUCER
        )
    node = ctx.node(unique_id)
    facets["floe_dbt_node"] = DbtNodeRunFacet(
        uniqueId=unique_id,
        resourceType=str(node.get("resource_type") or unique_id.split(".", 1)[0]),
        status=outcome.status,
        materialization=(node.get("config") or {}).get("materialized"),
        invocationId=outcome.invocation_id,
        thread=outcome.thread,
        executionTimeSeconds=outcome.execution_time,
        adapterResponse=outcome.adapter_response,
        rowsAffected=outcome.rows_affected,
        dagsterRunId=ctx.dagster_run_id,
        assetKey=ctx.asset_keys.get(unique_id),
        producer=FLOE_PRODUCER,
    )
    error = error_message_facet(outcome.state, outcome.message)
    if error is not None:
        facets["errorMessage"] = error
    return facets


def error_message_facet(state: RunState, message: str | None) -> error_message_run.ErrorMessageRunFacet | None:
    """Return the ``errorMessage`` facet of a failed or aborted run with dbt's message, else None."""
    if state not in (RunState.FAIL, RunState.ABORT) or not message:
        return None
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="SQL", producer=FLOE_PRODUCER)


def _dbt_run_facet(ctx: LineageContext, invocation_id: str) -> DbtRunRunFacet:
    """Return dbt-ol's ``dbt_run`` facet: the dbt invocation, the project and its profile."""
    info = ctx.project_info
    return DbtRunRunFacet(
        invocation_id=invocation_id,
        project_name=info.name,
        dbt_runtime=ctx.dbt_runtime,
        project_version=info.version,
        profile_name=info.profile,
        producer=FLOE_PRODUCER,
    )


def _static_run_facets(ctx: LineageContext) -> dict[str, RunFacet]:
    """Run facets shared by every event of the invocation: processing engine, dbt version, parent run."""
    facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=ctx.dbt_version,
            name=ctx.engine_name,
            openlineageAdapterVersion=ctx.openlineage_version,
            producer=FLOE_PRODUCER,
        ),
        "dbt_version": DbtVersionRunFacet(version=ctx.dbt_version, producer=FLOE_PRODUCER),
    }
    if ctx.nominal_time is not None:
        facets["nominalTime"] = nominal_time_facet(*ctx.nominal_time)
    if ctx.parent is not None:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=ctx.parent.run_id),
            job=parent_run.Job(namespace=ctx.parent.namespace, name=ctx.parent.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=ctx.parent.run_id),
                job=parent_run.RootJob(namespace=ctx.parent.namespace, name=ctx.parent.job_name),
            ),
            producer=FLOE_PRODUCER,
        )
    return facets


# --- column lineage -------------------------------------------------------------------------------------------------


def column_lineage_facet(
    ctx: LineageContext, unique_id: str
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """Return a model's or snapshot's column lineage from its compiled SQL (sqlglot), None when there is none."""
    node = ctx.node(unique_id)
    dialect = sqlglot_dialect(ctx.adapter_type)
    if not ctx.column_lineage or dialect is None or node.get("resource_type") not in ("model", "snapshot"):
        return None
    sql = compiled_sql(ctx, unique_id)
    if not sql:
        return None
    parents = ctx.relation_parents(unique_id)
    parent_parts: dict[str, tuple[str, str, str]] = {}
    parent_columns: dict[str, dict[str, str]] = {}
    name_by_key: dict[str, str] = {}
    for parent in parents:
        parent_node = ctx.node(parent)
        identifier = str(parent_node.get("alias") or parent_node.get("identifier") or parent_node.get("name"))
        key = relation_key(parent_node.get("database"), parent_node.get("schema"), identifier)
        parent_parts[key] = (str(parent_node.get("database") or ""), str(parent_node.get("schema") or ""), identifier)
        parent_columns[key] = ctx.columns_of(parent)
        name_by_key[key] = ctx.dataset_name(parent_node)
    result: ColumnLineage | None = None
    reason: str | None = None
    try:
        result = compute_column_lineage(sql, dialect, parent_columns, parent_parts)
    except Exception as exc:  # sqlglot on arbitrary SQL: lineage is best effort, never fatal
        logger.debug("column lineage failed for %s", unique_id, exc_info=True)
        reason = f"{type(exc).__name__}: {exc}"
    else:
        if not result.fields:
            reason = result.error or "sqlglot found no output column"
    if reason is not None:
        # once per model and run: each node has one COMPLETE event
        logger.warning(
            "floe-dbt-observe: no column lineage for %s (%s): %s",
            node.get("name") or unique_id,
            node.get("original_file_path") or unique_id,
            reason,
        )
    if result is None or not result.fields:
        return None
    ctx.learn_columns(unique_id, list(result.fields))

    def input_field(source: SourceColumn) -> column_lineage_dataset.InputField:
        return column_lineage_dataset.InputField(
            namespace=ctx.dataset_namespace,
            name=name_by_key[source.relation],
            field=source.column,
            transformations=[
                column_lineage_dataset.Transformation(type=source.type, subtype=source.subtype, masking=source.masking)
            ],
        )

    fields = {
        column: column_lineage_dataset.Fields(inputFields=[input_field(source) for source in sources])
        for column, sources in result.fields.items()
    }
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields=fields, dataset=[input_field(source) for source in result.dataset], producer=FLOE_PRODUCER
    )
