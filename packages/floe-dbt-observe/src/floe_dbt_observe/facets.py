"""floe's custom OpenLineage run facets.

``floe_trace`` links a lineage run to its OpenTelemetry span; ``floe_dbt_node`` carries what dbt said
about the node. Following the spec's custom-facet rules, floe's own facets are prefixed ``floe_`` and
every ``_schemaURL`` is ``https://floe.dev/spec/facets/<facet version>/<Facet>.json#/$defs/<Facet>``: the
schema at that URL ships in this package as ``facet_schemas/<Facet>.json`` (its ``$id`` is the URL).

``dbt_version``, ``dbt_run`` (run facets) and ``dbt_node`` (job facet) are the facets OpenLineage's own dbt
integration (``dbt-ol``, openlineage-integration-common) defines: floe emits them with dbt-ol's names, fields and
``_schemaURL``, so a consumer of dbt-ol's events reads floe's the same way.
"""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client.facet_v2 import JobFacet, RunFacet

FLOE_PRODUCER = "urn:floe:floe-dbt-observe"
"""Producer URI put on every event and facet floe emits."""

FLOE_FACETS_URL_BASE = "https://floe.dev/spec/facets/"
"""Base of the ``_schemaURL`` of the facets floe defines: ``<base><facet version>/<Facet>.json``."""

DBT_OL_SCHEMA_BASE = "https://github.com/OpenLineage/OpenLineage/tree/main/integration/common/openlineage/schema/"
"""Base of the ``_schemaURL`` dbt-ol gives its facets (openlineage-integration-common's ``GITHUB_LOCATION``)."""

FACET_SCHEMA_DIR = "facet_schemas"
"""Package folder holding the JSON schema of each facet floe defines, one ``<Facet>.json`` per facet."""


def _schema_url(facet: str, facet_version: str = "1-0-0") -> str:
    return f"{FLOE_FACETS_URL_BASE}{facet_version}/{facet}.json#/$defs/{facet}"


@attr.define
class OtelTraceRunFacet(RunFacet):
    """The OpenTelemetry trace and span that recorded this run (run facet ``floe_trace``).

    Attributes:
        traceId: 32 hex digits (W3C trace-context form).
        spanId: 16 hex digits.
    """

    traceId: str
    spanId: str

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("FloeTraceRunFacet")


@attr.define
class DbtNodeRunFacet(RunFacet):
    """What dbt reported about one node execution (run facet ``floe_dbt_node``).

    Not ``dbt_node``: that is dbt-ol's job facet, of another shape (floe emits it too, as dbt-ol does).

    Attributes:
        uniqueId: dbt unique id.
        resourceType: model, seed, snapshot or test.
        status: dbt's node status (success, error, pass, fail, warn, skipped, cancelled).
        materialization: dbt materialization.
        invocationId: dbt invocation id.
        thread: dbt worker thread.
        executionTimeSeconds: dbt's execution time.
        adapterResponse: the adapter's message (``INSERT 3``, ``OK``).
        rowsAffected: rows the adapter reported, when it did.
        dagsterRunId: the Dagster run.
        assetKey: the Dagster asset key (``a/b``) when the node is an asset.
    """

    uniqueId: str
    resourceType: str
    status: str
    materialization: str | None = attr.field(default=None)
    invocationId: str | None = attr.field(default=None)
    thread: str | None = attr.field(default=None)
    executionTimeSeconds: float | None = attr.field(default=None)
    adapterResponse: str | None = attr.field(default=None)
    rowsAffected: int | None = attr.field(default=None)
    dagsterRunId: str | None = attr.field(default=None)
    assetKey: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("FloeDbtNodeRunFacet")


@attr.define
class DbtVersionRunFacet(RunFacet):
    """The dbt engine's version (run facet ``dbt_version``), as dbt-ol emits it: same name, fields and schema URL.

    dbt-core's version, or dbt Fusion's (``2.0.0-preview.196``) when Fusion ran the node.
    """

    version: str

    @staticmethod
    def _get_schema() -> str:
        return DBT_OL_SCHEMA_BASE + "dbt-version-run-facet.json"


@attr.define
class DbtRunRunFacet(RunFacet):
    """The dbt invocation a node ran in (run facet ``dbt_run``), as dbt-ol emits it: same name, fields, schema URL.

    Attributes:
        invocation_id: dbt's invocation id.
        project_name: ``name`` of ``dbt_project.yml``.
        dbt_runtime: ``core`` (dbt-ol says ``cloud`` for dbt Cloud jobs).
        project_version: ``version`` of ``dbt_project.yml``.
        profile_name: The dbt profile the invocation used.
    """

    invocation_id: str
    project_name: str | None = attr.field(default=None)
    dbt_runtime: str | None = attr.field(default=None)
    project_version: str | None = attr.field(default=None)
    profile_name: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return DBT_OL_SCHEMA_BASE + "dbt-run-run-facet.json"


@attr.define
class DbtNodeJobFacet(JobFacet):
    """The dbt node a job runs (job facet ``dbt_node``), as dbt-ol emits it: same name, fields and schema URL.

    Attributes:
        original_file_path: The node's file, relative to the project (``models/staging/stg_orders.sql``).
        database: Database of the node's relation.
        schema: Schema of the node's relation.
        alias: The relation's name.
        unique_id: dbt unique id.
        test_type: ``singular`` or ``generic`` for a test, else None.
    """

    original_file_path: str | None = attr.field(default=None)
    database: str | None = attr.field(default=None)
    schema: str | None = attr.field(default=None)
    alias: str | None = attr.field(default=None)
    unique_id: str | None = attr.field(default=None)
    test_type: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return DBT_OL_SCHEMA_BASE + "dbt-node-job-facet.json"


def facet_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON schema of each facet floe defines, keyed by its ``$id`` (the ``_schemaURL`` before ``#``).

    Returns:
        ``{schema URL: schema}`` for every ``facet_schemas/*.json`` shipped in this package.
    """
    import json
    from importlib import resources

    schemas: dict[str, dict[str, Any]] = {}
    for entry in resources.files("floe_dbt_observe").joinpath(FACET_SCHEMA_DIR).iterdir():
        if entry.name.endswith(".json"):
            loaded: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
            schemas[str(loaded["$id"])] = loaded
    return schemas
