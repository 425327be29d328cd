"""The state shared by the lineage events of one dbt invocation, and the values those events are built from.

``LineageContext`` owns everything that changes while dbt runs -- the runtime manifest it reads once, the
warehouse columns it queries once, the facets built once per node, the COMPLETE events it holds -- behind
methods; the facet builders (``lineage_facets``) and event builders (``lineage_events``) only call those.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from floe_dbt_observe.column_lineage import relation_key
from floe_dbt_observe.manifest import manifest_adapter_type

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunState

    from floe_dbt_observe.warehouse_columns import ColumnsReader

_T = TypeVar("_T")

logger = logging.getLogger(__name__)


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
    _built: dict[tuple[str, str], Any] = field(default_factory=dict)
    """Per-node facets (and SQL) that do not change during the invocation, built once (on the emitter thread)."""

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

    def built_once(self, kind: str, key: str, build: Callable[[], _T]) -> _T:
        """Return what ``build`` made for ``(kind, key)`` in this invocation, building it on first use.

        A None result is not kept (built again next time). Dataset facets (``kind`` ``dataset``) built before the
        warehouse was read are dropped when it is (:meth:`warehouse_columns`): they carried declared columns.

        Args:
            kind: What is built (``dataset``, ``job``, ``run``, ``sql``, ``project``).
            key: Which one (a node's unique id, or ``""`` for the invocation's own).
            build: Makes it.
        """
        found: _T | None = self._built.get((kind, key))
        if found is None:
            made = build()
            if made is None:
                return made
            found = self._built.setdefault((kind, key), made)
        return found

    def current_manifest(self) -> Mapping[str, Any]:
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
        source = self.project_info_source
        info = self.built_once("project", "", lambda: (source() if source is not None else None) or DbtProjectInfo())
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
        current = self.current_manifest()
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

    def relation_parents(self, unique_id: str) -> list[str]:
        """Return the models, seeds, snapshots and sources a node reads (its parents in the runtime manifest)."""
        parents = self.current_manifest().get("parent_map", {}).get(unique_id)
        if parents is None:
            parents = self.node(unique_id).get("depends_on", {}).get("nodes", [])
        return [p for p in parents if p.split(".", 1)[0] in ("model", "seed", "snapshot", "source")]

    def tested_node(self, unique_id: str) -> str | None:
        """Return the model/seed/snapshot/source a test asserts on (its attached node, else its last parent)."""
        attached = self.node(unique_id).get("attached_node")
        if attached:
            return str(attached)
        parents = self.relation_parents(unique_id)
        return parents[-1] if parents else None

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
        for unique_id in [*self._held_ids, *(p for u in self._held_ids for p in self.relation_parents(u))]:
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
                for key in [k for k in self._built if k[0] == "dataset"]:
                    del self._built[key]
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
