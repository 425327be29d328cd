"""Turn floe.yaml orchestration config into Dagster objects.

Module discovery, partitions, asset patterns (through Dagster's spec-mapping APIs), jobs, schedules, sensors
and backfills. Depends on floe-config and dagster only; dbt assets arrive as ordinary ``AssetsDefinition``s.
"""

from floe_loaders.asset_patterns import apply_asset_patterns, build_automation_condition, build_backfill_policy
from floe_loaders.asset_settings import ResolvedAssetSettings, resolve_asset_settings
from floe_loaders.backfills import BACKFILL_NAME_TAG, backfill_partition_keys, launch_backfill
from floe_loaders.discovery import LoadedModules, load_asset_modules
from floe_loaders.errors import (
    AssetModuleConflictError,
    AssetModuleImportError,
    AssetModuleNotFoundError,
    AssetPatternError,
    BackfillError,
    DuplicateDefinitionError,
    FloeLoaderError,
    MixedPartitionsError,
    PartitionsDefinitionError,
    ScheduleError,
    SelectionError,
    TargetFunctionError,
    UnknownReferenceError,
)
from floe_loaders.file_watcher import FILE_NAME_TAG, FILE_PATH_TAG, FileWatcherCursor, build_file_watcher_sensor
from floe_loaders.jobs import BuiltJobs, build_jobs, parse_selection
from floe_loaders.locations import LoaderWarning, Locate, default_locate
from floe_loaders.orchestration import OrchestrationObjects, build_orchestration
from floe_loaders.partitions import build_partitions, build_partitions_definition
from floe_loaders.schedules import build_schedules
from floe_loaders.sensors import build_sensors
from floe_loaders.target_functions import allowed_packages, import_target_function

__all__ = [
    "BACKFILL_NAME_TAG",
    "FILE_NAME_TAG",
    "FILE_PATH_TAG",
    "AssetModuleConflictError",
    "AssetModuleImportError",
    "AssetModuleNotFoundError",
    "AssetPatternError",
    "BackfillError",
    "BuiltJobs",
    "DuplicateDefinitionError",
    "FileWatcherCursor",
    "FloeLoaderError",
    "LoadedModules",
    "LoaderWarning",
    "Locate",
    "MixedPartitionsError",
    "OrchestrationObjects",
    "PartitionsDefinitionError",
    "ResolvedAssetSettings",
    "ScheduleError",
    "SelectionError",
    "TargetFunctionError",
    "UnknownReferenceError",
    "allowed_packages",
    "apply_asset_patterns",
    "backfill_partition_keys",
    "build_automation_condition",
    "build_backfill_policy",
    "build_file_watcher_sensor",
    "build_jobs",
    "build_orchestration",
    "build_partitions",
    "build_partitions_definition",
    "build_schedules",
    "build_sensors",
    "default_locate",
    "import_target_function",
    "launch_backfill",
    "load_asset_modules",
    "parse_selection",
    "resolve_asset_settings",
]
