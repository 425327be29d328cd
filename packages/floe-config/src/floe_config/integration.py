"""The contract between floe-config and floe's sibling packages (floe-loaders, floe-definitions).

What the siblings use beyond ``floe_config.__all__``: the config models they turn into Dagster objects, the document
loaders that keep line numbers, the default telemetry directories, the JSON-schema renderer, the did-you-mean
helper, and the probe machinery of their ``_compat`` modules (``Probes``, ``Capability``, ``DISABLE_ENV``). It is
for floe's own packages, not for users (who read ``floe_config.__all__``); a workspace test (``tests/policy``) keeps
every sibling import on ``__all__`` or this module. The names are re-exported from the modules that define them.
"""

from floe_config.asset_patterns import (
    AssetPattern,
    AutomationConditionConfig,
    BackfillPolicyConfig,
    MultiRunBackfill,
    NamedCondition,
    OnCronCondition,
)
from floe_config.backfills import BackfillConfig
from floe_config.dbt import DbtConfig
from floe_config.errors import ConfigFileError
from floe_config.floe_loading import FloeDocument, load_floe_document
from floe_config.floe_spec import OrchestrationConfig
from floe_config.jobs import BatchJob, OpsJob
from floe_config.json_schema import render_floe_json_schema
from floe_config.partitions import (
    CadencePartitions,
    DynamicPartitions,
    MultiPartitions,
    PartitionsConfig,
    StaticPartitions,
    TimeWindowPartitions,
)
from floe_config.platform_loading import PlatformDocument, load_platform_document
from floe_config.platform_selection import resolve_platform_file
from floe_config.platform_spec import (
    DEFAULT_LINEAGE_DIR,
    DEFAULT_TRACES_DIR,
    CeleryExecutor,
    ExecutorConfig,
    FileLineage,
    FileTracing,
    HttpLineage,
    InProcessExecutor,
    K8sExecutor,
    MultiprocessExecutor,
    OtlpTracing,
)
from floe_config.probes import DISABLE_ENV, Capability, Probes
from floe_config.schedules import ScheduleConfig
from floe_config.sensors import AssetSensor, CustomSensor, FileWatcherSensor, RunStatusSensor
from floe_config.validation_issues import did_you_mean

__all__ = [
    "DEFAULT_LINEAGE_DIR",
    "DEFAULT_TRACES_DIR",
    "DISABLE_ENV",
    "AssetPattern",
    "AssetSensor",
    "AutomationConditionConfig",
    "BackfillConfig",
    "BackfillPolicyConfig",
    "BatchJob",
    "CadencePartitions",
    "Capability",
    "CeleryExecutor",
    "ConfigFileError",
    "CustomSensor",
    "DbtConfig",
    "DynamicPartitions",
    "ExecutorConfig",
    "FileLineage",
    "FileTracing",
    "FileWatcherSensor",
    "FloeDocument",
    "HttpLineage",
    "InProcessExecutor",
    "K8sExecutor",
    "MultiPartitions",
    "MultiRunBackfill",
    "MultiprocessExecutor",
    "NamedCondition",
    "OnCronCondition",
    "OpsJob",
    "OrchestrationConfig",
    "OtlpTracing",
    "PartitionsConfig",
    "PlatformDocument",
    "Probes",
    "RunStatusSensor",
    "ScheduleConfig",
    "StaticPartitions",
    "TimeWindowPartitions",
    "did_you_mean",
    "load_floe_document",
    "load_platform_document",
    "render_floe_json_schema",
    "resolve_platform_file",
]
