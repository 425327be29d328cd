"""floe's custom OpenLineage run facets.

``floe_trace`` links a lineage run to its OpenTelemetry span; ``floe_dbt_node`` carries what dbt said
about the node; ``dbt_version`` has the name and shape of the facet OpenLineage's own dbt integration
(``dbt-ol``) emits. Following the spec's custom-facet rules, floe's own facets are prefixed ``floe_`` and
every ``_schemaURL`` is ``https://floe.dev/spec/facets/<facet version>/<Facet>.json#/$defs/<Facet>``: the
schema at that URL ships in this package as ``facet_schemas/<Facet>.json`` (its ``$id`` is the URL).
"""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client.facet_v2 import RunFacet

FLOE_PRODUCER = "urn:floe:floe-dbt-observe"
"""Producer URI put on every event and facet floe emits."""

FLOE_FACETS_URL_BASE = "https://floe.dev/spec/facets/"
"""Base of the ``_schemaURL`` of the facets floe defines: ``<base><facet version>/<Facet>.json``."""

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

    Not ``dbt_node``: dbt-ol uses that name for a job facet of another shape.

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
    """The dbt version (run facet ``dbt_version``), with the name and shape ``dbt-ol`` gives it.

    dbt-ol's own ``_schemaURL`` points at a branch path of its repository that has moved; floe's points at a
    versioned copy of the same shape that ships in this package.
    """

    version: str

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("DbtVersionRunFacet")


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
