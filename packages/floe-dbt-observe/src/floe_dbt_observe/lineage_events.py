"""Build OpenLineage run events for dbt nodes from the manifest and dbt's raw events.

Facets follow what OpenLineage's own dbt integration (``dbt-ol``) emits per node -- job type,
SQL, parent run, ``dbt_version``, ``dbt_run``, ``dbt_node``, error message, schema, data source, documentation,
output statistics, data-quality assertions -- plus processing engine, source code location, column
lineage and floe's trace link. Building runs on the emitter thread, never on the dbt step.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
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
from floe_dbt_observe.manifest import manifest_adapter_type
from floe_dbt_observe.standard_facets import (
    dagster_tags,
    dbt_node_owners,
    dbt_tags,
    job_tags_facet,
    nominal_time_facet,
    ownership_facet,
)
from floe_dbt_observe.warehouse_columns import ColumnsReader, merged_schema

logger = logging.getLogger(__name__)

JOB_TYPES: Mapping[str, str] = {"model": "MODEL", "seed": "SEED", "snapshot": "SNAPSHOT", "test": "TEST"}


@dataclass(frozen=True)
class ParentRun:
    """The Dagster run a dbt node run belongs to (OpenLineage ``parent`` facet).

    Attributes:
        run_id: Dagster run id (a UUID).
        job_name: Dagster job name.
        namespace: OpenLineage namespace of the Dagster job.
    """

    run_id: str
    job_name: str
    namespace: str


@dataclass(frozen=True)
class DbtProjectInfo:
    """What ``dbt_project.yml`` and the invocation say about the project, for the ``dbt_run`` facet.

    Attributes:
        name: The project's ``name``.
        version: The project's ``version``, if it has one.
        profile: The profile the invocation used (``--profile``, else the project's ``profile``).
    """

    name: str | None = None
    version: str | None = None
    profile: str | None = None


def project_info_source(
    project_dir: Path, profile: str | None, cli_vars: Mapping[str, Any]
) -> Callable[[], DbtProjectInfo | None]:
    """Return a callable reading the project's name, version and profile (dbt-ol's ``dbt_run`` facet) on first use.

    Args:
        project_dir: The dbt project directory.
        profile: The profile the invocation uses (``--profile``), None for the project's.
        cli_vars: dbt ``--vars`` that ``dbt_project.yml`` may read.
    """

    def read() -> DbtProjectInfo | None:
        from floe_dbt_observe import _compat

        try:
            found = _compat.read_dbt_project(str(project_dir), profile=profile, cli_vars=dict(cli_vars))
        except Exception:  # an unreadable project: dbt itself reports it; dbt_run goes without these fields
            logger.debug("cannot read dbt_project.yml of %s", project_dir, exc_info=True)
            return None
        if found is None:
            return DbtProjectInfo(profile=profile)
        return DbtProjectInfo(name=found.get("name"), version=found.get("version"), profile=found.get("profile"))

    return read


@dataclass(frozen=True)
class NodeOutcome:
    """What happened to a node, as read from dbt's events.

    Attributes:
        state: OpenLineage terminal state.
        status: dbt's node status.
        event_time: ISO timestamp of the transition.
        message: dbt's error message on FAIL / ABORT.
        execution_time: dbt's execution time in seconds.
        adapter_response: adapter message, when dbt logged one.
        rows_affected: rows the adapter reported, when it did.
        thread: dbt worker thread.
        invocation_id: dbt invocation id.
        trace_id: hex trace id of the node's span.
        span_id: hex span id of the node's span.
    """

    state: RunState
    status: str
    event_time: str
    message: str | None = None
    execution_time: float | None = None
    adapter_response: str | None = None
    rows_affected: int | None = None
    thread: str | None = None
    invocation_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


@dataclass
class LineageContext:
    """Everything shared by the lineage events of one dbt invocation.

    Attributes:
        manifest: The dbt manifest.
        job_namespace: OpenLineage namespace for dbt jobs.
        dataset_namespace_source: OpenLineage namespace of the warehouse (``duckdb:///path/db.duckdb``),
            or a callable computing it on first use (on the emitter thread, off the dbt step).
        parent: The Dagster run, or None.
        dbt_version: The dbt engine's version (dbt-core's, or dbt Fusion's ``2.0.0-preview.196``).
        openlineage_version: openlineage-python version.
        target_path: dbt target path of this invocation (for compiled SQL).
        project_dir: dbt project directory (for source code location).
        column_lineage: Whether to compute column lineage.
        asset_keys: dbt unique id -> Dagster asset key string.
        dagster_run_id: Dagster run id for the ``floe_dbt_node`` facet.
        nominal_time: ``(start, end)`` ISO time window of the step's partition(s), for the ``nominalTime`` facet.
        asset_owners: dbt unique id -> the Dagster asset's owners (floe.yaml ``owners`` included), for ``ownership``.
        asset_tags: dbt unique id -> the Dagster asset's tags (floe.yaml ``tags`` included), for the ``tags`` facet.
        columns_reader_source: Returns the reader of warehouse columns (called once, on the emitter thread), or
            None when the warehouse is not read; then schemas and lineage use the manifest's declared columns.
        job_names: How a node's lineage job is named (see :meth:`job_name`): ``dbt_ol`` (dbt-ol's names) or
            ``floe`` (``<project>.<node name>``, floe's names before issue 23).
        project_info_source: Returns the project's name, version and profile for the ``dbt_run`` facet (called
            once, on the emitter thread), or None; without it ``dbt_run`` has the manifest's project name only.
        engine_name: The ``processing_engine`` facet's name: ``dbt`` (dbt-core, as dbt-ol) or ``dbt-fusion``.
        dbt_runtime: The ``dbt_run`` facet's ``dbt_runtime``: ``core`` (dbt-ol's) or ``fusion``.
    """

    manifest: Mapping[str, Any]
    job_namespace: str
    dataset_namespace_source: str | Callable[[], str]
    parent: ParentRun | None
    dbt_version: str
    openlineage_version: str
    target_path: Path | None
    project_dir: Path | None
    column_lineage: bool = True
    asset_keys: Mapping[str, str] = field(default_factory=dict)
    dagster_run_id: str | None = None
    nominal_time: tuple[str, str | None] | None = None
    asset_owners: Mapping[str, Sequence[str]] = field(default_factory=dict)
    asset_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    columns_reader_source: Callable[[], ColumnsReader | None] | None = None
    job_names: Literal["dbt_ol", "floe"] = "dbt_ol"  # dbt_runner.JobNames (not imported: no cycle)
    project_info_source: Callable[[], DbtProjectInfo | None] | None = None
    engine_name: str = "dbt"
    dbt_runtime: str = "core"
    _warehouse: dict[str, dict[str, str]] | None = None
    _held: list[Callable[[], Any]] = field(default_factory=list)
    _held_ids: list[str] = field(default_factory=list)
    released: int = 0
    """COMPLETE events held until dbt exited and then submitted: the final flush gives them time to be built."""
    _known_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _runtime_manifest: Mapping[str, Any] | None = None
    _dataset_namespace: str | None = None
    _static_facets: dict[tuple[str, str], Any] = field(default_factory=dict)
    """Per-node facets that do not change during the invocation, built once (on the emitter thread)."""

    @property
    def dataset_namespace(self) -> str:
        """The warehouse namespace, computed once."""
        if self._dataset_namespace is None:
            source = self.dataset_namespace_source
            resolved = source if isinstance(source, str) else source()
            with self._lock:
                if self._dataset_namespace is None:
                    self._dataset_namespace = resolved
        return self._dataset_namespace

    def _current_manifest(self) -> Mapping[str, Any]:
        """Return the manifest dbt wrote for this invocation, else the one the assets were built from.

        dbt writes ``manifest.json`` into the invocation's target path before running any node;
        its relation names reflect the runtime profile (the database of a DuckDB file, a prod
        target), which the load-time manifest may not.
        """
        if self._runtime_manifest is not None:
            return self._runtime_manifest
        if self.target_path is not None:
            path = self.target_path / "manifest.json"
            with self._lock:
                if self._runtime_manifest is None and path.is_file():
                    try:
                        loaded = json.loads(path.read_bytes())
                        if isinstance(loaded, Mapping) and isinstance(loaded.get("nodes"), Mapping):
                            self._runtime_manifest = loaded
                    except (OSError, ValueError):
                        logger.debug("cannot read runtime manifest %s", path, exc_info=True)
            if self._runtime_manifest is not None:
                return self._runtime_manifest
        return self.manifest

    @property
    def project_info(self) -> DbtProjectInfo:
        """The project's name, version and profile, read once (the manifest's project name without a source)."""
        cached = self._static_facets.get(("project", ""))
        if cached is None:
            found = self.project_info_source() if self.project_info_source is not None else None
            cached = self._static_facets.setdefault(("project", ""), found or DbtProjectInfo())
        info: DbtProjectInfo = cached
        return info if info.name else DbtProjectInfo(self.project_name, info.version, info.profile)

    @property
    def project_name(self) -> str:
        """The dbt project name from the manifest metadata."""
        return str(self.manifest.get("metadata", {}).get("project_name") or "dbt")

    @property
    def adapter_type(self) -> str:
        """The dbt adapter type from the manifest metadata."""
        return manifest_adapter_type(self.manifest)

    def node(self, unique_id: str) -> Mapping[str, Any]:
        """Return the manifest entry of a node or source (empty if unknown)."""
        current = self._current_manifest()
        found = current.get("nodes", {}).get(unique_id) or current.get("sources", {}).get(unique_id)
        if not found and current is not self.manifest:
            found = self.manifest.get("nodes", {}).get(unique_id) or self.manifest.get("sources", {}).get(unique_id)
        return found or {}

    def job_name(self, unique_id: str) -> str:
        """Return the OpenLineage job name of a dbt node.

        ``dbt_ol`` names are dbt-ol's (``dbt-ol run``'s; ``dbt-ol build`` appends ``.build.run``), so a team that
        ran dbt-ol keeps its jobs' history: a model is ``<database>.<schema>.<project>.<model>`` (its unique id
        without ``model.``), a snapshot the same with ``.snapshot`` appended, a test its unique id
        (``test.<project>.<test>.<hash>``). dbt-ol emits nothing for seeds; a seed is named as a model is.
        ``floe`` names are ``<project>.<node name>``.
        """
        node = self.node(unique_id)
        if self.job_names == "floe":
            return f"{self.project_name}.{node.get('name') or unique_id.split('.')[-1]}"
        resource_type, _, rest = unique_id.partition(".")
        if resource_type not in ("model", "seed", "snapshot") or not rest:
            return unique_id
        relation = ".".join(str(part) for part in (node.get("database"), node.get("schema"), rest) if part)
        return relation + (".snapshot" if resource_type == "snapshot" else "")

    def dataset_name(self, node: Mapping[str, Any]) -> str:
        """Return ``database.schema.identifier`` of a relation."""
        identifier = node.get("alias") or node.get("identifier") or node.get("name")
        return ".".join(str(part) for part in (node.get("database"), node.get("schema"), identifier) if part)

    def holds(self, unique_id: str) -> bool:
        """Whether the node's COMPLETE event waits for the warehouse's columns (read once dbt has exited)."""
        return self.columns_reader_source is not None and self.node(unique_id).get("resource_type") in (
            "model",
            "seed",
            "snapshot",
        )

    def hold(self, unique_id: str, factory: Callable[[], Any]) -> None:
        """Keep a node's COMPLETE event factory until :meth:`release` (the dbt process has exited)."""
        with self._lock:
            self._held.append(factory)
            self._held_ids.append(unique_id)

    def release(self) -> list[Callable[[], Any]]:
        """Return the held event factories; the first one built reads the warehouse for all of them."""
        with self._lock:
            held, self._held = self._held, []
            self.released += len(held)
        return held

    def warehouse_columns(self) -> dict[str, dict[str, str]]:
        """Return the warehouse columns of the held nodes and their parents, read with one query on first use."""
        if self._warehouse is not None:
            return self._warehouse
        reader = self.columns_reader_source() if self.columns_reader_source is not None else None
        relations: dict[str, tuple[str, str, str]] = {}
        for unique_id in [*self._held_ids, *(p for u in self._held_ids for p in _relation_parents(self, u))]:
            node = self.node(unique_id)
            identifier = str(node.get("alias") or node.get("identifier") or node.get("name") or "")
            if identifier:
                relation = (str(node.get("database") or ""), str(node.get("schema") or ""), identifier)
                relations[relation_key(*relation)] = relation
        found: dict[str, dict[str, str]] = {}
        if reader is not None and relations:
            try:
                found = reader(list(relations.values()))
            except Exception as exc:  # a locked or missing warehouse: fall back to the manifest's columns
                logger.warning(
                    "floe-dbt-observe: cannot read column types from the warehouse (%s: %s); lineage schemas use "
                    "the columns schema.yml declares",
                    type(exc).__name__,
                    exc,
                )
        with self._lock:
            if self._warehouse is None:
                self._warehouse = found
                # dataset facets built before the read (START events) carried the declared columns
                for key in [k for k in self._static_facets if k[0] == "dataset"]:
                    del self._static_facets[key]
        return self._warehouse

    def warehouse_columns_of(self, unique_id: str) -> dict[str, str] | None:
        """Return a relation's columns as the warehouse reported them this run, None if it was not read."""
        if self._warehouse is None:
            return None
        return self._warehouse.get(self._relation_key(self.node(unique_id)))

    def columns_of(self, unique_id: str) -> dict[str, str]:
        """Return the best-known columns of a relation: the warehouse's, learned this run, else declared."""
        node = self.node(unique_id)
        key = self._relation_key(node)
        warehouse = self.warehouse_columns_of(unique_id)
        if warehouse:
            return dict(warehouse)
        with self._lock:
            learned = self._known_columns.get(key)
        if learned:
            return dict(learned)
        return {
            str(column.get("name") or name).lower(): str(column.get("data_type") or "")
            for name, column in (node.get("columns") or {}).items()
        }

    def _relation_key(self, node: Mapping[str, Any]) -> str:
        identifier = node.get("alias") or node.get("identifier") or node.get("name")
        return relation_key(node.get("database"), node.get("schema"), identifier)

    def learn_columns(self, unique_id: str, columns: Sequence[str]) -> None:
        """Record the output columns of a model computed this run, for its children's lineage."""
        key = self._relation_key(self.node(unique_id))
        declared = self.columns_of(unique_id)
        with self._lock:
            self._known_columns[key] = {name: declared.get(name, "") for name in columns}


def _schema_facet(
    warehouse: Mapping[str, str] | None, declared: Mapping[str, Any]
) -> schema_dataset.SchemaDatasetFacet | None:
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, description=description)
        for name, type_, description in merged_schema(warehouse, declared)
    ]
    return schema_dataset.SchemaDatasetFacet(fields=fields, producer=FLOE_PRODUCER) if fields else None


def dataset_facets(ctx: LineageContext, unique_id: str) -> dict[str, DatasetFacet]:
    """Return the dataset facets of a relation: data source, schema, documentation (built once per run)."""
    cached = ctx._static_facets.get(("dataset", unique_id))
    if cached is None:
        cached = ctx._static_facets.setdefault(("dataset", unique_id), _dataset_facets(ctx, unique_id))
    return dict(cached)  # a copy: callers add per-event facets (column lineage)


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


def _relation_parents(ctx: LineageContext, unique_id: str) -> list[str]:
    parents = ctx._current_manifest().get("parent_map", {}).get(unique_id)
    if parents is None:
        parents = ctx.node(unique_id).get("depends_on", {}).get("nodes", [])
    return [p for p in parents if p.split(".", 1)[0] in ("model", "seed", "snapshot", "source")]


def inputs_for(ctx: LineageContext, unique_id: str) -> list[InputDataset]:
    """Return the input datasets of a node: its refs and sources."""
    return [
        InputDataset(
            namespace=ctx.dataset_namespace,
            name=ctx.dataset_name(ctx.node(parent)),
            facets=dataset_facets(ctx, parent),
        )
        for parent in _relation_parents(ctx, unique_id)
        if ctx.node(parent).get("config", {}).get("materialized") != "ephemeral"
    ]


def _job_facets(ctx: LineageContext, unique_id: str, with_sql: bool) -> dict[str, JobFacet]:
    static = ctx._static_facets.get(("job", unique_id))
    if static is None:
        static = ctx._static_facets.setdefault(("job", unique_id), _static_job_facets(ctx, unique_id))
    facets: dict[str, JobFacet] = dict(static)
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
    owners = [*ctx.asset_owners.get(unique_id, ()), *_dbt_owners(node)]
    target = tested_node(ctx, unique_id) if resource_type == "test" else None
    if target is not None:  # a test has no owners of its own in Dagster; whoever owns the tested model owns it
        owners += [*ctx.asset_owners.get(target, ()), *_dbt_owners(ctx.node(target))]
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


def _dbt_owners(node: Mapping[str, Any]) -> list[str]:
    return dbt_node_owners(node)


def compiled_sql(ctx: LineageContext, unique_id: str) -> str | None:
    """Return the node's compiled SQL from this invocation's target path, or the manifest's.

    Read once the node has run (its terminal event) and kept: the SQL facet and column lineage share it.
    """
    cached = ctx._static_facets.get(("sql", unique_id))
    if cached is not None:
        return str(cached)
    sql = _read_compiled_sql(ctx, unique_id)
    if sql is not None:
        ctx._static_facets[("sql", unique_id)] = sql
    return sql


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


def _run_facets(
    ctx: LineageContext, unique_id: str, outcome: NodeOutcome | None, invocation_id: str | None = None
) -> dict[str, RunFacet]:
    static = ctx._static_facets.get(("run", ""))
    if static is None:
        static = ctx._static_facets.setdefault(("run", ""), _static_run_facets(ctx))
    facets: dict[str, RunFacet] = dict(static)
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
    if outcome.state in (RunState.FAIL, RunState.ABORT) and outcome.message:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=outcome.message, programmingLanguage="SQL", producer=FLOE_PRODUCER
        )
    return facets


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


def _column_lineage_facet(
    ctx: LineageContext, unique_id: str
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    node = ctx.node(unique_id)
    dialect = sqlglot_dialect(ctx.adapter_type)
    if not ctx.column_lineage or dialect is None or node.get("resource_type") not in ("model", "snapshot"):
        return None
    sql = compiled_sql(ctx, unique_id)
    if not sql:
        return None
    parents = _relation_parents(ctx, unique_id)
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


def node_start_event(
    ctx: LineageContext, unique_id: str, run_id: str, event_time: str, invocation_id: str | None = None
) -> RunEvent:
    """Return the START event of a node's lineage run (``invocation_id``: dbt's, for the ``dbt_run`` facet)."""
    return _event(ctx, unique_id, run_id, RunState.START, event_time, outcome=None, invocation_id=invocation_id)


def node_terminal_event(ctx: LineageContext, unique_id: str, run_id: str, outcome: NodeOutcome) -> RunEvent:
    """Return the COMPLETE / FAIL / ABORT event of a node's lineage run."""
    return _event(ctx, unique_id, run_id, outcome.state, outcome.event_time, outcome=outcome)


def _event(
    ctx: LineageContext,
    unique_id: str,
    run_id: str,
    state: RunState,
    event_time: str,
    outcome: NodeOutcome | None,
    invocation_id: str | None = None,
) -> RunEvent:
    node = ctx.node(unique_id)
    is_test = node.get("resource_type") == "test"
    finished = outcome is not None and state == RunState.COMPLETE
    if finished and ctx.holds(unique_id):
        ctx.warehouse_columns()  # one query for every held node, before any of their facets is built
    inputs: list[InputDataset]
    outputs: list[OutputDataset] = []
    if is_test:
        inputs = _test_inputs(ctx, unique_id, outcome)
    else:
        inputs = inputs_for(ctx, unique_id)
        out_facets = dataset_facets(ctx, unique_id)
        output_facets: dict[str, OutputDatasetFacet] = {}
        if finished:
            lineage_facet = _column_lineage_facet(ctx, unique_id)
            if lineage_facet is not None:
                out_facets["columnLineage"] = lineage_facet
            if outcome is not None and outcome.rows_affected is not None and outcome.rows_affected >= 0:
                output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=outcome.rows_affected, producer=FLOE_PRODUCER
                )
        outputs = [
            OutputDataset(
                namespace=ctx.dataset_namespace,
                name=ctx.dataset_name(node),
                facets=out_facets,
                outputFacets=output_facets,
            )
        ]
    return RunEvent(
        eventType=state,
        eventTime=event_time,
        run=Run(runId=run_id, facets=_run_facets(ctx, unique_id, outcome, invocation_id)),
        job=Job(
            namespace=ctx.job_namespace,
            name=ctx.job_name(unique_id),
            facets=_job_facets(ctx, unique_id, with_sql=outcome is not None),
        ),
        inputs=inputs,
        outputs=outputs,
        producer=FLOE_PRODUCER,
    )


def tested_node(ctx: LineageContext, unique_id: str) -> str | None:
    """Return the model/seed/snapshot/source a test asserts on (its attached node, else its last parent)."""
    node = ctx.node(unique_id)
    attached = node.get("attached_node")
    if attached:
        return str(attached)
    parents = _relation_parents(ctx, unique_id)
    return parents[-1] if parents else None


def _test_inputs(ctx: LineageContext, unique_id: str, outcome: NodeOutcome | None) -> list[InputDataset]:
    target = tested_node(ctx, unique_id)
    if target is None:
        return []
    target_node = ctx.node(target)
    input_facets: dict[str, InputDatasetFacet] = {}
    if outcome is not None and outcome.status in ("pass", "fail", "warn", "error"):
        node = ctx.node(unique_id)
        metadata = node.get("test_metadata") or {}
        kwargs = metadata.get("kwargs") or {}
        column = kwargs.get("column_name") or node.get("column_name")
        input_facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
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
    return [
        InputDataset(
            namespace=ctx.dataset_namespace,
            name=ctx.dataset_name(target_node),
            facets=dataset_facets(ctx, target),
            inputFacets=input_facets,
        )
    ]


def invocation_event(
    ctx: LineageContext,
    *,
    run_id: str,
    job_name: str,
    state: RunState,
    event_time: str,
    node_ids: Sequence[str],
    trace_id: str | None,
    span_id: str | None,
    message: str | None = None,
) -> RunEvent:
    """Return an event of the single lineage run of a whole invocation (``job_level``)."""
    produced = set(node_ids)
    input_ids: list[str] = []
    for unique_id in node_ids:
        for parent in _relation_parents(ctx, unique_id):
            if parent not in produced and parent not in input_ids:
                input_ids.append(parent)
    run_facets = _run_facets(ctx, "", None)
    if trace_id and span_id:
        run_facets["floe_trace"] = OtelTraceRunFacet(traceId=trace_id, spanId=span_id, producer=FLOE_PRODUCER)
    if state in (RunState.FAIL, RunState.ABORT) and message:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=message, programmingLanguage="SQL", producer=FLOE_PRODUCER
        )
    return RunEvent(
        eventType=state,
        eventTime=event_time,
        run=Run(runId=run_id, facets=run_facets),
        job=Job(
            namespace=ctx.job_namespace,
            name=job_name,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="DBT", jobType="JOB", producer=FLOE_PRODUCER
                )
            },
        ),
        inputs=[
            InputDataset(
                namespace=ctx.dataset_namespace, name=ctx.dataset_name(ctx.node(i)), facets=dataset_facets(ctx, i)
            )
            for i in input_ids
        ],
        outputs=[
            OutputDataset(
                namespace=ctx.dataset_namespace, name=ctx.dataset_name(ctx.node(o)), facets=dataset_facets(ctx, o)
            )
            for o in node_ids
            if ctx.node(o).get("resource_type") in ("model", "seed", "snapshot")
        ],
        producer=FLOE_PRODUCER,
    )
