"""floe's custom OpenLineage run facets.

``floe_trace`` links a lineage run to its OpenTelemetry span; ``dbt_node`` carries what dbt said
about the node; ``dbt_version`` matches the facet OpenLineage's own dbt integration emits. Their
JSON schema ships in this package (``schemas/FloeRunFacets.json``).
"""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client.facet_v2 import RunFacet

FLOE_PRODUCER = "urn:floe:floe-dbt-observe"
"""Producer URI put on every event and facet floe emits."""

FLOE_FACETS_SCHEMA_BASE = "urn:floe:openlineage:facets:1-0-0:FloeRunFacets.json"
"""Base of the ``_schemaURL`` of floe's facets; the schema itself is ``schemas/FloeRunFacets.json``."""

DBT_OL_SCHEMA_BASE = "https://github.com/OpenLineage/OpenLineage/tree/main/integration/common/openlineage/schema/"


@attr.define
class OtelTraceRunFacet(RunFacet):
    """The OpenTelemetry trace and span that recorded this run.

    Attributes:
        traceId: 32 hex digits (W3C trace-context form).
        spanId: 16 hex digits.
    """

    traceId: str
    spanId: str

    @staticmethod
    def _get_schema() -> str:
        return f"{FLOE_FACETS_SCHEMA_BASE}#/$defs/OtelTraceRunFacet"


@attr.define
class DbtNodeRunFacet(RunFacet):
    """What dbt reported about one node execution.

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
        return f"{FLOE_FACETS_SCHEMA_BASE}#/$defs/DbtNodeRunFacet"


@attr.define
class DbtVersionRunFacet(RunFacet):
    """The dbt version, as OpenLineage's dbt integration (``dbt-ol``) reports it."""

    version: str

    @staticmethod
    def _get_schema() -> str:
        return DBT_OL_SCHEMA_BASE + "dbt-version-run-facet.json"


def facet_schema() -> dict[str, Any]:
    """Return the JSON schema of floe's facets (as shipped in ``schemas/FloeRunFacets.json``)."""
    import json
    from importlib import resources

    text = resources.files("floe_dbt_observe").joinpath("schemas/FloeRunFacets.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
