"""floe.yaml and platform.yaml: schema, ``${VAR:default}`` interpolation, located errors, CLI.

This package has no Dagster, dbt, OpenTelemetry or OpenLineage dependency, so validation tooling
(editors, CI checks) installs only it.
"""

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
from floe_config.floe_spec import FloeSpec, OrchestrationConfig
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
from floe_config.schedules import ScheduleConfig
from floe_config.sensors import (
    AssetSensor,
    CustomSensor,
    FileWatcherSensor,
    RunStatusSensor,
    SensorConfig,
)

__all__ = [
    "AssetPattern",
    "AssetSensor",
    "AutomationConditionConfig",
    "BackfillConfig",
    "BackfillPolicyConfig",
    "BatchJob",
    "CadencePartitions",
    "CeleryExecutor",
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
    "FloeSpec",
    "HttpLineage",
    "InProcessExecutor",
    "InstanceConfig",
    "JobConfig",
    "K8sExecutor",
    "LineageConfig",
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
    "PlatformSpec",
    "RunStatusSensor",
    "ScheduleConfig",
    "SensorConfig",
    "SingleRunBackfill",
    "StaticPartitions",
    "TimeWindowPartitions",
    "TracingConfig",
]
