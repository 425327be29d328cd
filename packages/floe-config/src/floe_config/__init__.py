"""floe.yaml and platform.yaml: schema, ``${VAR:default}`` interpolation, located errors, CLI.

This package has no Dagster, dbt, OpenTelemetry or OpenLineage dependency, so validation tooling
(editors, CI checks) installs only it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from floe_config.asset_patterns import (
    AssetPattern,
    AutomationConditionConfig,
    BackfillPolicyConfig,
    MultiRunBackfill,
    NamedCondition,
    OnCronCondition,
    SingleRunBackfill,
)
from floe_config.backfills import BackfillConfig, PartitionRange
from floe_config.dbt import DbtConfig
from floe_config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigIssue,
    FloeConfigError,
    PlatformSettingsError,
)
from floe_config.floe_loading import (
    FloeDocument,
    load_floe_document,
    load_floe_spec,
    parse_floe_document,
)
from floe_config.floe_spec import FloeSpec, OrchestrationConfig
from floe_config.interpolation import InterpolationError, interpolate
from floe_config.jobs import BatchJob, JobConfig, OpsJob
from floe_config.observability import ObservabilityConfig
from floe_config.partitions import (
    CadencePartitions,
    DynamicPartitions,
    MultiPartitions,
    PartitionsConfig,
    StaticPartitions,
    TimeWindowPartitions,
)
from floe_config.platform_selection import resolve_platform_file
from floe_config.schedules import ScheduleConfig
from floe_config.sensors import (
    AssetSensor,
    CustomSensor,
    FileWatcherSensor,
    RunStatusSensor,
    SensorConfig,
)
from floe_config.yaml_loading import KeyPath, Location, SourceMap

if TYPE_CHECKING:
    from floe_config.compiled_artifacts import (
        CompiledArtifacts,
        SourceFile,
        compile_artifacts,
    )
    from floe_config.json_schema import (
        floe_json_schema,
        render_floe_json_schema,
    )
    from floe_config.platform_loading import (
        PlatformDocument,
        load_platform_document,
        load_platform_spec,
        parse_platform_spec,
    )
    from floe_config.platform_spec import (
        CeleryExecutor,
        ConsoleLineage,
        ConsoleTracing,
        ExecutionConfig,
        ExecutorConfig,
        FileLineage,
        FileTracing,
        HttpLineage,
        InProcessExecutor,
        InstanceConfig,
        K8sExecutor,
        LineageConfig,
        MultiprocessExecutor,
        NoLineage,
        NoTracing,
        OtlpTracing,
        PlatformDbtConfig,
        PlatformSpec,
        TracingConfig,
    )

# Platform, compile and schema names load on first use: `floe-config validate` without a platform file should not
# pay for building those models (the command's whole run is only a few times `import pydantic`).
_LAZY_MODULES: dict[str, str] = {
    "CeleryExecutor": "floe_config.platform_spec",
    "ConsoleLineage": "floe_config.platform_spec",
    "ConsoleTracing": "floe_config.platform_spec",
    "ExecutionConfig": "floe_config.platform_spec",
    "ExecutorConfig": "floe_config.platform_spec",
    "FileLineage": "floe_config.platform_spec",
    "FileTracing": "floe_config.platform_spec",
    "HttpLineage": "floe_config.platform_spec",
    "InProcessExecutor": "floe_config.platform_spec",
    "InstanceConfig": "floe_config.platform_spec",
    "K8sExecutor": "floe_config.platform_spec",
    "LineageConfig": "floe_config.platform_spec",
    "MultiprocessExecutor": "floe_config.platform_spec",
    "NoLineage": "floe_config.platform_spec",
    "NoTracing": "floe_config.platform_spec",
    "OtlpTracing": "floe_config.platform_spec",
    "PlatformDbtConfig": "floe_config.platform_spec",
    "PlatformSpec": "floe_config.platform_spec",
    "TracingConfig": "floe_config.platform_spec",
    "PlatformDocument": "floe_config.platform_loading",
    "load_platform_document": "floe_config.platform_loading",
    "load_platform_spec": "floe_config.platform_loading",
    "parse_platform_spec": "floe_config.platform_loading",
    "CompiledArtifacts": "floe_config.compiled_artifacts",
    "SourceFile": "floe_config.compiled_artifacts",
    "compile_artifacts": "floe_config.compiled_artifacts",
    "floe_json_schema": "floe_config.json_schema",
    "render_floe_json_schema": "floe_config.json_schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'floe_config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AssetPattern",
    "AssetSensor",
    "AutomationConditionConfig",
    "BackfillConfig",
    "BackfillPolicyConfig",
    "BatchJob",
    "CadencePartitions",
    "CeleryExecutor",
    "CompiledArtifacts",
    "ConfigError",
    "ConfigFileError",
    "ConfigIssue",
    "ConsoleLineage",
    "ConsoleTracing",
    "CustomSensor",
    "DbtConfig",
    "DynamicPartitions",
    "ExecutionConfig",
    "ExecutorConfig",
    "FileLineage",
    "FileTracing",
    "FileWatcherSensor",
    "FloeConfigError",
    "FloeDocument",
    "FloeSpec",
    "HttpLineage",
    "InProcessExecutor",
    "InstanceConfig",
    "InterpolationError",
    "JobConfig",
    "K8sExecutor",
    "KeyPath",
    "LineageConfig",
    "Location",
    "MultiPartitions",
    "MultiRunBackfill",
    "MultiprocessExecutor",
    "NamedCondition",
    "NoLineage",
    "NoTracing",
    "ObservabilityConfig",
    "OnCronCondition",
    "OpsJob",
    "OrchestrationConfig",
    "OtlpTracing",
    "PartitionRange",
    "PartitionsConfig",
    "PlatformDbtConfig",
    "PlatformDocument",
    "PlatformSettingsError",
    "PlatformSpec",
    "RunStatusSensor",
    "ScheduleConfig",
    "SensorConfig",
    "SingleRunBackfill",
    "SourceFile",
    "SourceMap",
    "StaticPartitions",
    "TimeWindowPartitions",
    "TracingConfig",
    "compile_artifacts",
    "floe_json_schema",
    "interpolate",
    "load_floe_document",
    "load_floe_spec",
    "load_platform_document",
    "load_platform_spec",
    "parse_floe_document",
    "parse_platform_spec",
    "render_floe_json_schema",
    "resolve_platform_file",
]
