"""floe-definitions: one floe.yaml becomes an observed Dagster code location.

``FloeDefinitions.from_floe_yaml()`` combines floe-config, floe-loaders and floe-dbt-observe with the platform's
telemetry (an OpenTelemetry SDK tracer provider, an OpenLineage client) and executor.
"""

from floe_definitions.component import FloeComponent
from floe_definitions.errors import (
    BackfillError,
    ComponentConfigError,
    ConfigNotFoundError,
    DefinitionsLoadError,
    DuplicateComponentAssetError,
    ExecutorConfigError,
    FloeDefinitionsError,
    LocatedError,
    ResourceConflictError,
    TelemetryConfigError,
)
from floe_definitions.executors import build_executor, dagster_executor
from floe_definitions.facade import FloeDefinitions, load_compiled_artifacts
from floe_definitions.lineage_client import DEFAULT_LINEAGE_DIR, build_lineage_client, lineage_file
from floe_definitions.observed_executor import ObservedExecutor, RunTelemetry
from floe_definitions.project import FLOE_CONFIG_ENV, FloeProject, find_floe_yaml, load_project
from floe_definitions.run_trace import (
    RunIdGenerator,
    run_parent_span_context,
    run_span_id,
    run_span_ids,
    run_trace_id,
)
from floe_definitions.step_lineage import DatasetNaming
from floe_definitions.tracing import DEFAULT_TRACES_DIR, build_resource, build_tracer_provider, traces_file

__all__ = [
    "DEFAULT_LINEAGE_DIR",
    "DEFAULT_TRACES_DIR",
    "FLOE_CONFIG_ENV",
    "BackfillError",
    "ComponentConfigError",
    "ConfigNotFoundError",
    "DatasetNaming",
    "DefinitionsLoadError",
    "DuplicateComponentAssetError",
    "ExecutorConfigError",
    "FloeComponent",
    "FloeDefinitions",
    "FloeDefinitionsError",
    "FloeProject",
    "LocatedError",
    "ObservedExecutor",
    "ResourceConflictError",
    "RunIdGenerator",
    "RunTelemetry",
    "TelemetryConfigError",
    "build_executor",
    "build_lineage_client",
    "build_resource",
    "build_tracer_provider",
    "dagster_executor",
    "find_floe_yaml",
    "lineage_file",
    "load_compiled_artifacts",
    "load_project",
    "run_parent_span_context",
    "run_span_id",
    "run_span_ids",
    "run_trace_id",
    "traces_file",
]
