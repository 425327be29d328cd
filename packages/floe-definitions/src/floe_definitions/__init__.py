"""floe-definitions: one floe.yaml becomes an observed Dagster code location.

``FloeDefinitions.from_floe_yaml()`` combines floe-config, floe-loaders and floe-dbt-observe with the platform's
telemetry (an OpenTelemetry SDK tracer provider, an OpenLineage client) and executor.
"""

from floe_definitions.errors import (
    BackfillError,
    ConfigNotFoundError,
    DefinitionsLoadError,
    ExecutorConfigError,
    FloeDefinitionsError,
    LocatedError,
    ResourceConflictError,
    TelemetryConfigError,
)
from floe_definitions.lineage_client import DEFAULT_LINEAGE_DIR, build_lineage_client, lineage_file
from floe_definitions.run_trace import (
    RunIdGenerator,
    run_parent_span_context,
    run_span_id,
    run_span_ids,
    run_trace_id,
)
from floe_definitions.tracing import DEFAULT_TRACES_DIR, build_resource, build_tracer_provider, traces_file

__all__ = [
    "DEFAULT_LINEAGE_DIR",
    "DEFAULT_TRACES_DIR",
    "BackfillError",
    "ConfigNotFoundError",
    "DefinitionsLoadError",
    "ExecutorConfigError",
    "FloeDefinitionsError",
    "LocatedError",
    "ResourceConflictError",
    "RunIdGenerator",
    "TelemetryConfigError",
    "build_lineage_client",
    "build_resource",
    "build_tracer_provider",
    "lineage_file",
    "run_parent_span_context",
    "run_span_id",
    "run_span_ids",
    "run_trace_id",
    "traces_file",
]
